/* SPDX-License-Identifier: MIT */
/* Hooks at mig-parted's points (lib/txn/hooks.c). */
#ifndef MIGCTL_HOOKS_H
#define MIGCTL_HOOKS_H

#include <limits.h>
#include <yaml.h>

#include "../../include/mig.h"

enum hook_point { HOOK_APPLY_START, HOOK_PRE_APPLY_MODE, HOOK_PRE_APPLY_CONFIG, HOOK_APPLY_EXIT, HOOK_POINTS };

struct hooks {
	char file[PATH_MAX];
	yaml_document_t *doc;
	const yaml_node_t *point[HOOK_POINTS]; /* the list of commands of each point, or NULL */
};

/* Load and check a hooks file (file:line:column errors; ownership when run as root). */
int hooks_load(const char *path, struct hooks *h, struct mig_error *err);
void hooks_free(struct hooks *h);
/* Run a point's commands in order; extra_env is a NULL-terminated list of "K=V". */
int hooks_run(struct hooks *h, enum hook_point point, const char *const *extra_env, struct mig_error *err);

#endif
