/* SPDX-License-Identifier: MIT */
/*
 * Lease latency (issue 12): the time from running `migctl lease` to having a usable MIG UUID
 * (the command's JSON printed and its exit), for a lease that creates its instance and for a
 * pool hit, against the driver's own operations for the same device (GPU instance and compute
 * instance create, called through libmig in this process, on the same simulated node and
 * latency). Then the tool's overhead beyond the driver under CLIENTS concurrent clients, each
 * leasing and releasing CYCLES times: for each command, its wall time minus the time the
 * driver was busy (any process's mutating call) while it ran, taken from the simulator's
 * MIGSIM_TIMELINE. Waiting for the node lock behind another client's tool work counts as
 * overhead; behind its driver work, as the driver's.
 *
 * usage: lease_bench MIGCTL SIM_LIB [LATENCY_MS [SAMPLES [CLIENTS [CYCLES]]]]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_NAME "lease_bench"
#include "../include/mig.h"
#include "../lib/internal.h" /* the driver's operations, for the baseline */
#include "../tests/sim_guard.h"
#include "bench_node.h"

static char dir[] = "/tmp/lease-bench-XXXXXX";
static char state_path[300], conf_path[300], timeline_path[300];
static const char *migctl;

/* The simulated node: 2 x A100-SXM4-40GB with MIG on, latency_ms per GI/CI create/destroy. */
static void sim_fresh(unsigned int latency_ms)
{
	sim_edit(state_path, "2xA100-SXM4-40GB", true, latency_ms);
}

static void conf(const char *text)
{
	FILE *f = fopen(conf_path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		die(conf_path, strerror(errno));
}

/* Run migctl with args; its stdout into out. Returns its exit status. */
static int run(char *const args[], char *out, size_t len)
{
	int p[2];
	if (pipe(p) != 0)
		die("pipe", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		die("fork", strerror(errno));
	if (pid == 0) {
		dup2(p[1], 1);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 2); /* "waiting for another change" under concurrency */
		close(p[0]);
		close(p[1]);
		execv(migctl, args);
		_exit(127);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while ((r = read(p[0], out + n, len - 1 - n)) > 0 || (r < 0 && errno == EINTR))
		if (r > 0)
			n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Lease 1g.5gb for owner; the lease id into id. Returns true when it came from the pool. */
static bool lease(long owner, char *id, size_t len)
{
	char own[32], out[8192];
	snprintf(own, sizeof(own), "%ld", owner);
	char *args[] = {(char *)migctl, "--sim", "lease", "--profile", "1g.5gb", "--owner", own, "--json", NULL};
	if (run(args, out, sizeof(out)) != 0)
		die("migctl lease", "failed");
	char uuid[128];
	lease_field(out, "mig_uuid", uuid, sizeof(uuid));
	bool reused = lease_field(out, "id", id, len);
	if (strncmp(uuid, "MIG-", 4) != 0 || !id[0])
		die("migctl lease", "no MIG UUID or lease id in its output");
	return reused;
}

static void release(const char *id)
{
	char out[4096];
	char *args[] = {(char *)migctl, "--sim", "release", (char *)id, NULL};
	if (run(args, out, sizeof(out)) != 0)
		die("migctl release", id);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) of v[0..n), in ms; sorts v. */
static double pct(double *v, size_t n, double q)
{
	qsort(v, n, sizeof(*v), cmp_double);
	size_t k = (size_t)ceil(q * (double)n);
	return 1e3 * v[k ? k - 1 : 0];
}

/* The driver's operations alone: GPU instance and compute instance create (then destroyed,
 * untimed), through libmig in this process. */
static void driver_alone(struct mig_ctx *ctx, double *v, size_t n)
{
	struct mig_error err;
	for (size_t i = 0; i < n; i++) {
		unsigned int gi = 0, ci = 0;
		struct mig_placement at = {6, 1}, placed;
		double t0 = now();
		if (mig_gi_create(ctx, 0, 19, &at, &gi, &placed, &err) || mig_ci_create(ctx, 0, gi, 0, NULL, &ci, &err))
			die("driver", err.msg);
		v[i] = now() - t0;
		if (mig_ci_destroy(ctx, 0, gi, ci, &err) || mig_gi_destroy(ctx, 0, gi, &err))
			die("driver", err.msg);
	}
}

struct op {
	double t0, t1;
	int kind; /* 0 lease, 1 release */
};

/* One client: cycles x (lease, release), each timed, written to fd. */
static void client(int fd, unsigned int cycles)
{
	for (unsigned int i = 0; i < cycles; i++) {
		char id[MIG_LEASE_ID_MAX + 8];
		struct op o[2];
		o[0].kind = 0;
		o[0].t0 = now();
		lease((long)getpid(), id, sizeof(id));
		o[0].t1 = now();
		o[1].kind = 1;
		o[1].t0 = now();
		release(id);
		o[1].t1 = now();
		if (write(fd, o, sizeof(o)) != (ssize_t)sizeof(o))
			_exit(1);
	}
	_exit(0);
}

struct busy {
	double t0, t1;
};

static size_t read_timeline(struct busy **out)
{
	FILE *f = fopen(timeline_path, "r");
	size_t n = 0, cap = 0;
	struct busy b;
	char name[128];
	*out = NULL;
	while (f && fscanf(f, "%lf %lf %127s", &b.t0, &b.t1, name) == 3) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			*out = realloc(*out, cap * sizeof(**out));
			if (!*out)
				die("timeline", "out of memory");
		}
		(*out)[n++] = b;
	}
	if (f)
		fclose(f);
	return n;
}

/* The driver's busy time inside [t0, t1]. */
static double busy_in(const struct busy *b, size_t n, double t0, double t1)
{
	double s = 0;
	for (size_t i = 0; i < n; i++) {
		double a = b[i].t0 > t0 ? b[i].t0 : t0, z = b[i].t1 < t1 ? b[i].t1 : t1;
		if (z > a)
			s += z - a;
	}
	return s;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: lease_bench MIGCTL SIM_LIB [LATENCY_MS [SAMPLES [CLIENTS [CYCLES]]]]\n");
		return 2;
	}
	migctl = argv[1];
	const char *lib = argv[2];
	unsigned int latency = argc > 3 ? (unsigned int)atoi(argv[3]) : 200;
	size_t samples = argc > 4 ? (size_t)atoi(argv[4]) : 20;
	unsigned int clients = argc > 5 ? (unsigned int)atoi(argv[5]) : 8;
	unsigned int cycles = argc > 6 ? (unsigned int)atoi(argv[6]) : 5;
	if (sim_guard_path(BENCH_NAME, lib) || samples == 0 || clients == 0 || cycles == 0 || clients > 14)
		return 1;
	if (!mkdtemp(dir))
		die("mkdtemp", strerror(errno));
	char path[300];
	snprintf(state_path, sizeof(state_path), "%s/state.json", dir);
	snprintf(conf_path, sizeof(conf_path), "%s/migctl.conf", dir);
	snprintf(timeline_path, sizeof(timeline_path), "%s/timeline", dir);
	setenv("MIGSIM_STATE", state_path, 1);
	setenv("MIGSIM_QUIET", "1", 1);
	setenv("MIGCTL_CONF", conf_path, 1);
	snprintf(path, sizeof(path), "%s/lock", dir);
	setenv("MIGCTL_LOCK", path, 1);
	snprintf(path, sizeof(path), "%s/journal.json", dir);
	setenv("MIGCTL_JOURNAL", path, 1);
	snprintf(path, sizeof(path), "%s/leases.json", dir);
	setenv("MIGCTL_LEASES", path, 1);
	unsetenv("MIGSIM_TIMELINE");
	sim_fresh(latency);

	double *drv = calloc(samples, sizeof(double)), *create = calloc(samples, sizeof(double)),
	       *hit = calloc(samples, sizeof(double));
	if (!drv || !create || !hit)
		die("memory", "out of memory");
	char id[MIG_LEASE_ID_MAX + 8];
	/* a lease that creates its instance (no pool) */
	conf("");
	for (size_t i = 0; i < samples; i++) {
		double t0 = now();
		if (lease((long)getpid(), id, sizeof(id)))
			die("create", "served from the pool without one");
		create[i] = now() - t0;
		release(id);
	}
	/* a pool hit: the released instance stays warm */
	conf("lease-pool = all\n");
	lease((long)getpid(), id, sizeof(id));
	release(id);
	for (size_t i = 0; i < samples; i++) {
		double t0 = now();
		if (!lease((long)getpid(), id, sizeof(id)))
			die("pool hit", "created instead of served from the pool");
		hit[i] = now() - t0;
		release(id);
	}
	conf("");
	sim_fresh(latency);
	struct mig_ctx *ctx;
	struct mig_error err;
	if (mig_ctx_new(&ctx, lib, &err))
		die("mig_ctx_new", err.msg);
	driver_alone(ctx, drv, samples);
	mig_ctx_free(ctx);

	double d50 = pct(drv, samples, 0.5), d99 = pct(drv, samples, 0.99);
	double c50 = pct(create, samples, 0.5), c99 = pct(create, samples, 0.99);
	double h50 = pct(hit, samples, 0.5), h99 = pct(hit, samples, 0.99);
	printf("2 x A100-SXM4-40GB, 1g.5gb, simulated driver latency %u ms per GI/CI create or destroy\n", latency);
	printf("one client, %zu samples each              p50 ms   p99 ms\n", samples);
	printf("driver alone (GI + CI create, in-process) %8.1f %8.1f\n", d50, d99);
	printf("migctl lease, creates its instance        %8.1f %8.1f   (+%.1f ms over the driver at p50)\n", c50,
	       c99, c50 - d50);
	printf("migctl lease, pool hit                    %8.1f %8.1f   (%.1fx faster than a create at p50)\n", h50,
	       h99, h50 > 0 ? c50 / h50 : 0.0);

	/* concurrent clients: every lease creates, every release destroys */
	sim_fresh(latency);
	unlink(timeline_path);
	setenv("MIGSIM_TIMELINE", timeline_path, 1);
	int p[2];
	if (pipe(p) != 0)
		die("pipe", strerror(errno));
	double start = now();
	for (unsigned int c = 0; c < clients; c++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork", strerror(errno));
		if (pid == 0) {
			close(p[0]);
			client(p[1], cycles);
		}
	}
	close(p[1]);
	size_t nops = (size_t)clients * cycles * 2, got = 0;
	struct op *ops = calloc(nops, sizeof(*ops));
	if (!ops)
		die("memory", "out of memory");
	ssize_t r;
	while (got < nops && ((r = read(p[0], (char *)ops + got * sizeof(*ops), (nops - got) * sizeof(*ops))) > 0 ||
			      (r < 0 && errno == EINTR)))
		if (r > 0)
			got += (size_t)r / sizeof(*ops);
	close(p[0]);
	int st, bad = 0;
	while (wait(&st) > 0)
		bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	double elapsed = now() - start;
	unsetenv("MIGSIM_TIMELINE");
	if (bad || got != nops)
		die("clients", "a client failed");
	struct busy *b;
	size_t nb = read_timeline(&b);
	double total_busy = busy_in(b, nb, start, start + elapsed + 1);
	for (int kind = 0; kind < 2; kind++) {
		size_t n = 0;
		double *lat = calloc(nops, sizeof(double)), *over = calloc(nops, sizeof(double));
		if (!lat || !over)
			die("memory", "out of memory");
		for (size_t i = 0; i < nops; i++)
			if (ops[i].kind == kind) {
				lat[n] = ops[i].t1 - ops[i].t0;
				over[n] = lat[n] - busy_in(b, nb, ops[i].t0, ops[i].t1);
				n++;
			}
		if (kind == 0)
			printf("%u concurrent clients x %u cycles    latency p50 p99 ms   overhead beyond the driver p50 p99 ms\n",
			       clients, cycles);
		double l50 = pct(lat, n, 0.5), l99 = pct(lat, n, 0.99);
		double o50 = pct(over, n, 0.5), o99 = pct(over, n, 0.99);
		printf("%-32s %8.1f %8.1f %14.1f %8.1f\n", kind ? "migctl release (destroys)" : "migctl lease (creates)",
		       l50, l99, o50, o99);
		free(lat);
		free(over);
	}
	printf("whole run: %.2f s for %zu commands; driver busy %.2f s (%zu mutating calls), the rest %.1f ms per "
	       "command\n",
	       elapsed, nops, total_busy, nb, 1e3 * (elapsed - total_busy) / (double)nops);
	free(b);
	free(ops);
	free(drv);
	free(create);
	free(hit);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
