/* SPDX-License-Identifier: MIT */
/*
 * The transaction every change to a node goes through: admin check, node lock, journal,
 * hooks, the executor and its roll back, the check of the result, and the after-change
 * callbacks. See the contract in include/mig.h.
 *
 * The journal ({"format": "migctl-journal", "version": 1, "plan": ..., "done": N, "results":
 * [[op, id], ...]}) holds the plan being executed and each operation that succeeded with the
 * id it made. A transaction that finds one left by a change that was killed undoes what that
 * change left half-made (a GPU instance without its compute instances) before anything else.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "txn/hooks.h"
#include "txn/statefile.h"

#define JOURNAL_FORMAT "migctl-journal"
#define JOURNAL_VERSION 1

struct mig_txn {
	struct mig_ctx *ctx;
	struct mig_txn_options opts;
	int lock;
	struct mig_kept_file journal;
	json_t *jdoc; /* the journal of the execute under way */
	struct hooks hooks;
	bool hooks_started;
	struct mig_node *node;
	/* an interrupted change found at begin */
	bool interrupted;
	char started[64];
	size_t idone, itotal;
	/* the last execute */
	size_t done;
	enum mig_pending *pending;
	size_t npending;
	bool config_hook_due;
	bool config_hook_ran; /* pre-apply-config runs once per transaction */
	/* what every execute changed, comma lists for the apply-exit hooks */
	char *changed_gpus, *added, *removed;
	/* mig_txn_on_commit: run once by the next execute that succeeds, before its journal goes */
	int (*commit)(struct mig_txn *t, void *arg, struct mig_error *err);
	void *commit_arg;
	struct mig_plan *iplan; /* the interrupted change's plan, when its journal had one */
	char state_dir[4096];   /* opts.state_dir copied: the caller's string may not outlive begin */
};

struct mig_change {
	bool ok;
	const char **gpus, **added, **removed;
	size_t ngpus, nadded, nremoved;
};

/* ---- callbacks ---------------------------------------------------------------- */

int mig_ctx_on_change(struct mig_ctx *ctx, mig_change_fn fn, void *arg, struct mig_error *err)
{
	if (ctx->non_change >= sizeof(ctx->on_change) / sizeof(ctx->on_change[0]))
		return mig_error_set(err, MIG_E_INVALID, "at most %zu after-change callbacks per context",
				     sizeof(ctx->on_change) / sizeof(ctx->on_change[0]));
	ctx->on_change[ctx->non_change].fn = fn;
	ctx->on_change[ctx->non_change++].arg = arg;
	return 0;
}

bool mig_change_ok(const struct mig_change *c)
{
	return c->ok;
}

const char *const *mig_change_gpus(const struct mig_change *c, size_t *n)
{
	*n = c->ngpus;
	return c->gpus;
}

const char *const *mig_change_added(const struct mig_change *c, size_t *n)
{
	*n = c->nadded;
	return c->added;
}

const char *const *mig_change_removed(const struct mig_change *c, size_t *n)
{
	*n = c->nremoved;
	return c->removed;
}

/* What changed from before to after: strings point into the two nodes. */
static int diff_nodes(const struct mig_node *before, const struct mig_node *after, struct mig_change *c)
{
	size_t devices = 0;
	for (size_t i = 0; i < before->ngpus; i++)
		for (size_t k = 0; k < before->gpus[i].ngis; k++)
			devices += before->gpus[i].gis[k].ncis;
	for (size_t i = 0; i < after->ngpus; i++)
		for (size_t k = 0; k < after->gpus[i].ngis; k++)
			devices += after->gpus[i].gis[k].ncis;
	c->gpus = calloc(after->ngpus + 1, sizeof(char *));
	c->added = calloc(devices + 1, sizeof(char *));
	c->removed = calloc(devices + 1, sizeof(char *));
	if (!c->gpus || !c->added || !c->removed)
		return -1;
	for (size_t i = 0; i < after->ngpus; i++) {
		const struct mig_gpu *a = &after->gpus[i], *b = mig_node_find_gpu(before, a->uuid);
		char ta[2048], tb[2048];
		mig_gpu_layout_text(a, ta, sizeof(ta));
		if (b)
			mig_gpu_layout_text(b, tb, sizeof(tb));
		if (!b || strcmp(ta, tb) != 0 || a->mode_pending != b->mode_pending)
			c->gpus[c->ngpus++] = a->uuid;
		for (size_t k = 0; k < a->ngis; k++)
			for (size_t j = 0; j < a->gis[k].ncis; j++)
				if (!mig_node_find_device(before, a->gis[k].cis[j].uuid, NULL, NULL))
					c->added[c->nadded++] = a->gis[k].cis[j].uuid;
	}
	for (size_t i = 0; i < before->ngpus; i++)
		for (size_t k = 0; k < before->gpus[i].ngis; k++)
			for (size_t j = 0; j < before->gpus[i].gis[k].ncis; j++)
				if (!mig_node_find_device(after, before->gpus[i].gis[k].cis[j].uuid, NULL, NULL))
					c->removed[c->nremoved++] = before->gpus[i].gis[k].cis[j].uuid;
	return 0;
}

static void change_free(struct mig_change *c)
{
	free(c->gpus);
	free(c->added);
	free(c->removed);
}

/* ---- journal ---------------------------------------------------------------- */

static int journal_save(struct mig_txn *t, struct mig_error *err)
{
	char *text = json_dumps(t->jdoc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	int rc = text ? mig_kept_replace(&t->journal, text, strlen(text)) : -1;
	free(text);
	if (rc)
		return mig_error_set(err, MIG_E_IO, "cannot write the journal %s: %s", t->journal.path, strerror(errno));
	return 0;
}

static void journal_progress(const struct mig_op *op, size_t index, unsigned int new_id, void *arg)
{
	struct mig_txn *t = arg;
	/* the executor counts t->done itself */
	json_object_set_new(t->jdoc, "done", json_integer((json_int_t)t->done));
	json_array_append_new(json_object_get(t->jdoc, "results"), json_pack("[I, I]", (json_int_t)index, (json_int_t)new_id));
	journal_save(t, NULL); /* best effort: a lost step only makes the repair redo less */
	if (t->opts.progress) {
		const struct mig_plan *plan = NULL; /* total is told through the journal's plan */
		(void)plan;
		t->opts.progress(op, index, json_array_size(json_object_get(json_object_get(t->jdoc, "plan"), "operations")),
				 t->opts.arg);
	}
}

static int before_instances(void *arg, struct mig_error *err)
{
	struct mig_txn *t = arg;
	if (!t->config_hook_due)
		return 0;
	t->config_hook_due = false;
	t->config_hook_ran = true;
	return hooks_run(&t->hooks, HOOK_PRE_APPLY_CONFIG, t->opts.hook_env, err);
}

/* A journal left by a change that did not finish: note it, and unless that change rolled back
 * itself, undo what it left half-made. The journal then goes. */
static void recover(struct mig_txn *t)
{
	char *text = mig_kept_read(&t->journal);
	json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	struct mig_plan *plan = NULL;
	json_t *results = json_object_get(doc, "results");
	const char *started = json_string_value(json_object_get(doc, "started"));
	t->interrupted = true;
	snprintf(t->started, sizeof(t->started), "%s", started ? started : "?");
	t->idone = (size_t)json_integer_value(json_object_get(doc, "done"));
	t->itotal = json_array_size(json_object_get(json_object_get(doc, "plan"), "operations"));
	if (!t->itotal) /* the journal of migctl before the library kept it */
		t->itotal = json_array_size(json_object_get(doc, "operations"));
	char *ptext = doc ? json_dumps(json_object_get(doc, "plan"), 0) : NULL;
	/* an all-or-nothing plan (create) is undone; a declarative one is finished by planning
	 * again from the node as it is, which keeps what it made */
	bool repaired = false;
	if (ptext && mig_plan_from_json(ptext, &plan, NULL) != 0)
		plan = NULL;
	if (plan && !json_is_true(json_object_get(doc, "rolled_back")) && json_is_array(results) && plan->nops &&
	    plan->atomic) {
		bool *ok = calloc(plan->nops, sizeof(bool));
		unsigned int *ids = calloc(plan->nops, sizeof(unsigned int));
		size_t last = 0;
		for (size_t i = 0; ok && ids && i < json_array_size(results); i++) {
			json_int_t k = json_integer_value(json_array_get(json_array_get(results, i), 0));
			if (k >= 0 && (size_t)k < plan->nops) {
				ok[k] = true;
				ids[k] = (unsigned int)json_integer_value(json_array_get(json_array_get(results, i), 1));
				last = (size_t)k + 1 > last ? (size_t)k + 1 : last;
			}
		}
		if (ok && ids && last) {
			char note[200];
			mig_exec_undo_creates(t->ctx, plan, last < plan->nops ? last : plan->nops, ok, ids, note, sizeof(note));
			repaired = true;
		}
		free(ok);
		free(ids);
	}
	free(ptext);
	t->iplan = plan; /* kept for mig_txn_interrupted_plan */
	if (repaired) {
		/* done once: the journal stays (for the record) until a change succeeds */
		json_object_set_new(doc, "rolled_back", json_true());
		char *again = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		if (again)
			mig_kept_replace(&t->journal, again, strlen(again));
		free(again);
	}
	json_decref(doc);
}

/* ---- the transaction ---------------------------------------------------------------- */

static int read_node(struct mig_txn *t, struct mig_error *err)
{
	struct mig_node *node;
	if (mig_node_read(t->ctx, &node, t->opts.read_flags, err))
		return -1;
	mig_node_free(t->node);
	t->node = node;
	return 0;
}

int mig_txn_begin(struct mig_ctx *ctx, const struct mig_txn_options *opts, struct mig_txn **out, struct mig_error *err)
{
	struct mig_txn *t = calloc(1, sizeof(*t));
	struct stat sb;
	if (!t)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	t->ctx = ctx;
	t->lock = -1;
	t->journal.dirfd = -1;
	/* a caller built against an older, shorter struct leaves the new members zero */
	memcpy(&t->opts, opts, opts->size && opts->size < sizeof(t->opts) ? opts->size : sizeof(t->opts));
	if (t->opts.state_dir) {
		if (strlen(t->opts.state_dir) >= sizeof(t->state_dir)) {
			free(t);
			return mig_error_set(err, MIG_E_INVALID, "the state directory is too long");
		}
		strcpy(t->state_dir, t->opts.state_dir);
		t->opts.state_dir = t->state_dir;
	}
	/* before the lock, the journal, a hook or a change: may this caller change MIG at all? */
	if (t->opts.admin && mig_ctx_check_admin(ctx, t->opts.admin, err))
		goto fail;
	if (t->opts.hooks_file && hooks_load(t->opts.hooks_file, &t->hooks, err))
		goto fail;
	if (mig_lock_take(t->opts.lock_path, t->opts.state_dir, t->opts.lock_timeout, t->opts.waiting, t->opts.arg,
			  &t->lock, err))
		goto fail;
	if (mig_kept_open(&t->journal, t->opts.journal_path, t->opts.state_dir, "journal.json", "the journal", err) ||
	    mig_kept_check_file(&t->journal, -1, "the journal", err))
		goto fail;
	if (fstatat(t->journal.dirfd, t->journal.name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		recover(t);
	t->hooks_started = true;
	if (hooks_run(&t->hooks, HOOK_APPLY_START, t->opts.hook_env, err) || read_node(t, err))
		goto fail;
	*out = t;
	return 0;
fail:
	/* the apply-exit hooks run when apply-start did; the error stays the first one */
	mig_txn_end(t, false, NULL);
	return -1;
}

const struct mig_node *mig_txn_node(const struct mig_txn *t)
{
	return t->node;
}

void mig_txn_on_commit(struct mig_txn *t, int (*fn)(struct mig_txn *t, void *arg, struct mig_error *err), void *arg)
{
	t->commit = fn;
	t->commit_arg = arg;
}

const struct mig_plan *mig_txn_interrupted_plan(const struct mig_txn *t)
{
	return t->iplan;
}

struct mig_node *mig_txn_node_mut(struct mig_txn *t)
{
	return t->node;
}

struct mig_ctx *mig_txn_ctx(struct mig_txn *t)
{
	return t->ctx;
}

const char *mig_txn_state_dir(const struct mig_txn *t)
{
	return t->opts.state_dir;
}

bool mig_txn_interrupted(const struct mig_txn *t, const char **started, size_t *done, size_t *total)
{
	if (t->interrupted) {
		*started = t->started;
		*done = t->idone;
		*total = t->itotal;
	}
	return t->interrupted;
}

size_t mig_txn_done(const struct mig_txn *t)
{
	return t->done;
}

enum mig_pending mig_txn_pending(const struct mig_txn *t, unsigned int gpu)
{
	return gpu < t->npending ? t->pending[gpu] : MIG_PENDING_NONE;
}

/* Is the node still as the plan saw it? */
static int check_unchanged(struct mig_txn *t, const struct mig_plan *plan, struct mig_error *err)
{
	for (size_t i = 0; i < plan->ngpus; i++) {
		const struct mig_gpu_plan *gp = &plan->gpus[i];
		const struct mig_gpu *g = mig_node_find_gpu(t->node, gp->uuid);
		char now[2048];
		if (!g)
			return mig_error_set(err, MIG_E_CHANGED,
					     "the plan names GPU %u (%s), which this node does not have; nothing was changed",
					     gp->gpu, gp->uuid);
		if (g->index != gp->gpu)
			return mig_error_set(err, MIG_E_CHANGED,
					     "GPU %s is GPU %u now, GPU %u when the plan was made; make the plan again; "
					     "nothing was changed",
					     gp->uuid, g->index, gp->gpu);
		mig_gpu_layout_text(g, now, sizeof(now));
		if (strcmp(now, gp->before) != 0)
			return mig_error_set(err, MIG_E_CHANGED,
					     "GPU %u changed since the plan was made (its instances or MIG mode differ); make "
					     "the plan again from the GPUs as they are; nothing was changed",
					     g->index);
	}
	for (size_t i = 0; i < plan->nops; i++) {
		const struct mig_op *op = &plan->ops[i];
		const struct mig_gpu *g = mig_node_find_gpu(t->node, op->gpu_uuid);
		if (!g || g->index != op->gpu)
			return mig_error_set(err, MIG_E_CHANGED,
					     "operation %zu names GPU %u (%s), which the plan's GPUs do not; nothing was "
					     "changed",
					     i + 1, op->gpu, op->gpu_uuid);
	}
	return 0;
}

/* Append words to a comma list (NULL: empty); false when out of memory. */
static bool list_add(char **list, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t have = *list ? strlen(*list) : 0, add = strlen(words[i]);
		char *more = realloc(*list, have + add + 2);
		if (!more)
			return false;
		if (have)
			more[have++] = ',';
		memcpy(more + have, words[i], add + 1);
		*list = more;
	}
	return true;
}

static int notify(struct mig_txn *t, const struct mig_node *before, bool ok, struct mig_error *err)
{
	struct mig_change c = {ok, NULL, NULL, NULL, 0, 0, 0};
	int rc = 0;
	if (diff_nodes(before, t->node, &c) || !list_add(&t->changed_gpus, c.gpus, c.ngpus) ||
	    !list_add(&t->added, c.added, c.nadded) || !list_add(&t->removed, c.removed, c.nremoved)) {
		change_free(&c);
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < t->ctx->non_change && rc == 0; i++)
		rc = t->ctx->on_change[i].fn(t->ctx, &c, t->node, t->ctx->on_change[i].arg, err);
	change_free(&c);
	return rc ? -1 : 0;
}

int mig_txn_execute(struct mig_txn *t, const struct mig_plan *plan, struct mig_error *err)
{
	struct mig_error run_err, quiet;
	struct mig_node *before = NULL;
	size_t ngpu = 1;
	int rc = 0;

	mig_error_reset(&run_err);
	t->done = 0;
	if (plan->nops == 0)
		return 0;
	if (check_unchanged(t, plan, err))
		return -1;
	for (size_t i = 0; i < plan->nops; i++)
		if (plan->ops[i].kind == MIG_OP_ENABLE_MIG || plan->ops[i].kind == MIG_OP_DISABLE_MIG) {
			if (mig_ctx_check_admin(t->ctx, MIG_ADMIN_MODE, err))
				return -1;
			break;
		}
	for (size_t i = 0; i < plan->nops; i++)
		if (plan->ops[i].gpu >= ngpu)
			ngpu = plan->ops[i].gpu + 1;
	free(t->pending);
	t->npending = ngpu;
	if (!(t->pending = calloc(ngpu, sizeof(*t->pending))))
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");

	char started[64];
	time_t now = time(NULL);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_decref(t->jdoc);
	t->jdoc = json_pack("{s:s, s:i, s:s, s:I}", "format", JOURNAL_FORMAT, "version", JOURNAL_VERSION, "started",
			    started, "pid", (json_int_t)getpid());
	if (!t->jdoc)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	/* what the caller wants on record ("config_file=..."), then the plan and the progress */
	for (size_t i = 0; t->opts.journal_info && t->opts.journal_info[i]; i++) {
		const char *kv = t->opts.journal_info[i], *eq = strchr(kv, '=');
		if (eq) {
			char key[64];
			snprintf(key, sizeof(key), "%.*s", (int)(eq - kv < 63 ? eq - kv : 63), kv);
			json_object_set_new(t->jdoc, key, json_string(eq + 1));
		}
	}
	json_object_set_new(t->jdoc, "plan", mig_plan_json(plan));
	json_object_set_new(t->jdoc, "done", json_integer(0));
	json_object_set_new(t->jdoc, "results", json_array());
	if (journal_save(t, err))
		return -1;

	/* pre-apply-mode before the mode phase, pre-apply-config between it and the instances */
	if (plan->nmode_ops && hooks_run(&t->hooks, HOOK_PRE_APPLY_MODE, t->opts.hook_env, err))
		return -1;
	t->config_hook_due = plan->nops > plan->nmode_ops && !t->config_hook_ran;
	struct mig_apply_events events = {journal_progress, before_instances, t};
	before = t->node;
	t->node = NULL;
	rc = mig_plan_apply(t->ctx, plan, &t->done, t->pending, &events, &run_err);
	if (rc && run_err.status != MIG_E_PENDING) {
		/* the executor undid what it half-made: the next run has nothing to repair */
		json_object_set_new(t->jdoc, "rolled_back", json_true());
		journal_save(t, NULL);
	}

	/* the node as it is now, for the check, the callbacks and the caller */
	if (read_node(t, rc ? &quiet : err)) {
		t->node = before;
		before = NULL;
		if (rc == 0)
			return -1;
	} else if (rc == 0) {
		for (size_t i = 0; i < plan->ngpus && rc == 0; i++) {
			const struct mig_gpu *b = mig_node_find_gpu(before, plan->gpus[i].uuid),
					     *a = mig_node_find_gpu(t->node, plan->gpus[i].uuid);
			char why[2048];
			if (!b || mig_txn_pending(t, b->index))
				continue;
			if (!a || mig_plan_check_result(plan, b, a, why, sizeof(why)))
				rc = mig_error_set(&run_err, MIG_E_CHANGED,
						   "after the %zu operations, GPU %u does not look as planned (%.400s): "
						   "something else changed it at the same time",
						   t->done, b->index, a ? why : "it is gone");
		}
	}
	if (before) {
		struct mig_error cb_err;
		mig_error_reset(&cb_err);
		if (notify(t, before, rc == 0, &cb_err) && rc == 0) {
			run_err = cb_err;
			rc = -1;
		}
	}
	mig_node_free(before);
	if (t->commit) {
		int (*fn)(struct mig_txn *, void *, struct mig_error *) = t->commit;
		t->commit = NULL;
		if (rc == 0 && fn(t, t->commit_arg, &run_err))
			rc = -1; /* the journal stays: the next mig_txn_begin undoes this plan's creates */
	}
	if (rc == 0)
		unlinkat(t->journal.dirfd, t->journal.name, 0);
	if (rc && err)
		*err = run_err;
	return rc;
}

int mig_reset_command(const char *tmpl, const struct mig_gpu *g, char *buf, size_t len)
{
	char idx[16];
	size_t used = 0;
	if (!len)
		return -1;
	snprintf(idx, sizeof(idx), "%u", g->index);
	for (const char *s = tmpl; *s;) {
		const char *sub = NULL;
		size_t skip = 0;
		if (strncmp(s, "{index}", 7) == 0)
			sub = idx, skip = 7;
		else if (strncmp(s, "{pci}", 5) == 0)
			sub = g->pci_bus_id, skip = 5;
		size_t add = sub ? strlen(sub) : 1;
		if (used + add + 1 > len)
			return -1;
		if (sub) {
			memcpy(buf + used, sub, add);
			s += skip;
		} else {
			buf[used] = *s++;
		}
		used += add;
	}
	buf[used] = '\0';
	return 0;
}

int mig_txn_reset_gpu(struct mig_txn *t, unsigned int gpu, const char *command, struct mig_error *err)
{
	const struct mig_gpu *g = NULL;
	char cmd[1024];
	for (size_t i = 0; i < t->node->ngpus; i++)
		if (t->node->gpus[i].index == gpu)
			g = &t->node->gpus[i];
	if (!g)
		return mig_error_set(err, MIG_E_NOT_FOUND, "there is no GPU %u to reset", gpu);
	if (mig_reset_command(command, g, cmd, sizeof(cmd)))
		return mig_error_set(err, MIG_E_INVALID, "the reset command for GPU %u is too long", gpu);
	fflush(NULL);
	int rc = system(cmd);
	if (rc != 0)
		return mig_error_set(err, MIG_E_PENDING, "resetting GPU %u failed (%s %s %d); its MIG mode change stays pending",
				     g->index, cmd, WIFEXITED(rc) ? "exited" : "was killed by signal",
				     WIFEXITED(rc) ? WEXITSTATUS(rc) : WTERMSIG(rc));
	return read_node(t, err);
}

int mig_txn_end(struct mig_txn *t, bool ok, struct mig_error *err)
{
	int rc = 0;
	if (!t)
		return 0;
	if (t->hooks_started) {
		size_t n = 0;
		while (t->opts.hook_env && t->opts.hook_env[n])
			n++;
		const char **env = calloc(n + 5, sizeof(char *));
		/* what changed, for hooks that tell other consumers (UUIDs, comma separated) */
		const char *lists[3] = {t->changed_gpus, t->added, t->removed};
		const char *names[3] = {"MIGCTL_CHANGED_GPUS=", "MIGCTL_MIG_DEVICES_ADDED=", "MIGCTL_MIG_DEVICES_REMOVED="};
		char *vars[3] = {NULL, NULL, NULL};
		bool fine = env != NULL;
		for (size_t k = 0; k < 3 && fine; k++) {
			size_t len = strlen(names[k]) + (lists[k] ? strlen(lists[k]) : 0) + 1;
			vars[k] = malloc(len);
			fine = vars[k] != NULL;
			if (fine)
				snprintf(vars[k], len, "%s%s", names[k], lists[k] ? lists[k] : "");
		}
		if (fine) {
			for (size_t i = 0; i < n; i++)
				env[i] = t->opts.hook_env[i];
			env[n] = ok ? "MIGCTL_APPLY_STATUS=success" : "MIGCTL_APPLY_STATUS=failure";
			for (size_t k = 0; k < 3; k++)
				env[n + 1 + k] = vars[k];
			rc = hooks_run(&t->hooks, HOOK_APPLY_EXIT, env, err);
		} else {
			rc = mig_error_set(err, MIG_E_NOMEM, "out of memory for the apply-exit hooks");
		}
		for (size_t k = 0; k < 3; k++)
			free(vars[k]);
		free(env);
	}
	/* a transaction that ended well leaves no journal, also an earlier one's */
	if (ok && t->journal.dirfd >= 0)
		unlinkat(t->journal.dirfd, t->journal.name, 0);
	hooks_free(&t->hooks);
	json_decref(t->jdoc);
	mig_kept_close(&t->journal);
	mig_lock_release(t->lock);
	mig_node_free(t->node);
	mig_plan_free(t->iplan);
	free(t->pending);
	free(t->changed_gpus);
	free(t->added);
	free(t->removed);
	free(t);
	return rc;
}
