/* SPDX-License-Identifier: MIT */
/*
 * What the unit tests that drive libmig against the simulator share: a fresh simulated node
 * written straight into the state file, and a context on the simulator that $MIGSIM_LIB names
 * (main() has proven it is the simulator with sim_guard_path before the first call).
 */
#ifndef MIGCTL_SIM_NODE_H
#define MIGCTL_SIM_NODE_H

#include <stdlib.h>

#include "../../include/mig.h"
#include "../../sim/store.h"

static inline void sim_node_init(const char *state, const char *gpus)
{
	struct sim_store s;
	char err[512];
	assert_int_equal(sim_store_open(&s, state, err, sizeof(err)), 0);
	assert_int_equal(sim_store_lock(&s, err, sizeof(err)), 0);
	assert_int_equal(sim_state_init(&s.st, gpus, err, sizeof(err)), 0);
	assert_int_equal(sim_store_save(&s, err, sizeof(err)), 0);
	sim_store_unlock(&s);
	sim_store_close(&s);
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
