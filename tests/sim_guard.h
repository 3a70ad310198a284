/* SPDX-License-Identifier: MIT */
/*
 * No test may change a real GPU. Every test program that changes MIG state (creates,
 * destroys, MIG mode) calls one of these BEFORE its first NVML call: they prove that the
 * NVML library it is about to use is migctl's simulator (it exports migsimGetLastError,
 * which NVIDIA's libnvidia-ml.so.1 does not) and refuse, with a message, otherwise.
 * Header only, so that every test binary can use it without linking anything new.
 */
#ifndef MIGCTL_SIM_GUARD_H
#define MIGCTL_SIM_GUARD_H

#include <dlfcn.h>
#include <stdio.h>

/* 0 when the opened library dl (loaded from path) is the simulator, else -1 with a message. */
static inline int sim_guard_handle(void *dl, const char *who, const char *path)
{
	if (dl && dlsym(dl, "migsimGetLastError"))
		return 0;
	fprintf(stderr,
		"%s: refusing to run: %s is not migctl's simulator (it lacks migsimGetLastError); a test "
		"must never change a real GPU. Point MIGSIM_LIB at build/sim/libnvidia-ml.so.1 (make test-only does)\n",
		who, path ? path : "(no library)");
	return -1;
}

/* The same for a library named by path, before anything else loads it. A NULL or empty path
 * is refused: libmig would then load $MIGCTL_NVML_LIB or the driver's libnvidia-ml.so.1. */
static inline int sim_guard_path(const char *who, const char *path)
{
	if (!path || !*path) {
		fprintf(stderr,
			"%s: refusing to run: no simulator named (MIGSIM_LIB is not set); a test must never change "
			"a real GPU. Run it through make test-only\n",
			who);
		return -1;
	}
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		const char *why = dlerror();
		fprintf(stderr, "%s: refusing to run: cannot load %s (%s)\n", who, path, why ? why : "unknown error");
		return -1;
	}
	int rc = sim_guard_handle(dl, who, path);
	dlclose(dl);
	return rc;
}

#endif
