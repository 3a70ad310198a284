/* SPDX-License-Identifier: MIT */
/*
 * The possible placements of a compute instance profile inside one GPU instance (nvidia-smi
 * mig -lcipp): read from NVML when asked, not with the node, as only that listing needs them.
 */
#include <stdio.h>

#include "internal.h"

int mig_gi_ci_placements(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, unsigned int ci_profile_id,
			 struct mig_placement *out, size_t max, size_t *n, struct mig_error *err)
{
	nvmlDevice_t dev = NULL;
	nvmlGpuInstance_t gi = NULL;
	nvmlComputeInstancePlacement_t pl[16];
	unsigned int count = sizeof(pl) / sizeof(pl[0]);

	*n = 0;
	nvmlReturn_t rc = NVML_CALL(ctx, nvmlDeviceGetHandleByIndex_v2, gpu, &dev);
	if (rc != NVML_SUCCESS)
		return mig_nvml_error(err, ctx->nvml, rc, "opening GPU %u", gpu);
	if ((rc = NVML_CALL(ctx, nvmlDeviceGetGpuInstanceById, dev, gi_id, &gi)) != NVML_SUCCESS)
		return mig_nvml_error(err, ctx->nvml, rc, "opening GPU instance %u of GPU %u", gi_id, gpu);
	rc = NVML_CALL(ctx, nvmlGpuInstanceGetComputeInstancePossiblePlacements, gi, ci_profile_id, pl, &count);
	if (rc != NVML_SUCCESS)
		return mig_nvml_error(err, ctx->nvml, rc,
				      "reading the placements of compute instance profile %u in GPU instance %u of GPU %u",
				      ci_profile_id, gi_id, gpu);
	for (unsigned int i = 0; i < count && *n < max; i++)
		out[(*n)++] = (struct mig_placement){pl[i].start, pl[i].size};
	return 0;
}
