/* SPDX-License-Identifier: MIT */
/*
 * Leases (issue 12) through the public API against the simulator, with a clock the test sets
 * (mig_lease_options.now): the requester's uid decides who may release, TTLs end at the first
 * reconcile past their expiry, the pool keeps at most pool_max for pool_ttl, the per-user
 * limit, a leased instance is busy for the planner even with force, a corrupt table is an
 * error that destroys nothing, and the lease settings of migctl.conf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../include/mig.h"
#include "../../sim/store.h"
#include "../sim_guard.h"

static char dir[] = "/tmp/libmig-lease-XXXXXX";
static char state_path[300], lock_path[300], journal_path[300], table_path[300];

static void machine(const char *gpus)
{
	struct sim_store s;
	char err[512];
	assert_int_equal(sim_store_open(&s, state_path, err, sizeof(err)), 0);
	assert_int_equal(sim_store_lock(&s, err, sizeof(err)), 0);
	assert_int_equal(sim_state_init(&s.st, gpus, err, sizeof(err)), 0);
	assert_int_equal(sim_store_save(&s, err, sizeof(err)), 0);
	sim_store_unlock(&s);
	sim_store_close(&s);
	unlink(journal_path);
	unlink(table_path);
}

static struct mig_txn *begin(struct mig_ctx *ctx)
{
	struct mig_txn *txn = NULL;
	struct mig_error err;
	struct mig_txn_options o;
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.admin = MIG_ADMIN_INSTANCES | MIG_ADMIN_MODE;
	o.lock_path = lock_path;
	o.journal_path = journal_path;
	o.lock_timeout = 5;
	o.read_flags = MIG_READ_CAPACITY;
	if (mig_txn_begin(ctx, &o, &txn, &err))
		fail_msg("mig_txn_begin: %s", err.msg);
	return txn;
}

static void end(struct mig_txn *txn)
{
	struct mig_error err;
	assert_int_equal(mig_txn_end(txn, true, &err), 0);
}

/* A fresh A100 with MIG enabled, and its context. */
static struct mig_ctx *fresh(void)
{
	struct mig_ctx *ctx = NULL;
	struct mig_error err;
	struct mig_plan *plan = NULL;
	machine("A100-SXM4-40GB");
	if (mig_ctx_new(&ctx, getenv("MIGSIM_LIB"), &err))
		fail_msg("mig_ctx_new: %s", err.msg);
	struct mig_txn *txn = begin(ctx);
	assert_int_equal(mig_plan_new(&plan, &err), 0);
	assert_int_equal(mig_plan_add_mode(plan, &mig_txn_node(txn)->gpus[0], true, &err), 0);
	if (mig_txn_execute(txn, plan, &err))
		fail_msg("enable: %s", err.msg);
	mig_plan_free(plan);
	end(txn);
	return ctx;
}

static struct mig_lease_options opts(double now)
{
	struct mig_lease_options o;
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.path = table_path;
	o.now = now;
	return o;
}

static struct mig_lease_request req(const char *profile, unsigned int uid)
{
	struct mig_lease_request r;
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.profile = profile;
	r.owner_pid = (long)getpid();
	r.uid = uid;
	return r;
}

static size_t gis(struct mig_txn *txn)
{
	return mig_txn_node(txn)->gpus[0].ngis;
}

static void acquire_ok(struct mig_ctx *ctx, const struct mig_lease_options *o, const struct mig_lease_request *r,
		       struct mig_lease *l)
{
	struct mig_error err;
	struct mig_txn *txn = begin(ctx);
	if (mig_lease_acquire(txn, o, r, l, &err))
		fail_msg("mig_lease_acquire: %s", err.msg);
	end(txn);
}

static void test_release_by_uid(void **state)
{
	(void)state;
	struct mig_ctx *ctx = fresh();
	struct mig_lease_options o = opts(0);
	struct mig_lease_request r = req("1g.5gb", 1000);
	struct mig_lease l, out;
	struct mig_error err;
	acquire_ok(ctx, &o, &r, &l);
	assert_int_equal(l.uid, 1000);
	assert_int_equal(l.state, MIG_LEASE_ACTIVE);
	assert_string_equal(l.profile, "1g.5gb");
	assert_true(strncmp(l.env, "CUDA_VISIBLE_DEVICES=MIG-", 25) == 0);
	struct mig_txn *txn = begin(ctx);
	assert_int_equal(mig_lease_release(txn, &o, l.id, 2000, &out, &err), -1);
	assert_int_equal(err.status, MIG_E_PERMISSION);
	assert_non_null(strstr(err.msg, "belongs to user 1000"));
	assert_int_equal(gis(txn), 1);
	/* root may */
	assert_int_equal(mig_lease_release(txn, &o, l.id, 0, &out, &err), 0);
	assert_true(out.destroyed);
	assert_int_equal(gis(txn), 0);
	end(txn);
	mig_ctx_free(ctx);
}

static void test_ttl_by_clock(void **state)
{
	(void)state;
	struct mig_ctx *ctx = fresh();
	struct mig_lease_options o = opts(1000);
	struct mig_lease_request r = req("2g.10gb", 5);
	struct mig_lease l, *ls = NULL;
	struct mig_lease_report rep;
	struct mig_error err;
	size_t n = 0;
	r.owner_pid = 0;
	r.name = "job";
	r.ttl = 10;
	acquire_ok(ctx, &o, &r, &l);
	assert_true(l.expires == 1010);
	/* renewed at 1008: now expires at 1018 */
	o.now = 1008;
	struct mig_lease again;
	acquire_ok(ctx, &o, &r, &again);
	assert_string_equal(again.id, l.id);
	assert_true(again.renewed);
	assert_true(again.expires == 1018);
	o.now = 1015;
	struct mig_txn *txn = begin(ctx);
	assert_int_equal(mig_lease_list(txn, &o, &ls, &n, &rep, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rep.ended, 0);
	free(ls);
	o.now = 1018;
	assert_int_equal(mig_lease_list(txn, &o, &ls, &n, &rep, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(rep.ended, 1);
	assert_int_equal(rep.destroyed, 1);
	assert_int_equal(gis(txn), 0);
	free(ls);
	end(txn);
	mig_ctx_free(ctx);
}

/* mig_lease_renew: by id, owner uid or root; a TTL lease gets a new expiry (its own TTL with
 * ttl 0); a process-owned one needs a TTL; an unknown id is MIG_E_NOT_FOUND; nothing is created. */
static void test_renew_by_id(void **state)
{
	(void)state;
	struct mig_ctx *ctx = fresh();
	struct mig_lease_options o = opts(1000);
	struct mig_lease_request r = req("1g.5gb", 7);
	struct mig_lease timed, owned, out;
	struct mig_error err;
	r.owner_pid = 0;
	r.ttl = 10; /* unnamed: renewable only by id */
	acquire_ok(ctx, &o, &r, &timed);
	r = req("1g.5gb", 7);
	acquire_ok(ctx, &o, &r, &owned);
	o.now = 1005;
	struct mig_txn *txn = begin(ctx);
	assert_int_equal(mig_lease_renew(txn, &o, timed.id, 8, 60, &out, &err), -1);
	assert_int_equal(err.status, MIG_E_PERMISSION);
	assert_non_null(strstr(err.msg, "belongs to user 7"));
	assert_int_equal(mig_lease_renew(txn, &o, timed.id, 7, 60, &out, &err), 0);
	assert_string_equal(out.id, timed.id);
	assert_true(out.renewed);
	assert_true(out.expires == 1065 && out.ttl == 60);
	o.now = 1010;
	assert_int_equal(mig_lease_renew(txn, &o, timed.id, 0, 0, &out, &err), 0); /* root; its own TTL */
	assert_true(out.expires == 1070);
	assert_int_equal(mig_lease_renew(txn, &o, owned.id, 7, 0, &out, &err), -1);
	assert_int_equal(err.status, MIG_E_INVALID);
	assert_non_null(strstr(err.msg, "has no TTL"));
	assert_int_equal(mig_lease_renew(txn, &o, owned.id, 7, 30, &out, &err), 0);
	assert_true(out.expires == 1040 && out.owner_pid == (long)getpid());
	assert_int_equal(mig_lease_renew(txn, &o, "l-nothere", 7, 30, &out, &err), -1);
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	assert_int_equal(mig_lease_renew(txn, &o, timed.id, 7, -1, &out, &err), -1);
	assert_int_equal(err.status, MIG_E_INVALID);
	assert_int_equal(gis(txn), 2);
	/* past the renewed expiry the lease ends, as any TTL lease */
	o.now = 1071;
	struct mig_lease *ls = NULL;
	struct mig_lease_report rep;
	size_t n = 0;
	assert_int_equal(mig_lease_list(txn, &o, &ls, &n, &rep, &err), 0);
	assert_int_equal(rep.ended, 2);
	assert_int_equal(n, 0);
	free(ls);
	end(txn);
	mig_ctx_free(ctx);
}

static void test_pool_max_and_ttl(void **state)
{
	(void)state;
	struct mig_ctx *ctx = fresh();
	struct mig_lease_options o = opts(100);
	struct mig_lease_request r = req("1g.5gb", 7);
	struct mig_lease a, b, out, *ls = NULL;
	struct mig_lease_report rep;
	struct mig_error err;
	size_t n = 0;
	o.pool = "1g.5gb,2g.10gb";
	o.pool_max = 1;
	o.pool_ttl = 30;
	acquire_ok(ctx, &o, &r, &a);
	acquire_ok(ctx, &o, &r, &b);
	struct mig_txn *txn = begin(ctx);
	assert_int_equal(mig_lease_release(txn, &o, a.id, 7, &out, &err), 0);
	assert_false(out.destroyed);
	assert_int_equal(out.state, MIG_LEASE_POOLED);
	assert_int_equal(mig_lease_release(txn, &o, b.id, 7, &out, &err), 0);
	assert_true(out.destroyed); /* the pool is full */
	assert_int_equal(gis(txn), 1);
	/* capacity: 7g.40gb only with the pool reclaimed */
	struct mig_capacity *cap = NULL;
	assert_int_equal(mig_lease_capacity(txn, &o, &cap, &n, &err), 0);
	bool seen = false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(cap[i].profile, "7g.40gb") == 0) {
			seen = true;
			assert_int_equal(cap[i].now, 0);
			assert_int_equal(cap[i].reclaimed, 1);
		}
	assert_true(seen);
	free(cap);
	/* past its pool TTL the warm instance goes */
	o.now = 131;
	assert_int_equal(mig_lease_list(txn, &o, &ls, &n, &rep, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(rep.destroyed, 1);
	assert_int_equal(gis(txn), 0);
	free(ls);
	end(txn);
	mig_ctx_free(ctx);
}

static void test_limit_and_busy_for_planner(void **state)
{
	(void)state;
	struct mig_ctx *ctx = fresh();
	struct mig_lease_options o = opts(0);
	struct mig_lease_request r = req("3g.20gb", 9);
	struct mig_lease l, other;
	struct mig_error err;
	o.max_per_user = 1;
	acquire_ok(ctx, &o, &r, &l);
	struct mig_txn *txn = begin(ctx);
	assert_int_equal(mig_lease_acquire(txn, &o, &r, &other, &err), -1);
	assert_int_equal(err.status, MIG_E_PERMISSION);
	assert_non_null(strstr(err.msg, "user 9 holds 1 leases"));
	end(txn);
	r.uid = 10; /* another user is not held back */
	acquire_ok(ctx, &o, &r, &other);

	/* a target without instances: even with force, the leased ones are busy */
	txn = begin(ctx);
	assert_int_equal(mig_lease_mark_held(txn, &o, &err), 0);
	struct mig_gpu_target t[1];
	struct mig_plan *plan = NULL;
	memset(t, 0, sizeof(t));
	t[0].selected = true;
	t[0].mig_enabled = true;
	assert_int_equal(mig_plan_make(mig_txn_node(txn), t, true, &plan, &err), -1);
	assert_int_equal(err.status, MIG_E_BUSY);
	assert_non_null(strstr(err.msg, "is leased"));
	end(txn);
	mig_ctx_free(ctx);
}

static void test_corrupt_table_destroys_nothing(void **state)
{
	(void)state;
	struct mig_ctx *ctx = fresh();
	struct mig_lease_options o = opts(0);
	struct mig_lease_request r = req("1g.5gb", 3);
	struct mig_lease l, *ls = NULL;
	struct mig_error err;
	size_t n = 0;
	r.owner_pid = 0;
	r.name = "gone";
	r.ttl = 1;
	o.now = 50;
	acquire_ok(ctx, &o, &r, &l);
	FILE *f = fopen(table_path, "w");
	assert_non_null(f);
	fputs("{\"format\": \"migctl-leases\", \"version\": 1, \"entries\": [{}]}", f);
	fclose(f);
	o.now = 100; /* the lease expired: a readable table would destroy its instance */
	struct mig_txn *txn = begin(ctx);
	assert_int_equal(mig_lease_list(txn, &o, &ls, &n, NULL, &err), -1);
	assert_int_equal(err.status, MIG_E_IO);
	assert_non_null(strstr(err.msg, "is corrupt"));
	assert_int_equal(mig_lease_mark_held(txn, &o, &err), -1);
	assert_int_equal(gis(txn), 1);
	end(txn);
	mig_ctx_free(ctx);
}

static void test_request_errors(void **state)
{
	(void)state;
	struct mig_ctx *ctx = fresh();
	struct mig_lease_options o = opts(0);
	struct mig_lease_request r = req(NULL, 0);
	struct mig_lease l;
	struct mig_error err;
	struct mig_txn *txn = begin(ctx);
	r.owner_pid = 0; /* no owner, no TTL */
	r.profile = "1g.5gb";
	assert_int_equal(mig_lease_acquire(txn, &o, &r, &l, &err), -1);
	assert_int_equal(err.status, MIG_E_INVALID);
	r.owner_pid = (long)getpid();
	r.min_memory_mib = 1;
	assert_int_equal(mig_lease_acquire(txn, &o, &r, &l, &err), -1);
	assert_int_equal(err.status, MIG_E_INVALID);
	r.profile = NULL;
	r.min_memory_mib = 0;
	r.media = true; /* the smallest profile with a decoder: 1g.5gb+me */
	assert_int_equal(mig_lease_acquire(txn, &o, &r, &l, &err), 0);
	assert_string_equal(l.profile, "1g.5gb+me");
	r.media = false;
	r.model = "H100"; /* no such GPU */
	r.min_slices = 1;
	assert_int_equal(mig_lease_acquire(txn, &o, &r, &l, &err), -1);
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	r.model = "a100";
	assert_int_equal(mig_lease_acquire(txn, &o, &r, &l, &err), 0);
	assert_string_equal(l.profile, "1g.5gb");
	r.owner_pid = 0x7ffffff0; /* no such process */
	assert_int_equal(mig_lease_acquire(txn, &o, &r, &l, &err), -1);
	assert_int_equal(err.status, MIG_E_INVALID);
	end(txn);
	mig_ctx_free(ctx);
}

static void test_settings(void **state)
{
	(void)state;
	struct mig_settings s;
	struct mig_error err;
	const char *ok = "lease-max-per-user = 4\nlease-pool = 1g.10gb,2g.20gb\nlease-pool-max = 3\nlease-pool-ttl = 1.5\n";
	assert_int_equal(mig_settings_parse(ok, strlen(ok), "t.conf", &s, &err), 0);
	assert_int_equal(s.lease_max_per_user, 4);
	assert_string_equal(s.lease_pool, "1g.10gb,2g.20gb");
	assert_int_equal(s.lease_pool_max, 3);
	assert_true(s.lease_pool_ttl == 1.5);
	const char *none = "lease-pool = none\n";
	assert_int_equal(mig_settings_parse(none, strlen(none), "t.conf", &s, &err), 0);
	assert_string_equal(s.lease_pool, "");
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"lease-max-per-user = -1\n", "t.conf:1:22: lease-max-per-user = '-1': expected a whole number"},
		{"lease-max-per-user = 1.5\n", "expected a whole number"},
		{"lease-pool-ttl = soon\n", "t.conf:1:18: lease-pool-ttl = 'soon': expected seconds"},
		{"lease-pool = 1g 5gb\n", "expected profiles separated by commas"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mig_settings_parse(bad[i].text, strlen(bad[i].text), "t.conf", &s, &err), -1);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("'%s': got '%s', expected '%s'", bad[i].text, err.msg, bad[i].msg);
	}
}

int main(void)
{
	if (sim_guard_path("test_lease", getenv("MIGSIM_LIB")))
		return 1;
	if (!mkdtemp(dir))
		return 1;
	snprintf(state_path, sizeof(state_path), "%s/state.json", dir);
	snprintf(lock_path, sizeof(lock_path), "%s/lock", dir);
	snprintf(journal_path, sizeof(journal_path), "%s/journal.json", dir);
	snprintf(table_path, sizeof(table_path), "%s/leases.json", dir);
	setenv("MIGSIM_STATE", state_path, 1);
	setenv("MIGSIM_QUIET", "1", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_release_by_uid),
		cmocka_unit_test(test_ttl_by_clock),
		cmocka_unit_test(test_renew_by_id),
		cmocka_unit_test(test_pool_max_and_ttl),
		cmocka_unit_test(test_limit_and_busy_for_planner),
		cmocka_unit_test(test_corrupt_table_destroys_nothing),
		cmocka_unit_test(test_request_errors),
		cmocka_unit_test(test_settings),
	};
	int rc = cmocka_run_group_tests_name("lease", tests, NULL, NULL);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
