/* SPDX-License-Identifier: MIT */
/*
 * The transaction against the simulator, through the public API only: every status a program
 * switches on is reached (busy, locked, changed, not found, no capacity, fragmented,
 * permission, unsupported, pending, hook, io), plans round-trip through JSON, a stale plan
 * changes nothing, and the after-change callback names what appeared and vanished.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../include/mig.h"
#include "../../sim/store.h"
#include "sim_node.h"

static char dir[] = "/tmp/libmig-txn-XXXXXX";
static char state_path[300], lock_path[300], journal_path[300];

static void machine(const char *gpus)
{
	sim_node_init(state_path, gpus);
	unlink(journal_path);
}

static struct mig_ctx *open_ctx(void)
{
	return sim_ctx();
}

static struct mig_txn_options options(double timeout)
{
	struct mig_txn_options o;
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.admin = MIG_ADMIN_INSTANCES;
	o.lock_path = lock_path;
	o.journal_path = journal_path;
	o.lock_timeout = timeout;
	o.read_flags = MIG_READ_CAPACITY;
	return o;
}

static struct mig_txn *begin(struct mig_ctx *ctx)
{
	struct mig_txn *txn = NULL;
	struct mig_error err;
	struct mig_txn_options o = options(5);
	if (mig_txn_begin(ctx, &o, &txn, &err))
		fail_msg("mig_txn_begin: %s", err.msg);
	return txn;
}

/* One plan on GPU 0 of the transaction's node, built by fn, executed; its status. */
static int run_mode(struct mig_txn *txn, bool enable, struct mig_error *err)
{
	struct mig_plan *plan = NULL;
	assert_int_equal(mig_plan_new(&plan, err), 0);
	assert_int_equal(mig_plan_add_mode(plan, &mig_txn_node(txn)->gpus[0], enable, err), 0);
	int rc = mig_txn_execute(txn, plan, err);
	mig_plan_free(plan);
	return rc;
}

static int create(struct mig_txn *txn, const char *profile, unsigned int start, struct mig_error *err)
{
	const struct mig_gpu *g = &mig_txn_node(txn)->gpus[0];
	const struct mig_gi_profile *p = mig_gpu_find_profile(g, profile, err);
	struct mig_plan *plan = NULL;
	assert_non_null(p);
	assert_int_equal(mig_plan_new(&plan, err), 0);
	struct mig_placement at = {start, 0};
	for (size_t i = 0; i < p->nplacements; i++)
		if (p->placements[i].start == start)
			at = p->placements[i];
	assert_int_equal(mig_plan_add_create_gi(plan, g, p, at, true, err), 0);
	int rc = mig_txn_execute(txn, plan, err);
	mig_plan_free(plan);
	return rc;
}

/* Changes: the callback sees the devices that appear and vanish. */
struct seen {
	int calls;
	size_t added, removed, gpus;
	bool ok;
};

static int on_change(struct mig_ctx *ctx, const struct mig_change *c, const struct mig_node *after, void *arg,
		     struct mig_error *err)
{
	struct seen *s = arg;
	(void)ctx;
	(void)after;
	(void)err;
	s->calls++;
	s->ok = mig_change_ok(c);
	mig_change_added(c, &s->added);
	mig_change_removed(c, &s->removed);
	mig_change_gpus(c, &s->gpus);
	return 0;
}

static void test_changes_are_told(void **unused)
{
	(void)unused;
	struct mig_error err;
	struct seen seen = {0, 0, 0, 0, false};
	machine("A100-SXM4-40GB");
	struct mig_ctx *ctx = open_ctx();
	assert_int_equal(mig_ctx_on_change(ctx, on_change, &seen, &err), 0);
	struct mig_txn *txn = begin(ctx);
	assert_int_equal(run_mode(txn, true, &err), 0);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.gpus, 1);
	assert_int_equal(create(txn, "3g.20gb", 4, &err), 0);
	assert_int_equal(seen.calls, 2);
	assert_true(seen.ok);
	assert_int_equal(seen.added, 1);
	assert_int_equal(seen.removed, 0);
	assert_int_equal(mig_txn_done(txn), 2); /* the GPU instance and its compute instance */
	assert_int_equal(mig_txn_end(txn, true, &err), 0);
	mig_ctx_free(ctx);
}

static void test_plan_round_trip_and_changed(void **unused)
{
	(void)unused;
	struct mig_error err;
	machine("A100-SXM4-40GB");
	struct mig_ctx *ctx = open_ctx();
	struct mig_txn *txn = begin(ctx);
	assert_int_equal(run_mode(txn, true, &err), 0);
	/* a plan made now, written down and read back */
	const struct mig_gpu *g = &mig_txn_node(txn)->gpus[0];
	struct mig_plan *plan = NULL, *back = NULL;
	assert_int_equal(mig_plan_new(&plan, &err), 0);
	assert_int_equal(mig_plan_add_create_gi(plan, g, mig_gpu_find_profile(g, "2g.10gb", &err),
						 (struct mig_placement){4, 2}, true, &err),
			 0);
	char *text = mig_plan_to_json(plan, &err);
	assert_non_null(text);
	assert_int_equal(mig_plan_from_json(text, &back, &err), 0);
	char *again = mig_plan_to_json(back, &err);
	assert_string_equal(text, again);
	free(again);
	/* the GPU moves before it runs: refused, nothing changed */
	assert_int_equal(create(txn, "1g.5gb", 0, &err), 0);
	char before[4096];
	snprintf(before, sizeof(before), "%zu", mig_txn_node(txn)->gpus[0].ngis);
	assert_int_equal(mig_txn_execute(txn, back, &err), -1);
	assert_int_equal(err.status, MIG_E_CHANGED);
	assert_string_equal(mig_status_name(err.status), "changed");
	char after[64];
	snprintf(after, sizeof(after), "%zu", mig_txn_node(txn)->gpus[0].ngis);
	assert_string_equal(before, after);
	/* a plan of a newer format: unsupported; not a plan at all: invalid */
	char *newer = strdup(text);
	char *v = strstr(newer, "\"version\": 1");
	assert_non_null(v);
	v[11] = '9';
	struct mig_plan *none = NULL;
	assert_int_equal(mig_plan_from_json(newer, &none, &err), -1);
	assert_int_equal(err.status, MIG_E_UNSUPPORTED);
	assert_int_equal(mig_plan_from_json("{\"format\": \"something\"}", &none, &err), -1);
	assert_int_equal(err.status, MIG_E_INVALID);
	free(newer);
	free(text);
	mig_plan_free(plan);
	mig_plan_free(back);
	assert_int_equal(mig_txn_end(txn, true, &err), 0);
	mig_ctx_free(ctx);
}

static void test_locked(void **unused)
{
	(void)unused;
	struct mig_error err;
	machine("A100-SXM4-40GB");
	struct mig_ctx *ctx = open_ctx();
	struct mig_txn *txn = begin(ctx), *second = NULL;
	struct mig_txn_options o = options(0);
	/* the lock is per open file: a second transaction, even in this process, waits */
	assert_int_equal(mig_txn_begin(ctx, &o, &second, &err), -1);
	assert_int_equal(err.status, MIG_E_LOCKED);
	assert_non_null(strstr(err.msg, "another change to this node"));
	assert_int_equal(mig_txn_end(txn, true, &err), 0);
	assert_int_equal(mig_txn_begin(ctx, &o, &second, &err), 0);
	assert_int_equal(mig_txn_end(second, true, &err), 0);
	mig_ctx_free(ctx);
}

static void test_busy_not_found_capacity_fragmented(void **unused)
{
	(void)unused;
	struct mig_error err;
	machine("A100-SXM4-40GB");
	struct mig_ctx *ctx = open_ctx();
	struct mig_txn *txn = begin(ctx);
	assert_int_equal(run_mode(txn, true, &err), 0);
	/* not found: a profile this GPU lacks */
	assert_null(mig_gpu_find_profile(&mig_txn_node(txn)->gpus[0], "2g.5gb", &err));
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	/* 1g at 0, 2, 4, 6: four free slices, but no room for a 2g anywhere: fragmented */
	for (unsigned int s = 0; s < 8; s += 2)
		assert_int_equal(create(txn, "1g.5gb", s, &err), 0);
	struct mig_place_choice choice;
	assert_int_equal(mig_place_one(mig_txn_node(txn), NULL, "2g.10gb", NULL, &choice, &err), -1);
	assert_int_equal(err.status, MIG_E_FRAGMENTED);
	/* three more 1g fill the compute slices: no capacity */
	for (unsigned int s = 1; s < 7; s += 2)
		assert_int_equal(create(txn, "1g.5gb", s, &err), 0);
	assert_int_equal(mig_place_one(mig_txn_node(txn), NULL, "1g.5gb", NULL, &choice, &err), -1);
	assert_int_equal(err.status, MIG_E_NO_CAPACITY);
	assert_string_equal(mig_status_name(err.status), "no_capacity");
	/* busy: a plan that destroys an instance a process runs on */
	struct mig_config *config = NULL;
	const char *text = "version: v1\nmig-configs:\n  c:\n    - devices: all\n      mig-enabled: true\n"
			   "      mig-devices: {\"7g.40gb\": 1}\n";
	assert_int_equal(mig_config_parse(text, strlen(text), "busy.yaml", &config, &err), 0);
	struct mig_node *node = (struct mig_node *)mig_txn_node(txn);
	struct mig_gpu_target targets[1];
	assert_int_equal(mig_config_targets(config, &config->sets[0], node, targets, &err), 0);
	struct mig_process proc = {.pid = 4242, .used_mib = 100};
	struct mig_ci *ci = &node->gpus[0].gis[0].cis[0];
	ci->procs = &proc; /* as NVML would list it: on the node the plan reads */
	ci->nprocs = 1;
	struct mig_plan *plan = NULL;
	assert_int_equal(mig_plan_make(node, targets, false, &plan, &err), -1);
	assert_int_equal(err.status, MIG_E_BUSY);
	assert_null(strstr(err.msg, "--force")); /* the tool's words are the tool's */
	ci->procs = NULL;
	ci->nprocs = 0;
	mig_config_free(config);
	assert_int_equal(mig_txn_end(txn, true, &err), 0);
	mig_ctx_free(ctx);
}

static void test_permission_pending_hook_io(void **unused)
{
	(void)unused;
	struct mig_error err;
	struct mig_txn *txn = NULL;
	/* permission: the simulator answers that this caller may not change MIG */
	machine("A100-SXM4-40GB");
	struct mig_ctx *ctx = open_ctx();
	setenv("MIGSIM_UNPRIVILEGED", "1", 1);
	struct mig_txn_options o = options(5);
	assert_int_equal(mig_txn_begin(ctx, &o, &txn, &err), -1);
	assert_int_equal(err.status, MIG_E_PERMISSION);
	unsetenv("MIGSIM_UNPRIVILEGED");
	/* io: a journal in a directory that does not exist */
	char missing[400];
	snprintf(missing, sizeof(missing), "%s/no/such/journal.json", dir);
	o.journal_path = missing;
	assert_int_equal(mig_txn_begin(ctx, &o, &txn, &err), -1);
	assert_int_equal(err.status, MIG_E_IO);
	/* hook: an apply-start hook that fails */
	char hooks[400];
	snprintf(hooks, sizeof(hooks), "%s/hooks.yaml", dir);
	FILE *f = fopen(hooks, "w");
	assert_non_null(f);
	fprintf(f, "version: v1\nhooks:\n  apply-start:\n    - command: /bin/false\n");
	fclose(f);
	chmod(hooks, 0644);
	o = options(5);
	o.hooks_file = hooks;
	assert_int_equal(mig_txn_begin(ctx, &o, &txn, &err), -1);
	assert_int_equal(err.status, MIG_E_HOOK);
	mig_ctx_free(ctx);
	/* pending: an H100 whose MIG mode change needs a reset */
	machine("H100-SXM5-80GB:reset-required");
	ctx = open_ctx();
	txn = begin(ctx);
	assert_int_equal(run_mode(txn, true, &err), -1);
	assert_int_equal(err.status, MIG_E_PENDING);
	assert_int_equal(mig_txn_pending(txn, 0), MIG_PENDING_RESET);
	assert_int_equal(mig_txn_end(txn, false, &err), 0);
	mig_ctx_free(ctx);
}

int main(void)
{
	if (sim_test_begin("test_txn", dir, state_path, sizeof(state_path)))
		return 1;
	snprintf(lock_path, sizeof(lock_path), "%s/lock", dir);
	snprintf(journal_path, sizeof(journal_path), "%s/journal.json", dir);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changes_are_told),
		cmocka_unit_test(test_plan_round_trip_and_changed),
		cmocka_unit_test(test_locked),
		cmocka_unit_test(test_busy_not_found_capacity_fragmented),
		cmocka_unit_test(test_permission_pending_hook_io),
	};
	int rc = cmocka_run_group_tests_name("txn", tests, NULL, NULL);
	return sim_test_end(rc, dir);
}
