/* SPDX-License-Identifier: MIT */
/*
 * Leases (issue 12): lease, release, leases, run, capacity. The library keeps the table and
 * decides; this file parses, prints, and for run, starts the command and forwards signals.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "isolate.h"
#include "serve.h"

struct lease_args {
	struct mig_lease_request req;
	double lock_timeout;
	int cmd; /* run: index of the command after "--" */
	bool isolate; /* run --isolate: a device cgroup that allows only the leased MIG device */
};

/* The lease policy from migctl.conf ($MIGCTL_CONF), the table from $MIGCTL_LEASES. */
int cli_lease_options_err(struct cli *c, struct mig_settings *s, struct mig_lease_options *o, struct mig_error *err)
{
	mig_error_reset(err);
	if (cli_settings_read(c, s, err))
		return -1;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->path = getenv("MIGCTL_LEASES");
	o->max_per_user = s->lease_max_per_user;
	o->pool = s->lease_pool;
	o->pool_max = s->lease_pool_max;
	o->pool_ttl = s->lease_pool_ttl;
	o->enable_mig = s->lease_enable_mig;
	return 0;
}

static int lease_options(struct cli *c, struct mig_settings *s, struct mig_lease_options *o)
{
	struct mig_error err;
	if (cli_lease_options_err(c, s, o, &err))
		return cli_fail(c, "%s; nothing was changed", err.msg), -1;
	return 0;
}

/* The transaction, then the policy (the settings file depends on the loaded NVML). */
static int begin(struct cli *c, double lock_timeout, struct mig_settings *s, struct mig_lease_options *o,
		 struct mig_txn **txn)
{
	struct mig_error err;
	if (cli_txn_begin(c, MIG_ADMIN_INSTANCES, lock_timeout, NULL, NULL, txn))
		return -1;
	if (lease_options(c, s, o)) {
		cli_txn_end(c, *txn, false, &err);
		return -1;
	}
	return 0;
}

/* Print and free a document. */
static void print_doc(json_t *doc)
{
	cli_print_json(doc);
	json_decref(doc);
}

/* {"lease": ...} as JSON, or as text; frees it. */
static void show_lease(struct cli *c, json_t *doc, bool renewed)
{
	if (c->json)
		cli_print_json(doc);
	else
		cli_lease_print_text(stdout, json_object_get(doc, "lease"), renewed);
	json_decref(doc);
}

static int parse_count(const char *opt, const char *v, unsigned long long max, unsigned long long *out)
{
	if (!v || *v < '0' || *v > '9')
		return cli_usage("%s takes a whole number (got '%s')", opt, v ? v : ""), -1;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || *end || n > max)
		return cli_usage("%s takes a whole number (got '%s')", opt, v), -1;
	*out = n;
	return 0;
}

static int parse_seconds(const char *opt, const char *v, double *out)
{
	if (!v)
		return cli_usage("%s takes seconds greater than 0", opt), -1;
	char *end;
	errno = 0;
	double s = strtod(v, &end);
	if (errno || end == v || *end || !(s > 0) || s > 1e9)
		return cli_usage("%s takes seconds greater than 0 (got '%s')", opt, v), -1;
	*out = s;
	return 0;
}

/* MiB, or with a unit: "10gb", "512mb", "10g". */
static int parse_memory(const char *v, unsigned long long *out)
{
	if (!v || *v < '0' || *v > '9')
		goto bad;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno)
		goto bad;
	if (strcasecmp(end, "gb") == 0 || strcasecmp(end, "g") == 0 || strcasecmp(end, "gib") == 0)
		n *= 1024;
	else if (*end && strcasecmp(end, "mb") != 0 && strcasecmp(end, "m") != 0 && strcasecmp(end, "mib") != 0)
		goto bad;
	*out = n;
	return 0;
bad:
	return cli_usage("--memory takes MiB, or a size with a unit (10gb, 512mb) (got '%s')", v ? v : ""), -1;
}

/* The request options of lease and run; for run, stops at "--". */
static int parse_request(const char *cmd, int argc, char **argv, bool run, struct lease_args *a)
{
	unsigned long long n;
	memset(a, 0, sizeof(*a));
	a->req.size = sizeof(a->req);
	a->req.uid = (unsigned int)getuid();
	a->lock_timeout = 60;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!o)
			break; /* argv ends with NULL at argc */
		if (run && strcmp(o, "--") == 0) {
			a->cmd = i + 1;
			break;
		}
		if (strcmp(o, "--profile") == 0 && v) {
			a->req.profile = v;
			i++;
		} else if (strcmp(o, "--memory") == 0) {
			if (parse_memory(v, &a->req.min_memory_mib))
				return -1;
			i++;
		} else if (strcmp(o, "--slices") == 0) {
			if (parse_count(o, v, 64, &n))
				return -1;
			a->req.min_slices = (unsigned int)n;
			i++;
		} else if (run && strcmp(o, "--isolate") == 0) {
			a->isolate = true;
		} else if (strcmp(o, "--media") == 0) {
			a->req.media = true;
		} else if (strcmp(o, "--model") == 0 && v) {
			a->req.model = v;
			i++;
		} else if (!run && strcmp(o, "--ttl") == 0) {
			if (parse_seconds(o, v, &a->req.ttl))
				return -1;
			i++;
		} else if (!run && strcmp(o, "--name") == 0 && v) {
			a->req.name = v;
			i++;
		} else if (!run && strcmp(o, "--owner") == 0) {
			if (parse_count(o, v, 0x7fffffff, &n) || n == 0)
				return n == 0 && v ? cli_usage("--owner takes a process id") : -1;
			a->req.owner_pid = (long)n;
			i++;
		} else if (strcmp(o, "--lock-timeout") == 0) {
			if (parse_seconds(o, v, &a->lock_timeout))
				return -1;
			i++;
		} else {
			return cli_usage("%s: unknown option '%s' (see migctl %s --help)", cmd, o, cmd);
		}
	}
	bool need = a->req.min_memory_mib || a->req.min_slices || a->req.media;
	if (a->req.profile && need)
		return cli_usage("%s: give --profile or a need (--memory, --slices, --media), not both", cmd);
	if (!a->req.profile && !need)
		return cli_usage("%s: what to lease? --profile P, or a need: --memory MIB, --slices N, --media", cmd);
	if (a->req.name && a->req.ttl <= 0)
		return cli_usage("%s: a named lease needs --ttl SECONDS (renew it by asking again with the name)", cmd);
	if (run && !a->cmd)
		return cli_usage("run: give the command after '--': migctl run --profile P -- CMD [ARG...]");
	if (run && a->cmd >= argc)
		return cli_usage("run: no command after '--'");
	return 0;
}

void cli_lease_error_words(struct mig_error *err)
{
	const char *opt = strstr(err->msg, "the lease options' enable_mig");
	if (opt) {
		/* the library names its option; say where migctl takes it from */
		char tail[MIG_ERROR_MSG_MAX];
		snprintf(tail, sizeof(tail), "%s", opt + strlen("the lease options' enable_mig"));
		snprintf(err->msg + (opt - err->msg), sizeof(err->msg) - (size_t)(opt - err->msg),
			 "lease-enable-mig = yes in migctl.conf%s", tail);
	}
}

/* Lease in one transaction; prints nothing. */
static int acquire(struct cli *c, struct lease_args *a, struct mig_lease *l)
{
	struct mig_settings s;
	struct mig_lease_options o;
	struct mig_txn *txn;
	struct mig_error err;
	if (begin(c, a->lock_timeout, &s, &o, &txn))
		return EXIT_FAIL;
	a->req.gpus = c->gpu_selector;
	int rc = mig_lease_acquire(txn, &o, &a->req, l, &err);
	struct mig_error end_err;
	cli_txn_end(c, txn, rc == 0, &end_err);
	if (rc) {
		cli_lease_error_words(&err);
		return err.status == MIG_E_PENDING ? (cli_fail_err(c, &err), EXIT_PENDING) : cli_fail_err(c, &err);
	}
	return EXIT_OK;
}

/* The body of POST /v1/leases (docs/serve.md) from the request; ttl 0: owned by this process. */
static json_t *service_body(struct cli *c, const struct mig_lease_request *q)
{
	json_t *b = json_object();
	if (!b)
		return NULL;
	if (q->profile)
		json_object_set_new(b, "profile", json_string(q->profile));
	if (q->min_memory_mib)
		json_object_set_new(b, "memory_mib", json_integer((json_int_t)q->min_memory_mib));
	if (q->min_slices)
		json_object_set_new(b, "slices", json_integer(q->min_slices));
	if (q->media)
		json_object_set_new(b, "media", json_true());
	if (c->gpu_selector)
		json_object_set_new(b, "gpus", json_string(c->gpu_selector));
	if (q->model)
		json_object_set_new(b, "model", json_string(q->model));
	if (q->name)
		json_object_set_new(b, "name", json_string(q->name));
	if (q->ttl > 0)
		json_object_set_new(b, "ttl", json_real(q->ttl));
	return b;
}

/* POST /v1/leases: 0 with *doc ({"lease": ...}) and *renewed, or the exit code (printed). */
static int service_acquire(struct cli *c, const struct cli_service *svc, const struct lease_args *a, json_t **doc,
			   bool *renewed)
{
	long http;
	*renewed = false;
	*doc = NULL;
	json_t *body = service_body(c, &a->req);
	if (!body)
		return cli_fail(c, "out of memory");
	int rc = cli_service_call(c, svc, "POST", "/v1/leases", body, &http, doc);
	json_decref(body);
	if (rc == EXIT_OK && !json_is_object(json_object_get(*doc, "lease"))) {
		json_decref(*doc);
		return cli_fail(c, "the node service at %s answered HTTP %ld without a lease; is it migctl serve?",
				svc->socket, http);
	}
	*renewed = http == 200; /* 201: made; 200: a named lease asked for again */
	return rc;
}

/* DELETE /v1/leases/ID: 0 with *doc (the release document), or the exit code (printed). */
static int service_release(struct cli *c, const struct cli_service *svc, const char *id, json_t **doc)
{
	char path[128];
	long http;
	if (!serve_valid_lease_id(id, strlen(id)))
		return cli_fail(c, "no lease %s: lease ids look like l-0d4ee564 (see migctl leases)", id);
	snprintf(path, sizeof(path), "/v1/leases/%s", id);
	return cli_service_call(c, svc, "DELETE", path, NULL, &http, doc);
}

int cmd_lease(struct cli *c, int argc, char **argv)
{
	struct lease_args a;
	struct mig_lease l;
	struct cli_service svc;
	if (cli_service_opts(&argc, argv, &svc) || parse_request("lease", argc, argv, false, &a))
		return EXIT_USAGE;
	if (cli_service_wanted(&svc)) {
		json_t *doc;
		bool renewed;
		if (a.req.owner_pid)
			return cli_usage("lease --owner: the node service makes the asking process (this migctl) the "
					 "owner; give --ttl SECONDS instead, or use migctl run");
		if (a.req.ttl <= 0)
			return cli_usage("lease: through the node service a lease needs --ttl SECONDS: one without a TTL "
					 "belongs to the asking process (this migctl) and would end as it exits; or use "
					 "migctl run -- CMD, whose lease lasts as long as CMD");
		int rc = service_acquire(c, &svc, &a, &doc, &renewed);
		if (rc)
			return rc;
		show_lease(c, doc, renewed);
		return EXIT_OK;
	}
	/* no owner named and no TTL: the caller (a shell, a script) owns it */
	if (!a.req.owner_pid && a.req.ttl <= 0)
		a.req.owner_pid = (long)getppid();
	int rc = acquire(c, &a, &l);
	if (rc)
		return rc;
	show_lease(c, json_pack("{s:o}", "lease", cli_lease_json(&l)), l.renewed);
	return EXIT_OK;
}

static int release(struct cli *c, const char *id, double lock_timeout, struct mig_lease *l)
{
	struct mig_settings s;
	struct mig_lease_options o;
	struct mig_txn *txn;
	struct mig_error err, end_err;
	if (begin(c, lock_timeout, &s, &o, &txn))
		return EXIT_FAIL;
	int rc = mig_lease_release(txn, &o, id, (unsigned int)getuid(), l, &err);
	cli_txn_end(c, txn, rc == 0, &end_err);
	return rc ? cli_fail_err(c, &err) : EXIT_OK;
}

int cmd_release(struct cli *c, int argc, char **argv)
{
	struct mig_lease l;
	struct cli_service svc;
	json_t *doc = NULL;
	if (cli_service_opts(&argc, argv, &svc))
		return EXIT_USAGE;
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage("release: give one lease id (see migctl leases)");
	bool service = cli_service_wanted(&svc);
	int rc = service ? service_release(c, &svc, argv[1], &doc) : release(c, argv[1], 60, &l);
	if (rc)
		return rc;
	if (!service)
		doc = cli_release_json(&l);
	if (c->json)
		cli_print_json(doc);
	else
		cli_release_print_text(doc);
	json_decref(doc);
	return EXIT_OK;
}

int cmd_leases(struct cli *c, int argc, char **argv)
{
	struct mig_settings s;
	struct mig_lease_options o;
	struct mig_txn *txn;
	struct mig_error err, end_err;
	struct mig_lease *ls = NULL;
	struct mig_lease_report rep;
	struct cli_service svc;
	json_t *doc = NULL;
	size_t n = 0;
	if (cli_service_opts(&argc, argv, &svc))
		return EXIT_USAGE;
	if (argc != 1)
		return cli_usage("leases takes no arguments");
	if (cli_service_wanted(&svc)) {
		long http;
		int rc = cli_service_call(c, &svc, "GET", "/v1/leases", NULL, &http, &doc);
		if (rc)
			return rc;
	} else {
		if (begin(c, 60, &s, &o, &txn))
			return EXIT_FAIL;
		int rc = mig_lease_list(txn, &o, &ls, &n, &rep, &err);
		cli_txn_end(c, txn, rc == 0, &end_err);
		if (rc)
			return cli_fail_err(c, &err);
		doc = cli_leases_json(ls, n, &rep);
		free(ls);
	}
	cli_leases_warn(doc);
	if (c->json)
		cli_print_json(doc);
	else
		cli_leases_print_text(doc);
	json_decref(doc);
	return EXIT_OK;
}

static void copy_str(char *dst, size_t len, const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	snprintf(dst, len, "%s", v ? v : "");
}

/* -i through the service: the GPUs of GET /v1/node (index, UUID, PCI bus id) are what the
 * selector is matched against, as the library matches a node it read; wanted[index]. */
static int service_selected(struct cli *c, const struct cli_service *svc, bool *wanted, size_t max)
{
	long http;
	json_t *doc = NULL;
	struct mig_error err;
	int rc = cli_service_call(c, svc, "GET", "/v1/node", NULL, &http, &doc);
	if (rc)
		return rc;
	json_t *gpus = json_object_get(doc, "gpus");
	struct mig_node node = {.ngpus = json_array_size(gpus)};
	node.gpus = calloc(node.ngpus ? node.ngpus : 1, sizeof(*node.gpus));
	bool *sel = calloc(node.ngpus + 1, sizeof(bool));
	if (!node.gpus || !sel) {
		rc = cli_fail(c, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < node.ngpus; i++) {
		json_t *g = json_array_get(gpus, i);
		node.gpus[i].index = (unsigned int)json_integer_value(json_object_get(g, "index"));
		copy_str(node.gpus[i].uuid, sizeof(node.gpus[i].uuid), g, "uuid");
		copy_str(node.gpus[i].pci_bus_id, sizeof(node.gpus[i].pci_bus_id), g, "pci_bus_id");
	}
	if (mig_select_gpus(&node, c->gpu_selector, sel, &err)) {
		rc = cli_fail_err(c, &err);
		goto out;
	}
	for (size_t i = 0; i < node.ngpus; i++)
		if (sel[i] && node.gpus[i].index < max)
			wanted[node.gpus[i].index] = true;
out:
	free(sel);
	free(node.gpus);
	json_decref(doc);
	return rc;
}

#define CAPACITY_GPUS 1024

int cmd_capacity(struct cli *c, int argc, char **argv)
{
	struct mig_settings s;
	struct mig_lease_options o;
	struct mig_txn *txn;
	struct mig_error err, end_err;
	struct mig_capacity *cap = NULL;
	struct cli_service svc;
	size_t n = 0;
	if (cli_service_opts(&argc, argv, &svc))
		return EXIT_USAGE;
	if (argc != 1)
		return cli_usage("capacity takes no arguments (-i GPU selects GPUs)");
	json_t *arr = json_array();
	if (!arr)
		return cli_fail(c, "out of memory");
	if (cli_service_wanted(&svc)) {
		long http;
		json_t *doc = NULL, *e;
		bool wanted[CAPACITY_GPUS] = {false};
		int rc = c->gpu_selector ? service_selected(c, &svc, wanted, CAPACITY_GPUS) : EXIT_OK;
		if (rc || (rc = cli_service_call(c, &svc, "GET", "/v1/capacity", NULL, &http, &doc))) {
			json_decref(arr);
			return rc;
		}
		size_t i;
		json_array_foreach(json_object_get(doc, "capacity"), i, e)
		{
			json_int_t g = json_integer_value(json_object_get(e, "gpu"));
			if (!c->gpu_selector || (g >= 0 && g < CAPACITY_GPUS && wanted[g]))
				json_array_append(arr, e);
		}
		json_decref(doc);
	} else {
		if (begin(c, 60, &s, &o, &txn)) {
			json_decref(arr);
			return EXIT_FAIL;
		}
		int rc = mig_lease_capacity(txn, &o, &cap, &n, &err);
		bool *sel = NULL;
		const struct mig_node *node = mig_txn_node(txn);
		if (rc == 0 && c->gpu_selector && (sel = calloc(node->ngpus + 1, sizeof(bool))) &&
		    mig_select_gpus(node, c->gpu_selector, sel, &err))
			rc = -1;
		cli_txn_end(c, txn, rc == 0, &end_err);
		if (rc) {
			free(sel);
			free(cap);
			json_decref(arr);
			return cli_fail_err(c, &err);
		}
		/* sel is by NVML index, which equals the position in a full read */
		for (size_t i = 0; i < n; i++)
			if (!sel || sel[cap[i].gpu])
				json_array_append_new(arr, cli_capacity_json(&cap[i]));
		free(sel);
		free(cap);
	}
	if (c->json) {
		print_doc(json_pack("{s:o}", "capacity", arr));
	} else {
		cli_capacity_print_text(arr);
		json_decref(arr);
	}
	return EXIT_OK;
}

/* ---- run ---------------------------------------------------------------- */

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

/* The lease ends now, whatever comes next: run's own failures release it before returning.
 * svc: through the node service (NULL: the library). */
static void release_quietly(struct cli *c, const struct cli_service *svc, const struct mig_lease *l)
{
	struct mig_lease done;
	json_t *doc = NULL;
	bool json = c->json;
	c->json = false; /* the command's own output is on stdout: errors only on stderr */
	if ((svc ? service_release(c, svc, l->id, &doc) : release(c, l->id, 600, &done)) != EXIT_OK)
		fprintf(stderr, "migctl: run: lease %s was not released; it ends at the next lease command, as its owner "
				"(this process) is gone\n",
			l->id);
	json_decref(doc);
	c->json = json;
}

/* run's lease through the service: owned by this process (no TTL), as the direct path's. */
static int run_service_acquire(struct cli *c, const struct cli_service *svc, const struct lease_args *a,
			       struct mig_lease *l, json_t **doc)
{
	bool renewed;
	int rc = service_acquire(c, svc, a, doc, &renewed);
	if (rc)
		return rc;
	json_t *jl = json_object_get(*doc, "lease");
	const char *id = json_string_value(json_object_get(jl, "id"));
	const char *uuid = json_string_value(json_object_get(jl, "mig_uuid"));
	memset(l, 0, sizeof(*l));
	if (!id || !uuid || strlen(id) >= sizeof(l->id) || strlen(uuid) >= sizeof(l->mig_uuid)) {
		json_decref(*doc);
		return cli_fail(c, "the node service at %s answered a lease without an id or MIG UUID; is it migctl serve?",
				svc->socket);
	}
	snprintf(l->id, sizeof(l->id), "%s", id);
	snprintf(l->mig_uuid, sizeof(l->mig_uuid), "%s", uuid);
	return EXIT_OK;
}

int cmd_run(struct cli *c, int argc, char **argv)
{
	struct lease_args a;
	struct mig_lease l;
	struct cli_isolation iso;
	struct cli_service svc_opts;
	json_t *doc = NULL;
	if (cli_service_opts(&argc, argv, &svc_opts) || parse_request("run", argc, argv, true, &a))
		return EXIT_USAGE;
	const struct cli_service *svc = cli_service_wanted(&svc_opts) ? &svc_opts : NULL;
	if (svc && a.isolate) {
		fprintf(stderr, "migctl: run --isolate: the device cgroup needs root, and this run goes through the node "
				"service (%s); run it as root, or without --isolate; nothing was leased\n",
			svc->socket);
		return EXIT_ISOLATE;
	}
	if (a.isolate && cli_isolate_check(c, &iso))
		return EXIT_ISOLATE;
	int rc;
	if (svc) {
		/* no TTL: the service makes the peer, this process, the owner; it outlives the command and
		 * releases at the end, and its death (kill -9) ends the lease as well */
		rc = run_service_acquire(c, svc, &a, &l, &doc);
	} else {
		a.req.owner_pid = (long)getpid(); /* killed, migctl's death ends the lease */
		rc = acquire(c, &a, &l);
		if (rc == 0)
			doc = json_pack("{s:o}", "lease", cli_lease_json(&l));
	}
	if (rc)
		return rc;
	if (c->verbose)
		cli_lease_print_text(stderr, json_object_get(doc, "lease"), false);
	json_decref(doc);
	if (a.isolate && cli_isolate_create(c, &l, &iso)) {
		release_quietly(c, svc, &l);
		fprintf(stderr, "migctl: run: lease %s was released; the command was not run\n", l.id);
		return EXIT_ISOLATE;
	}
	char lease_env[64];
	snprintf(lease_env, sizeof(lease_env), "%s", l.id);
	struct sigaction sa, old[3];
	const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	/* the command's own vector, NULL-terminated (migctl's argument table is not); the pipe
	 * tells why the child could not join its cgroup (closed at exec: it did) */
	char **cmd = calloc((size_t)(argc - a.cmd) + 1, sizeof(char *));
	int report[2] = {-1, -1};
	if (!cmd || pipe2(report, O_CLOEXEC) != 0) {
		int e = errno;
		free(cmd);
		if (a.isolate)
			cli_isolate_remove(&iso);
		release_quietly(c, svc, &l);
		return cli_fail(c, "run: cannot start %s: %s", argv[a.cmd], strerror(e));
	}
	for (int i = a.cmd; i < argc; i++)
		cmd[i - a.cmd] = argv[i];
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(report[0]);
		if (a.isolate) {
			int e = cli_isolate_join(&iso);
			if (e) {
				ssize_t w = write(report[1], &e, sizeof(e));
				_exit(w == (ssize_t)sizeof(e) ? EXIT_ISOLATE : 126);
			}
			setenv("MIGCTL_DEVICE_NODES", iso.nodes, 1);
		}
		setenv("CUDA_VISIBLE_DEVICES", l.mig_uuid, 1);
		setenv("MIGCTL_LEASE", lease_env, 1);
		if (cmd[0])
			execvp(cmd[0], cmd);
		fprintf(stderr, "migctl: run: cannot run %s: %s\n", argv[a.cmd], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	int fork_errno = errno, status = 0, ret, join_err = 0;
	close(report[1]);
	if (pid < 0) {
		ret = cli_fail(c, "run: cannot start %s: %s", argv[a.cmd], strerror(fork_errno));
	} else {
		child_pid = pid;
		for (int i = 0; i < 3; i++)
			sigaction(sigs[i], &sa, &old[i]);
		ssize_t got;
		while ((got = read(report[0], &join_err, sizeof(join_err))) < 0 && errno == EINTR)
			;
		if (got != (ssize_t)sizeof(join_err))
			join_err = 0;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		child_pid = 0;
		for (int i = 0; i < 3; i++)
			sigaction(sigs[i], &old[i], NULL);
		ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	close(report[0]);
	free(cmd);
	if (join_err) {
		fprintf(stderr, "migctl: run --isolate: cannot move the command into the device cgroup %s: %s; the "
				"command was not run\n",
			iso.procs, strerror(join_err));
		ret = EXIT_ISOLATE;
	}
	if (a.isolate)
		cli_isolate_remove(&iso);
	release_quietly(c, svc, &l);
	return ret;
}

int cli_mark_leased(struct cli *c, struct mig_txn *txn)
{
	struct mig_settings s;
	struct mig_lease_options o;
	struct mig_error err;
	if (lease_options(c, &s, &o))
		return -1;
	if (mig_lease_mark_held(txn, &o, &err))
		return cli_fail_err(c, &err), -1;
	return 0;
}

int cli_plan_spares_leases(struct cli *c, struct mig_txn *txn, const struct mig_plan *plan)
{
	if (cli_mark_leased(c, txn))
		return -1;
	const struct mig_node *node = mig_txn_node(txn);
	for (size_t i = 0; i < plan->nops; i++) {
		const struct mig_op *op = &plan->ops[i];
		if (op->kind != MIG_OP_DESTROY_GI && op->kind != MIG_OP_DESTROY_CI)
			continue;
		for (size_t k = 0; k < node->ngpus; k++) {
			const struct mig_gpu *g = &node->gpus[k];
			for (size_t j = 0; strcmp(g->uuid, op->gpu_uuid) == 0 && j < g->ngis; j++)
				for (size_t x = 0; g->gis[j].id == op->gi_id && x < g->gis[j].ncis; x++)
					if (g->gis[j].cis[x].leased &&
					    (op->kind == MIG_OP_DESTROY_GI || g->gis[j].cis[x].id == op->ci_id))
						return cli_fail(c,
								"the plan destroys GPU %u GPU instance %u, which is leased "
								"(MIG device %s); release its lease first; nothing was changed",
								g->index, g->gis[j].id, g->gis[j].cis[x].uuid),
						       -1;
		}
	}
	return 0;
}
