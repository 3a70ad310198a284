/* SPDX-License-Identifier: MIT */
/*
 * migctl run --isolate (issue 12): a device cgroup per run that lets the command open only its
 * MIG device's nodes, the control nodes CUDA needs and a few harmless ones. The cgroup v1
 * devices controller only; a host without it is refused with the reason.
 */
#ifndef MIGCTL_ISOLATE_H
#define MIGCTL_ISOLATE_H

#include <limits.h>

#include "cli.h"

/* Exit status of run when the command did not run because its isolation could not be set up
 * (migctl(8)); the lease is released first. */
#define EXIT_ISOLATE 125

struct cli_isolation {
	char dir[PATH_MAX];            /* the devices hierarchy's cgroup of this process */
	char path[PATH_MAX];           /* the run's own cgroup (created by cli_isolate_create) */
	char procs[PATH_MAX + 16];     /* path/cgroup.procs, written by the child */
	char nodes[1024];              /* the nvidia nodes allowed, space-separated (MIGCTL_DEVICE_NODES) */
	bool created;
};

/* Before the lease: is there a cgroup v1 devices hierarchy to use? Finds it (mounts from
 * $MIGCTL_CGROUP_MOUNTS, for tests, else /proc/self/mounts) and this process's cgroup in it,
 * and removes the cgroups of earlier runs whose migctl died (killing what still runs in them:
 * their lease ended with migctl). Prints the error and returns -1 when not. */
int cli_isolate_check(struct cli *c, struct cli_isolation *iso);

/* After the lease: read the device nodes (making missing capability nodes, as nvidia-modprobe
 * does), create the run's cgroup (named after migctl's pid and the lease id) and allow in it
 * only the lease's MIG device, the control nodes and the harmless ones. Prints the error and
 * returns -1 (nothing left behind). */
int cli_isolate_create(struct cli *c, const struct mig_lease *l, struct cli_isolation *iso);

/* In the forked child, before exec: move this process into the cgroup. Only async-signal-safe
 * calls. Returns 0, or the errno of the failure. */
int cli_isolate_join(const struct cli_isolation *iso);

/* After the command: kill what it left running in the cgroup and remove it. Warns (stderr)
 * when it cannot. */
void cli_isolate_remove(struct cli_isolation *iso);

#endif
