/* SPDX-License-Identifier: MIT */
/*
 * Conformance of the simulator's NVML answers with its own model tables.
 *
 * For every GPU model the simulator knows, a one-GPU node is created, MIG is enabled and
 * every GPU-instance profile index 0..NVML_GPU_INSTANCE_PROFILE_COUNT-1 is asked through
 * the exported NVML API (loaded with dlopen, as a client would). Each answer must match
 * sim_models[] exactly (ids, slices, counts, memory, SMs, engines, name, placements),
 * indices missing from the table must answer NOT_SUPPORTED, and for each GI profile a GI
 * is created at every placement (its id must follow the placement -> swizzId rule) and,
 * at the first placement, every compute-instance profile 0..COUNT-1 is checked the same
 * way and instantiated once to check the MIG device it makes.
 *
 * The tables are compiled in from the simulator's sources (the test links only cmocka and
 * libdl), so the check is "the library says what its table says".
 */
#include <dlfcn.h>
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "../../sim/models_data.c"
#include "../../sim/models.c"

/* ---- the library ---------------------------------------------------------------- */


static const struct sim_model *model; /* the model of the running test */



static int group_setup(void **state)
{
	(void)state;
	return harness_setup("migsim-conformance");
}

static int group_teardown(void **state)
{
	(void)state;
	return harness_teardown();
}

/* A fresh one-GPU node of the model named by the test's initial state, MIG enabled. */
static int setup_model(void **state)
{
	const char *key = *state;
	nvmlDevice_t dev;
	nvmlReturn_t act = NVML_ERROR_UNKNOWN;

	model = sim_model_find(key);
	if (!model || strcmp(model->key, key) != 0) {
		fprintf(stderr, "# model %s is not in sim_models[]\n", key);
		return -1;
	}
	if (migsim("init %s", key) != 0 || nv.nvmlInit_v2() != NVML_SUCCESS)
		return -1;
	if (nv.nvmlDeviceGetHandleByIndex_v2(0, &dev) != NVML_SUCCESS ||
	    nv.nvmlDeviceSetMigMode(dev, NVML_DEVICE_MIG_ENABLE, &act) != NVML_SUCCESS || act != NVML_SUCCESS) {
		fprintf(stderr, "# could not enable MIG on %s\n", key);
		nv.nvmlShutdown();
		return -1;
	}
	return 0;
}

static int teardown_nvml(void **state)
{
	(void)state;
	for (int i = 0; i < 64 && nv.nvmlShutdown() == NVML_SUCCESS; i++)
		;
	return 0;
}

/* ---- the checks ---------------------------------------------------------------- */

/* Checks whose failure says where: the model, profile and step being checked. */
static char where[192];
#define EQ(a, b)                                                                                     \
	do {                                                                                         \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);       \
		if (a_ != b_)                                                                        \
			fail_msg("%s: %s is %llu (0x%llx), want %llu (0x%llx)", where, #a, a_, a_, b_, b_); \
	} while (0)
#define STREQ(a, b)                                                                                  \
	do {                                                                                         \
		const char *a_ = (a), *b_ = (b);                                                     \
		if (strcmp(a_, b_) != 0)                                                             \
			fail_msg("%s: %s is \"%s\", want \"%s\"", where, #a, a_, b_);                     \
	} while (0)
#define PTREQ(a, b) EQ((uintptr_t)(const void *)(a), (uintptr_t)(const void *)(b))

/* The GI id (RM swizzId) of a span, from the rule in the ABI facts (7.4): the whole grid
 * is 0, halves 1-2, quarters 3-6, eighths 7-14, numbered from the start. */
static unsigned int expected_gi_id(const struct sim_model *m, struct sim_placement p)
{
	unsigned int parts = m->grid / p.size;
	return parts - 1 + p.start / p.size;
}

static void check_identity(nvmlDevice_t dev)
{
	char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
	nvmlPciInfo_t pci;

	snprintf(where, sizeof(where), "%s identity", model->key);
	nvmlMemory_t mem;
	nvmlMemory_v2_t mem2 = {.version = nvmlMemory_v2};
	nvmlDeviceArchitecture_t arch = 0;
	int major = -1, minor = -1;
	unsigned int count = 99, cur = 9, pend = 9;

	EQ(nv.nvmlDeviceGetName(dev, name, sizeof(name)), NVML_SUCCESS);
	STREQ(name, model->name);
	EQ(nv.nvmlDeviceGetPciInfo_v3(dev, &pci), NVML_SUCCESS);
	EQ(pci.pciDeviceId, model->pci_device_id);
	EQ(pci.pciSubSystemId, model->pci_subsystem_id);
	EQ(nv.nvmlDeviceGetMemoryInfo(dev, &mem), NVML_SUCCESS);
	EQ(mem.total, model->memory_mib << 20);
	EQ(nv.nvmlDeviceGetMemoryInfo_v2(dev, &mem2), NVML_SUCCESS);
	EQ(mem2.total, model->memory_mib << 20);
	EQ(nv.nvmlDeviceGetArchitecture(dev, &arch), NVML_SUCCESS);
	EQ(arch, model->arch);
	EQ(nv.nvmlDeviceGetCudaComputeCapability(dev, &major, &minor), NVML_SUCCESS);
	EQ(major, model->cc_major);
	EQ(minor, model->cc_minor);
	EQ(nv.nvmlDeviceGetMigMode(dev, &cur, &pend), NVML_SUCCESS);
	EQ(cur, NVML_DEVICE_MIG_ENABLE);
	EQ(pend, NVML_DEVICE_MIG_ENABLE);
	EQ(nv.nvmlDeviceGetMaxMigDeviceCount(dev, &count), NVML_SUCCESS);
	EQ(count, model->max_mig_devices);
}

static void check_gi_v2(const struct sim_gi_profile *p, const nvmlGpuInstanceProfileInfo_v2_t *i)
{
	char want[NVML_DEVICE_NAME_V2_BUFFER_SIZE];

	EQ(i->version, nvmlGpuInstanceProfileInfo_v2);
	EQ(i->id, p->id);
	EQ(i->isP2pSupported, p->p2p);
	EQ(i->sliceCount, p->slices);
	EQ(i->instanceCount, p->instance_count);
	EQ(i->multiprocessorCount, p->sms);
	EQ(i->copyEngineCount, p->ce);
	EQ(i->decoderCount, p->dec);
	EQ(i->encoderCount, p->enc);
	EQ(i->jpegCount, p->jpeg);
	EQ(i->ofaCount, p->ofa);
	EQ(i->memorySizeMB, p->memory_mib);
	snprintf(want, sizeof(want), "MIG %s", p->name);
	STREQ(i->name, want);
}

static void check_gi_v3(const struct sim_gi_profile *p, const nvmlGpuInstanceProfileInfo_v3_t *i)
{
	char want[NVML_DEVICE_NAME_V2_BUFFER_SIZE];

	EQ(i->version, nvmlGpuInstanceProfileInfo_v3);
	EQ(i->id, p->id);
	EQ(i->sliceCount, p->slices);
	EQ(i->instanceCount, p->instance_count);
	EQ(i->multiprocessorCount, p->sms);
	EQ(i->copyEngineCount, p->ce);
	EQ(i->decoderCount, p->dec);
	EQ(i->encoderCount, p->enc);
	EQ(i->jpegCount, p->jpeg);
	EQ(i->ofaCount, p->ofa);
	EQ(i->memorySizeMB, p->memory_mib);
	snprintf(want, sizeof(want), "MIG %s", p->name);
	STREQ(i->name, want);
	EQ(i->capabilities, p->caps);
}

/* Every GI profile index: the v1, V(v2), V(v3) and ByIdV(v2, v3) answers, the possible
 * placements in table order, and the remaining capacity of the empty GPU. */
static void check_gi_profiles(nvmlDevice_t dev)
{
	unsigned int seen = 0;

	for (unsigned int idx = 0; idx < NVML_GPU_INSTANCE_PROFILE_COUNT; idx++) {
		const struct sim_gi_profile *p = sim_model_gi_by_index(model, idx);
		nvmlGpuInstanceProfileInfo_t v1;
		nvmlGpuInstanceProfileInfo_v2_t v2;
		nvmlGpuInstanceProfileInfo_v3_t v3;

		memset(&v1, 0xA5, sizeof(v1));
		memset(&v2, 0xA5, sizeof(v2));
		memset(&v3, 0xA5, sizeof(v3));
		v2.version = nvmlGpuInstanceProfileInfo_v2;
		v3.version = nvmlGpuInstanceProfileInfo_v3;
		nvmlReturn_t r1 = nv.nvmlDeviceGetGpuInstanceProfileInfo(dev, idx, &v1);
		nvmlReturn_t r2 = nv.nvmlDeviceGetGpuInstanceProfileInfoV(dev, idx, &v2);
		nvmlReturn_t r3 = nv.nvmlDeviceGetGpuInstanceProfileInfoV(dev, idx, (nvmlGpuInstanceProfileInfo_v2_t *)&v3);
		snprintf(where, sizeof(where), "%s GI profile index %u (%s)", model->key, idx, p ? p->name : "not in the table");
		if (!p) {
			EQ(r1, NVML_ERROR_NOT_SUPPORTED);
			EQ(r2, NVML_ERROR_NOT_SUPPORTED);
			EQ(r3, NVML_ERROR_NOT_SUPPORTED);
			continue;
		}
		seen++;
		EQ(r1, NVML_SUCCESS);
		EQ(r2, NVML_SUCCESS);
		EQ(r3, NVML_SUCCESS);
		EQ(v1.id, p->id);
		EQ(v1.isP2pSupported, p->p2p);
		EQ(v1.sliceCount, p->slices);
		EQ(v1.instanceCount, p->instance_count);
		EQ(v1.multiprocessorCount, p->sms);
		EQ(v1.copyEngineCount, p->ce);
		EQ(v1.decoderCount, p->dec);
		EQ(v1.encoderCount, p->enc);
		EQ(v1.jpegCount, p->jpeg);
		EQ(v1.ofaCount, p->ofa);
		EQ(v1.memorySizeMB, p->memory_mib);
		check_gi_v2(p, &v2);
		check_gi_v3(p, &v3);

		/* By driver id: the same answers. */
		memset(&v2, 0x5A, sizeof(v2));
		memset(&v3, 0x5A, sizeof(v3));
		v2.version = nvmlGpuInstanceProfileInfo_v2;
		v3.version = nvmlGpuInstanceProfileInfo_v3;
		EQ(nv.nvmlDeviceGetGpuInstanceProfileInfoByIdV(dev, p->id, &v2), NVML_SUCCESS);
		EQ(nv.nvmlDeviceGetGpuInstanceProfileInfoByIdV(dev, p->id,
									      (nvmlGpuInstanceProfileInfo_v2_t *)&v3),
				 NVML_SUCCESS);
		check_gi_v2(p, &v2);
		check_gi_v3(p, &v3);

		/* Placements, in table order, through both symbols. */
		nvmlGpuInstancePlacement_t pl[SIM_MAX_PLACEMENTS + 1];
		unsigned int n = 0;
		EQ(nv.nvmlDeviceGetGpuInstancePossiblePlacements_v2(dev, p->id, NULL, &n), NVML_SUCCESS);
		EQ(n, p->nplacements);
		n = SIM_MAX_PLACEMENTS + 1;
		memset(pl, 0xA5, sizeof(pl));
		EQ(nv.nvmlDeviceGetGpuInstancePossiblePlacements_v2(dev, p->id, pl, &n), NVML_SUCCESS);
		EQ(n, p->nplacements);
		for (unsigned int k = 0; k < n; k++) {
			EQ(pl[k].start, p->placements[k].start);
			EQ(pl[k].size, p->placements[k].size);
		}
		n = SIM_MAX_PLACEMENTS + 1;
		memset(pl, 0xA5, sizeof(pl));
		EQ(nv.nvmlDeviceGetGpuInstancePossiblePlacements(dev, p->id, pl, &n), NVML_SUCCESS);
		EQ(n, p->nplacements);
		for (unsigned int k = 0; k < n; k++) {
			EQ(pl[k].start, p->placements[k].start);
			EQ(pl[k].size, p->placements[k].size);
		}

		/* On the empty GPU every profile has its full instance count left. */
		unsigned int cap = 999;
		EQ(nv.nvmlDeviceGetGpuInstanceRemainingCapacity(dev, p->id, &cap), NVML_SUCCESS);
		EQ(cap, p->instance_count);
	}
	EQ(seen, model->nprofiles); /* no two table rows share an index */
}

static void check_ci_v1(const struct sim_ci_profile *c, const nvmlComputeInstanceProfileInfo_t *i)
{
	EQ(i->id, c->id);
	EQ(i->sliceCount, c->slices);
	EQ(i->instanceCount, c->instance_count);
	EQ(i->multiprocessorCount, c->sms);
	EQ(i->sharedCopyEngineCount, c->ce);
	EQ(i->sharedDecoderCount, c->dec);
	EQ(i->sharedEncoderCount, c->enc);
	EQ(i->sharedJpegCount, c->jpeg);
	EQ(i->sharedOfaCount, c->ofa);
}

/* The MIG device a CI makes: identity, attributes and memory as the tables say. */
static void check_mig_device(nvmlDevice_t dev, const struct sim_gi_profile *p, const struct sim_ci_profile *c,
			     unsigned int gi_id, unsigned int ci_id)
{
	nvmlDevice_t mig = NULL, parent = NULL;
	unsigned int v = 99;
	char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE], want[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
	nvmlDeviceAttributes_t a;
	nvmlMemory_t mem;

	EQ(nv.nvmlDeviceGetMigDeviceHandleByIndex(dev, 0, &mig), NVML_SUCCESS);
	/* The only MIG device is index 0: the next index is empty (or beyond the maximum). */
	EQ(nv.nvmlDeviceGetMigDeviceHandleByIndex(dev, 1, &parent),
			 model->max_mig_devices > 1 ? NVML_ERROR_NOT_FOUND : NVML_ERROR_INVALID_ARGUMENT);
	EQ(nv.nvmlDeviceIsMigDeviceHandle(mig, &v), NVML_SUCCESS);
	EQ(v, 1);
	EQ(nv.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(mig, &parent), NVML_SUCCESS);
	PTREQ(parent, dev);
	EQ(nv.nvmlDeviceGetGpuInstanceId(mig, &v), NVML_SUCCESS);
	EQ(v, gi_id);
	EQ(nv.nvmlDeviceGetComputeInstanceId(mig, &v), NVML_SUCCESS);
	EQ(v, ci_id);
	EQ(nv.nvmlDeviceGetName(mig, name, sizeof(name)), NVML_SUCCESS);
	snprintf(want, sizeof(want), "%s MIG %s", model->name, c->name);
	STREQ(name, want);
	memset(&a, 0xA5, sizeof(a));
	EQ(nv.nvmlDeviceGetAttributes_v2(mig, &a), NVML_SUCCESS);
	EQ(a.multiprocessorCount, c->sms);
	EQ(a.sharedCopyEngineCount, c->ce);
	EQ(a.sharedDecoderCount, c->dec);
	EQ(a.sharedEncoderCount, c->enc);
	EQ(a.sharedJpegCount, c->jpeg);
	EQ(a.sharedOfaCount, c->ofa);
	EQ(a.gpuInstanceSliceCount, p->slices);
	EQ(a.computeInstanceSliceCount, c->slices);
	EQ(a.memorySizeMB, p->memory_mib);
	EQ(nv.nvmlDeviceGetMemoryInfo(mig, &mem), NVML_SUCCESS);
	EQ(mem.total, p->memory_mib << 20);
}

/* Inside one GI of profile p: every CI profile id, its placements and capacity, and one
 * CI of each supported profile at its first placement. */
static void check_ci_profiles(nvmlDevice_t dev, nvmlGpuInstance_t gi, const struct sim_gi_profile *p,
			      unsigned int gi_id)
{
	unsigned int seen = 0;

	for (unsigned int cid = 0; cid < NVML_COMPUTE_INSTANCE_PROFILE_COUNT; cid++) {
		const struct sim_ci_profile *c = sim_gi_ci_by_id(p, cid);
		nvmlComputeInstanceProfileInfo_t v1;
		nvmlComputeInstanceProfileInfo_v2_t v2;
		nvmlComputeInstanceProfileInfo_v3_t v3;
		unsigned int n = 0;

		snprintf(where, sizeof(where), "%s GI %s (id %u): CI profile %u (%s)", model->key, p->name, gi_id, cid,
			 c ? c->name : "not in the table");
		memset(&v1, 0xA5, sizeof(v1));
		memset(&v2, 0xA5, sizeof(v2));
		memset(&v3, 0xA5, sizeof(v3));
		v2.version = nvmlComputeInstanceProfileInfo_v2;
		v3.version = nvmlComputeInstanceProfileInfo_v3;
		nvmlReturn_t r1 = nv.nvmlGpuInstanceGetComputeInstanceProfileInfo(
			gi, cid, NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED, &v1);
		nvmlReturn_t r2 = nv.nvmlGpuInstanceGetComputeInstanceProfileInfoV(
			gi, cid, NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED, &v2);
		nvmlReturn_t r3 = nv.nvmlGpuInstanceGetComputeInstanceProfileInfoV(
			gi, cid, NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED, (nvmlComputeInstanceProfileInfo_v2_t *)&v3);
		if (!c) {
			EQ(r1, NVML_ERROR_NOT_SUPPORTED);
			EQ(r2, NVML_ERROR_NOT_SUPPORTED);
			EQ(r3, NVML_ERROR_NOT_SUPPORTED);
			EQ(nv.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, cid, &n),
					 NVML_ERROR_NOT_SUPPORTED);
			continue;
		}
		seen++;
		EQ(r1, NVML_SUCCESS);
		EQ(r2, NVML_SUCCESS);
		EQ(r3, NVML_SUCCESS);
		check_ci_v1(c, &v1);

		char want[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
		snprintf(want, sizeof(want), "MIG %s", c->name);
		EQ(v2.version, nvmlComputeInstanceProfileInfo_v2);
		nvmlComputeInstanceProfileInfo_t tmp = {v2.id, v2.sliceCount, v2.instanceCount, v2.multiprocessorCount,
							v2.sharedCopyEngineCount, v2.sharedDecoderCount,
							v2.sharedEncoderCount, v2.sharedJpegCount, v2.sharedOfaCount};
		check_ci_v1(c, &tmp);
		STREQ(v2.name, want);
		EQ(v3.version, nvmlComputeInstanceProfileInfo_v3);
		tmp = (nvmlComputeInstanceProfileInfo_t){v3.id, v3.sliceCount, v3.instanceCount, v3.multiprocessorCount,
							 v3.sharedCopyEngineCount, v3.sharedDecoderCount,
							 v3.sharedEncoderCount, v3.sharedJpegCount, v3.sharedOfaCount};
		check_ci_v1(c, &tmp);
		STREQ(v3.name, want);
		EQ(v3.capabilities, c->caps);

		/* Placements in table order; capacity of the empty GI. */
		nvmlComputeInstancePlacement_t pl[SIM_MAX_PLACEMENTS + 1];
		EQ(nv.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, cid, NULL, &n), NVML_SUCCESS);
		EQ(n, c->nplacements);
		n = SIM_MAX_PLACEMENTS + 1;
		memset(pl, 0xA5, sizeof(pl));
		EQ(nv.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, cid, pl, &n), NVML_SUCCESS);
		EQ(n, c->nplacements);
		for (unsigned int k = 0; k < n; k++) {
			EQ(pl[k].start, c->placements[k].start);
			EQ(pl[k].size, c->placements[k].size);
		}
		n = 999;
		EQ(nv.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, cid, &n), NVML_SUCCESS);
		EQ(n, c->instance_count);

		/* One CI at its first placement: info, lookup, the MIG device, destroy. */
		nvmlComputeInstance_t ci = NULL, found = NULL;
		nvmlComputeInstanceInfo_t info;
		nvmlComputeInstancePlacement_t at = {c->placements[0].start, c->placements[0].size};
		EQ(nv.nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, cid, &at, &ci), NVML_SUCCESS);
		EQ(nv.nvmlComputeInstanceGetInfo_v2(ci, &info), NVML_SUCCESS);
		PTREQ(info.device, dev);
		EQ(info.id, 0);
		EQ(info.profileId, cid);
		EQ(info.placement.start, at.start);
		EQ(info.placement.size, at.size);
		EQ(nv.nvmlGpuInstanceGetComputeInstanceById(gi, info.id, &found), NVML_SUCCESS);
		check_mig_device(dev, p, c, gi_id, info.id);
		EQ(nv.nvmlComputeInstanceDestroy(ci), NVML_SUCCESS);
	}
	EQ(seen, p->nci);
}

/* For each GI profile: a GI at every placement (id by the swizzId rule, info as asked),
 * and at the first placement the CI checks. */
static void check_instances(nvmlDevice_t dev)
{
	for (unsigned int i = 0; i < model->nprofiles; i++) {
		const struct sim_gi_profile *p = &model->profiles[i];
		for (unsigned int k = 0; k < p->nplacements; k++) {
			nvmlGpuInstancePlacement_t at = {p->placements[k].start, p->placements[k].size};
			nvmlGpuInstance_t gi = NULL, found = NULL;
			nvmlGpuInstanceInfo_t info;
			unsigned int n = 0;

			snprintf(where, sizeof(where), "%s GI profile %s (id %u) at %u:%u", model->key, p->name, p->id,
				 at.start, at.size);
			EQ(nv.nvmlDeviceCreateGpuInstanceWithPlacement(dev, p->id, &at, &gi), NVML_SUCCESS);
			EQ(nv.nvmlGpuInstanceGetInfo(gi, &info), NVML_SUCCESS);
			PTREQ(info.device, dev);
			EQ(info.profileId, p->id);
			EQ(info.placement.start, at.start);
			EQ(info.placement.size, at.size);
			EQ(info.id, expected_gi_id(model, p->placements[k]));
			EQ(nv.nvmlDeviceGetGpuInstanceById(dev, info.id, &found), NVML_SUCCESS);
			nvmlGpuInstance_t list[16];
			EQ(nv.nvmlDeviceGetGpuInstances(dev, p->id, list, &n), NVML_SUCCESS);
			EQ(n, 1);
			if (k == 0)
				check_ci_profiles(dev, gi, p, info.id);
			EQ(nv.nvmlGpuInstanceDestroy(gi), NVML_SUCCESS);
			n = 99;
			EQ(nv.nvmlDeviceGetGpuInstances(dev, p->id, list, &n), NVML_SUCCESS);
			EQ(n, 0);
		}
	}
}

static void test_model(void **state)
{
	nvmlDevice_t dev = NULL;
	unsigned int count = 0;
	(void)state;

	assert_non_null(model);
	snprintf(where, sizeof(where), "%s", model->key);
	EQ(nv.nvmlDeviceGetCount_v2(&count), NVML_SUCCESS);
	EQ(count, 1);
	EQ(nv.nvmlDeviceGetHandleByIndex_v2(0, &dev), NVML_SUCCESS);
	check_identity(dev);
	check_gi_profiles(dev);
	check_instances(dev);
}

/* The models tested below are every model of the table: a new model must be added here. */
static const char *const tested_models[] = {
	"A100-SXM4-40GB", "A100-SXM4-80GB", "A30", "H100-SXM5-80GB", "H100-PCIE-80GB",
	"H100-NVL", "H200", "B200", "RTX-PRO-6000", "GH200-144GB", "GH200-96GB", "GB200",
	"GB300", "B300", "H20", "PG506-96GB", "GB200-189GB", "DGX-Display",
};

/* A GPU without MIG (a DGX Station's display GPU): identity as any GPU, and every MIG call
 * answers as the driver does for such a GPU: NOT_SUPPORTED, nothing changed. */
static int setup_non_mig(void **state)
{
	model = sim_model_find(*state);
	if (!model || model->nprofiles != 0 || migsim("init %s", model->key) != 0 || nv.nvmlInit_v2() != NVML_SUCCESS)
		return -1;
	return 0;
}

static void test_non_mig_model(void **state)
{
	nvmlDevice_t dev = NULL;
	char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
	nvmlPciInfo_t pci;
	unsigned int cur = 9, pend = 9, count = 99;
	nvmlReturn_t act = NVML_ERROR_UNKNOWN;
	nvmlGpuInstanceProfileInfo_t info;
	nvmlGpuInstance_t gi = NULL;
	(void)state;

	snprintf(where, sizeof(where), "%s (no MIG)", model->key);
	EQ(nv.nvmlDeviceGetHandleByIndex_v2(0, &dev), NVML_SUCCESS);
	EQ(nv.nvmlDeviceGetName(dev, name, sizeof(name)), NVML_SUCCESS);
	STREQ(name, model->name);
	EQ(nv.nvmlDeviceGetPciInfo_v3(dev, &pci), NVML_SUCCESS);
	EQ(pci.pciDeviceId, model->pci_device_id);
	EQ(nv.nvmlDeviceGetMigMode(dev, &cur, &pend), NVML_ERROR_NOT_SUPPORTED);
	EQ(nv.nvmlDeviceSetMigMode(dev, NVML_DEVICE_MIG_ENABLE, &act), NVML_ERROR_NOT_SUPPORTED);
	EQ(nv.nvmlDeviceGetMigMode(dev, &cur, &pend), NVML_ERROR_NOT_SUPPORTED);
	EQ(nv.nvmlDeviceGetGpuInstanceProfileInfo(dev, NVML_GPU_INSTANCE_PROFILE_1_SLICE, &info), NVML_ERROR_NOT_SUPPORTED);
	EQ(nv.nvmlDeviceCreateGpuInstance(dev, 19, &gi), NVML_ERROR_NOT_SUPPORTED);
	EQ(nv.nvmlDeviceGetMaxMigDeviceCount(dev, &count), NVML_SUCCESS);
	EQ(count, 0);
}

static void test_every_table_model_is_tested(void **state)
{
	(void)state;
	size_t n = sizeof(tested_models) / sizeof(tested_models[0]);
	EQ(sim_nmodels, n);
	for (size_t i = 0; i < sim_nmodels; i++) {
		bool found = false;
		for (size_t k = 0; k < n && !found; k++)
			found = strcmp(sim_models[i].key, tested_models[k]) == 0;
		if (!found)
			fail_msg("model %s is not tested", sim_models[i].key);
	}
}

#define MODEL_TEST(key) {"conformance " key, test_model, setup_model, teardown_nvml, (void *)(key)}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_table_model_is_tested),
		MODEL_TEST("A100-SXM4-40GB"),
		MODEL_TEST("A100-SXM4-80GB"),
		MODEL_TEST("A30"),
		MODEL_TEST("H100-SXM5-80GB"),
		MODEL_TEST("H100-PCIE-80GB"),
		MODEL_TEST("H100-NVL"),
		MODEL_TEST("H200"),
		MODEL_TEST("B200"),
		MODEL_TEST("RTX-PRO-6000"),
		MODEL_TEST("GH200-144GB"),
		MODEL_TEST("GH200-96GB"),
		MODEL_TEST("GB200"),
		MODEL_TEST("GB300"),
		MODEL_TEST("B300"),
		MODEL_TEST("H20"),
		MODEL_TEST("PG506-96GB"),
		MODEL_TEST("GB200-189GB"),
		{"conformance DGX-Display (no MIG)", test_non_mig_model, setup_non_mig, teardown_nvml, (void *)"DGX-Display"},
	};
	return cmocka_run_group_tests_name("sim conformance", tests, group_setup, group_teardown);
}
