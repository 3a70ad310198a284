/* SPDX-License-Identifier: MIT */
/*
 * plan, apply, assert, export: mig-parted's config files, applied with the fewest changes.
 *
 * apply holds a per-node lock for its whole run and keeps a journal of the plan and its
 * progress; a run that finds a journal says so and plans again from the node as it is,
 * which finishes the interrupted work without touching what the target keeps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "cli.h"

struct declare_args {
	const char *file;
	const char *set;
	const char *hooks;
	bool dry_run;
	bool force;
	bool placements;
	bool reset_pending;
	double lock_timeout;
	const char *output; /* plan --output: the plan as a document to apply later */
	const char *plan;   /* apply --plan: that document */
	/* issue 15 (mig-parted compatibility): */
	bool mode_only;      /* apply/assert --mode-only: MIG mode alone, instances not looked at */
	bool allow_no_match; /* --allow-no-match: a config that selects no GPU is not an error */
	const char *label;   /* export --label: the config's name (default "current") */
};

/* Returns 0, or EXIT_USAGE (printed). EXIT_USAGE is returned here, not cli_usage()'s result, so
 * that static analysis sees that a 0 means a->file is set when needs_file. */
static int parse_args(const char *cmd, int argc, char **argv, struct declare_args *a, bool needs_file)
{
	a->lock_timeout = 60;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		const bool v = i + 1 < argc; /* a value follows: argv[i + 1], never NULL below argc */
		if ((strcmp(s, "-f") == 0 || strcmp(s, "--config-file") == 0) && v && strcmp(cmd, "export") != 0)
			a->file = argv[++i];
		else if ((strcmp(s, "-c") == 0 || strcmp(s, "--selected-config") == 0) && v && strcmp(cmd, "export") != 0)
			a->set = argv[++i];
		else if ((strcmp(s, "-k") == 0 || strcmp(s, "--hooks-file") == 0) && v && strcmp(cmd, "apply") == 0)
			a->hooks = argv[++i];
		else if (strcmp(s, "--dry-run") == 0 && strcmp(cmd, "apply") == 0)
			a->dry_run = true;
		else if (strcmp(s, "--reset-pending") == 0 && strcmp(cmd, "apply") == 0)
			a->reset_pending = true;
		else if (strcmp(s, "--force") == 0 && (strcmp(cmd, "apply") == 0 || strcmp(cmd, "plan") == 0))
			a->force = true;
		else if ((strcmp(s, "--output") == 0 || strcmp(s, "-o") == 0) && v && strcmp(cmd, "plan") == 0)
			a->output = argv[++i];
		else if (strcmp(s, "--plan") == 0 && v && strcmp(cmd, "apply") == 0)
			a->plan = argv[++i];
		else if (strcmp(s, "--placements") == 0 && strcmp(cmd, "export") == 0)
			a->placements = true;
		else if (strcmp(s, "--mode-only") == 0 && (strcmp(cmd, "apply") == 0 || strcmp(cmd, "assert") == 0))
			a->mode_only = true;
		else if (strcmp(s, "--allow-no-match") == 0 && strcmp(cmd, "export") != 0)
			a->allow_no_match = true;
		else if (strcmp(s, "--label") == 0 && v && strcmp(cmd, "export") == 0)
			a->label = argv[++i];
		else if (strcmp(s, "--lock-timeout") == 0 && v && strcmp(cmd, "apply") == 0) {
			char *end;
			a->lock_timeout = strtod(argv[++i], &end);
			if (*end || !isfinite(a->lock_timeout) || a->lock_timeout < 0 || a->lock_timeout > 86400) {
				cli_usage("apply: --lock-timeout takes seconds, e.g. 60 (got '%s')", argv[i]);
				return EXIT_USAGE;
			}
		} else {
			cli_usage("%s: unknown or incomplete argument '%s'", cmd, s);
			return EXIT_USAGE;
		}
	}
	const char *env_file = getenv("MIGCTL_CONFIG_FILE"), *env_set = getenv("MIGCTL_SELECTED_CONFIG");
	if (!a->file && needs_file && env_file && *env_file)
		a->file = env_file;
	if (!a->set && env_set && *env_set)
		a->set = env_set;
	if (!a->hooks && strcmp(cmd, "apply") == 0)
		a->hooks = getenv("MIGCTL_HOOKS_FILE");
	if (a->hooks && !*a->hooks)
		a->hooks = NULL;
	if (a->plan && (a->file || a->set || a->dry_run || a->force || a->reset_pending)) {
		cli_usage("apply: --plan carries out a plan made earlier; it takes no config (-f, -c), --dry-run, --force "
			  "or --reset-pending");
		return EXIT_USAGE;
	}
	if (needs_file && !a->file && !a->plan) {
		cli_usage("%s: which config file? -f FILE (or - for standard input, or $MIGCTL_CONFIG_FILE)", cmd);
		return EXIT_USAGE;
	}
	return 0;
}

/* Config, node (with capacity), targets and plan. Prints the error and returns -1 on failure. */
static int make_plan(struct cli *c, const struct declare_args *a, struct mig_config **config,
		     struct mig_gpu_target **targets, struct mig_plan **plan)
{
	struct mig_error err;
	const struct mig_config_set *set;

	*targets = NULL;
	*plan = NULL;
	/* a config already read is reused: standard input can be read only once */
	if (!*config && mig_config_load(a->file, config, &err)) {
		cli_fail_err(c, &err);
		return -1;
	}
	if (!(set = mig_config_find(*config, a->set, &err))) {
		cli_fail_err(c, &err);
		return -1;
	}
	c->read_flags |= MIG_READ_CAPACITY;
	if (cli_load(c))
		return -1;
	*targets = calloc(c->node->ngpus ? c->node->ngpus : 1, sizeof(**targets));
	if (!*targets) {
		cli_fail(c, "out of memory");
		return -1;
	}
	if (mig_config_targets_flags(*config, set, c->node, a->allow_no_match ? MIG_TARGETS_ALLOW_NO_MATCH : 0, *targets,
				     &err)) {
		/* a config that selects no GPU: this tool's way out for fleets that share one file */
		struct mig_error again;
		if (err.status == MIG_E_NOT_FOUND && !a->allow_no_match &&
		    mig_config_targets_flags(*config, set, c->node, MIG_TARGETS_ALLOW_NO_MATCH, *targets, &again) == 0)
			strncat(err.msg, ", or pass --allow-no-match to accept a config that selects nothing",
				sizeof(err.msg) - strlen(err.msg) - 1);
		cli_fail_err(c, &err);
		return -1;
	}
	cli_targets_mode_only(c->node, *targets, a->mode_only); /* issue 15: --mode-only (cmd_parted.c) */
	for (size_t i = 0; i < c->node->ngpus && c->gpu_selector; i++)
		if (!c->selected[i])
			(*targets)[i].selected = false; /* -i narrows what the config selects */
	if (mig_plan_make(c->node, *targets, a->force, plan, &err)) {
		cli_fail_err(c, &err);
		return -1;
	}
	return 0;
}

static const char *op_key(enum mig_op_kind k)
{
	static const char *const keys[] = {"destroy-ci", "destroy-gi", "disable-mig", "enable-mig", "create-gi",
					   "create-ci"};
	return keys[k];
}

static json_t *op_json(const struct mig_op *op)
{
	json_t *o = json_pack("{s:s, s:I, s:s}", "op", op_key(op->kind), "gpu", (json_int_t)op->gpu, "profile", op->profile);
	switch (op->kind) {
	case MIG_OP_DESTROY_CI:
		json_object_set_new(o, "gpu_instance", json_integer(op->gi_id));
		json_object_set_new(o, "compute_instance", json_integer(op->ci_id));
		break;
	case MIG_OP_DESTROY_GI:
		json_object_set_new(o, "gpu_instance", json_integer(op->gi_id));
		json_object_set_new(o, "placement", cli_placement_json(op->at));
		break;
	case MIG_OP_CREATE_GI:
		json_object_set_new(o, "profile_id", json_integer(op->profile_id));
		json_object_set_new(o, "placement", cli_placement_json(op->at));
		break;
	case MIG_OP_CREATE_CI:
		json_object_set_new(o, "gpu_instance", op->new_gi >= 0 ? json_null() : json_integer(op->gi_id));
		json_object_set_new(o, "gpu_instance_placement", cli_placement_json(op->at));
		break;
	default:
		json_object_del(o, "profile");
		break;
	}
	return o;
}

static void print_op(const struct mig_op *op, size_t i)
{
	char text[256];
	mig_op_format(op, text, sizeof(text));
	printf("  %2zu. %s\n", i + 1, text);
}

/* The slice row for a layout given as placements and labels. */
static void print_row(const char *label, unsigned int grid, const struct mig_placement *pl, const int *ids, size_t n)
{
	printf("    %-7s", label);
	for (unsigned int u = 0; u < grid; u++) {
		int owner = -2;
		for (size_t i = 0; i < n; i++)
			if (u >= pl[i].start && u < pl[i].start + pl[i].size)
				owner = ids[i];
		if (owner == -2)
			printf("[ . ]");
		else if (owner == -1)
			printf("[new]");
		else
			printf("[%3d]", owner);
	}
	printf("\n");
}

static void print_gpu_plan(const struct mig_gpu *g, const struct mig_gpu_plan *gp)
{
	struct mig_placement before[8];
	int ids[8];
	size_t n = g->ngis; /* counted once: the row prints what was filled */
	if (n > 8)
		n = 8;
	for (size_t i = 0; i < n; i++) {
		before[i] = g->gis[i].placement;
		ids[i] = (int)g->gis[i].id;
	}
	printf("GPU %u: %s: keep %zu GPU and %zu compute instances, destroy %zu and %zu, create %zu and %zu\n", g->index,
	       g->name, gp->kept_gis, gp->kept_cis, gp->destroyed_gis, gp->destroyed_cis, gp->created_gis,
	       gp->created_cis);
	if (g->grid == 0)
		return;
	print_row("before", g->grid, before, ids, n);
	print_row("after", g->grid, gp->after, gp->after_id, gp->nafter);
}

static json_t *plan_json(const struct cli *c, const struct mig_plan *plan)
{
	json_t *gpus = json_array(), *ops = json_array();
	for (size_t i = 0; i < plan->ngpus; i++) {
		const struct mig_gpu_plan *gp = &plan->gpus[i];
		json_t *after = json_array();
		for (size_t k = 0; k < gp->nafter; k++)
			json_array_append_new(after, json_pack("{s:o, s:s, s:o}", "gpu_instance",
							       gp->after_id[k] >= 0 ? json_integer(gp->after_id[k]) : json_null(),
							       "profile", gp->after_profile[k], "placement",
							       cli_placement_json(gp->after[k])));
		json_array_append_new(gpus, json_pack("{s:I, s:s, s:b, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}, s:o}", "index",
						      (json_int_t)gp->gpu, "uuid", c->node->gpus[gp->gpu].uuid, "changes",
						      gp->changes, "keep", "gpu_instances", (json_int_t)gp->kept_gis,
						      "compute_instances", (json_int_t)gp->kept_cis, "destroy", "gpu_instances",
						      (json_int_t)gp->destroyed_gis, "compute_instances",
						      (json_int_t)gp->destroyed_cis, "create", "gpu_instances",
						      (json_int_t)gp->created_gis, "compute_instances", (json_int_t)gp->created_cis,
						      "after", after));
	}
	for (size_t i = 0; i < plan->nops; i++)
		json_array_append_new(ops, op_json(&plan->ops[i]));
	return json_pack("{s:o, s:o}", "gpus", gpus, "operations", ops);
}

static void print_plan(const struct cli *c, const struct mig_plan *plan)
{
	for (size_t i = 0; i < plan->ngpus; i++) {
		const struct mig_gpu_plan *gp = &plan->gpus[i];
		if (gp->changes)
			print_gpu_plan(&c->node->gpus[gp->gpu], gp);
		else
			printf("GPU %u: %s: already as configured\n", gp->gpu, c->node->gpus[gp->gpu].name);
	}
	if (plan->nops) {
		printf("Operations, in order:\n");
		for (size_t i = 0; i < plan->nops; i++)
			print_op(&plan->ops[i], i);
	}
}

static void free_all(struct mig_config *config, struct mig_gpu_target *targets, struct mig_plan *plan)
{
	mig_plan_free(plan);
	free(targets);
	mig_config_free(config);
}

int cmd_plan(struct cli *c, int argc, char **argv)
{
	struct declare_args a = {0};
	struct mig_config *config = NULL;
	struct mig_gpu_target *targets;
	struct mig_plan *plan;
	int r = parse_args("plan", argc, argv, &a, true);
	if (r)
		return r;
	if (make_plan(c, &a, &config, &targets, &plan)) {
		free_all(config, targets, plan);
		return EXIT_FAIL;
	}
	if (a.output) {
		struct mig_error err;
		char *text = mig_plan_to_json(plan, &err);
		FILE *f = text ? (strcmp(a.output, "-") == 0 ? stdout : fopen(a.output, "w")) : NULL;
		int bad = !f || fputs(text, f) < 0 || fputc('\n', f) < 0;
		if (f && f != stdout)
			bad |= fclose(f) != 0;
		free(text);
		if (bad) {
			free_all(config, targets, plan);
			return cli_fail(c, "cannot write the plan to %s: %s", a.output, strerror(errno));
		}
		if (f == stdout) {
			free_all(config, targets, plan);
			return EXIT_OK;
		}
	}
	if (c->json) {
		json_t *doc = plan_json(c, plan);
		cli_print_json(doc);
		json_decref(doc);
	} else {
		print_plan(c, plan);
		if (!plan->nops)
			printf("Nothing to do.\n");
		if (a.output)
			printf("Plan written to %s; carry it out with: migctl apply --plan %s\n", a.output, a.output);
	}
	free_all(config, targets, plan);
	return EXIT_OK;
}

int cmd_assert(struct cli *c, int argc, char **argv)
{
	struct declare_args a = {0};
	struct mig_config *config = NULL;
	struct mig_gpu_target *targets;
	struct mig_plan *plan;
	int r = parse_args("assert", argc, argv, &a, true);
	if (r)
		return r;
	a.force = true; /* a busy instance is a difference, not an error */
	if (make_plan(c, &a, &config, &targets, &plan)) {
		free_all(config, targets, plan);
		return EXIT_FAIL;
	}
	int ret = plan->nops ? EXIT_DIFFERS : EXIT_OK;
	if (c->json) {
		json_t *doc = plan_json(c, plan);
		json_object_set_new(doc, "matches", json_boolean(!plan->nops));
		cli_print_json(doc);
		json_decref(doc);
	} else if (plan->nops) {
		printf("The GPUs differ from the configuration; applying it would:\n");
		print_plan(c, plan);
	} else {
		printf("Selected MIG configuration currently applied\n");
	}
	free_all(config, targets, plan);
	return ret;
}

/* ---- apply ---------------------------------------------------------------- */

/* The config of an apply, read from the file it checked: run as root, one that root does not
 * own or others can write is refused (mig_check_trusted_fd), as it decides what root destroys.
 * Standard input ("-") is the caller's own. plan, assert and apply --dry-run change nothing
 * and read any file (make_plan). */
int cli_load_checked_config(struct cli *c, const char *file, struct mig_config **out)
{
	struct mig_error err;
	if (strcmp(file, "-") == 0) {
		if (mig_config_load(file, out, &err))
			return cli_fail_err(c, &err);
		return 0;
	}
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return cli_fail(c, "cannot open config file %s: %s", file, strerror(errno));
	int r = mig_check_trusted_fd("config file", "it decides which instances apply destroys and creates", file, fd, &err) ||
		mig_config_load_fd(fd, file, out, &err);
	close(fd);
	return r ? cli_fail_err(c, &err) : 0;
}

/* After a failed execute: the error, then what holds a pending GPU or how far it got. */
static int report_failure(struct cli *c, struct mig_txn *txn, const struct mig_error *err, const struct mig_node *before,
			  size_t done, size_t total, bool reset_pending)
{
	cli_fail_err(c, err);
	if (err->status != MIG_E_PENDING) {
		if (err->status != MIG_E_CHANGED || done)
			fprintf(stderr, "migctl: %zu of %zu operations were done; run apply again to finish (it plans again "
					"from the GPUs as they are)\n",
				done, total);
		return EXIT_FAIL;
	}
	/* name what holds them: the processes as read before the apply */
	for (size_t i = 0; i < before->ngpus; i++) {
		const struct mig_gpu *g = &before->gpus[i];
		if (!mig_txn_pending(txn, g->index) || !g->nprocs)
			continue;
		fprintf(stderr, "migctl: GPU %u runs process%s", g->index, g->nprocs > 1 ? "es" : "");
		for (size_t k = 0; k < g->nprocs && k < 16; k++)
			fprintf(stderr, "%s %u", k ? "," : "", g->procs[k].pid);
		fprintf(stderr, "%s\n", g->nprocs > 16 ? ", ..." : "");
	}
	if (!reset_pending)
		fprintf(stderr, "migctl: stop what uses those GPUs and run apply again, or add --reset-pending to "
				"reset only them\n");
	return EXIT_PENDING;
}

/* The result of a change that succeeded: "<what> successfully (N operations)", or its JSON. */
static void print_applied(struct cli *c, const char *what, size_t done)
{
	if (c->json) {
		json_t *doc = json_pack("{s:b, s:I}", "applied", 1, "operations_done", (json_int_t)done);
		cli_print_json(doc);
		json_decref(doc);
	} else {
		printf("%s successfully (%zu operation%s)\n", what, done, done == 1 ? "" : "s");
	}
}

/* apply --plan FILE: a plan made earlier (plan --output), carried out as it is, or refused
 * with nothing changed when the GPUs moved since it was made. */
static int apply_saved_plan(struct cli *c, const struct declare_args *a)
{
	struct mig_error err;
	struct mig_plan *plan = NULL;
	struct mig_txn *txn = NULL;
	FILE *f = strcmp(a->plan, "-") == 0 ? stdin : fopen(a->plan, "r");
	char *text = NULL;
	size_t len = 0;
	if (!f)
		return cli_fail(c, "cannot open plan %s: %s", a->plan, strerror(errno));
	FILE *m = open_memstream(&text, &len);
	int ch;
	while (m && (ch = fgetc(f)) != EOF && len < (16u << 20))
		fputc(ch, m);
	if (m)
		fclose(m);
	if (f != stdin)
		fclose(f);
	if (!text || mig_plan_from_json(text, &plan, &err)) {
		free(text);
		if (!text)
			return cli_fail(c, "out of memory");
		char msg[MIG_ERROR_MSG_MAX + 300];
		snprintf(msg, sizeof(msg), "%s: %s; make one with: migctl plan -f CONFIG -c NAME --output FILE", a->plan,
			 err.msg);
		return cli_fail(c, "%s", msg);
	}
	free(text);
	int ret = EXIT_FAIL;
	if (cli_txn_begin(c, MIG_ADMIN_INSTANCES, a->lock_timeout, a->hooks, NULL, &txn) ||
	    cli_plan_spares_leases(c, txn, plan))
		goto out;
	if (cli_txn_execute(c, txn, plan, &err)) {
		if (err.status == MIG_E_PENDING)
			ret = EXIT_PENDING;
		cli_fail_err(c, &err);
		goto out;
	}
	ret = EXIT_OK;
out:
	if (txn && cli_txn_end(c, txn, ret == EXIT_OK, &err) && ret == EXIT_OK)
		ret = cli_fail_err(c, &err);
	if (ret == EXIT_OK)
		print_applied(c, "Plan carried out", plan->nops);
	mig_plan_free(plan);
	return ret;
}

/*
 * apply: parse, then in one transaction (lock, journal, hooks): plan from the locked node,
 * execute, and with --reset-pending reset the GPUs left pending and plan and execute again.
 */
int cmd_apply(struct cli *c, int argc, char **argv)
{
	struct declare_args a = {0};
	struct mig_config *config = NULL;
	struct mig_gpu_target *targets = NULL;
	struct mig_plan *plan = NULL;
	struct mig_txn *txn = NULL;
	struct mig_node *before = NULL;
	struct mig_error err;
	bool applied = false, only_plan = false;
	size_t done = 0;
	int ret = EXIT_FAIL;
	char env_file[PATH_MAX + 32], env_set[300], parted_env[CLI_PARTED_ENVS][PATH_MAX + 40];
	const char *hook_env[CLI_PARTED_ENVS + 3];
	int r = parse_args("apply", argc, argv, &a, true);
	if (r)
		return r;
	if (a.plan)
		return apply_saved_plan(c, &a);
	snprintf(env_file, sizeof(env_file), "MIGCTL_CONFIG_FILE=%s", a.file);
	snprintf(env_set, sizeof(env_set), "MIGCTL_SELECTED_CONFIG=%s", a.set ? a.set : "");
	hook_env[0] = env_file;
	hook_env[1] = env_set;
	/* issue 15: the MIG_PARTED_ names too, as mig-parted's hooks read them (cmd_parted.c) */
	size_t nenv = 2 + cli_parted_hook_env(a.file, a.set, a.hooks, a.mode_only, !a.reset_pending, parted_env, hook_env + 2);
	hook_env[nenv] = NULL;
	if (a.dry_run) {
		struct mig_error herr;
		/* a dry run checks the hooks file too: a bad one would stop the real apply */
		if (a.hooks && mig_hooks_check(a.hooks, &herr))
			return cli_fail_err(c, &herr);
		if (make_plan(c, &a, &config, &targets, &plan))
			goto out;
		only_plan = true;
		ret = EXIT_OK;
		goto out;
	}
	/* before the config is read: may this user change MIG at all? */
	if (cli_require_admin(c, MIG_ADMIN_INSTANCES))
		return EXIT_FAIL;
	/* the config decides what is destroyed: read (and as root, checked) before anything runs */
	if (cli_load_checked_config(c, a.file, &config))
		return EXIT_FAIL;
	char info_file[PATH_MAX + 16], info_set[300];
	const char *info[3] = {info_file, a.set ? info_set : NULL, NULL};
	snprintf(info_file, sizeof(info_file), "config_file=%s", a.file);
	snprintf(info_set, sizeof(info_set), "selected_config=%s", a.set ? a.set : "");
	c->journal_info = info;
	r = cli_txn_begin(c, MIG_ADMIN_INSTANCES, a.lock_timeout, a.hooks, hook_env, &txn);
	c->journal_info = NULL;
	if (r)
		goto out;
	const char *started;
	size_t idone, itotal;
	if (mig_txn_interrupted(txn, &started, &idone, &itotal) && !c->json)
		printf("An earlier apply (started %s) stopped after %zu of %zu operations; planning again from the GPUs "
		       "as they are now.\n",
		       started, idone, itotal);

	/* issue 12: leased instances are busy for the planner, even with --force */
	if (cli_mark_leased(c, txn) || make_plan(c, &a, &config, &targets, &plan))
		goto out;
	if (plan->nops == 0) {
		only_plan = true; /* printed after apply-exit, like a result */
		ret = EXIT_OK;
		goto out;
	}
	if (!c->json)
		print_plan(c, plan);
	size_t total = plan->nops;
	/* the processes as they were, to name what keeps a mode change pending */
	if (mig_node_read(c->ctx, &before, 0, &err)) {
		cli_fail_err(c, &err);
		goto out;
	}
	int rc = cli_txn_execute(c, txn, plan, &err);
	done = mig_txn_done(txn);
	if (rc && err.status == MIG_E_PENDING && a.reset_pending) {
		/* reset only the GPUs left pending, then plan and apply again from what they are now */
		const char *tmpl = getenv("MIGCTL_RESET_COMMAND");
		if (!tmpl || !*tmpl)
			tmpl = "nvidia-smi --gpu-reset -i {pci}";
		for (size_t i = 0; i < before->ngpus; i++) {
			if (!mig_txn_pending(txn, before->gpus[i].index))
				continue;
			char shown[1024];
			if (!c->json && mig_reset_command(tmpl, &before->gpus[i], shown, sizeof(shown)) == 0)
				printf("Resetting GPU %u (%s): %s\n", before->gpus[i].index, before->gpus[i].pci_bus_id, shown);
			if (mig_txn_reset_gpu(txn, before->gpus[i].index, tmpl, &err)) {
				cli_fail_err(c, &err);
				goto out;
			}
		}
		mig_plan_free(plan);
		free(targets);
		plan = NULL;
		targets = NULL;
		c->node = (struct mig_node *)mig_txn_node(txn);
		if (cli_mark_leased(c, txn) || make_plan(c, &a, &config, &targets, &plan))
			goto out;
		total = done + plan->nops;
		rc = cli_txn_execute(c, txn, plan, &err);
		done += mig_txn_done(txn);
	}
	if (rc) {
		ret = report_failure(c, txn, &err, before, done, total, a.reset_pending);
		goto out;
	}
	/* verify: the node must now match the configuration */
	mig_plan_free(plan);
	plan = NULL;
	free(targets);
	targets = NULL;
	if (make_plan(c, &a, &config, &targets, &plan)) {
		fprintf(stderr, "migctl: %zu of %zu operations were done, but the check after them failed; run 'migctl "
				"assert' with the same configuration to check the GPUs\n",
			done, done);
		goto out;
	}
	if (plan->nops) {
		cli_fail(c, "after applying, the GPUs still differ from the configuration (%zu operations left); see "
			    "'migctl assert -f %s'",
			 plan->nops, a.file);
		goto out;
	}
	ret = EXIT_OK;
	applied = true;
out:
	if (txn && cli_txn_end(c, txn, ret == EXIT_OK, &err)) {
		if (ret == EXIT_OK)
			ret = cli_fail(c, "%s; the MIG configuration itself was applied (%zu operations)", err.msg, done);
		else /* the apply's own error came first (and is the --json document) */
			fprintf(stderr, "migctl: also: %s\n", err.msg);
	}
	/* only now, so that a failing apply-exit hook leaves one result, not two; the
	 * transaction's node went with it */
	if (only_plan && ret == EXIT_OK && !c->node && cli_reload(c))
		ret = EXIT_FAIL;
	if (only_plan && ret == EXIT_OK) {
		if (c->json) {
			json_t *doc = plan_json(c, plan);
			json_object_set_new(doc, "applied", json_false());
			cli_print_json(doc);
			json_decref(doc);
		} else {
			print_plan(c, plan);
			printf(plan->nops ? "Dry run: nothing was changed.\n" : "Nothing to do: the GPUs match the configuration.\n");
		}
	}
	if (applied && ret == EXIT_OK)
		print_applied(c, "MIG configuration applied", done);
	mig_node_free(before);
	free_all(config, targets, plan);
	return ret;
}

/* ---- export ---------------------------------------------------------------- */

struct exported {
	bool enabled;
	char keys[16][MIG_PROFILE_MAX];
	unsigned int counts[16];
	unsigned int starts[16][8];
	size_t nkeys;
	unsigned int devices[64];
	size_t ndevices;
};

static void add_key(struct exported *e, const char *key, unsigned int start, bool pin)
{
	for (size_t i = 0; i < e->nkeys; i++)
		if (strcmp(e->keys[i], key) == 0) {
			if (pin && e->counts[i] < 8)
				e->starts[i][e->counts[i]] = start;
			e->counts[i]++;
			return;
		}
	if (e->nkeys == 16)
		return;
	snprintf(e->keys[e->nkeys], MIG_PROFILE_MAX, "%s", key);
	e->starts[e->nkeys][0] = start;
	e->counts[e->nkeys++] = 1;
}

static bool same_layout(const struct exported *a, const struct exported *b, bool placements)
{
	if (a->enabled != b->enabled || a->nkeys != b->nkeys)
		return false;
	for (size_t i = 0; i < a->nkeys; i++) {
		bool found = false;
		for (size_t k = 0; k < b->nkeys && !found; k++)
			found = strcmp(a->keys[i], b->keys[k]) == 0 && a->counts[i] == b->counts[k] &&
				(!placements || memcmp(a->starts[i], b->starts[k], sizeof(a->starts[i])) == 0);
		if (!found)
			return false;
	}
	return true;
}

static int scalar(yaml_document_t *d, const char *s)
{
	return yaml_document_add_scalar(d, NULL, (yaml_char_t *)s, -1, YAML_ANY_SCALAR_STYLE);
}

static int quoted(yaml_document_t *d, const char *s)
{
	return yaml_document_add_scalar(d, NULL, (yaml_char_t *)s, -1, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static int number(yaml_document_t *d, unsigned int v)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%u", v);
	return scalar(d, buf);
}

static int yaml_out(void *data, unsigned char *buffer, size_t size)
{
	return fwrite(buffer, 1, size, data) == size;
}

int cmd_export(struct cli *c, int argc, char **argv)
{
	struct declare_args a = {0};
	int r = parse_args("export", argc, argv, &a, false);
	if (r)
		return r;
	if (cli_load(c))
		return EXIT_FAIL;

	struct exported *groups = calloc(c->node->ngpus ? c->node->ngpus : 1, sizeof(*groups));
	size_t ngroups = 0, skipped = 0;
	if (!groups)
		return cli_fail(c, "out of memory");
	for (size_t i = 0; i < c->node->ngpus; i++) {
		const struct mig_gpu *g = &c->node->gpus[i];
		struct exported e;
		if (!c->selected[i] || g->mode_current == MIG_MODE_UNSUPPORTED)
			continue;
		memset(&e, 0, sizeof(e));
		e.enabled = g->mode_current == MIG_MODE_ENABLED;
		for (size_t k = 0; k < g->ngis; k++) {
			const struct mig_gi *gi = &g->gis[k];
			bool whole = gi->ncis == 1;
			for (size_t x = 0; x < gi->nci_profiles && whole; x++)
				if (gi->ci_profiles[x].id == gi->cis[0].profile_id)
					whole = gi->ci_profiles[x].is_default;
			if (gi->ncis == 0) {
				skipped++; /* mig-parted's format counts compute instances: a bare GI has no key */
				continue;
			}
			if (whole) {
				add_key(&e, gi->profile, gi->placement.start, a.placements);
				continue;
			}
			for (size_t x = 0; x < gi->ncis; x++) {
				/* "Nc." even when N is the whole GPU instance: that is not its default
				 * compute instance (an H100 1g.20gb's 1c.1g.20gb) */
				char key[MIG_PROFILE_MAX];
				snprintf(key, sizeof(key), "%s", gi->cis[x].profile);
				for (size_t y = 0; y < gi->nci_profiles; y++)
					if (gi->ci_profiles[y].id == gi->cis[x].profile_id)
						snprintf(key, sizeof(key), "%uc.%.*s", gi->ci_profiles[y].slices,
							 MIG_PROFILE_MAX - 8, gi->profile);
				add_key(&e, key, gi->placement.start, false);
			}
		}
		size_t k = 0;
		while (k < ngroups && !same_layout(&groups[k], &e, a.placements))
			k++;
		if (k == ngroups)
			groups[ngroups++] = e;
		if (groups[k].ndevices < 64)
			groups[k].devices[groups[k].ndevices++] = g->index;
	}

	size_t covered = 0;
	for (size_t k = 0; k < ngroups; k++)
		covered += groups[k].ndevices;
	bool all = ngroups == 1 && covered == c->node->ngpus && !c->gpu_selector;
	if (c->json) {
		json_t *entries = json_array();
		for (size_t k = 0; k < ngroups; k++) {
			const struct exported *e = &groups[k];
			json_t *devices = json_array(), *profiles = json_object(), *pins = json_object();
			for (size_t x = 0; x < e->ndevices; x++)
				json_array_append_new(devices, json_integer(e->devices[x]));
			json_t *entry = json_pack("{s:o, s:b}", "devices", all ? (json_decref(devices), json_string("all")) : devices,
						  "mig-enabled", e->enabled);
			for (size_t x = 0; x < e->nkeys; x++) {
				json_object_set_new(profiles, e->keys[x], json_integer(e->counts[x]));
				if (a.placements && !strstr(e->keys[x], "c.")) {
					json_t *starts = json_array();
					for (unsigned int y = 0; y < e->counts[x] && y < 8; y++)
						json_array_append_new(starts, json_integer(e->starts[x][y]));
					json_object_set_new(pins, e->keys[x], starts);
				}
			}
			if (e->enabled)
				json_object_set(entry, "mig-devices", profiles);
			if (json_object_size(pins))
				json_object_set(entry, "placements", pins);
			json_decref(profiles);
			json_decref(pins);
			json_array_append_new(entries, entry);
		}
		json_t *doc = json_pack("{s:s, s:{s:o}}", "version", "v1", "mig-configs", a.label ? a.label : "current", entries);
		cli_print_json(doc);
		json_decref(doc);
		free(groups);
		if (skipped)
			fprintf(stderr, "migctl: note: %zu GPU instance(s) without a compute instance are not in the export "
					"(mig-parted's format counts compute instances)\n",
				skipped);
		return EXIT_OK;
	}

	yaml_document_t d;
	if (!yaml_document_initialize(&d, NULL, NULL, NULL, 0, 1)) {
		free(groups);
		return cli_fail(c, "out of memory");
	}
	int root = yaml_document_add_mapping(&d, NULL, YAML_BLOCK_MAPPING_STYLE);
	yaml_document_append_mapping_pair(&d, root, scalar(&d, "version"), scalar(&d, "v1"));
	int configs = yaml_document_add_mapping(&d, NULL, YAML_BLOCK_MAPPING_STYLE);
	yaml_document_append_mapping_pair(&d, root, scalar(&d, "mig-configs"), configs);
	int entries = yaml_document_add_sequence(&d, NULL, YAML_BLOCK_SEQUENCE_STYLE);
	yaml_document_append_mapping_pair(&d, configs, scalar(&d, a.label ? a.label : "current"), entries);
	for (size_t k = 0; k < ngroups; k++) {
		const struct exported *e = &groups[k];
		int entry = yaml_document_add_mapping(&d, NULL, YAML_BLOCK_MAPPING_STYLE);
		int devices;
		if (all) {
			devices = scalar(&d, "all");
		} else {
			devices = yaml_document_add_sequence(&d, NULL, YAML_FLOW_SEQUENCE_STYLE);
			for (size_t x = 0; x < e->ndevices; x++)
				yaml_document_append_sequence_item(&d, devices, number(&d, e->devices[x]));
		}
		yaml_document_append_mapping_pair(&d, entry, scalar(&d, "devices"), devices);
		yaml_document_append_mapping_pair(&d, entry, scalar(&d, "mig-enabled"), scalar(&d, e->enabled ? "true" : "false"));
		if (e->enabled) {
			int profiles = yaml_document_add_mapping(&d, NULL, YAML_BLOCK_MAPPING_STYLE);
			for (size_t x = 0; x < e->nkeys; x++)
				yaml_document_append_mapping_pair(&d, profiles, quoted(&d, e->keys[x]), number(&d, e->counts[x]));
			yaml_document_append_mapping_pair(&d, entry, scalar(&d, "mig-devices"), profiles);
			bool any_pins = false; /* GPU-level keys (no "Nc.") can be pinned */
			for (size_t x = 0; x < e->nkeys && a.placements; x++)
				any_pins |= strstr(e->keys[x], "c.") == NULL;
			if (any_pins) {
				int pins = yaml_document_add_mapping(&d, NULL, YAML_BLOCK_MAPPING_STYLE);
				for (size_t x = 0; x < e->nkeys; x++) {
					if (strstr(e->keys[x], "c."))
						continue; /* compute-level keys are not pinned */
					int starts = yaml_document_add_sequence(&d, NULL, YAML_FLOW_SEQUENCE_STYLE);
					for (unsigned int y = 0; y < e->counts[x] && y < 8; y++)
						yaml_document_append_sequence_item(&d, starts, number(&d, e->starts[x][y]));
					yaml_document_append_mapping_pair(&d, pins, quoted(&d, e->keys[x]), starts);
				}
				yaml_document_append_mapping_pair(&d, entry, scalar(&d, "placements"), pins);
			}
		}
		yaml_document_append_sequence_item(&d, entries, entry);
	}
	free(groups);

	yaml_emitter_t em;
	yaml_emitter_initialize(&em);
	yaml_emitter_set_output(&em, yaml_out, stdout);
	yaml_emitter_set_width(&em, 120);
	int ok = yaml_emitter_open(&em) && yaml_emitter_dump(&em, &d) && yaml_emitter_close(&em);
	yaml_emitter_delete(&em);
	if (!ok)
		return cli_fail(c, "cannot write the YAML");
	if (skipped)
		fprintf(stderr, "migctl: note: %zu GPU instance(s) without a compute instance are not in the export "
				"(mig-parted's format counts compute instances)\n",
			skipped);
	return EXIT_OK;
}
