/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: `migctl cdi generate` on a simulated node of 8 A100-SXM4-40GB GPUs with 7 MIG
 * devices each (56 MIG devices, 7 x 1g.5gb with their compute instance).
 *
 * Prints, per run: the node read with its device nodes (mig_node_read with
 * MIG_READ_DEVNODES: NVML, /proc/devices, mig-minors), measured apart; the spec built and
 * written atomically (mig_cdi_spec + mig_cdi_write: YAML, temporary file, fsync, rename),
 * which is the tool's own time; the same as JSON; and the whole command, fork and exec
 * included.
 *
 * Usage: cdi_bench MIGCTL MIGSIM_LIB [RUNS]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../include/mig.h"
#include "../nvml/nvml_abi.h"
#include "../sim/store.h"

#define BENCH_NAME "cdi_bench"
#include "bench_node.h"

#define GPUS 8

static double run_migctl(const char *migctl, const char *out)
{
	double t0 = now();
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		execl(migctl, migctl, "--sim", "cdi", "generate", "--output", out, (char *)NULL);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("migctl cdi generate", "failed");
	return now() - t0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: cdi_bench MIGCTL MIGSIM_LIB [RUNS]\n");
		return 2;
	}
	const char *migctl = argv[1], *lib = argv[2];
	int runs = argc > 3 ? atoi(argv[3]) : 50;
	/* where the spec goes: a tmpfs, as /var/run/cdi is on a node (CDI_BENCH_DIR to change) */
	const char *spec_dir = getenv("CDI_BENCH_DIR");
	if (!spec_dir || !*spec_dir)
		spec_dir = "/dev/shm";
	if (runs < 1)
		runs = 1;
	char dir[] = "/tmp/migctl-cdi-bench-XXXXXX", state[256], out[512];
	if (!mkdtemp(dir))
		die("mkdtemp", "failed");
	snprintf(state, sizeof(state), "%s/state.json", dir);
	char out_dir[256];
	snprintf(out_dir, sizeof(out_dir), "%s/migctl-cdi-bench-XXXXXX", spec_dir);
	if (!mkdtemp(out_dir))
		die("mkdtemp", spec_dir);
	snprintf(out, sizeof(out), "%s/cdi", out_dir);
	setenv("MIGSIM_STATE", state, 1);
	unsetenv("MIGSIM_ROOT");
	build_node(state, GPUS);

	struct mig_ctx *ctx;
	struct mig_error err;
	if (mig_ctx_new(&ctx, lib, &err))
		die("mig_ctx_new", err.msg);
	double t_read = 0, t_yaml = 0, t_json = 0;
	size_t bytes_yaml = 0, bytes_json = 0, devices = 0, names = 0;
	for (int i = 0; i < runs; i++) {
		struct mig_node *node;
		double t0 = now();
		if (mig_node_read(ctx, &node, MIG_READ_DEVNODES, &err))
			die("mig_node_read", err.msg);
		t_read += now() - t0;
		if (!node->devnodes || !node->devnodes->known)
			die("device nodes", node->devnodes ? node->devnodes->error : "not read");
		for (int f = 0; f < 2; f++) {
			struct mig_cdi_options opt = {.format = f ? MIG_CDI_JSON : MIG_CDI_YAML};
			char *text;
			size_t len;
			t0 = now();
			if (mig_cdi_spec(node, &opt, &text, &len, &err) ||
			    mig_cdi_write(out, &opt, text, len, NULL, 0, &err))
				die("cdi", err.msg);
			double dt = now() - t0;
			free(text);
			if (f) {
				t_json += dt;
				bytes_json = len;
			} else {
				t_yaml += dt;
				bytes_yaml = len;
			}
		}
		if (i == 0) {
			char **n;
			size_t nn;
			if (mig_cdi_names(node, NULL, &n, &nn, &err))
				die("names", err.msg);
			free(n);
			names = nn;
			for (size_t g = 0; g < node->ngpus; g++)
				for (size_t k = 0; k < node->gpus[g].ngis; k++)
					devices += node->gpus[g].gis[k].ncis;
		}
		mig_node_free(node);
	}
	mig_ctx_free(ctx);
	double t_cmd = 0;
	for (int i = 0; i < runs; i++)
		t_cmd += run_migctl(migctl, out);

	printf("node: %d GPUs, %zu MIG devices, %zu CDI names\n", GPUS, devices, names);
	printf("runs: %d\n", runs);
	printf("read the node with device nodes:  %.2f ms per run (NVML, /proc/devices, mig-minors)\n",
	       t_read * 1e3 / runs);
	printf("cdi spec built and written, YAML: %.2f ms per run (%zu bytes; temporary file, rename)\n",
	       t_yaml * 1e3 / runs, bytes_yaml);
	printf("cdi spec built and written, JSON: %.2f ms per run (%zu bytes)\n", t_json * 1e3 / runs, bytes_json);
	printf("migctl --sim cdi generate:        %.2f ms per run (whole command: fork, exec, NVML, read, write)\n",
	       t_cmd * 1e3 / runs);

	char cmd[1024];
	printf("spec written in: %s (set CDI_BENCH_DIR to measure another file system)\n", spec_dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, out_dir);
	return system(cmd) == 0 ? 0 : 1;
}
