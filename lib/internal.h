/* SPDX-License-Identifier: MIT */
/* libmig internals shared between its source files; not installed. */
#ifndef MIG_INTERNAL_H
#define MIG_INTERNAL_H

#include "../include/mig.h"
#include "../nvml/nvml_abi.h"

/* NVML, loaded with dlopen. A symbol the driver lacks is NULL (after the fallbacks in
 * nvml.c); callers report it as "not supported by this driver". */
struct mig_nvml {
	void *dl;
	char path[4096];
#define MIG_NVML_FIELD(name, params) name##_fn *name;
	MIG_NVML_FUNCTIONS(MIG_NVML_FIELD)
#undef MIG_NVML_FIELD
	nvmlErrorString_fn *nvmlErrorString;
	/* the simulator's explanation of its own failures (not in NVIDIA's library) */
	nvmlReturn_t (*migsimGetLastError)(char *buf, unsigned int len);
	/* the simulator's own answer to "may this caller change MIG configuration?" (1 yes, 0 no) */
	nvmlReturn_t (*migsimCallerIsPrivileged)(unsigned int *privileged);
};

struct mig_ctx {
	struct mig_nvml *nvml;
	unsigned long calls;
	char driver_version[96];
	char *root; /* issue 11: mig_ctx_set_root (lib/node/devnodes.c); NULL: "/" or the simulator's */
};

/* Call NVML function fn through ctx, counting it; a symbol the driver lacks answers
 * NVML_ERROR_FUNCTION_NOT_FOUND. */
#define NVML_CALL(ctx, fn, ...) \
	((ctx)->calls++, (ctx)->nvml->fn ? (ctx)->nvml->fn(__VA_ARGS__) : NVML_ERROR_FUNCTION_NOT_FOUND)

/* path: NULL means $MIGCTL_NVML_LIB, else "libnvidia-ml.so.1". */
int mig_nvml_open(struct mig_nvml **out, const char *path, struct mig_error *err);
void mig_nvml_close(struct mig_nvml *nvml);

/* Fill err from an NVML failure: status MIG_E_NVML, the code, "<what>: <nvmlErrorString>". */
int mig_nvml_error(struct mig_error *err, const struct mig_nvml *nvml, nvmlReturn_t rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Fill err (if any) and return -1, so callers can `return mig_error_set(...)`. */
int mig_error_set(struct mig_error *err, enum mig_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* NVML's compute-instance profile index of a compute instance of this many slices. */
unsigned int mig_ci_profile_for_slices(unsigned int slices);

#endif
