/* SPDX-License-Identifier: MIT */
/*
 * May this process change MIG configuration? Asked before anything is changed, so that a
 * command run by the wrong user fails before it takes a lock, writes a journal or runs a
 * hook, instead of half way through.
 *
 * The driver's rule (NVIDIA MIG User Guide, "Device Nodes and Capabilities",
 * https://docs.nvidia.com/datacenter/tesla/mig-user-guide/device-nodes-and-capabilities.html):
 * the mig-config capability, /proc/driver/nvidia/capabilities/mig/config, "allows one to
 * create and destroy MIG instances"; with the /proc interface a user has it when the file's
 * permissions let them read it; root, or any process with CAP_SYS_ADMIN, implicitly has
 * every capability. Changing MIG mode (nvmlDeviceSetMigMode) "requires root user".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define MIG_CONFIG_CAPABILITY "/proc/driver/nvidia/capabilities/mig/config"
#define CAP_SYS_ADMIN_BIT 21

/* CAP_SYS_ADMIN in the effective set, from /proc/self/status (no libcap needed). */
static bool has_cap_sys_admin(void)
{
	char line[256];
	bool yes = false;
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "CapEff:", 7) == 0) {
			unsigned long long caps = strtoull(line + 7, NULL, 16);
			yes = (caps >> CAP_SYS_ADMIN_BIT) & 1;
			break;
		}
	fclose(f);
	return yes;
}

int mig_ctx_check_admin(struct mig_ctx *ctx, unsigned int what, struct mig_error *err)
{
	const char *need = (what & MIG_ADMIN_MODE)
				   ? "changing MIG mode needs root (creating or destroying instances needs root or read "
				     "access to " MIG_CONFIG_CAPABILITY ")"
				   : "changing MIG configuration needs root or read access to " MIG_CONFIG_CAPABILITY;

	if (ctx && ctx->nvml && ctx->nvml->migsimCallerIsPrivileged) {
		/* the simulator: its caller setting stands for the driver's rule, whoever runs it */
		unsigned int privileged = 0;
		nvmlReturn_t rc = ctx->nvml->migsimCallerIsPrivileged(&privileged);
		if (rc != NVML_SUCCESS)
			return mig_nvml_error(err, ctx->nvml, rc, "asking the simulator whether this caller is privileged");
		if (privileged)
			return 0;
		return mig_error_set(err, MIG_E_PERMISSION,
				     "%s; the simulator treats this caller as unprivileged (migsim caller user, or "
				     "MIGSIM_UNPRIVILEGED): run 'migsim caller root' to change that",
				     need);
	}
	if (geteuid() == 0 || has_cap_sys_admin())
		return 0;
	if (!(what & MIG_ADMIN_MODE) && faccessat(AT_FDCWD, MIG_CONFIG_CAPABILITY, R_OK, AT_EACCESS) == 0)
		return 0;
	return mig_error_set(err, MIG_E_PERMISSION, "%s; uid %u %s: run it as root (e.g. with sudo)", need,
			     (unsigned int)geteuid(), (what & MIG_ADMIN_MODE) ? "is not root" : "has neither");
}
