/* SPDX-License-Identifier: MIT */
/*
 * An outside NVML client: it includes no project header and declares only what it uses,
 * the way a third-party program built against NVIDIA's nvml.h sees the ABI. It opens
 * "libnvidia-ml.so.1" by SONAME (found through LD_LIBRARY_PATH) and walks the user's
 * scenario on a GPU that starts with MIG disabled: enable MIG, create a 3g and a 2g GPU
 * instance with their default compute instances, list the MIG devices, tear down.
 * Output is TAP; the exit status is non-zero if any check fails.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef int ret_t; /* nvmlReturn_t is a 4-byte enum */
typedef void *handle_t;
typedef struct {
	unsigned int version, id, isP2pSupported, sliceCount, instanceCount, multiprocessorCount;
	unsigned int copyEngineCount, decoderCount, encoderCount, jpegCount, ofaCount;
	unsigned long long memorySizeMB;
	char name[96];
} gi_profile_v2;
typedef struct {
	handle_t device;
	unsigned int id, profileId, start, size;
} gi_info;
typedef struct {
	unsigned int multiprocessorCount, ce, dec, enc, jpeg, ofa, giSlices, ciSlices;
	unsigned long long memorySizeMB;
} attributes;

#define GI_PROFILE_V2_VERSION (152u | (2u << 24))
#define PROFILE_3_SLICE 2u
#define PROFILE_2_SLICE 1u
#define CI_PROFILE_3_SLICE 2u
#define CI_PROFILE_2_SLICE 1u

static int tests, failures;

static void check(int ok, const char *what)
{
	tests++;
	if (!ok)
		failures++;
	printf("%sok %d - %s\n", ok ? "" : "not ", tests, what);
}

static void *lib;

static void *sym(const char *name)
{
	void *p = dlsym(lib, name);
	if (!p)
		printf("# missing symbol %s\n", name);
	return p;
}

/* Resolve a symbol into a typed function pointer without an object-to-function cast. */
#define LOAD(var, name)                                   \
	do {                                              \
		void *p_ = sym(name);                     \
		if (!p_)                                  \
			return 1;                         \
		memcpy(&(var), &p_, sizeof(p_));          \
	} while (0)

int main(void)
{
	ret_t (*init)(void), (*shutdown)(void), (*count)(unsigned int *), (*by_index)(unsigned int, handle_t *);
	ret_t (*get_name)(handle_t, char *, unsigned int), (*get_uuid)(handle_t, char *, unsigned int);
	ret_t (*set_mig)(handle_t, unsigned int, ret_t *), (*get_mig)(handle_t, unsigned int *, unsigned int *);
	ret_t (*profile_v)(handle_t, unsigned int, gi_profile_v2 *);
	ret_t (*create_gi)(handle_t, unsigned int, handle_t *), (*gi_get_info)(handle_t, gi_info *);
	ret_t (*create_ci)(handle_t, unsigned int, handle_t *), (*destroy_ci)(handle_t), (*destroy_gi)(handle_t);
	ret_t (*max_mig)(handle_t, unsigned int *), (*mig_by_index)(handle_t, unsigned int, handle_t *);
	ret_t (*attrs)(handle_t, attributes *);
	const char *(*error_string)(ret_t);

	lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
	check(lib != NULL, "dlopen(\"libnvidia-ml.so.1\") by SONAME");
	if (!lib) {
		printf("# %s\n", dlerror());
		return 1;
	}
	/* On a machine with NVIDIA's driver, the SONAME finds the real library, and this client
	 * would enable MIG and create instances on GPU 0. Before any call: only migctl's
	 * simulator exports migsimGetLastError. */
	void *simulator_only = dlsym(lib, "migsimGetLastError");
	check(simulator_only != NULL, "the library is migctl's simulator (it exports migsimGetLastError)");
	if (!simulator_only) {
		printf("Bail out! the libnvidia-ml.so.1 found is not migctl's simulator: refusing to change a real GPU\n");
		return 1;
	}
	LOAD(init, "nvmlInit_v2");
	LOAD(shutdown, "nvmlShutdown");
	LOAD(count, "nvmlDeviceGetCount_v2");
	LOAD(by_index, "nvmlDeviceGetHandleByIndex_v2");
	LOAD(get_name, "nvmlDeviceGetName");
	LOAD(get_uuid, "nvmlDeviceGetUUID");
	LOAD(set_mig, "nvmlDeviceSetMigMode");
	LOAD(get_mig, "nvmlDeviceGetMigMode");
	LOAD(profile_v, "nvmlDeviceGetGpuInstanceProfileInfoV");
	LOAD(create_gi, "nvmlDeviceCreateGpuInstance");
	LOAD(gi_get_info, "nvmlGpuInstanceGetInfo");
	LOAD(create_ci, "nvmlGpuInstanceCreateComputeInstance");
	LOAD(destroy_ci, "nvmlComputeInstanceDestroy");
	LOAD(destroy_gi, "nvmlGpuInstanceDestroy");
	LOAD(max_mig, "nvmlDeviceGetMaxMigDeviceCount");
	LOAD(mig_by_index, "nvmlDeviceGetMigDeviceHandleByIndex");
	LOAD(attrs, "nvmlDeviceGetAttributes_v2");
	LOAD(error_string, "nvmlErrorString");

	unsigned int n = 0, cur = 9, pend = 9;
	handle_t gpu = NULL;
	char name[96], uuid[96];
	ret_t act = -1;

	check(count(&n) == 1, "a call before nvmlInit_v2 returns NVML_ERROR_UNINITIALIZED");
	check(init() == 0, "nvmlInit_v2");
	check(count(&n) == 0 && n >= 1, "nvmlDeviceGetCount_v2 finds a GPU");
	check(by_index(0, &gpu) == 0 && gpu != NULL, "nvmlDeviceGetHandleByIndex_v2(0)");
	check(get_name(gpu, name, sizeof(name)) == 0 && strstr(name, "A100") != NULL, "GPU 0 is an A100");
	check(get_uuid(gpu, uuid, sizeof(uuid)) == 0 && strncmp(uuid, "GPU-", 4) == 0 && strlen(uuid) == 40,
	      "GPU UUID has the GPU-xxxxxxxx-... form");
	printf("# GPU 0: %s (UUID: %s)\n", name, uuid);

	check(set_mig(gpu, 1, &act) == 0 && act == 0, "nvmlDeviceSetMigMode(enable) activates");
	check(get_mig(gpu, &cur, &pend) == 0 && cur == 1 && pend == 1, "MIG mode is enabled, nothing pending");

	gi_profile_v2 p3 = {.version = GI_PROFILE_V2_VERSION}, p2 = {.version = GI_PROFILE_V2_VERSION};
	check(profile_v(gpu, PROFILE_3_SLICE, &p3) == 0 && p3.id == 9 && p3.sliceCount == 3 &&
		      strcmp(p3.name, "MIG 3g.20gb") == 0,
	      "profile index 2 is 3g.20gb with driver id 9");
	check(profile_v(gpu, PROFILE_2_SLICE, &p2) == 0 && p2.id == 14 && strcmp(p2.name, "MIG 2g.10gb") == 0,
	      "profile index 1 is 2g.10gb with driver id 14");

	handle_t gi3 = NULL, gi2 = NULL, ci3 = NULL, ci2 = NULL;
	gi_info info;
	check(create_gi(gpu, p3.id, &gi3) == 0, "create a 3g.20gb GPU instance");
	check(gi_get_info(gi3, &info) == 0 && info.profileId == 9 && info.start == 4 && info.size == 4 && info.id == 2,
	      "the 3g went to placement 4:4, GPU instance id 2");
	check(create_gi(gpu, p2.id, &gi2) == 0, "create a 2g.10gb GPU instance");
	check(gi_get_info(gi2, &info) == 0 && info.profileId == 14 && info.start == 0 && info.id == 3,
	      "the 2g went to placement 0:2, GPU instance id 3");
	check(create_ci(gi3, CI_PROFILE_3_SLICE, &ci3) == 0, "create the full compute instance in the 3g");
	check(create_ci(gi2, CI_PROFILE_2_SLICE, &ci2) == 0, "create the full compute instance in the 2g");

	unsigned int max = 0;
	check(max_mig(gpu, &max) == 0 && max == 7, "an A100 has up to 7 MIG devices");
	handle_t mig[2] = {NULL, NULL};
	check(mig_by_index(gpu, 0, &mig[0]) == 0 && mig_by_index(gpu, 1, &mig[1]) == 0, "two MIG devices exist");
	check(mig_by_index(gpu, 2, &mig[0]) == 6 && mig_by_index(gpu, 0, &mig[0]) == 0,
	      "index 2 is NVML_ERROR_NOT_FOUND (6)");
	for (int i = 0; i < 2; i++) {
		attributes a;
		check(get_uuid(mig[i], uuid, sizeof(uuid)) == 0 && strncmp(uuid, "MIG-", 4) == 0 && uuid[18] == '5',
		      "MIG device UUID is a version-5 MIG-... UUID");
		check(get_name(mig[i], name, sizeof(name)) == 0 && strstr(name, " MIG ") != NULL, "MIG device name");
		check(attrs(mig[i], &a) == 0 && a.multiprocessorCount > 0, "MIG device attributes");
		printf("#   MIG %u SMs, %llu MiB: %s (UUID: %s)  CUDA_VISIBLE_DEVICES=%s\n", a.multiprocessorCount,
		       a.memorySizeMB, name, uuid, uuid);
	}
	check(destroy_gi(gi3) == 19, "destroying a GPU instance that has a compute instance is IN_USE (19)");
	check(strcmp(error_string(19), "In use by another client") == 0, "nvmlErrorString(19)");
	check(destroy_ci(ci3) == 0 && destroy_gi(gi3) == 0, "destroy the 3g's compute instance, then the 3g");
	check(destroy_ci(ci2) == 0 && destroy_gi(gi2) == 0, "destroy the 2g's compute instance, then the 2g");
	check(set_mig(gpu, 0, &act) == 0 && act == 0, "disable MIG");
	check(get_mig(gpu, &cur, &pend) == 0 && cur == 0 && pend == 0, "MIG mode is disabled");
	check(shutdown() == 0, "nvmlShutdown");
	check(shutdown() == 1, "a second nvmlShutdown is NVML_ERROR_UNINITIALIZED");
	dlclose(lib);
	printf("1..%d\n", tests);
	return failures ? 1 : 0;
}
