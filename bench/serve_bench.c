/* SPDX-License-Identifier: MIT */
/*
 * Benchmark of the node service (issue 13): CLIENTS processes x CYCLES lease/release cycles of
 * a 1g.5gb MIG device through `migctl serve` (HTTP/1.1 over its Unix socket, a connection per
 * request, as a plain client does), and the same workload through `migctl run -- true`, in the
 * same run, on a simulated node of 2 A100-SXM4-40GB GPUs (MIG on, 14 places for a 1g.5gb, so
 * that 8 clients never wait for capacity), with a simulated driver latency per GI/CI create and
 * destroy.
 *
 * Printed: requests per second, p50/p99 latency of the lease (POST /v1/leases) and release
 * (DELETE /v1/leases/ID) requests and of whole cycles; the service's overhead beyond the
 * driver's operations, measured by one client against the same lease and release done by
 * libmig in this process (a transaction each: lock, node read, lease table, create/destroy);
 * and checks: never one MIG device in two live leases (a lease's time runs from its answer to
 * its release request; two leases of one MIG device must not overlap), and nothing left
 * afterwards (no lease, no MIG device).
 *
 * Usage: serve_bench MIGCTL MIGSIM_LIB [LATENCY_MS [CYCLES [CLIENTS [SINGLE]]]]
 *        (defaults 0 ms, 500 cycles, 8 clients, 50 single-client cycles)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../include/mig.h"
#include "../tests/sim_guard.h"
#define BENCH_NAME "serve_bench"
#include "bench_node.h"

#define UUID_LEN 48

struct cycle {
	double lease_s, release_s; /* request latencies */
	double got, released;      /* when the lease's answer came, when its release was sent */
	char uuid[UUID_LEN];
	bool ok;
};

static char dir[64], sock_path[100], state_path[128], leases_path[128], lock_path[128], journal_path[128];
static const char *migctl;
static const char *pool_value; /* lease-pool's value; NULL: no pool */
static bool pooling;           /* lease-pool is set: a release may pool its instance */

/* ---- a minimal HTTP/1.1 client over the Unix socket ----------------------------------------- */

/* One request on a new connection; the status, and the body in buf (NUL-terminated). */
static int http(const char *method, const char *path, const char *body, char *buf, size_t cap)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char req[512];
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 method, path, body ? strlen(body) : 0, body ? body : "");
	for (int off = 0; off < n;) {
		ssize_t w = write(fd, req + off, (size_t)(n - off));
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (int)w;
	}
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == cap - 1)
			break;
	}
	close(fd);
	buf[len] = '\0';
	int status;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	char *b = strstr(buf, "\r\n\r\n");
	if (b)
		memmove(buf, b + 4, strlen(b + 4) + 1);
	return status;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* ---- the workloads -------------------------------------------------------------------------- */

/* One client through the service: cycles lease/release of a 1g.5gb owned by this process. */
static void serve_client(struct cycle *c, unsigned int cycles)
{
	char buf[16384], id[32];
	for (unsigned int i = 0; i < cycles; i++) {
		double t0 = now();
		int st = http("POST", "/v1/leases", "{\"profile\":\"1g.5gb\"}", buf, sizeof(buf));
		double t1 = now();
		c[i].lease_s = t1 - t0;
		c[i].got = t1;
		if (st != 201) {
			fprintf(stderr, "serve_bench: POST /v1/leases: %d %s\n", st, buf);
			continue;
		}
		lease_field(buf, "id", id, sizeof(id));
		lease_field(buf, "mig_uuid", c[i].uuid, sizeof(c[i].uuid));
		char path[64];
		snprintf(path, sizeof(path), "/v1/leases/%s", id);
		double t2 = now();
		c[i].released = t2;
		st = http("DELETE", path, NULL, buf, sizeof(buf));
		c[i].release_s = now() - t2;
		c[i].ok = st == 200 && (strstr(buf, "\"instance\":\"destroyed\"") ||
					(pooling && strstr(buf, "\"instance\":\"pooled\"")));
		if (!c[i].ok)
			fprintf(stderr, "serve_bench: DELETE %s: %d %s\n", path, st, buf);
	}
}

/* One client through migctl run: cycles of `migctl --sim run --profile 1g.5gb -- true`. */
static void run_client(struct cycle *c, unsigned int cycles)
{
	for (unsigned int i = 0; i < cycles; i++) {
		double t0 = now();
		pid_t p = fork();
		if (p == 0) {
			int null = open("/dev/null", O_WRONLY); /* its output, and its "waiting for the lock" */
			dup2(null, 1);
			dup2(null, 2);
			execl(migctl, migctl, "--sim", "run", "--profile", "1g.5gb", "--", "/bin/true", (char *)NULL);
			_exit(127);
		}
		int status = -1;
		waitpid(p, &status, 0);
		c[i].lease_s = now() - t0; /* the whole cycle */
		c[i].ok = p > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
}

/* In this process, through libmig: the driver's operations with a transaction each, as the
 * service does them, without HTTP. */
static void library_client(struct mig_ctx *ctx, struct cycle *c, unsigned int cycles)
{
	struct mig_txn_options to = {.size = sizeof(to), .admin = MIG_ADMIN_INSTANCES, .lock_path = lock_path,
				     .journal_path = journal_path, .lock_timeout = 600,
				     .read_flags = MIG_READ_CAPACITY};
	/* the service's policy: the same pool, so that both sides of the comparison reuse */
	struct mig_lease_options lo = {.size = sizeof(lo), .path = leases_path, .pool = pool_value};
	struct mig_lease_request q = {.size = sizeof(q), .profile = "1g.5gb", .owner_pid = getpid(), .uid = getuid()};
	struct mig_error err;
	for (unsigned int i = 0; i < cycles; i++) {
		struct mig_txn *txn;
		struct mig_lease l;
		double t0 = now();
		if (mig_txn_begin(ctx, &to, &txn, &err))
			die("mig_txn_begin", err.msg);
		int rc = mig_lease_acquire(txn, &lo, &q, &l, &err);
		if (mig_txn_end(txn, rc == 0, &err) || rc)
			die("lease", err.msg);
		double t1 = now();
		c[i].lease_s = t1 - t0;
		if (mig_txn_begin(ctx, &to, &txn, &err))
			die("mig_txn_begin", err.msg);
		rc = mig_lease_release(txn, &lo, l.id, getuid(), &l, &err);
		if (mig_txn_end(txn, rc == 0, &err) || rc)
			die("release", err.msg);
		c[i].release_s = now() - t1;
		c[i].ok = true;
	}
}

/* clients processes, each running fn over its cycles; all cycles in a shared array. */
static struct cycle *in_parallel(unsigned int clients, unsigned int cycles, bool serve, double *wall)
{
	size_t n = (size_t)clients * cycles;
	struct cycle *c = mmap(NULL, n * sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		die("mmap", strerror(errno));
	memset(c, 0, n * sizeof(*c));
	pid_t pids[64];
	double t0 = now();
	for (unsigned int k = 0; k < clients; k++) {
		pid_t p = pids[k] = fork();
		if (p < 0)
			die("fork", strerror(errno));
		if (p == 0) {
			if (serve)
				serve_client(c + (size_t)k * cycles, cycles);
			else
				run_client(c + (size_t)k * cycles, cycles);
			_exit(0);
		}
	}
	for (unsigned int k = 0; k < clients; k++) /* not the service: it is a child too */
		waitpid(pids[k], NULL, 0);
	*wall = now() - t0;
	return c;
}

/* ---- figures and checks --------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

enum what { LEASE, RELEASE, CYCLE };

/* The q-quantile (nearest rank) of what, over the cycles that succeeded, in ms. */
static double quantile(const struct cycle *c, size_t n, enum what w, double q)
{
	double *v = malloc((n ? n : 1) * sizeof(*v));
	size_t m = 0;
	if (!v)
		die("malloc", "out of memory");
	for (size_t i = 0; i < n; i++)
		if (c[i].ok)
			v[m++] = w == LEASE ? c[i].lease_s : w == RELEASE ? c[i].release_s : c[i].lease_s + c[i].release_s;
	double r = 0;
	if (m) {
		qsort(v, m, sizeof(*v), cmp_double);
		size_t k = (size_t)(q * (double)m + 0.999999);
		r = v[k ? k - 1 : 0] * 1e3;
	}
	free(v);
	return r;
}

static size_t failed(const struct cycle *c, size_t n)
{
	size_t f = 0;
	for (size_t i = 0; i < n; i++)
		f += !c[i].ok;
	return f;
}

static int cmp_lease(const void *a, const void *b)
{
	const struct cycle *x = a, *y = b;
	int r = strcmp(x->uuid, y->uuid);
	return r ? r : (x->got < y->got ? -1 : x->got > y->got);
}

/* Leases of one MIG device whose lives overlap (the next one answered before the previous one's
 * release was even sent). Sorts c. */
static size_t overlaps(struct cycle *c, size_t n)
{
	size_t bad = 0;
	qsort(c, n, sizeof(*c), cmp_lease);
	for (size_t i = 1; i < n; i++)
		if (c[i].uuid[0] && strcmp(c[i].uuid, c[i - 1].uuid) == 0 && c[i].got < c[i - 1].released) {
			if (bad++ < 5)
				fprintf(stderr, "serve_bench: %s leased twice at once\n", c[i].uuid);
		}
	return bad;
}

/* What is left: lease table entries that are not pooled instances (through the service), and
 * MIG devices beyond the pooled ones (its node); *pooled: the pooled instances. */
static void leftovers(size_t *leases, size_t *devices, size_t *pooled)
{
	static char buf[1 << 20];
	if (http("GET", "/v1/leases", NULL, buf, sizeof(buf)) != 200)
		die("GET /v1/leases", buf);
	size_t entries = count(buf, "\"mig_uuid\":");
	*pooled = count(buf, "\"state\":\"pooled\"");
	*leases = entries - *pooled;
	if (http("GET", "/v1/node", NULL, buf, sizeof(buf)) != 200)
		die("GET /v1/node", buf);
	size_t migs = count(buf, "\"uuid\":\"MIG-");
	*devices = migs > *pooled ? migs - *pooled : 0;
}

static void row(const char *what, const struct cycle *c, size_t n, double wall, bool requests)
{
	size_t ok = n - failed(c, n);
	if (requests)
		printf("%-24s %9.1f %10.1f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %6zu\n", what, (double)ok / wall,
		       2.0 * (double)ok / wall, quantile(c, n, LEASE, .5), quantile(c, n, LEASE, .99),
		       quantile(c, n, RELEASE, .5), quantile(c, n, RELEASE, .99), quantile(c, n, CYCLE, .5),
		       quantile(c, n, CYCLE, .99), n - ok);
	else /* migctl run: one process a cycle, lease_s is the whole cycle */
		printf("%-24s %9.1f %10s %8s %8s %8s %8s %8.2f %8.2f %6zu\n", what, (double)ok / wall, "-", "-", "-", "-",
		       "-", quantile(c, n, LEASE, .5), quantile(c, n, LEASE, .99), n - ok);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: serve_bench MIGCTL MIGSIM_LIB [LATENCY_MS [CYCLES [CLIENTS [SINGLE [POOL]]]]]\n");
		return 2;
	}
	/* the bench creates and destroys MIG devices: only ever on the simulator */
	if (sim_guard_path(BENCH_NAME, argv[2]))
		return 1;
	migctl = argv[1];
	unsigned int latency = argc > 3 ? (unsigned int)atoi(argv[3]) : 0;
	unsigned int cycles = argc > 4 ? (unsigned int)atoi(argv[4]) : 500;
	unsigned int clients = argc > 5 ? (unsigned int)atoi(argv[5]) : 8;
	unsigned int single = argc > 6 ? (unsigned int)atoi(argv[6]) : 50;
	/* POOL: lease-pool's value ("all"), so that released instances serve the next lease */
	const char *pool = argc > 7 ? argv[7] : NULL;
	pooling = pool != NULL;
	pool_value = pool;
	if (!cycles || !clients || !single || clients > 14)
		die("arguments", "CYCLES, CLIENTS and SINGLE are at least 1, CLIENTS at most 14");

	snprintf(dir, sizeof(dir), "/tmp/migctl-serve-bench-XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp", strerror(errno));
	snprintf(sock_path, sizeof(sock_path), "%s/migctl.sock", dir);
	snprintf(state_path, sizeof(state_path), "%s/state.json", dir);
	snprintf(leases_path, sizeof(leases_path), "%s/leases.json", dir);
	snprintf(lock_path, sizeof(lock_path), "%s/apply.lock", dir);
	snprintf(journal_path, sizeof(journal_path), "%s/journal.json", dir);
	char conf[128];
	snprintf(conf, sizeof(conf), "%s/migctl.conf", dir);
	setenv("MIGSIM_STATE", state_path, 1);
	setenv("MIGSIM_QUIET", "1", 1);
	setenv("MIGCTL_LEASES", leases_path, 1);
	setenv("MIGCTL_LOCK", lock_path, 1);
	setenv("MIGCTL_JOURNAL", journal_path, 1);
	setenv("MIGCTL_CONF", conf, 1); /* absent: no pool, no per-user limit */
	if (pool) {
		FILE *cf = fopen(conf, "w");
		if (!cf || fprintf(cf, "lease-pool = %s\n", pool) < 0 || fclose(cf) != 0)
			die("migctl.conf", strerror(errno));
	}
	sim_edit(state_path, "2xA100-SXM4-40GB", true, latency);

	/* the service */
	char log[128];
	snprintf(log, sizeof(log), "%s/serve.log", dir);
	pid_t server = fork();
	if (server == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(migctl, migctl, "--sim", "serve", "--socket", sock_path, "--rate", "0", "--lock-timeout", "3600",
		      (char *)NULL);
		_exit(127);
	}
	char buf[4096];
	for (int i = 0; http("GET", "/v1/health", NULL, buf, sizeof(buf)) != 200; i++) {
		if (i > 1000 || waitpid(server, NULL, WNOHANG) == server)
			die("migctl serve did not start; see", log);
		usleep(10000);
	}

	printf("2 x A100-SXM4-40GB, MIG on; 1g.5gb lease/release cycles; simulated driver latency %u ms per GI/CI "
	       "create or destroy; %s%s\n\n",
	       latency, pool ? "released instances pooled for the next lease: lease-pool = " : "no pool",
	       pool ? pool : "");

	/* one client: the service against libmig in this process */
	struct mig_ctx *ctx;
	struct mig_error err;
	if (mig_ctx_new(&ctx, argv[2], &err))
		die("mig_ctx_new", err.msg);
	struct cycle *lib = calloc(single, sizeof(*lib));
	struct cycle *one = calloc(single, sizeof(*one));
	if (!lib || !one)
		die("calloc", "out of memory");
	for (unsigned int i = 0; i < single; i++) { /* interleaved: both see the same machine */
		library_client(ctx, lib + i, 1);
		serve_client(one + i, 1);
	}
	mig_ctx_free(ctx);
	double ll = quantile(lib, single, LEASE, .5), lr = quantile(lib, single, RELEASE, .5);
	double sl = quantile(one, single, LEASE, .5), sr = quantile(one, single, RELEASE, .5);
	size_t one_failed = failed(lib, single) + failed(one, single);
	free(lib);
	free(one);
	printf("one client, %u cycles, p50 ms          lease   release\n", single);
	printf("  libmig in this process (baseline)  %8.2f  %8.2f\n", ll, lr);
	printf("  migctl serve                       %8.2f  %8.2f\n", sl, sr);
	printf("  service overhead                   %+8.2f  %+8.2f   (%+.1f%% / %+.1f%% of the baseline)\n\n",
	       sl - ll, sr - lr, ll > 0 ? 100 * (sl - ll) / ll : 0, lr > 0 ? 100 * (sr - lr) / lr : 0);

	/* many clients */
	double wall_s, wall_r;
	size_t n = (size_t)clients * cycles;
	struct cycle *s = in_parallel(clients, cycles, true, &wall_s);
	size_t s_leases, s_devices, s_pooled;
	leftovers(&s_leases, &s_devices, &s_pooled);
	struct cycle *r = in_parallel(clients, cycles, false, &wall_r);
	size_t r_leases, r_devices, r_pooled;
	leftovers(&r_leases, &r_devices, &r_pooled);

	printf("%u clients x %u cycles    cycles/s requests/s   lease ms          release ms        cycle ms        "
	       "failed\n",
	       clients, cycles);
	printf("%-24s %9s %10s %8s %8s %8s %8s %8s %8s\n", "", "", "", "p50", "p99", "p50", "p99", "p50", "p99");
	row("migctl serve", s, n, wall_s, true);
	row("migctl run -- true", r, n, wall_r, false);
	printf("(wall: %.1f s through the service, %.1f s through migctl run)\n\n", wall_s, wall_r);

	size_t twice = overlaps(s, n);
	printf("checks: %zu of %zu leases through the service shared a MIG device with another live lease; left "
	       "after: %zu leases and %zu MIG devices (service), %zu and %zu (migctl run), besides the pooled "
	       "instances (%zu and %zu)\n",
	       twice, n - failed(s, n), s_leases, s_devices, r_leases, r_devices, s_pooled, r_pooled);

	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "serve_bench: could not remove %s\n", dir);
	bool bad = twice || s_leases || s_devices || r_leases || r_devices || failed(s, n) || failed(r, n) ||
		   one_failed;
	munmap(s, n * sizeof(*s));
	munmap(r, n * sizeof(*r));
	if (bad)
		printf("FAILED: see above\n");
	return bad ? 1 : 0;
}
