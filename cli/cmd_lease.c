/* SPDX-License-Identifier: MIT */
/*
 * Leases (issue 12): lease, release, leases, run, capacity. The library keeps the table and
 * decides; this file parses, prints, and for run, starts the command and forwards signals.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

struct lease_args {
	struct mig_lease_request req;
	double lock_timeout;
	int cmd; /* run: index of the command after "--" */
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

static void lease_print(FILE *f, const struct mig_lease *l)
{
	fprintf(f, "Lease %s: %s (%s on GPU %u, GPU instance %u, compute instance %u, placement %u:%u)%s\n", l->id,
		l->mig_uuid, l->profile, l->gpu, l->gi_id, l->ci_id, l->at.start, l->at.size,
		l->renewed ? ", renewed" : l->reused ? ", reused from the pool" : "");
	if (l->owner_pid > 0)
		fprintf(f, "  owner: process %ld (the lease ends when it exits)\n", l->owner_pid);
	if (l->expires > 0)
		fprintf(f, "  %s%s%sexpires: in %.0f s unless renewed\n", l->name[0] ? "name: " : "", l->name,
			l->name[0] ? ", " : "", l->expires - (double)time(NULL));
	fprintf(f, "  CDI device: %s\n  environment: %s\n", l->cdi, l->env);
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
	if (rc)
		return cli_fail_err(c, &err);
	return EXIT_OK;
}

int cmd_lease(struct cli *c, int argc, char **argv)
{
	struct lease_args a;
	struct mig_lease l;
	if (parse_request("lease", argc, argv, false, &a))
		return EXIT_USAGE;
	/* no owner named and no TTL: the caller (a shell, a script) owns it */
	if (!a.req.owner_pid && a.req.ttl <= 0)
		a.req.owner_pid = (long)getppid();
	int rc = acquire(c, &a, &l);
	if (rc)
		return rc;
	if (c->json)
		print_doc(json_pack("{s:o}", "lease", cli_lease_json(&l)));
	else
		lease_print(stdout, &l);
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

static const char *release_words(const struct mig_lease *l)
{
	return l->destroyed ? "its instance was destroyed"
	       : l->state == MIG_LEASE_POOLED ? "its instance stays warm in the pool"
					       : "processes still run on its instance: it is destroyed once they exit";
}

int cmd_release(struct cli *c, int argc, char **argv)
{
	struct mig_lease l;
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage("release: give one lease id (see migctl leases)");
	int rc = release(c, argv[1], 60, &l);
	if (rc)
		return rc;
	if (c->json)
		print_doc(cli_release_json(&l));
	else
		printf("Released lease %s (%s): %s\n", l.id, l.mig_uuid, release_words(&l));
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
	size_t n = 0;
	(void)argv;
	if (argc != 1)
		return cli_usage("leases takes no arguments");
	if (begin(c, 60, &s, &o, &txn))
		return EXIT_FAIL;
	int rc = mig_lease_list(txn, &o, &ls, &n, &rep, &err);
	cli_txn_end(c, txn, rc == 0, &end_err);
	if (rc)
		return cli_fail_err(c, &err);
	if (rep.vanished)
		fprintf(stderr, "migctl: warning: the instance of lease %s vanished (destroyed by someone else); the "
				"lease ended\n",
			rep.vanished_ids);
	if (c->json) {
		print_doc(cli_leases_json(ls, n, &rep));
	} else {
		if (rep.ended || rep.orphans)
			printf("Reconciled: %zu lease(s) ended, %zu orphan instance(s), %zu destroyed, %zu pooled\n", rep.ended,
			       rep.orphans, rep.destroyed, rep.pooled);
		if (n == 0)
			printf("No leases.\n");
		for (size_t i = 0; i < n; i++) {
			const struct mig_lease *l = &ls[i];
			char owner[96];
			if (l->owner_pid > 0)
				snprintf(owner, sizeof(owner), "pid %ld", l->owner_pid);
			else if (l->name[0])
				snprintf(owner, sizeof(owner), "%s, %.0f s left", l->name, l->expires - (double)time(NULL));
			else
				snprintf(owner, sizeof(owner), "-");
			printf("%-11s %-8s uid %-5u GPU %u  %-12s %s  %s\n", l->id, mig_lease_state_name(l->state), l->uid,
			       l->gpu, l->profile, l->mig_uuid, owner);
		}
	}
	free(ls);
	return EXIT_OK;
}

int cmd_capacity(struct cli *c, int argc, char **argv)
{
	struct mig_settings s;
	struct mig_lease_options o;
	struct mig_txn *txn;
	struct mig_error err, end_err;
	struct mig_capacity *cap = NULL;
	size_t n = 0;
	(void)argv;
	if (argc != 1)
		return cli_usage("capacity takes no arguments (-i GPU selects GPUs)");
	if (begin(c, 60, &s, &o, &txn))
		return EXIT_FAIL;
	int rc = mig_lease_capacity(txn, &o, &cap, &n, &err);
	bool *sel = NULL;
	const struct mig_node *node = mig_txn_node(txn);
	if (rc == 0 && c->gpu_selector && (sel = calloc(node->ngpus + 1, sizeof(bool))) &&
	    mig_select_gpus(node, c->gpu_selector, sel, &err))
		rc = -1;
	bool *gpu_sel = NULL; /* by NVML index, which equals the position in a full read */
	if (rc == 0 && sel)
		gpu_sel = sel;
	cli_txn_end(c, txn, rc == 0, &end_err);
	if (rc) {
		free(sel);
		free(cap);
		return cli_fail_err(c, &err);
	}
	json_t *arr = json_array();
	if (!c->json)
		printf("%-4s %-16s %5s %15s\n", "GPU", "PROFILE", "FREE", "POOL RECLAIMED");
	for (size_t i = 0; i < n; i++) {
		if (gpu_sel && !gpu_sel[cap[i].gpu])
			continue;
		if (c->json)
			json_array_append_new(arr, cli_capacity_json(&cap[i]));
		else
			printf("%-4u %-16s %5u %15u\n", cap[i].gpu, cap[i].profile, cap[i].now, cap[i].reclaimed);
	}
	if (c->json)
		print_doc(json_pack("{s:o}", "capacity", arr));
	else
		json_decref(arr);
	free(sel);
	free(cap);
	return EXIT_OK;
}

/* ---- run ---------------------------------------------------------------- */

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

int cmd_run(struct cli *c, int argc, char **argv)
{
	struct lease_args a;
	struct mig_lease l;
	if (parse_request("run", argc, argv, true, &a))
		return EXIT_USAGE;
	a.req.owner_pid = (long)getpid(); /* killed, migctl's death ends the lease */
	int rc = acquire(c, &a, &l);
	if (rc)
		return rc;
	if (c->verbose)
		lease_print(stderr, &l);
	char lease_env[64];
	snprintf(lease_env, sizeof(lease_env), "%s", l.id);
	struct sigaction sa, old[3];
	const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	/* the command's own vector, NULL-terminated (migctl's argument table is not) */
	char **cmd = calloc((size_t)(argc - a.cmd) + 1, sizeof(char *));
	if (!cmd) {
		struct mig_lease gone;
		release(c, l.id, 600, &gone);
		return cli_fail(c, "out of memory");
	}
	for (int i = a.cmd; i < argc; i++)
		cmd[i - a.cmd] = argv[i];
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		setenv("CUDA_VISIBLE_DEVICES", l.mig_uuid, 1);
		setenv("MIGCTL_LEASE", lease_env, 1);
		if (cmd[0])
			execvp(cmd[0], cmd);
		fprintf(stderr, "migctl: run: cannot run %s: %s\n", argv[a.cmd], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	int status = 0, ret;
	if (pid < 0) {
		ret = cli_fail(c, "run: cannot start %s: %s", argv[a.cmd], strerror(errno));
	} else {
		child_pid = pid;
		for (int i = 0; i < 3; i++)
			sigaction(sigs[i], &sa, &old[i]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		child_pid = 0;
		for (int i = 0; i < 3; i++)
			sigaction(sigs[i], &old[i], NULL);
		ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	free(cmd);
	struct mig_lease done;
	bool json = c->json;
	c->json = false; /* the command's own output is on stdout: errors only on stderr */
	if (release(c, l.id, 600, &done) != EXIT_OK)
		fprintf(stderr, "migctl: run: lease %s was not released; it ends at the next lease command, as its owner "
				"(this process) is gone\n",
			l.id);
	c->json = json;
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
