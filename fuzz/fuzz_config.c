/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: mig-parted v1 configs (lib/declare/config.c), then what follows without a GPU:
 * every set is looked up by name, resolved against a fake node (one empty MIG-enabled GPU
 * of every simulated model, and a GPU without MIG) and planned (lib/declare/targets.c, lib/plan/plan.c, lib/place/place.c).
 * A rejected input must say why: a non-empty message, and for the parser file:line:column.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mig.h"

#include "fake_node.h"

/* "<fuzz>:LINE:COLUMN: why" */
static int has_position(const char *msg)
{
	unsigned int line, col;
	int used = 0;
	return sscanf(msg, "<fuzz>:%u:%u: %n", &line, &col, &used) == 2 && used > 0 && msg[used] && line > 0 && col > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mig_config *cfg = NULL;
	struct mig_error err;

	fake_node();
	mig_error_reset(&err);
	if (mig_config_parse((const char *)data, size, "<fuzz>", &cfg, &err)) {
		if (cfg || err.status == MIG_OK || !err.msg[0])
			abort();
		if (err.status != MIG_E_NOMEM && !has_position(err.msg) &&
		    strcmp(err.msg, "<fuzz>: the file is empty; it needs 'version: v1' and 'mig-configs'") != 0) {
			fprintf(stderr, "config error without file:line:column: %s\n", err.msg);
			abort();
		}
		return 0;
	}
	if (!cfg || cfg->nsets == 0)
		abort();
	/* no name: the only set, or an error naming the choices */
	mig_error_reset(&err);
	const struct mig_config_set *only = mig_config_find(cfg, NULL, &err);
	if ((only == NULL) != (cfg->nsets != 1) || (!only && !err.msg[0]))
		abort();
	for (size_t i = 0; i < cfg->nsets; i++) {
		const struct mig_config_set *set = mig_config_find(cfg, cfg->sets[i].name, NULL);
		if (set != &cfg->sets[i] || set->nentries == 0)
			abort();
		struct mig_gpu_target targets[FAKE_MAX];
		memset(targets, 0, sizeof(targets));
		mig_error_reset(&err);
		if (mig_config_targets(cfg, set, &fake.node, targets, &err)) {
			if (!err.msg[0])
				abort();
			continue;
		}
		struct mig_plan *plan = NULL;
		mig_error_reset(&err);
		if (mig_plan_make(&fake.node, targets, false, &plan, &err)) {
			if (plan || !err.msg[0])
				abort();
			continue;
		}
		mig_plan_free(plan);
	}
	mig_config_free(cfg);
	return 0;
}
