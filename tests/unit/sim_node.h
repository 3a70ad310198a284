/* SPDX-License-Identifier: MIT */
/*
 * What the unit tests that drive libmig against the simulator share: a fresh simulated node
 * written straight into the state file, and a context on the simulator that $MIGSIM_LIB names
 * (main() has proven it is the simulator with sim_guard_path before the first call).
 */
#ifndef MIGCTL_SIM_NODE_H
#define MIGCTL_SIM_NODE_H

#include <stdio.h>
#include <stdlib.h>

#include "../../include/mig.h"
#include "../../sim/store.h"
#include "../sim_guard.h"

/* main()'s start: prove $MIGSIM_LIB is the simulator (nothing may ever reach a real GPU),
 * make the test's directory from the mkdtemp template in dir, and keep the simulator's state
 * in dir/state.json (written to state). 0, or -1 when the test must not run. */
static inline int sim_test_begin(const char *prog, char *dir, char *state, size_t len)
{
	if (sim_guard_path(prog, getenv("MIGSIM_LIB")) || !mkdtemp(dir))
		return -1;
	snprintf(state, len, "%s/state.json", dir);
	setenv("MIGSIM_STATE", state, 1);
	setenv("MIGSIM_QUIET", "1", 1);
	return 0;
}

/* main()'s end: the tests' result, a failure too when their directory cannot be removed. */
static inline int sim_test_end(int rc, const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) != 0 ? 1 : rc;
}

/* A fresh node of gpus (migsim's --gpus list); edit, when given, changes it before it is
 * saved (MIG modes, instances). */
static inline void sim_node_edit(const char *state, const char *gpus, void (*edit)(struct sim_state *st))
{
	struct sim_store s;
	char err[512];
	assert_int_equal(sim_store_open(&s, state, err, sizeof(err)), 0);
	assert_int_equal(sim_store_lock(&s, err, sizeof(err)), 0);
	assert_int_equal(sim_state_init(&s.st, gpus, err, sizeof(err)), 0);
	if (edit)
		edit(&s.st);
	assert_int_equal(sim_store_save(&s, err, sizeof(err)), 0);
	sim_store_unlock(&s);
	sim_store_close(&s);
}

static inline void sim_node_init(const char *state, const char *gpus)
{
	sim_node_edit(state, gpus, NULL);
}

static inline struct mig_ctx *sim_ctx(void)
{
	struct mig_ctx *ctx = NULL;
	struct mig_error err;
	if (mig_ctx_new(&ctx, getenv("MIGSIM_LIB"), &err))
		fail_msg("mig_ctx_new: %s", err.msg);
	return ctx;
}

#endif
