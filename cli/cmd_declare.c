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
#include "../lib/txn/hooks.h"

struct declare_args {
	const char *file;
	const char *set;
	const char *hooks;
	bool dry_run;
	bool force;
	bool placements;
	bool reset_pending;
	double lock_timeout;
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
	if (needs_file && !a->file) {
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
	if (c->json) {
		json_t *doc = plan_json(c, plan);
		cli_print_json(doc);
		json_decref(doc);
	} else {
		print_plan(c, plan);
		if (!plan->nops)
			printf("Nothing to do.\n");
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

/* ---- apply: lock, journal ---------------------------------------------------------------- */

/*
 * A file apply keeps (the lock, the journal): its directory, opened once and checked, and its
 * name in it. Every later access goes through the directory's descriptor (openat, renameat,
 * unlinkat) and never follows a symbolic link at the file's name, so the directory cannot be
 * swapped after the check and a link planted at the name is refused, never followed.
 *
 * The default directory is private: /run/migctl for root, else $XDG_RUNTIME_DIR/migctl or
 * /tmp/migctl-UID; it is created with mode 0700, and refused when it is a symbolic link, is
 * not owned by this user, or group or others can write it. A directory named through
 * MIGCTL_LOCK or MIGCTL_JOURNAL is not created; it may be owned by root too, and is refused
 * likewise when group or others can write it.
 */
struct kept_file {
	char path[PATH_MAX]; /* as shown in messages */
	int dirfd;
	char name[NAME_MAX + 1];
};

static void kept_close(struct kept_file *k)
{
	if (k->dirfd >= 0)
		close(k->dirfd);
	k->dirfd = -1;
}

/* fail: how a failure to reach it starts ("cannot open the apply lock"); noun: "the apply lock". */
static int kept_open(struct cli *c, struct kept_file *k, const char *env, const char *name, const char *fail,
		     const char *noun)
{
	const char *given = getenv(env), *base = name;
	char dir[PATH_MAX];
	struct stat sb;
	bool explicit_ = given && *given;

	k->dirfd = -1;
	if (explicit_) {
		if ((size_t)snprintf(k->path, sizeof(k->path), "%s", given) >= sizeof(k->path))
			return cli_fail(c, "%s is too long", env);
		const char *slash = strrchr(k->path, '/');
		base = slash ? slash + 1 : k->path;
		size_t dlen = slash ? (size_t)(slash - k->path) : 0;
		if (!slash)
			strcpy(dir, ".");
		else if (dlen == 0)
			strcpy(dir, "/");
		else {
			memcpy(dir, k->path, dlen);
			dir[dlen] = '\0';
		}
		if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
			return cli_fail(c, "%s=%s does not name a file", env, given);
	} else {
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		if (geteuid() == 0)
			snprintf(dir, sizeof(dir), "/run/migctl");
		else if (xdg && *xdg)
			snprintf(dir, sizeof(dir), "%.*s/migctl", PATH_MAX - 64, xdg);
		else
			snprintf(dir, sizeof(dir), "/tmp/migctl-%u", (unsigned int)geteuid());
		snprintf(k->path, sizeof(k->path), "%s/%s", dir, name);
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return cli_fail(c, "%s %s: cannot create %s: %s", fail, k->path, dir, strerror(errno));
	}
	if (strlen(base) > NAME_MAX)
		return cli_fail(c, "%s %s: the name is too long", fail, k->path);
	strcpy(k->name, base);
	k->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (explicit_ ? 0 : O_NOFOLLOW));
	if (k->dirfd < 0) {
		if (!explicit_ && (errno == ELOOP || errno == ENOTDIR))
			return cli_fail(c, "refusing to keep %s in %s: it is a symbolic link or not a directory; remove it "
					   "(apply creates it, mode 0700), or choose other files with MIGCTL_LOCK and "
					   "MIGCTL_JOURNAL",
					noun, dir);
		return cli_fail(c, "%s %s: %s", fail, k->path, strerror(errno));
	}
	const char *why = NULL;
	if (fstat(k->dirfd, &sb) != 0)
		why = "it cannot be inspected";
	else if (!S_ISDIR(sb.st_mode))
		why = "it is not a directory";
	else if (sb.st_uid != geteuid() && (!explicit_ || sb.st_uid != 0))
		why = explicit_ ? "it is owned by another user (neither you nor root)" : "it is owned by another user";
	else if (sb.st_mode & 022)
		why = "group or others can write it, so they could replace the files in it";
	if (why) {
		kept_close(k);
		return cli_fail(c, "refusing to keep %s in %s: %s (owner uid %u, mode %03o); %s", noun, dir, why,
				(unsigned int)sb.st_uid, (unsigned int)(sb.st_mode & 07777),
				explicit_ ? "choose a directory that only you (or root) can write"
					  : "remove it (apply creates it, mode 0700), or choose other files with MIGCTL_LOCK and "
					    "MIGCTL_JOURNAL");
	}
	return 0;
}

/* A file found at a kept name must be a plain file of this user with one link: no symbolic
 * link (never followed), nothing another user left there. fd: open on it, or -1 to look by name. */
static int kept_check_file(struct cli *c, const struct kept_file *k, int fd, const char *noun)
{
	struct stat sb;
	int r = fd >= 0 ? fstat(fd, &sb) : fstatat(k->dirfd, k->name, &sb, AT_SYMLINK_NOFOLLOW);
	if (r != 0)
		return errno == ENOENT && fd < 0 ? 0 : cli_fail(c, "cannot inspect %s %s: %s", noun, k->path, strerror(errno));
	if (S_ISLNK(sb.st_mode))
		return cli_fail(c, "refusing %s %s: it is a symbolic link, which apply never follows; remove it", noun,
				k->path);
	if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || sb.st_nlink != 1)
		return cli_fail(c, "refusing %s %s: it is not a plain file of this user with one link (owner uid %u, %lu "
				   "links); remove it",
				noun, k->path, (unsigned int)sb.st_uid, (unsigned long)sb.st_nlink);
	return 0;
}

static int take_lock(struct cli *c, double timeout, int *fd_out)
{
	struct kept_file lk;
	if (kept_open(c, &lk, "MIGCTL_LOCK", "apply.lock", "cannot open the apply lock", "the apply lock"))
		return -1;
	const char *path = lk.path;
	int fd = openat(lk.dirfd, lk.name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int open_errno = errno;
	kept_close(&lk);
	if (fd < 0 && open_errno == ELOOP)
		return cli_fail(c, "refusing the apply lock %s: it is a symbolic link, which apply never follows; remove it",
				path);
	if (fd < 0)
		return cli_fail(c, "cannot open the apply lock %s: %s", path, strerror(open_errno));
	if (kept_check_file(c, &lk, fd, "the apply lock")) {
		close(fd);
		return -1;
	}
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	bool said = false;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			close(fd);
			return cli_fail(c, "cannot lock %s: %s", path, strerror(errno));
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		double waited = (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
		char holder[32] = "";
		/* the holder writes its pid just after locking: give it a moment */
		for (int tries = 0; tries < 20; tries++) {
			ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
			holder[n > 0 ? n : 0] = '\0';
			/* a pid left by a holder that was killed is stale: wait for the new one */
			long other = strtol(holder, NULL, 10);
			if (strchr(holder, '\n') && other > 0 && (kill((pid_t)other, 0) == 0 || errno != ESRCH))
				break;
			holder[0] = '\0';
			struct timespec brief = {0, 5 * 1000 * 1000};
			nanosleep(&brief, NULL);
		}
		holder[strcspn(holder, "\n")] = '\0';
		if (waited >= timeout) {
			close(fd);
			return cli_fail(c,
					"another migctl apply (pid %s) holds %s; gave up after %.1f s (raise --lock-timeout, "
					"or wait for it)",
					*holder ? holder : "?", path, timeout);
		}
		if (!said && !c->json) {
			fprintf(stderr, "migctl: waiting for another apply (pid %s) to finish...\n", *holder ? holder : "?");
			said = true;
		}
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	char pid[32];
	int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	/* write, then cut: a reader never sees an empty file */
	if (pwrite(fd, pid, (size_t)len, 0) != len || ftruncate(fd, len) != 0) {
		close(fd);
		return cli_fail(c, "cannot write the apply lock %s: %s", path, strerror(errno));
	}
	*fd_out = fd;
	return 0;
}

struct journal {
	struct kept_file f; /* f.dirfd < 0 until opened */
	json_t *doc;
	size_t done;
};

/* Replace the journal atomically, private to its owner: a temporary file in the same checked
 * directory, renamed over it (a symbolic link at either name is replaced, never followed). */
static int journal_save(struct journal *j)
{
	char tmp[NAME_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%.*s.tmp", NAME_MAX - 4, j->f.name);
	unlinkat(j->f.dirfd, tmp, 0);
	int fd = openat(j->f.dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int r = json_dumpfd(j->doc, fd, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (close(fd) != 0 || r != 0 || renameat(j->f.dirfd, tmp, j->f.dirfd, j->f.name) != 0) {
		int e = errno;
		unlinkat(j->f.dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	return 0;
}

static int journal_write(struct cli *c, struct journal *j)
{
	if (journal_save(j))
		return cli_fail(c, "cannot write the apply journal %s: %s", j->f.path, strerror(errno));
	return 0;
}

static void journal_progress(const struct mig_op *op, size_t index, void *arg)
{
	struct journal *j = arg;
	(void)op;
	(void)index;
	json_object_set_new(j->doc, "done", json_integer((json_int_t)++j->done));
	journal_save(j);
}

/* Reset one GPU whose MIG mode change is pending: $MIGCTL_RESET_COMMAND, with {index} and
 * {pci} replaced, else "nvidia-smi --gpu-reset -i {pci}". Only that GPU is reset. */
static int reset_gpu(struct cli *c, const struct mig_gpu *g)
{
	const char *tmpl = getenv("MIGCTL_RESET_COMMAND");
	char cmd[1024], idx[16];
	size_t used = 0;
	if (!tmpl || !*tmpl)
		tmpl = "nvidia-smi --gpu-reset -i {pci}";
	snprintf(idx, sizeof(idx), "%u", g->index);
	for (const char *s = tmpl; *s && used + 1 < sizeof(cmd);) {
		const char *sub = NULL;
		size_t skip = 0;
		if (strncmp(s, "{index}", 7) == 0)
			sub = idx, skip = 7;
		else if (strncmp(s, "{pci}", 5) == 0)
			sub = g->pci_bus_id, skip = 5;
		if (sub) {
			used += (size_t)snprintf(cmd + used, sizeof(cmd) - used, "%s", sub);
			s += skip;
		} else {
			cmd[used++] = *s++;
		}
	}
	cmd[used < sizeof(cmd) ? used : sizeof(cmd) - 1] = '\0';
	if (!c->json)
		printf("Resetting GPU %u (%s): %s\n", g->index, g->pci_bus_id, cmd);
	fflush(NULL);
	int rc = system(cmd);
	if (rc != 0)
		return cli_fail(c, "resetting GPU %u failed (%s %s %d); its MIG mode change stays pending", g->index, cmd,
				WIFEXITED(rc) ? "exited" : "was killed by signal", WIFEXITED(rc) ? WEXITSTATUS(rc) : WTERMSIG(rc));
	return 0;
}

/* The hooks mig_plan_apply runs between its phases. */
struct config_hook_arg {
	struct hooks *hooks;
	const char *const *env;
};

struct apply_events_arg {
	struct journal *journal;
	struct config_hook_arg *config_hook; /* pre-apply-config, when it is still to run */
};

static void apply_progress(const struct mig_op *op, size_t index, void *arg)
{
	journal_progress(op, index, ((struct apply_events_arg *)arg)->journal);
}

static int apply_before_instances(void *arg, struct mig_error *err)
{
	struct apply_events_arg *a = arg;
	struct config_hook_arg *h = a->config_hook;
	a->config_hook = NULL;
	return h ? hooks_run(h->hooks, HOOK_PRE_APPLY_CONFIG, h->env, err) : 0;
}

/* A journal left by an apply that did not finish. */
static void report_interrupted(struct cli *c, const struct kept_file *f)
{
	json_error_t jerr;
	int fd = openat(f->dirfd, f->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	json_t *old = fd >= 0 ? json_loadfd(fd, 0, &jerr) : NULL;
	if (fd >= 0)
		close(fd);
	if (!old)
		return;
	json_int_t done = json_integer_value(json_object_get(old, "done"));
	size_t total = json_array_size(json_object_get(old, "operations"));
	const char *started = json_string_value(json_object_get(old, "started"));
	if (!c->json)
		printf("An earlier apply (started %s) stopped after %lld of %zu operations; planning again from the GPUs "
		       "as they are now.\n",
		       started ? started : "?", (long long)done, total);
	json_decref(old);
}

/* The config of an apply, read from the file it checked: run as root, one that root does not
 * own or others can write is refused (mig_check_trusted_fd), as it decides what root destroys.
 * Standard input ("-") is the caller's own. plan, assert and apply --dry-run change nothing
 * and read any file (make_plan). */
static int load_checked_config(struct cli *c, const char *file, struct mig_config **out)
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

int cmd_apply(struct cli *c, int argc, char **argv)
{
	struct declare_args a = {0};
	struct mig_config *config = NULL;
	struct mig_gpu_target *targets = NULL;
	struct mig_plan *plan = NULL;
	struct journal j = {{{0}, -1, {0}}, NULL, 0};
	struct mig_error err;
	struct hooks hooks = {{0}, NULL, {NULL}};
	bool hooks_started = false, applied = false, only_plan = false;
	size_t done = 0;
	int lock = -1, ret = EXIT_FAIL;
	char env_file[PATH_MAX + 32], env_set[300], parted_env[CLI_PARTED_ENVS][PATH_MAX + 40];
	const char *hook_env[CLI_PARTED_ENVS + 3];
	int r = parse_args("apply", argc, argv, &a, true);
	if (r)
		return r;
	snprintf(env_file, sizeof(env_file), "MIGCTL_CONFIG_FILE=%s", a.file);
	snprintf(env_set, sizeof(env_set), "MIGCTL_SELECTED_CONFIG=%s", a.set ? a.set : "");
	hook_env[0] = env_file;
	hook_env[1] = env_set;
	/* issue 15: the MIG_PARTED_ names too, as mig-parted's hooks read them (cmd_parted.c) */
	size_t nenv = 2 + cli_parted_hook_env(a.file, a.set, a.hooks, a.mode_only, !a.reset_pending, parted_env, hook_env + 2);
	hook_env[nenv] = NULL;
	/* before the lock, the journal, a hook or a change: may this user change MIG at all? */
	if (!a.dry_run && cli_require_admin(c, MIG_ADMIN_INSTANCES))
		return EXIT_FAIL;
	if (a.hooks && hooks_load(a.hooks, &hooks, &err))
		return cli_fail_err(c, &err);
	/* the config decides what is destroyed: read (and as root, checked) before anything runs */
	if (!a.dry_run && load_checked_config(c, a.file, &config)) {
		hooks_free(&hooks);
		return EXIT_FAIL;
	}

	if (!a.dry_run && take_lock(c, a.lock_timeout, &lock)) {
		hooks_free(&hooks);
		mig_config_free(config);
		return EXIT_FAIL;
	}
	if (!a.dry_run && (kept_open(c, &j.f, "MIGCTL_JOURNAL", "journal.json", "cannot write the apply journal",
				     "the apply journal") ||
			   kept_check_file(c, &j.f, -1, "the apply journal")))
		goto out;
	if (!a.dry_run) {
		hooks_started = true;
		if (hooks_run(&hooks, HOOK_APPLY_START, hook_env, &err)) {
			cli_fail_err(c, &err);
			goto out;
		}
	}
	struct stat jsb;
	if (!a.dry_run && fstatat(j.f.dirfd, j.f.name, &jsb, AT_SYMLINK_NOFOLLOW) == 0)
		report_interrupted(c, &j.f);

	if (make_plan(c, &a, &config, &targets, &plan))
		goto out;
	if (a.dry_run || plan->nops == 0) {
		if (!a.dry_run)
			unlinkat(j.f.dirfd, j.f.name, 0);
		only_plan = true; /* printed after apply-exit, like a result */
		ret = EXIT_OK;
		goto out;
	}

	/* MIG mode changes need more than instance changes (root, on a real driver) */
	for (size_t i = 0; i < plan->nops; i++)
		if (plan->ops[i].kind == MIG_OP_ENABLE_MIG || plan->ops[i].kind == MIG_OP_DISABLE_MIG) {
			if (cli_require_admin(c, MIG_ADMIN_MODE))
				goto out;
			break;
		}

	/* journal: the plan, then progress after every operation */
	char started[64];
	time_t now = time(NULL);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	j.doc = plan_json(c, plan);
	json_object_set_new(j.doc, "config_file", json_string(a.file));
	json_object_set_new(j.doc, "selected_config", a.set ? json_string(a.set) : json_null());
	json_object_set_new(j.doc, "started", json_string(started));
	json_object_set_new(j.doc, "pid", json_integer(getpid()));
	json_object_set_new(j.doc, "done", json_integer(0));
	if (journal_write(c, &j))
		goto out;
	if (!c->json)
		print_plan(c, plan);

	/* pre-apply-mode before the mode phase, pre-apply-config between it and the instance phase */
	if (plan->nmode_ops && hooks_run(&hooks, HOOK_PRE_APPLY_MODE, hook_env, &err)) {
		cli_fail_err(c, &err);
		goto out;
	}
	struct config_hook_arg config_hook = {&hooks, hook_env};
	struct mig_apply_events events = {journal_progress, NULL, &j};
	struct apply_events_arg events_arg = {&j, plan->nops > plan->nmode_ops ? &config_hook : NULL};
	events.arg = &events_arg;
	events.progress = apply_progress;
	events.before_instances = apply_before_instances;

	bool *pending = calloc(c->node->ngpus ? c->node->ngpus : 1, sizeof(bool));
	if (!pending) {
		cli_fail(c, "out of memory");
		goto out;
	}
	int rc = mig_plan_apply(c->ctx, plan, &done, pending, &events, &err);
	if (rc && err.status == MIG_E_PENDING && a.reset_pending) {
		/* reset only the GPUs left pending, then plan and apply again from what they are now */
		bool reset_ok = true;
		for (size_t i = 0; i < c->node->ngpus && reset_ok; i++)
			if (pending[i])
				reset_ok = reset_gpu(c, &c->node->gpus[i]) == 0;
		if (!reset_ok) {
			free(pending);
			goto out;
		}
		mig_plan_free(plan);
		plan = NULL;
		free(targets);
		targets = NULL;
		size_t more = 0;
		memset(pending, 0, c->node->ngpus * sizeof(bool));
		if (cli_reload(c) || make_plan(c, &a, &config, &targets, &plan)) {
			free(pending);
			goto out;
		}
		events_arg.config_hook = NULL; /* it ran before the reset */
		rc = mig_plan_apply(c->ctx, plan, &more, pending, &events, &err);
		done += more;
	}
	if (rc) {
		cli_fail_err(c, &err);
		if (err.status == MIG_E_PENDING) {
			/* name what holds them: the processes as read before the apply */
			for (size_t i = 0; i < c->node->ngpus; i++) {
				const struct mig_gpu *g = &c->node->gpus[i];
				if (!pending[i] || !g->nprocs)
					continue;
				fprintf(stderr, "migctl: GPU %u runs process%s", g->index, g->nprocs > 1 ? "es" : "");
				for (size_t k = 0; k < g->nprocs && k < 16; k++)
					fprintf(stderr, "%s %u", k ? "," : "", g->procs[k].pid);
				fprintf(stderr, "%s\n", g->nprocs > 16 ? ", ..." : "");
			}
			if (!a.reset_pending)
				fprintf(stderr, "migctl: stop what uses those GPUs and run apply again, or add --reset-pending to "
						"reset only them\n");
			ret = EXIT_PENDING;
		} else {
			fprintf(stderr, "migctl: %zu of %zu operations were done; run apply again to finish (it plans again "
					"from the GPUs as they are)\n",
				done, plan->nops);
		}
		free(pending);
		goto out;
	}
	free(pending);

	/* verify: the node must now match */
	mig_plan_free(plan);
	plan = NULL;
	free(targets);
	targets = NULL;
	if (cli_reload(c) || make_plan(c, &a, &config, &targets, &plan)) {
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
	unlinkat(j.f.dirfd, j.f.name, 0);
	ret = EXIT_OK;
	applied = true;
out:
	if (hooks_started) {
		char status[64];
		snprintf(status, sizeof(status), "MIGCTL_APPLY_STATUS=%s", ret == EXIT_OK ? "success" : "failure");
		const char *exit_env[CLI_PARTED_ENVS + 4];
		memcpy(exit_env, hook_env, nenv * sizeof(*exit_env)); /* issue 15: all of hook_env */
		exit_env[nenv] = status;
		exit_env[nenv + 1] = NULL;
		if (hooks_run(&hooks, HOOK_APPLY_EXIT, exit_env, &err)) {
			if (ret == EXIT_OK)
				ret = cli_fail(c, "%s; the MIG configuration itself was applied (%zu operations)", err.msg,
					       done);
			else /* the apply's own error came first (and is the --json document) */
				fprintf(stderr, "migctl: also: %s\n", err.msg);
		}
	}
	/* only now, so that a failing apply-exit hook leaves one result, not two */
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
	if (applied && ret == EXIT_OK) {
		if (c->json) {
			json_t *doc = json_pack("{s:b, s:I}", "applied", 1, "operations_done", (json_int_t)done);
			cli_print_json(doc);
			json_decref(doc);
		} else {
			printf("MIG configuration applied successfully (%zu operation%s)\n", done, done == 1 ? "" : "s");
		}
	}
	hooks_free(&hooks);
	json_decref(j.doc);
	kept_close(&j.f);
	free_all(config, targets, plan);
	if (lock >= 0) {
		/* leave no pid behind for the next apply to blame */
		if (ftruncate(lock, 0) != 0)
			fprintf(stderr, "migctl: cannot clear the apply lock: %s\n", strerror(errno));
		close(lock);
	}
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
