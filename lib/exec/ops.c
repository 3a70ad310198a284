/* SPDX-License-Identifier: MIT */
/* Changing MIG state: MIG mode, creating and destroying GPU and compute instances. */
#include "internal.h"

/* rc, after an error that NVML gave for a change rather than a read (callers hint on those) */
static int changing(struct mig_error *err, int rc)
{
	if (err)
		err->change = true;
	return rc;
}

static int gpu_handle(struct mig_ctx *ctx, unsigned int gpu, nvmlDevice_t *dev, struct mig_error *err)
{
	nvmlReturn_t rc = NVML_CALL(ctx, nvmlDeviceGetHandleByIndex_v2, gpu, dev);
	return rc == NVML_SUCCESS ? 0 : mig_nvml_error(err, ctx->nvml, rc, "opening GPU %u", gpu);
}

static int gi_handle(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, nvmlGpuInstance_t *gi,
		     struct mig_error *err)
{
	nvmlDevice_t dev = NULL; /* set through a function pointer the analyzer cannot follow */
	if (gpu_handle(ctx, gpu, &dev, err))
		return -1;
	nvmlReturn_t rc = NVML_CALL(ctx, nvmlDeviceGetGpuInstanceById, dev, gi_id, gi);
	if (rc == NVML_ERROR_NOT_FOUND)
		return mig_error_set(err, MIG_E_NOT_FOUND, "GPU %u has no GPU instance %u", gpu, gi_id);
	return rc == NVML_SUCCESS ? 0 : mig_nvml_error(err, ctx->nvml, rc, "opening GPU instance %u on GPU %u", gi_id, gpu);
}

int mig_gpu_set_mig_mode(struct mig_ctx *ctx, unsigned int gpu, bool enable, struct mig_mode_result *res,
			 struct mig_error *err)
{
	nvmlDevice_t dev = NULL;
	nvmlReturn_t activation = NVML_SUCCESS;
	unsigned int cur = 0, pend = 0;

	if (gpu_handle(ctx, gpu, &dev, err))
		return -1;
	nvmlReturn_t rc = NVML_CALL(ctx, nvmlDeviceSetMigMode, dev, enable ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE,
				    &activation);
	if (rc != NVML_SUCCESS)
		return changing(err, mig_nvml_error(err, ctx->nvml, rc, "%s MIG mode on GPU %u",
						    enable ? "enabling" : "disabling", gpu));
	rc = NVML_CALL(ctx, nvmlDeviceGetMigMode, dev, &cur, &pend);
	if (rc != NVML_SUCCESS)
		return mig_nvml_error(err, ctx->nvml, rc, "reading the MIG mode of GPU %u", gpu);
	res->current = cur ? MIG_MODE_ENABLED : MIG_MODE_DISABLED;
	res->pending = pend ? MIG_MODE_ENABLED : MIG_MODE_DISABLED;
	res->activation = (int)activation;
	return 0;
}

int mig_gi_create(struct mig_ctx *ctx, unsigned int gpu, unsigned int profile_id, const struct mig_placement *at,
		  unsigned int *gi_id, struct mig_placement *placed, struct mig_error *err)
{
	nvmlDevice_t dev = NULL;
	nvmlGpuInstance_t gi = NULL;
	nvmlGpuInstanceInfo_t info;
	nvmlReturn_t rc;

	if (gpu_handle(ctx, gpu, &dev, err))
		return -1;
	if (at) {
		nvmlGpuInstancePlacement_t p = {at->start, at->size};
		rc = NVML_CALL(ctx, nvmlDeviceCreateGpuInstanceWithPlacement, dev, profile_id, &p, &gi);
	} else {
		rc = NVML_CALL(ctx, nvmlDeviceCreateGpuInstance, dev, profile_id, &gi);
	}
	if (rc != NVML_SUCCESS) {
		if (at)
			return changing(err, mig_nvml_error(err, ctx->nvml, rc,
							    "Unable to create a GPU instance on GPU %u using profile %u "
							    "at placement %u:%u",
							    gpu, profile_id, at->start, at->size));
		return changing(err, mig_nvml_error(err, ctx->nvml, rc,
						    "Unable to create a GPU instance on GPU %u using profile %u", gpu,
						    profile_id));
	}
	rc = NVML_CALL(ctx, nvmlGpuInstanceGetInfo, gi, &info);
	if (rc != NVML_SUCCESS) {
		/* without its id nobody could find it again: take it back */
		nvmlReturn_t undo = NVML_CALL(ctx, nvmlGpuInstanceDestroy, gi);
		return mig_nvml_error(err, ctx->nvml, rc, "reading the new GPU instance on GPU %u (%s)", gpu,
				      undo == NVML_SUCCESS ? "it was destroyed again" : "it could not be destroyed again");
	}
	if (gi_id)
		*gi_id = info.id;
	if (placed)
		*placed = (struct mig_placement){info.placement.start, info.placement.size};
	return 0;
}

int mig_gi_destroy(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, struct mig_error *err)
{
	nvmlGpuInstance_t gi = NULL;
	if (gi_handle(ctx, gpu, gi_id, &gi, err))
		return -1;
	nvmlReturn_t rc = NVML_CALL(ctx, nvmlGpuInstanceDestroy, gi);
	return rc == NVML_SUCCESS ? 0
				  : changing(err, mig_nvml_error(err, ctx->nvml, rc,
								 "Unable to destroy GPU instance ID %u from GPU %u", gi_id, gpu));
}

int mig_ci_create(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, unsigned int ci_profile_id,
		  const struct mig_placement *at, unsigned int *ci_id, struct mig_error *err)
{
	nvmlGpuInstance_t gi = NULL;
	nvmlComputeInstance_t ci = NULL;
	nvmlComputeInstanceInfo_t info;
	nvmlReturn_t rc;

	if (gi_handle(ctx, gpu, gi_id, &gi, err))
		return -1;
	if (at) {
		nvmlComputeInstancePlacement_t p = {at->start, at->size};
		rc = NVML_CALL(ctx, nvmlGpuInstanceCreateComputeInstanceWithPlacement, gi, ci_profile_id, &p, &ci);
	} else {
		rc = NVML_CALL(ctx, nvmlGpuInstanceCreateComputeInstance, gi, ci_profile_id, &ci);
	}
	if (rc != NVML_SUCCESS) {
		if (at)
			return changing(err, mig_nvml_error(err, ctx->nvml, rc,
							    "Unable to create a compute instance on GPU %u GPU instance ID "
							    "%u using profile %u at placement %u:%u",
							    gpu, gi_id, ci_profile_id, at->start, at->size));
		return changing(err, mig_nvml_error(err, ctx->nvml, rc,
						    "Unable to create a compute instance on GPU %u GPU instance ID %u "
						    "using profile %u",
						    gpu, gi_id, ci_profile_id));
	}
	rc = NVML_CALL(ctx, nvmlComputeInstanceGetInfo_v2, ci, &info);
	if (rc != NVML_SUCCESS) {
		nvmlReturn_t undo = NVML_CALL(ctx, nvmlComputeInstanceDestroy, ci);
		return mig_nvml_error(err, ctx->nvml, rc, "reading the new compute instance on GPU %u (%s)", gpu,
				      undo == NVML_SUCCESS ? "it was destroyed again" : "it could not be destroyed again");
	}
	if (ci_id)
		*ci_id = info.id;
	return 0;
}

int mig_gi_count_cis(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, unsigned int *count,
		     struct mig_error *err)
{
	nvmlGpuInstance_t gi = NULL;
	*count = 0;
	if (gi_handle(ctx, gpu, gi_id, &gi, err))
		return -1;
	for (unsigned int profile = 0; profile < NVML_COMPUTE_INSTANCE_PROFILE_COUNT; profile++) {
		nvmlComputeInstance_t cis[8];
		unsigned int n = 0;
		nvmlReturn_t rc = NVML_CALL(ctx, nvmlGpuInstanceGetComputeInstances, gi, profile, cis, &n);
		if (rc == NVML_SUCCESS)
			*count += n;
		else if (rc != NVML_ERROR_NOT_SUPPORTED && rc != NVML_ERROR_INVALID_ARGUMENT)
			return mig_nvml_error(err, ctx->nvml, rc, "listing the compute instances of GPU instance %u on GPU %u",
					      gi_id, gpu);
	}
	return 0;
}

int mig_ci_destroy(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, unsigned int ci_id, struct mig_error *err)
{
	nvmlGpuInstance_t gi = NULL;
	nvmlComputeInstance_t ci = NULL;
	if (gi_handle(ctx, gpu, gi_id, &gi, err))
		return -1;
	nvmlReturn_t rc = NVML_CALL(ctx, nvmlGpuInstanceGetComputeInstanceById, gi, ci_id, &ci);
	if (rc == NVML_ERROR_NOT_FOUND)
		return mig_error_set(err, MIG_E_NOT_FOUND, "GPU %u GPU instance %u has no compute instance %u", gpu,
				     gi_id, ci_id);
	if (rc == NVML_SUCCESS)
		rc = NVML_CALL(ctx, nvmlComputeInstanceDestroy, ci);
	return rc == NVML_SUCCESS ? 0
				  : changing(err, mig_nvml_error(err, ctx->nvml, rc,
								 "Unable to destroy compute instance ID %u from GPU %u GPU "
								 "instance ID %u",
								 ci_id, gpu, gi_id));
}

int mig_gi_default_ci_profile(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, unsigned int gi_slices,
			      unsigned int *ci_profile_id, struct mig_error *err)
{
	nvmlGpuInstance_t gi = NULL;
	unsigned int best_sms = 0;
	bool found = false;

	if (gi_handle(ctx, gpu, gi_id, &gi, err))
		return -1;
	for (unsigned int idx = 0; idx < NVML_COMPUTE_INSTANCE_PROFILE_COUNT; idx++) {
		nvmlComputeInstanceProfileInfo_v2_t info = {.version = nvmlComputeInstanceProfileInfo_v2};
		nvmlReturn_t rc = NVML_CALL(ctx, nvmlGpuInstanceGetComputeInstanceProfileInfoV, gi, idx,
					    NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED, &info);
		if (rc == NVML_ERROR_NOT_SUPPORTED || rc == NVML_ERROR_INVALID_ARGUMENT)
			continue; /* a profile this GPU instance does not offer */
		if (rc != NVML_SUCCESS)
			return mig_nvml_error(err, ctx->nvml, rc,
					      "reading compute instance profile %u of GPU instance %u on GPU %u", idx, gi_id,
					      gpu);
		if (info.sliceCount == gi_slices && (!found || info.multiprocessorCount > best_sms)) {
			found = true;
			best_sms = info.multiprocessorCount;
			*ci_profile_id = info.id;
		}
	}
	if (!found)
		return mig_error_set(err, MIG_E_NOT_FOUND, "GPU %u GPU instance %u offers no full-size compute instance profile",
				     gpu, gi_id);
	return 0;
}
