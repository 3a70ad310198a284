/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int mig_ctx_new(struct mig_ctx **out, const char *nvml_path, struct mig_error *err)
{
	struct mig_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	if (mig_nvml_open(&ctx->nvml, nvml_path, err)) {
		free(ctx);
		return -1;
	}
	nvmlReturn_t rc = NVML_CALL(ctx, nvmlInit_v2);
	if (rc != NVML_SUCCESS) {
		if (rc == NVML_ERROR_NO_PERMISSION)
			mig_nvml_error(err, ctx->nvml, rc, "initialising NVML from %s (run as root?)", ctx->nvml->path);
		else if (rc == NVML_ERROR_DRIVER_NOT_LOADED)
			mig_nvml_error(err, ctx->nvml, rc, "initialising NVML from %s: is the nvidia kernel module loaded?",
				       ctx->nvml->path);
		else
			mig_nvml_error(err, ctx->nvml, rc, "initialising NVML from %s", ctx->nvml->path);
		char why[400];
		if (err && ctx->nvml->migsimGetLastError &&
		    ctx->nvml->migsimGetLastError(why, sizeof(why)) == NVML_SUCCESS && why[0]) {
			size_t used = strlen(err->msg);
			snprintf(err->msg + used, sizeof(err->msg) - used, " (%s)", why);
		}
		mig_nvml_close(ctx->nvml);
		free(ctx);
		return -1;
	}
	if (NVML_CALL(ctx, nvmlSystemGetDriverVersion, ctx->driver_version, sizeof(ctx->driver_version)) !=
	    NVML_SUCCESS)
		strcpy(ctx->driver_version, "unknown");
	*out = ctx;
	return 0;
}

void mig_ctx_free(struct mig_ctx *ctx)
{
	if (!ctx)
		return;
	NVML_CALL(ctx, nvmlShutdown);
	mig_nvml_close(ctx->nvml);
	free(ctx->root); /* issue 11 */
	free(ctx);
}

unsigned long mig_ctx_nvml_calls(const struct mig_ctx *ctx)
{
	return atomic_load_explicit(&ctx->calls, memory_order_relaxed);
}

const char *mig_ctx_driver_version(const struct mig_ctx *ctx)
{
	return ctx->driver_version;
}

const char *mig_ctx_nvml_path(const struct mig_ctx *ctx)
{
	return ctx->nvml->path;
}
