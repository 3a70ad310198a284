/* SPDX-License-Identifier: MIT */
/*
 * Loading NVML at run time. Symbols are resolved by their versioned names, as a client
 * compiled against nvml.h would call them; where an older driver lacks the newest version
 * of a call whose struct did not change, the older symbol stands in.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_NVML "libnvidia-ml.so.1"

/* Copy a symbol address into a function pointer without an object-to-function cast. */
static void resolve(void *dl, const char *name, void *slot)
{
	void *p = dlsym(dl, name);
	memcpy(slot, &p, sizeof(p));
}

int mig_nvml_open(struct mig_nvml **out, const char *path, struct mig_error *err)
{
	struct mig_nvml *n;

	/* no environment: a program chooses its library (migctl: --nvml-lib, $MIGCTL_NVML_LIB) */
	if (!path || !*path)
		path = DEFAULT_NVML;
	n = calloc(1, sizeof(*n));
	if (!n)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	snprintf(n->path, sizeof(n->path), "%s", path);
	dlerror();
	n->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!n->dl) {
		const char *why = dlerror();
		mig_error_set(err, MIG_E_LIBRARY,
			      "cannot load the NVML library %s (%s); is the NVIDIA driver installed?",
			      path, why ? why : "unknown error");
		free(n);
		return -1;
	}
#define MIG_NVML_RESOLVE(name, params) resolve(n->dl, #name, &n->name);
	MIG_NVML_FUNCTIONS(MIG_NVML_RESOLVE)
#undef MIG_NVML_RESOLVE
	resolve(n->dl, "nvmlErrorString", &n->nvmlErrorString);
	resolve(n->dl, "migsimGetLastError", &n->migsimGetLastError);
	resolve(n->dl, "migsimCallerIsPrivileged", &n->migsimCallerIsPrivileged);

	/* Fallbacks: same struct, older symbol. */
	if (!n->nvmlInit_v2)
		n->nvmlInit_v2 = n->nvmlInit;
	if (!n->nvmlDeviceGetCount_v2)
		n->nvmlDeviceGetCount_v2 = n->nvmlDeviceGetCount;
	if (!n->nvmlDeviceGetHandleByIndex_v2)
		n->nvmlDeviceGetHandleByIndex_v2 = n->nvmlDeviceGetHandleByIndex;
	if (!n->nvmlDeviceGetHandleByPciBusId_v2)
		n->nvmlDeviceGetHandleByPciBusId_v2 = n->nvmlDeviceGetHandleByPciBusId;
	if (!n->nvmlDeviceGetPciInfo_v3)
		n->nvmlDeviceGetPciInfo_v3 = n->nvmlDeviceGetPciInfo_v2;
	if (!n->nvmlDeviceGetComputeRunningProcesses_v3)
		n->nvmlDeviceGetComputeRunningProcesses_v3 = n->nvmlDeviceGetComputeRunningProcesses_v2;

	if (!n->nvmlInit_v2 || !n->nvmlShutdown || !n->nvmlDeviceGetCount_v2 || !n->nvmlDeviceGetHandleByIndex_v2 ||
	    !n->nvmlErrorString) {
		mig_error_set(err, MIG_E_LIBRARY,
			      "%s is not an NVML library (it lacks nvmlInit, nvmlShutdown, nvmlDeviceGetCount or "
			      "nvmlErrorString)",
			      path);
		mig_nvml_close(n);
		return -1;
	}
	*out = n;
	return 0;
}

void mig_nvml_close(struct mig_nvml *nvml)
{
	if (!nvml)
		return;
	if (nvml->dl)
		dlclose(nvml->dl);
	free(nvml);
}

int mig_nvml_error(struct mig_error *err, const struct mig_nvml *nvml, nvmlReturn_t rc, const char *fmt, ...)
{
	char what[MIG_ERROR_MSG_MAX];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	const char *text = nvml && nvml->nvmlErrorString ? nvml->nvmlErrorString(rc) : NULL;
	if (rc == NVML_ERROR_FUNCTION_NOT_FOUND)
		text = "not supported by this driver (its NVML library lacks the function; a newer driver has it)";
	mig_error_set(err, MIG_E_NVML, "%s: %s", what, text ? text : "unknown NVML error");
	err->nvml = (int)rc;
	return -1;
}
