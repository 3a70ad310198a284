/* SPDX-License-Identifier: MIT */
/*
 * Reading the node's MIG state into struct mig_node: GPUs, their GPU-instance profiles and
 * placements, GPU instances with the compute-instance profiles they offer, compute
 * instances, MIG devices (UUIDs, SMs, memory) and processes. Each NVML question is asked
 * once; answers NVML gives "not supported" for are left empty rather than failing.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define MAX_INSTANCES 8 /* RM's limit of GPU instances per GPU and compute instances per GI */

static void profile_name_of(const char *nvml_name, char out[MIG_PROFILE_MAX])
{
	snprintf(out, MIG_PROFILE_MAX, "%s", strncmp(nvml_name, "MIG ", 4) == 0 ? nvml_name + 4 : nvml_name);
}

static bool skippable(nvmlReturn_t rc)
{
	/* What a driver says for a profile index it lacks, newer than it, or a missing symbol. */
	return rc == NVML_ERROR_NOT_SUPPORTED || rc == NVML_ERROR_INVALID_ARGUMENT || rc == NVML_ERROR_FUNCTION_NOT_FOUND;
}

/* Placements in one call into a buffer that fits every known GPU, asking for the size only
 * if a future one has more. */
static int read_placements(struct mig_ctx *ctx, nvmlDevice_t dev, struct mig_gpu *g, struct mig_gi_profile *p,
			   struct mig_error *err)
{
	nvmlGpuInstancePlacement_t buf[16], *pl = buf;
	unsigned int n = 16;
	nvmlReturn_t rc = NVML_CALL(ctx, nvmlDeviceGetGpuInstancePossiblePlacements_v2, dev, p->id, pl, &n);
	if (rc == NVML_ERROR_INSUFFICIENT_SIZE) {
		pl = calloc(n, sizeof(*pl));
		if (!pl)
			return mig_error_set(err, MIG_E_NOMEM, "out of memory");
		rc = NVML_CALL(ctx, nvmlDeviceGetGpuInstancePossiblePlacements_v2, dev, p->id, pl, &n);
	}
	if (rc != NVML_SUCCESS && !skippable(rc)) {
		/* not "no placement": the solver would call every layout impossible */
		if (pl != buf)
			free(pl);
		return mig_nvml_error(err, ctx->nvml, rc, "reading the placements of %s on GPU %u", p->name, g->index);
	}
	if (rc == NVML_SUCCESS && n > 0) {
		p->placements = calloc(n, sizeof(*p->placements));
		if (!p->placements) {
			if (pl != buf)
				free(pl);
			return mig_error_set(err, MIG_E_NOMEM, "out of memory");
		}
		for (unsigned int k = 0; k < n; k++) {
			p->placements[k] = (struct mig_placement){pl[k].start, pl[k].size};
			if (pl[k].start + pl[k].size > g->grid)
				g->grid = pl[k].start + pl[k].size;
		}
		p->nplacements = n;
	}
	if (pl != buf)
		free(pl);
	return 0;
}

static int read_gi_profiles(struct mig_ctx *ctx, nvmlDevice_t dev, struct mig_gpu *g, unsigned int flags,
			    struct mig_error *err)
{
	g->profiles = calloc(NVML_GPU_INSTANCE_PROFILE_COUNT, sizeof(*g->profiles));
	if (!g->profiles)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	for (unsigned int idx = 0; idx < NVML_GPU_INSTANCE_PROFILE_COUNT; idx++) {
		nvmlGpuInstanceProfileInfo_v2_t info = {.version = nvmlGpuInstanceProfileInfo_v2};
		nvmlReturn_t rc = NVML_CALL(ctx, nvmlDeviceGetGpuInstanceProfileInfoV, dev, idx, &info);
		if (rc == NVML_ERROR_FUNCTION_NOT_FOUND) {
			/* pre-11.6 driver: the unversioned struct has no name */
			nvmlGpuInstanceProfileInfo_t v1;
			rc = NVML_CALL(ctx, nvmlDeviceGetGpuInstanceProfileInfo, dev, idx, &v1);
			if (rc == NVML_SUCCESS) {
				memcpy(&info.id, &v1, offsetof(nvmlGpuInstanceProfileInfo_t, memorySizeMB));
				info.memorySizeMB = v1.memorySizeMB;
				snprintf(info.name, sizeof(info.name), "MIG %ug.%llugb", v1.sliceCount,
					 (v1.memorySizeMB + 1023) / 1024);
			}
		}
		if (skippable(rc))
			continue;
		if (rc != NVML_SUCCESS)
			return mig_nvml_error(err, ctx->nvml, rc, "reading GPU instance profile %u of GPU %u", idx, g->index);

		struct mig_gi_profile *p = &g->profiles[g->nprofiles];
		p->index = idx;
		p->id = info.id;
		profile_name_of(info.name, p->name);
		if (mig_profile_name_parse(p->name, &p->parsed, NULL) != 0)
			memset(&p->parsed, 0, sizeof(p->parsed));
		p->slices = info.sliceCount;
		p->instance_count = info.instanceCount;
		p->sms = info.multiprocessorCount;
		p->ce = info.copyEngineCount;
		p->dec = info.decoderCount;
		p->enc = info.encoderCount;
		p->jpeg = info.jpegCount;
		p->ofa = info.ofaCount;
		p->memory_mib = info.memorySizeMB;

		if (!(flags & MIG_READ_CAPACITY)) {
			g->nprofiles++;
			continue;
		}
		if (read_placements(ctx, dev, g, p, err))
			return -1;
		if (g->mode_current == MIG_MODE_ENABLED &&
		    NVML_CALL(ctx, nvmlDeviceGetGpuInstanceRemainingCapacity, dev, p->id, &p->remaining) != NVML_SUCCESS)
			p->remaining = 0;
		g->nprofiles++;
	}
	if (!(flags & MIG_READ_CAPACITY) && g->nprofiles) {
		/* The grid (for pictures) is the span of the largest profile's placement. */
		struct mig_gi_profile *largest = &g->profiles[0];
		for (size_t i = 1; i < g->nprofiles; i++)
			if (g->profiles[i].slices > largest->slices)
				largest = &g->profiles[i];
		if (read_placements(ctx, dev, g, largest, err))
			return -1;
	}
	return 0;
}

static int read_ci_profiles(struct mig_ctx *ctx, nvmlGpuInstance_t h, unsigned int gpu, struct mig_gi *gi,
			    unsigned int gi_slices, unsigned int flags, struct mig_error *err)
{
	gi->ci_profiles = calloc(NVML_COMPUTE_INSTANCE_PROFILE_COUNT, sizeof(*gi->ci_profiles));
	if (!gi->ci_profiles)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	struct mig_ci_profile *best = NULL;
	for (unsigned int idx = 0; idx < NVML_COMPUTE_INSTANCE_PROFILE_COUNT; idx++) {
		nvmlComputeInstanceProfileInfo_v2_t info = {.version = nvmlComputeInstanceProfileInfo_v2};
		nvmlReturn_t rc = NVML_CALL(ctx, nvmlGpuInstanceGetComputeInstanceProfileInfoV, h, idx,
					    NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED, &info);
		if (skippable(rc))
			continue;
		if (rc != NVML_SUCCESS)
			return mig_nvml_error(err, ctx->nvml, rc,
					      "reading compute instance profile %u of GPU instance %u on GPU %u", idx, gi->id,
					      gpu);
		struct mig_ci_profile *c = &gi->ci_profiles[gi->nci_profiles++];
		c->id = info.id;
		profile_name_of(info.name, c->name);
		c->slices = info.sliceCount;
		c->instance_count = info.instanceCount;
		c->sms = info.multiprocessorCount;
		c->ce = info.sharedCopyEngineCount;
		c->dec = info.sharedDecoderCount;
		c->enc = info.sharedEncoderCount;
		c->jpeg = info.sharedJpegCount;
		c->ofa = info.sharedOfaCount;
		if ((flags & MIG_READ_CAPACITY) &&
		    NVML_CALL(ctx, nvmlGpuInstanceGetComputeInstanceRemainingCapacity, h, c->id, &c->remaining) !=
			    NVML_SUCCESS)
			c->remaining = 0;
		/* The default ("-C") is the full-size profile; where two are full size (a 1g REV2
		 * GI on Hopper), the one with more SMs. */
		if (c->slices == gi_slices && (!best || c->sms > best->sms))
			best = c;
	}
	if (best)
		best->is_default = true;
	return 0;
}

static int copy_ci_profiles(struct mig_ctx *ctx, nvmlGpuInstance_t h, struct mig_gi *gi, const struct mig_gi *from,
			    unsigned int flags, struct mig_error *err)
{
	gi->ci_profiles = calloc(NVML_COMPUTE_INSTANCE_PROFILE_COUNT, sizeof(*gi->ci_profiles));
	if (!gi->ci_profiles)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	memcpy(gi->ci_profiles, from->ci_profiles, from->nci_profiles * sizeof(*gi->ci_profiles));
	gi->nci_profiles = from->nci_profiles;
	for (size_t i = 0; i < gi->nci_profiles && (flags & MIG_READ_CAPACITY); i++) {
		struct mig_ci_profile *c = &gi->ci_profiles[i];
		if (NVML_CALL(ctx, nvmlGpuInstanceGetComputeInstanceRemainingCapacity, h, c->id, &c->remaining) !=
		    NVML_SUCCESS)
			c->remaining = 0;
	}
	return 0;
}

static int cmp_gi(const void *a, const void *b)
{
	const struct mig_gi *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

static int cmp_ci(const void *a, const void *b)
{
	const struct mig_ci *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

static const char *ci_profile_name(const struct mig_gi *gi, unsigned int id)
{
	for (size_t i = 0; i < gi->nci_profiles; i++)
		if (gi->ci_profiles[i].id == id)
			return gi->ci_profiles[i].name;
	return "unknown";
}

static int read_instances(struct mig_ctx *ctx, nvmlDevice_t dev, struct mig_gpu *g, unsigned int flags,
			  struct mig_error *err)
{
	g->gis = calloc(MAX_INSTANCES, sizeof(*g->gis));
	if (!g->gis)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	for (size_t pi = 0; pi < g->nprofiles; pi++) {
		const struct mig_gi_profile *p = &g->profiles[pi];
		nvmlGpuInstance_t handles[MAX_INSTANCES];
		unsigned int n = MAX_INSTANCES;
		nvmlReturn_t rc = NVML_CALL(ctx, nvmlDeviceGetGpuInstances, dev, p->id, handles, &n);
		if (rc != NVML_SUCCESS)
			return mig_nvml_error(err, ctx->nvml, rc, "listing %s GPU instances on GPU %u", p->name, g->index);
		for (unsigned int k = 0; k < n && g->ngis < MAX_INSTANCES; k++) {
			nvmlGpuInstanceInfo_t info;
			rc = NVML_CALL(ctx, nvmlGpuInstanceGetInfo, handles[k], &info);
			if (rc != NVML_SUCCESS)
				return mig_nvml_error(err, ctx->nvml, rc, "reading a GPU instance of GPU %u", g->index);
			struct mig_gi *gi = &g->gis[g->ngis++];
			gi->id = info.id;
			gi->profile_id = info.profileId;
			snprintf(gi->profile, sizeof(gi->profile), "%s", p->name);
			gi->placement = (struct mig_placement){info.placement.start, info.placement.size};
			/* GIs of one profile offer the same CI profiles: probe the first, copy the rest
			 * (capacity, which differs per GI, is still asked of each). */
			const struct mig_gi *same = NULL;
			for (size_t j = 0; j + 1 < g->ngis && !same; j++)
				if (g->gis[j].profile_id == gi->profile_id)
					same = &g->gis[j];
			if (same) {
				if (copy_ci_profiles(ctx, handles[k], gi, same, flags, err))
					return -1;
			} else if (read_ci_profiles(ctx, handles[k], g->index, gi, p->slices, flags, err)) {
				return -1;
			}
			gi->cis = calloc(MAX_INSTANCES, sizeof(*gi->cis));
			if (!gi->cis)
				return mig_error_set(err, MIG_E_NOMEM, "out of memory");
			for (size_t ci = 0; ci < gi->nci_profiles; ci++) {
				nvmlComputeInstance_t cis[MAX_INSTANCES];
				unsigned int m = MAX_INSTANCES;
				rc = NVML_CALL(ctx, nvmlGpuInstanceGetComputeInstances, handles[k], gi->ci_profiles[ci].id,
					       cis, &m);
				if (rc != NVML_SUCCESS)
					return mig_nvml_error(err, ctx->nvml, rc,
							      "listing compute instances of GPU %u GPU instance %u", g->index,
							      gi->id);
				for (unsigned int j = 0; j < m && gi->ncis < MAX_INSTANCES; j++) {
					nvmlComputeInstanceInfo_t cinfo;
					rc = NVML_CALL(ctx, nvmlComputeInstanceGetInfo_v2, cis[j], &cinfo);
					if (rc != NVML_SUCCESS)
						return mig_nvml_error(err, ctx->nvml, rc,
								      "reading a compute instance of GPU %u GPU instance %u",
								      g->index, gi->id);
					struct mig_ci *c = &gi->cis[gi->ncis++];
					c->id = cinfo.id;
					c->profile_id = cinfo.profileId;
					snprintf(c->profile, sizeof(c->profile), "%s", ci_profile_name(gi, cinfo.profileId));
					c->placement = (struct mig_placement){cinfo.placement.start, cinfo.placement.size};
					c->mig_index = -1;
				}
			}
			qsort(gi->cis, gi->ncis, sizeof(*gi->cis), cmp_ci);
		}
	}
	qsort(g->gis, g->ngis, sizeof(*g->gis), cmp_gi);
	return 0;
}

static struct mig_ci *find_ci(struct mig_gpu *g, unsigned int gi_id, unsigned int ci_id)
{
	for (size_t i = 0; i < g->ngis; i++)
		for (size_t j = 0; g->gis[i].id == gi_id && j < g->gis[i].ncis; j++)
			if (g->gis[i].cis[j].id == ci_id)
				return &g->gis[i].cis[j];
	return NULL;
}

/* Processes of a device handle, grown until the buffer is big enough. A driver that cannot
 * list them says NOT_SUPPORTED (none known); any other failure is an error, as an instance
 * whose processes are unknown must not look idle to the planner. what names the device. */
static int read_processes(struct mig_ctx *ctx, nvmlDevice_t dev, nvmlProcessInfo_t **out, unsigned int *n,
			  const char *what, struct mig_error *err)
{
	unsigned int cap = 16;
	*out = NULL;
	*n = 0;
	for (int tries = 0; tries < 4; tries++) {
		nvmlProcessInfo_t *buf = realloc(*out, cap * sizeof(*buf));
		if (!buf) { /* the callers free *out only on success */
			free(*out);
			*out = NULL;
			*n = 0;
			return mig_error_set(err, MIG_E_NOMEM, "out of memory");
		}
		*out = buf;
		*n = cap;
		nvmlReturn_t rc = NVML_CALL(ctx, nvmlDeviceGetComputeRunningProcesses_v3, dev, n, buf);
		if (rc == NVML_SUCCESS)
			return 0;
		if (skippable(rc)) {
			*n = 0;
			return 0;
		}
		if (rc != NVML_ERROR_INSUFFICIENT_SIZE) {
			free(*out);
			*out = NULL;
			*n = 0;
			return mig_nvml_error(err, ctx->nvml, rc, "reading the processes on %s", what);
		}
		cap = *n + 16;
	}
	*n = 0;
	return 0;
}

static int read_mig_devices(struct mig_ctx *ctx, nvmlDevice_t dev, struct mig_gpu *g, struct mig_error *err)
{
	unsigned int max = 0;
	nvmlReturn_t mrc = NVML_CALL(ctx, nvmlDeviceGetMaxMigDeviceCount, dev, &max);
	if (mrc != NVML_SUCCESS) /* without MIG devices, no UUIDs and no processes: not idle */
		return skippable(mrc) ? 0
				      : mig_nvml_error(err, ctx->nvml, mrc, "reading the MIG devices of GPU %u", g->index);
	for (unsigned int i = 0; i < max; i++) {
		nvmlDevice_t mig = NULL;
		unsigned int gi_id, ci_id;
		nvmlReturn_t rc = NVML_CALL(ctx, nvmlDeviceGetMigDeviceHandleByIndex, dev, i, &mig);
		if (rc == NVML_ERROR_NOT_FOUND || rc == NVML_ERROR_INVALID_ARGUMENT)
			continue;
		if (rc != NVML_SUCCESS)
			return mig_nvml_error(err, ctx->nvml, rc, "reading MIG device %u of GPU %u", i, g->index);
		if ((rc = NVML_CALL(ctx, nvmlDeviceGetGpuInstanceId, mig, &gi_id)) != NVML_SUCCESS ||
		    (rc = NVML_CALL(ctx, nvmlDeviceGetComputeInstanceId, mig, &ci_id)) != NVML_SUCCESS)
			return mig_nvml_error(err, ctx->nvml, rc, "reading the instance ids of MIG device %u of GPU %u", i,
					      g->index);
		struct mig_ci *c = find_ci(g, gi_id, ci_id);
		if (!c)
			continue; /* created since the instances were listed */
		c->mig_index = (int)i;
		if (NVML_CALL(ctx, nvmlDeviceGetUUID, mig, c->uuid, sizeof(c->uuid)) != NVML_SUCCESS)
			c->uuid[0] = '\0';
		nvmlDeviceAttributes_t a;
		if (NVML_CALL(ctx, nvmlDeviceGetAttributes_v2, mig, &a) == NVML_SUCCESS) {
			c->sms = a.multiprocessorCount;
			c->memory_mib = a.memorySizeMB;
		}
		nvmlProcessInfo_t *procs;
		unsigned int n;
		char what[64];
		snprintf(what, sizeof(what), "MIG device %u of GPU %u", i, g->index);
		if (read_processes(ctx, mig, &procs, &n, what, err))
			return -1;
		if (n > 0) {
			c->procs = calloc(n, sizeof(*c->procs));
			if (!c->procs) {
				free(procs);
				return mig_error_set(err, MIG_E_NOMEM, "out of memory");
			}
			for (unsigned int k = 0; k < n; k++)
				c->procs[k] = (struct mig_process){.pid = procs[k].pid, .used_mib = procs[k].usedGpuMemory >> 20};
			c->nprocs = n;
		}
		free(procs);
	}
	return 0;
}

/* GPU index, whose handle is dev: everything about it into g. */
static int read_gpu_dev(struct mig_ctx *ctx, nvmlDevice_t dev, unsigned int index, struct mig_gpu *g,
			unsigned int flags, struct mig_error *err)
{
	nvmlPciInfo_t pci;
	nvmlMemory_t mem;
	unsigned int cur, pend;
	nvmlReturn_t rc;

	g->index = index;
	if ((rc = NVML_CALL(ctx, nvmlDeviceGetName, dev, g->name, sizeof(g->name))) != NVML_SUCCESS ||
	    (rc = NVML_CALL(ctx, nvmlDeviceGetUUID, dev, g->uuid, sizeof(g->uuid))) != NVML_SUCCESS)
		return mig_nvml_error(err, ctx->nvml, rc, "reading the name and UUID of GPU %u", index);
	/* device-filter and PCI selectors match on these: a GPU without them would silently match
	 * nothing */
	if ((rc = NVML_CALL(ctx, nvmlDeviceGetPciInfo_v3, dev, &pci)) != NVML_SUCCESS)
		return mig_nvml_error(err, ctx->nvml, rc, "reading the PCI information of GPU %u", index);
	snprintf(g->pci_bus_id, sizeof(g->pci_bus_id), "%s", pci.busId);
	g->pci_device_id = pci.pciDeviceId;
	g->pci_subsystem_id = pci.pciSubSystemId;
	if (NVML_CALL(ctx, nvmlDeviceGetMemoryInfo, dev, &mem) == NVML_SUCCESS)
		g->memory_mib = mem.total >> 20;
	/* issue 11: the N of /dev/nvidiaN, for the device nodes (lib/node/devnodes.c) */
	if ((flags & MIG_READ_DEVNODES) && NVML_CALL(ctx, nvmlDeviceGetMinorNumber, dev, &g->minor) == NVML_SUCCESS)
		g->minor_known = true;

	rc = NVML_CALL(ctx, nvmlDeviceGetMigMode, dev, &cur, &pend);
	if (rc != NVML_SUCCESS) {
		if (!skippable(rc))
			return mig_nvml_error(err, ctx->nvml, rc, "reading the MIG mode of GPU %u", index);
		g->mode_current = g->mode_pending = MIG_MODE_UNSUPPORTED;
	} else {
		g->mode_current = cur ? MIG_MODE_ENABLED : MIG_MODE_DISABLED;
		g->mode_pending = pend ? MIG_MODE_ENABLED : MIG_MODE_DISABLED;
		if (read_gi_profiles(ctx, dev, g, flags, err))
			return -1;
	}
	if (g->mode_current == MIG_MODE_ENABLED &&
	    (read_instances(ctx, dev, g, flags, err) || read_mig_devices(ctx, dev, g, err)))
		return -1;

	nvmlProcessInfo_t *procs;
	unsigned int n;
	char what[32];
	snprintf(what, sizeof(what), "GPU %u", index);
	if (read_processes(ctx, dev, &procs, &n, what, err))
		return -1;
	if (n > 0) {
		g->procs = calloc(n, sizeof(*g->procs));
		g->proc_gi = calloc(n, sizeof(*g->proc_gi));
		g->proc_ci = calloc(n, sizeof(*g->proc_ci));
		if (!g->procs || !g->proc_gi || !g->proc_ci) {
			free(procs);
			return mig_error_set(err, MIG_E_NOMEM, "out of memory");
		}
		for (unsigned int k = 0; k < n; k++) {
			g->procs[k] = (struct mig_process){.pid = procs[k].pid, .used_mib = procs[k].usedGpuMemory >> 20};
			g->proc_gi[k] = procs[k].gpuInstanceId;
			g->proc_ci[k] = procs[k].computeInstanceId;
		}
		g->nprocs = n;
	}
	free(procs);
	return 0;
}

static int read_gpu(struct mig_ctx *ctx, unsigned int index, struct mig_gpu *g, unsigned int flags,
		    struct mig_error *err)
{
	nvmlDevice_t dev = NULL;
	nvmlReturn_t rc = NVML_CALL(ctx, nvmlDeviceGetHandleByIndex_v2, index, &dev);
	if (rc != NVML_SUCCESS)
		return mig_nvml_error(err, ctx->nvml, rc, "opening GPU %u", index);
	return read_gpu_dev(ctx, dev, index, g, flags, err);
}

int mig_node_read(struct mig_ctx *ctx, struct mig_node **out, unsigned int flags, struct mig_error *err)
{
	unsigned int n = 0;
	struct mig_node *node = calloc(1, sizeof(*node));

	if (!node)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	nvmlReturn_t rc = NVML_CALL(ctx, nvmlDeviceGetCount_v2, &n);
	if (rc != NVML_SUCCESS) {
		free(node);
		return mig_nvml_error(err, ctx->nvml, rc, "counting GPUs");
	}
	node->gpus = calloc(n ? n : 1, sizeof(*node->gpus));
	if (!node->gpus) {
		free(node);
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	for (unsigned int i = 0; i < n; i++) {
		node->ngpus = i + 1; /* so that a failure frees what was read */
		if (read_gpu(ctx, i, &node->gpus[i], flags, err)) {
			mig_node_free(node);
			return -1;
		}
	}
	if ((flags & MIG_READ_DEVNODES) && mig_node_read_devnodes(ctx, node, 0, err)) {
		mig_node_free(node);
		return -1;
	}
	*out = node;
	return 0;
}

const struct mig_gpu *mig_node_find_gpu(const struct mig_node *node, const char *uuid)
{
	for (size_t i = 0; node && uuid && i < node->ngpus; i++)
		if (strcmp(node->gpus[i].uuid, uuid) == 0)
			return &node->gpus[i];
	return NULL;
}

const struct mig_ci *mig_node_find_device(const struct mig_node *node, const char *mig_uuid,
					  const struct mig_gpu **gpu, const struct mig_gi **gi)
{
	for (size_t i = 0; node && mig_uuid && i < node->ngpus; i++)
		for (size_t j = 0; j < node->gpus[i].ngis; j++)
			for (size_t k = 0; k < node->gpus[i].gis[j].ncis; k++)
				if (strcmp(node->gpus[i].gis[j].cis[k].uuid, mig_uuid) == 0) {
					if (gpu)
						*gpu = &node->gpus[i];
					if (gi)
						*gi = &node->gpus[i].gis[j];
					return &node->gpus[i].gis[j].cis[k];
				}
	return NULL;
}

void mig_node_free(struct mig_node *node)
{
	if (!node)
		return;
	for (size_t i = 0; i < node->ngpus; i++) {
		struct mig_gpu *g = &node->gpus[i];
		for (size_t p = 0; p < g->nprofiles; p++)
			free(g->profiles[p].placements);
		free(g->profiles);
		for (size_t k = 0; k < g->ngis; k++) {
			for (size_t c = 0; c < g->gis[k].ncis; c++) {
				free(g->gis[k].cis[c].procs);
				free(g->gis[k].cis[c].devnodes);
			}
			free(g->gis[k].cis);
			free(g->gis[k].ci_profiles);
		}
		free(g->gis);
		free(g->procs);
		free(g->proc_gi);
		free(g->proc_ci);
	}
	free(node->gpus);
	free(node->devnodes);
	free(node);
}

/* ---- reading only the GPUs a selector names ------------------------------------------ */

/* One GPU a selector item names: its handle and NVML index, found by asking NVML for that GPU
 * alone (by index, UUID or PCI bus id), never by walking the others. The errors are those of
 * mig_select_gpus. */
static int find_one(struct mig_ctx *ctx, const char *item, nvmlDevice_t *dev, unsigned int *index,
		    struct mig_error *err)
{
	char *end;
	unsigned long idx = strtoul(item, &end, 10);
	nvmlReturn_t rc;

	if (isdigit((unsigned char)item[0]) && *end == '\0') {
		if (idx <= 0xffffffffUL) {
			rc = NVML_CALL(ctx, nvmlDeviceGetHandleByIndex_v2, (unsigned int)idx, dev);
			if (rc == NVML_SUCCESS) {
				*index = (unsigned int)idx;
				return 0;
			}
			if (rc != NVML_ERROR_INVALID_ARGUMENT && rc != NVML_ERROR_NOT_FOUND)
				return mig_nvml_error(err, ctx->nvml, rc, "opening GPU %s", item);
		}
		/* out of range: the count only now, for the message */
		unsigned int n = 0;
		if ((rc = NVML_CALL(ctx, nvmlDeviceGetCount_v2, &n)) != NVML_SUCCESS)
			return mig_nvml_error(err, ctx->nvml, rc, "counting GPUs");
		return mig_error_set(err, MIG_E_NOT_FOUND, "no GPU %s: this node has %u GPU%s (0-%u)", item, n,
				     n == 1 ? "" : "s", n ? n - 1 : 0);
	}
	if (strncasecmp(item, "GPU-", 4) == 0) {
		rc = NVML_CALL(ctx, nvmlDeviceGetHandleByUUID, item, dev);
		if (rc == NVML_ERROR_NOT_FOUND || rc == NVML_ERROR_INVALID_ARGUMENT)
			return mig_error_set(err, MIG_E_NOT_FOUND, "no GPU has UUID %s", item);
		if (rc != NVML_SUCCESS)
			return mig_nvml_error(err, ctx->nvml, rc, "finding GPU %s", item);
	} else if (strncasecmp(item, "MIG-", 4) == 0) {
		/* NVML would hand back a MIG device: not a GPU */
		return mig_error_set(err, MIG_E_NOT_FOUND, "no GPU has UUID %s", item);
	} else {
		unsigned int d, b, v, f;
		char bus_id[32];
		if (!mig_parse_bus_id(item, &d, &b, &v, &f))
			return mig_error_set(err, MIG_E_INVALID,
					     "'%s' is not a GPU selector; use an index (0), a list (0,2), all, a GPU UUID or "
					     "a PCI bus id (00000000:07:00.0)",
					     item);
		snprintf(bus_id, sizeof(bus_id), "%08X:%02X:%02X.%X", d, b, v, f);
		rc = NVML_CALL(ctx, nvmlDeviceGetHandleByPciBusId_v2, bus_id, dev);
		if (rc == NVML_ERROR_NOT_FOUND || rc == NVML_ERROR_INVALID_ARGUMENT)
			return mig_error_set(err, MIG_E_NOT_FOUND, "no GPU at PCI bus id %s", item);
		if (rc != NVML_SUCCESS)
			return mig_nvml_error(err, ctx->nvml, rc, "finding the GPU at PCI bus id %s", item);
	}
	if ((rc = NVML_CALL(ctx, nvmlDeviceGetIndex, *dev, index)) != NVML_SUCCESS)
		return mig_nvml_error(err, ctx->nvml, rc, "reading the index of GPU %s", item);
	return 0;
}

struct found_gpu {
	nvmlDevice_t dev;
	unsigned int index;
};

static int cmp_found(const void *a, const void *b)
{
	const struct found_gpu *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

int mig_node_read_gpus(struct mig_ctx *ctx, const char *selector, unsigned int flags, struct mig_node **out,
		       struct mig_error *err)
{
	if (!selector || !*selector)
		return mig_error_set(err, MIG_E_INVALID, "empty GPU selector");
	if (strcasecmp(selector, "all") == 0)
		return mig_node_read(ctx, out, flags, err);

	size_t items = 1;
	for (const char *p = selector; *p; p++)
		items += *p == ',';
	struct found_gpu *found = calloc(items, sizeof(*found));
	char *copy = strdup(selector), *rest = copy;
	if (!found || !copy) {
		free(found);
		free(copy);
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	size_t n = 0;
	int ret = 0;
	for (char *item = strsep(&rest, ","); item && ret == 0; item = strsep(&rest, ",")) {
		if (!*item) {
			ret = mig_error_set(err, MIG_E_INVALID, "empty item in GPU selector '%s'", selector);
			break;
		}
		struct found_gpu f = {NULL, 0};
		if ((ret = find_one(ctx, item, &f.dev, &f.index, err)) != 0)
			break;
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = found[k].index == f.index;
		if (!seen)
			found[n++] = f;
	}
	free(copy);
	if (ret) {
		free(found);
		return -1;
	}
	/* index order, as a full read lists them */
	qsort(found, n, sizeof(*found), cmp_found);
	struct mig_node *node = calloc(1, sizeof(*node));
	struct mig_gpu *gpus = calloc(n ? n : 1, sizeof(*gpus));
	if (!node || !gpus) {
		free(node);
		free(gpus);
		free(found);
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	node->gpus = gpus;
	for (size_t i = 0; i < n; i++) {
		node->ngpus = i + 1; /* so that a failure frees what was read */
		if (read_gpu_dev(ctx, found[i].dev, found[i].index, &gpus[i], flags, err)) {
			free(found);
			mig_node_free(node);
			return -1;
		}
	}
	free(found);
	if ((flags & MIG_READ_DEVNODES) && mig_node_read_devnodes(ctx, node, 0, err)) {
		mig_node_free(node);
		return -1;
	}
	*out = node;
	return 0;
}
