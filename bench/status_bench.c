/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: `migctl status --json` on a simulated node of 8 A100-SXM4-40GB GPUs with 7 MIG
 * devices each (7 x 1g.5gb with their compute instance).
 *
 * Prints, per run: wall time of the whole command (fork+exec, NVML load, reading, JSON), wall
 * time of the library read alone, and NVML calls, against the minimum number of calls the
 * answer needs (derived below from what status prints), as a ratio.
 *
 * Then the cost of reading one GPU: NVML calls of `migctl status --json -i <UUID>` on that
 * 8-GPU node and on a node of that one GPU alone (equal: the read asks NVML for the named GPU
 * only, mig_node_read_gpus), against the whole node.
 *
 * Usage: status_bench MIGCTL MIGSIM_LIB [RUNS]
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
#include "../tests/sim_guard.h"

#define BENCH_NAME "status_bench"
#include "bench_node.h"

#define GPUS 8

/*
 * The calls an NVML client must make to print status for this node, knowing nothing in
 * advance and asking each question once:
 *   init, driver version, device count, shutdown                                     4
 *   per GPU: handle, name, UUID, PCI, memory, MIG mode, device minor (device nodes)   7
 *            GI profile indices 0..COUNT-1 (NVML has no list; unsupported ones
 *            answer NOT_SUPPORTED)                                                   18
 *            one placement query for the slice picture's width                       1
 *            GPU instances of each of the GPU's P profiles                           P
 *            per distinct GI profile in use: CI profile indices 0..COUNT-1            9
 *            (GIs of one profile offer the same CI profiles)
 *            per GI: its info, the CIs of each of its K CI profiles, each CI's info  1 + K + C
 *            MIG devices: the maximum, then per device handle, GI id, CI id, UUID,
 *            attributes, processes                                                   1 + 6 D
 *            the GPU's processes                                                     1
 */
static unsigned long minimum_calls(const struct mig_node *node)
{
	unsigned long n = 4;
	for (size_t i = 0; i < node->ngpus; i++) {
		const struct mig_gpu *g = &node->gpus[i];
		size_t devices = 0;
		n += 7 + NVML_GPU_INSTANCE_PROFILE_COUNT + 1 + g->nprofiles;
		for (size_t k = 0; k < g->ngis; k++) {
			bool first_of_profile = true;
			for (size_t j = 0; j < k; j++)
				first_of_profile &= g->gis[j].profile_id != g->gis[k].profile_id;
			if (first_of_profile)
				n += NVML_COMPUTE_INSTANCE_PROFILE_COUNT;
			n += 1 + g->gis[k].nci_profiles + g->gis[k].ncis;
			devices += g->gis[k].ncis;
		}
		n += 1 + 6 * devices + 1;
	}
	return n;
}

/* Run migctl status --json once (on the GPUs selector names, or all when NULL); returns its
 * NVML call count (from -v) and adds its wall time. */
static unsigned long run_migctl(const char *migctl, const char *selector, double *elapsed)
{
	int err_pipe[2];
	if (pipe(err_pipe))
		die("pipe", "failed");
	double t0 = now();
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		dup2(err_pipe[1], 2);
		close(err_pipe[0]);
		if (selector)
			execl(migctl, migctl, "--sim", "status", "--json", "-v", "-i", selector, (char *)NULL);
		else
			execl(migctl, migctl, "--sim", "status", "--json", "-v", (char *)NULL);
		_exit(127);
	}
	close(err_pipe[1]);
	char buf[4096];
	size_t len = 0;
	ssize_t r;
	while ((r = read(err_pipe[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(err_pipe[0]);
	int status;
	waitpid(pid, &status, 0);
	*elapsed += now() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("migctl status failed", buf);
	const char *p = strstr(buf, " NVML calls");
	if (!p)
		die("migctl -v printed no call count", buf);
	while (p > buf && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return strtoul(p, NULL, 10);
}

/* The UUID of GPU index on the node of $MIGSIM_STATE. */
static void gpu_uuid(const char *lib, unsigned int index, char out[MIG_UUID_MAX])
{
	struct mig_ctx *ctx;
	struct mig_node *node;
	struct mig_error err;
	if (mig_ctx_new(&ctx, lib, &err))
		die("mig_ctx_new", err.msg);
	if (mig_node_read(ctx, &node, MIG_READ_BASIC, &err))
		die("mig_node_read", err.msg);
	if (index >= node->ngpus)
		die("gpu_uuid", "no such GPU");
	snprintf(out, MIG_UUID_MAX, "%s", node->gpus[index].uuid);
	mig_node_free(node);
	mig_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: status_bench MIGCTL MIGSIM_LIB [RUNS]\n");
		return 2;
	}
	const char *migctl = argv[1], *lib = argv[2];
	/* it only reads, but through whatever library it is given: only ever the simulator */
	if (sim_guard_path("status_bench", lib))
		return 1;
	int runs = argc > 3 ? atoi(argv[3]) : 50;
	char dir[] = "/tmp/migctl-bench-XXXXXX", state[256];
	if (!mkdtemp(dir))
		die("mkdtemp", "failed");
	snprintf(state, sizeof(state), "%s/state.json", dir);
	setenv("MIGSIM_STATE", state, 1);
	build_node(state, GPUS);

	/* In-process: the library's read alone. */
	struct mig_ctx *ctx;
	struct mig_error err;
	if (mig_ctx_new(&ctx, lib, &err))
		die("mig_ctx_new", err.msg);
	unsigned long before = mig_ctx_nvml_calls(ctx), lib_calls = 0, minimum = 0;
	double t0 = now();
	for (int i = 0; i < runs; i++) {
		struct mig_node *node;
		unsigned long c0 = mig_ctx_nvml_calls(ctx);
		if (mig_node_read(ctx, &node, MIG_READ_DEVNODES, &err)) /* what status reads */
			die("mig_node_read", err.msg);
		lib_calls = mig_ctx_nvml_calls(ctx) - c0;
		if (i == 0) {
			minimum = minimum_calls(node);
			size_t devices = 0;
			for (size_t g = 0; g < node->ngpus; g++)
				for (size_t k = 0; k < node->gpus[g].ngis; k++)
					devices += node->gpus[g].gis[k].ncis;
			printf("node: %zu GPUs, %zu MIG devices\n", node->ngpus, devices);
		}
		mig_node_free(node);
	}
	double lib_time = (now() - t0) / runs;
	(void)before;
	mig_ctx_free(ctx);

	double cmd_time = 0;
	unsigned long cmd_calls = 0;
	for (int i = 0; i < runs; i++)
		cmd_calls = run_migctl(migctl, NULL, &cmd_time);
	cmd_time /= runs;

	printf("runs: %d\n", runs);
	printf("migctl status --json: %.2f ms per run, %lu NVML calls per run\n", cmd_time * 1e3, cmd_calls);
	printf("library read alone:   %.2f ms per run, %lu NVML calls per read\n", lib_time * 1e3, lib_calls);
	printf("minimum calls for the answer: %lu (init, version, count and shutdown included)\n", minimum);
	printf("ratio migctl/minimum: %.2f\n", (double)cmd_calls / (double)minimum);
	printf("time per NVML call (simulator, in-process read): %.1f us\n", lib_time * 1e6 / (double)lib_calls);

	/* One GPU by UUID: the last GPU of the 8, then the only GPU of a 1-GPU node. */
	char uuid8[MIG_UUID_MAX], uuid1[MIG_UUID_MAX], state1[300];
	double ignored = 0;
	gpu_uuid(lib, GPUS - 1, uuid8);
	unsigned long one_of_8 = run_migctl(migctl, uuid8, &ignored);
	unsigned long whole = run_migctl(migctl, NULL, &ignored);
	snprintf(state1, sizeof(state1), "%s/one-gpu.json", dir);
	setenv("MIGSIM_STATE", state1, 1);
	build_node(state1, 1);
	gpu_uuid(lib, 0, uuid1);
	unsigned long one_of_1 = run_migctl(migctl, uuid1, &ignored);
	printf("migctl status --json -i <UUID>: %lu NVML calls on the 8-GPU node, %lu on a 1-GPU node (%s); "
	       "whole 8-GPU node: %lu\n",
	       one_of_8, one_of_1, one_of_8 == one_of_1 ? "equal" : "NOT EQUAL", whole);

	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
