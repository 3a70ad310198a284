/* SPDX-License-Identifier: MIT */
/*
 * The simulator's exported NVML API, called the way a client calls it: the library is
 * dlopen'ed from $MIGSIM_LIB and every entry point resolved with dlsym. Each test builds
 * its own simulated machine in a private state file ($MIGSIM_STATE in a mkdtemp dir) with
 * `migsim init`, and drives processes, privileges, faults, latencies and resets through
 * the migsim control program, as the simulator's users do.
 *
 * Expected values come from the ABI facts (shared/facts/nvml-abi.md sections 6, 7, 9) and
 * NVIDIA's documented examples, not from the simulator's code.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* ---- the library ---------------------------------------------------------------- */


#define NV_NAME(name, params) #name,
static const char *const nvml_symbols[] = {MIG_NVML_FUNCTIONS(NV_NAME) "nvmlErrorString", "migsimGetLastError",
					   "migsimCallerIsPrivileged"};
#undef NV_NAME


#define OK(call) assert_int_equal((call), NVML_SUCCESS)
#define RC(want, call) assert_int_equal((call), (want))

/* In the expect_* helpers: a failure names the call and the handle being tried. */
static char handle_label[128];
#define EXPECT(want, call)                                                                              \
	do {                                                                                            \
		nvmlReturn_t r_ = (call);                                                               \
		if (r_ != (want))                                                                       \
			fail_msg("%s: %s returned %d (%s), want %d", handle_label, #call, (int)r_,      \
				 nv.nvmlErrorString(r_), (int)(want));                                  \
	} while (0)



/* `migsim proc start ARGS`: the fake process's pid. */
static unsigned int proc_start(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static unsigned int proc_start(const char *fmt, ...)
{
	char args[512], cmd[3 * PATH_MAX];
	unsigned int pid = 0;
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(args));
	n = snprintf(cmd, sizeof(cmd), "'%s' --state '%s' proc start %s", migsim_bin, state_file, args);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	int got = fscanf(f, "%u", &pid);
	int rc = pclose(f);
	assert_int_equal(got, 1);
	assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
	assert_true(pid > 0);
	return pid;
}

static void proc_stop(unsigned int pid)
{
	assert_int_equal(migsim("proc stop %u", pid), 0);
}

static int group_setup(void **state)
{
	(void)state;
	return harness_setup("migsim-nvml-api");
}

static int group_teardown(void **state)
{
	(void)state;
	return harness_teardown();
}

/* ---- per-test machines ---------------------------------------------------------------- */

static int new_machine(const char *gpus)
{
	unsetenv("MIGSIM_UNPRIVILEGED");
	if (migsim("init %s", gpus) != 0) {
		fprintf(stderr, "# migsim init %s failed\n", gpus);
		return -1;
	}
	return 0;
}

static int machine_up(const char *gpus, bool mig)
{
	nvmlDevice_t dev;
	nvmlReturn_t act = NVML_ERROR_UNKNOWN;

	if (new_machine(gpus) != 0 || nv.nvmlInit_v2() != NVML_SUCCESS)
		return -1;
	if (mig && (nv.nvmlDeviceGetHandleByIndex_v2(0, &dev) != NVML_SUCCESS ||
		    nv.nvmlDeviceSetMigMode(dev, NVML_DEVICE_MIG_ENABLE, &act) != NVML_SUCCESS || act != NVML_SUCCESS)) {
		fprintf(stderr, "# could not enable MIG on %s\n", gpus);
		nv.nvmlShutdown();
		return -1;
	}
	return 0;
}

static int setup_uninit(void **state)
{
	(void)state;
	return new_machine("A100-SXM4-40GB");
}
static int setup_a100(void **state)
{
	(void)state;
	return machine_up("A100-SXM4-40GB", false);
}
static int setup_a100_mig(void **state)
{
	(void)state;
	return machine_up("A100-SXM4-40GB", true);
}
static int setup_two_a100(void **state)
{
	(void)state;
	return machine_up("2xA100-SXM4-40GB", false);
}
static int setup_three_gpus(void **state)
{
	(void)state;
	return machine_up("2xA100-SXM4-40GB,A30", false);
}
static int setup_a100_swapped_mig(void **state)
{
	(void)state;
	return machine_up("A100-SXM4-40GB:swapped", true);
}
static int setup_a100_reset_required(void **state)
{
	(void)state;
	return machine_up("A100-SXM4-40GB:reset-required", false);
}
static int setup_h100_mig(void **state)
{
	(void)state;
	return machine_up("H100-SXM5-80GB", true);
}
static int setup_a30_mig(void **state)
{
	(void)state;
	return machine_up("A30", true);
}
static int setup_rtx_mig(void **state)
{
	(void)state;
	return machine_up("RTX-PRO-6000", true);
}
static int setup_a100_h100(void **state)
{
	(void)state;
	return machine_up("A100-SXM4-40GB,H100-SXM5-80GB", false);
}

/* Every test ends with its nvmlInit balanced; extra references a failed test left behind
 * are dropped so the next test starts uninitialised. */
static int teardown_nvml(void **state)
{
	(void)state;
	unsetenv("MIGSIM_UNPRIVILEGED");
	for (int i = 0; i < 64 && nv.nvmlShutdown() == NVML_SUCCESS; i++)
		;
	return 0;
}

/* ---- helpers ---------------------------------------------------------------- */

static nvmlDevice_t gpu(unsigned int index)
{
	nvmlDevice_t d = NULL;
	OK(nv.nvmlDeviceGetHandleByIndex_v2(index, &d));
	assert_non_null(d);
	return d;
}

static void set_mig(nvmlDevice_t d, unsigned int mode, nvmlReturn_t want_activation)
{
	nvmlReturn_t act = (nvmlReturn_t)12345;
	OK(nv.nvmlDeviceSetMigMode(d, mode, &act));
	assert_int_equal(act, want_activation);
}

static void assert_mig_mode(nvmlDevice_t d, unsigned int current, unsigned int pending)
{
	unsigned int c = 99, p = 99;
	OK(nv.nvmlDeviceGetMigMode(d, &c, &p));
	assert_int_equal(c, current);
	assert_int_equal(p, pending);
}

static nvmlGpuInstance_t gi_at(nvmlDevice_t d, unsigned int profile_id, unsigned int start, unsigned int size)
{
	nvmlGpuInstancePlacement_t at = {start, size};
	nvmlGpuInstance_t gi = NULL;
	OK(nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, profile_id, &at, &gi));
	assert_non_null(gi);
	return gi;
}

static nvmlGpuInstance_t gi_new(nvmlDevice_t d, unsigned int profile_id)
{
	nvmlGpuInstance_t gi = NULL;
	OK(nv.nvmlDeviceCreateGpuInstance(d, profile_id, &gi));
	assert_non_null(gi);
	return gi;
}

static nvmlGpuInstanceInfo_t gi_info(nvmlGpuInstance_t gi)
{
	nvmlGpuInstanceInfo_t info;
	memset(&info, 0xA5, sizeof(info));
	OK(nv.nvmlGpuInstanceGetInfo(gi, &info));
	return info;
}

/* Create a GI without a placement and check where it landed and its id. */
static nvmlGpuInstance_t gi_expect(nvmlDevice_t d, unsigned int profile_id, unsigned int start, unsigned int size,
				   unsigned int id)
{
	nvmlGpuInstance_t gi = gi_new(d, profile_id);
	nvmlGpuInstanceInfo_t info = gi_info(gi);
	assert_int_equal(info.profileId, profile_id);
	assert_int_equal(info.placement.start, start);
	assert_int_equal(info.placement.size, size);
	assert_int_equal(info.id, id);
	return gi;
}

static unsigned int gi_id_at(nvmlDevice_t d, unsigned int profile_id, unsigned int start, unsigned int size)
{
	nvmlGpuInstance_t gi = gi_at(d, profile_id, start, size);
	nvmlGpuInstanceInfo_t info = gi_info(gi);
	assert_int_equal(info.placement.start, start);
	assert_int_equal(info.placement.size, size);
	OK(nv.nvmlGpuInstanceDestroy(gi));
	return info.id;
}

static nvmlComputeInstance_t ci_new(nvmlGpuInstance_t gi, unsigned int profile)
{
	nvmlComputeInstance_t ci = NULL;
	OK(nv.nvmlGpuInstanceCreateComputeInstance(gi, profile, &ci));
	assert_non_null(ci);
	return ci;
}

static nvmlComputeInstance_t ci_at(nvmlGpuInstance_t gi, unsigned int profile, unsigned int start, unsigned int size)
{
	nvmlComputeInstancePlacement_t at = {start, size};
	nvmlComputeInstance_t ci = NULL;
	OK(nv.nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, profile, &at, &ci));
	assert_non_null(ci);
	return ci;
}

static nvmlComputeInstanceInfo_t ci_info(nvmlComputeInstance_t ci)
{
	nvmlComputeInstanceInfo_t info;
	memset(&info, 0xA5, sizeof(info));
	OK(nv.nvmlComputeInstanceGetInfo_v2(ci, &info));
	return info;
}

static nvmlDevice_t mig_dev(nvmlDevice_t d, unsigned int index)
{
	nvmlDevice_t m = NULL;
	OK(nv.nvmlDeviceGetMigDeviceHandleByIndex(d, index, &m));
	assert_non_null(m);
	return m;
}

static void uuid_of(nvmlDevice_t d, char out[NVML_DEVICE_UUID_V2_BUFFER_SIZE])
{
	memset(out, 0, NVML_DEVICE_UUID_V2_BUFFER_SIZE);
	OK(nv.nvmlDeviceGetUUID(d, out, NVML_DEVICE_UUID_V2_BUFFER_SIZE));
}

static unsigned int gi_count(nvmlDevice_t d, unsigned int profile_id)
{
	nvmlGpuInstance_t list[16];
	unsigned int n = 99;
	OK(nv.nvmlDeviceGetGpuInstances(d, profile_id, list, &n));
	return n;
}

static unsigned int capacity(nvmlDevice_t d, unsigned int profile_id)
{
	unsigned int n = 999;
	OK(nv.nvmlDeviceGetGpuInstanceRemainingCapacity(d, profile_id, &n));
	return n;
}

static unsigned int ci_capacity(nvmlGpuInstance_t gi, unsigned int profile_id)
{
	unsigned int n = 999;
	OK(nv.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, profile_id, &n));
	return n;
}

/* "<prefix>xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in lower-case hex; a version-5, variant-1
 * UUID when v5. */
static void assert_uuid_text(const char *s, const char *prefix, bool v5)
{
	size_t pl = strlen(prefix);
	assert_int_equal(strlen(s), pl + 36);
	assert_memory_equal(s, prefix, pl);
	const char *u = s + pl;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(u[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", u[i]));
	}
	if (v5) {
		assert_int_equal(u[14], '5');
		assert_non_null(strchr("89ab", u[19]));
	}
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- every call on one handle, expecting one answer ---------------------------------------- */

static void expect_system_calls(nvmlReturn_t want)
{
	char buf[128];
	int v = 0;
	unsigned int n = 0;
	nvmlDevice_t d = NULL;

	EXPECT(want, nv.nvmlSystemGetDriverVersion(buf, sizeof(buf)));
	EXPECT(want, nv.nvmlSystemGetNVMLVersion(buf, sizeof(buf)));
	EXPECT(want, nv.nvmlSystemGetCudaDriverVersion(&v));
	EXPECT(want, nv.nvmlSystemGetCudaDriverVersion_v2(&v));
	EXPECT(want, nv.nvmlDeviceGetCount_v2(&n));
	EXPECT(want, nv.nvmlDeviceGetCount(&n));
	EXPECT(want, nv.nvmlDeviceGetHandleByIndex_v2(0, &d));
	EXPECT(want, nv.nvmlDeviceGetHandleByIndex(0, &d));
	EXPECT(want, nv.nvmlDeviceGetHandleByUUID("GPU-00000000-0000-0000-0000-000000000000", &d));
	EXPECT(want, nv.nvmlDeviceGetHandleByPciBusId_v2("00000000:07:00.0", &d));
	EXPECT(want, nv.nvmlDeviceGetHandleByPciBusId("00000000:07:00.0", &d));
}

/* Every call that takes a device handle, with otherwise valid arguments. */
static void expect_device_calls(nvmlDevice_t d, nvmlReturn_t want)
{
	char buf[128];
	unsigned int u = 0, u2 = 0;
	int major = 0, minor = 0;
	nvmlPciInfo_t pci;
	nvmlMemory_t mem;
	nvmlMemory_v2_t mem2 = {.version = nvmlMemory_v2};
	nvmlDeviceArchitecture_t arch;
	nvmlReturn_t act;
	nvmlDevice_t other = NULL;
	nvmlDeviceAttributes_t attrs;
	nvmlDeviceAttributes_v1_t attrs1;
	nvmlGpuInstanceProfileInfo_t gp1;
	nvmlGpuInstanceProfileInfo_v2_t gp2 = {.version = nvmlGpuInstanceProfileInfo_v2};
	nvmlGpuInstancePlacement_t pl[8], at = {0, 1};
	nvmlGpuInstance_t gis[16], gi = NULL;
	nvmlProcessInfo_t procs[4];
	nvmlProcessInfo_v1_t procs1[4];

	EXPECT(want, nv.nvmlDeviceGetName(d, buf, sizeof(buf)));
	EXPECT(want, nv.nvmlDeviceGetUUID(d, buf, sizeof(buf)));
	EXPECT(want, nv.nvmlDeviceGetPciInfo_v3(d, &pci));
	EXPECT(want, nv.nvmlDeviceGetPciInfo_v2(d, &pci));
	EXPECT(want, nv.nvmlDeviceGetPciInfo(d, &pci));
	EXPECT(want, nv.nvmlDeviceGetIndex(d, &u));
	EXPECT(want, nv.nvmlDeviceGetMinorNumber(d, &u));
	EXPECT(want, nv.nvmlDeviceGetMemoryInfo(d, &mem));
	EXPECT(want, nv.nvmlDeviceGetMemoryInfo_v2(d, &mem2));
	EXPECT(want, nv.nvmlDeviceGetArchitecture(d, &arch));
	EXPECT(want, nv.nvmlDeviceGetCudaComputeCapability(d, &major, &minor));
	EXPECT(want, nv.nvmlDeviceGetMigMode(d, &u, &u2));
	EXPECT(want, nv.nvmlDeviceGetMaxMigDeviceCount(d, &u));
	EXPECT(want, nv.nvmlDeviceGetMigDeviceHandleByIndex(d, 0, &other));
	EXPECT(want, nv.nvmlDeviceIsMigDeviceHandle(d, &u));
	EXPECT(want, nv.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(d, &other));
	EXPECT(want, nv.nvmlDeviceGetGpuInstanceId(d, &u));
	EXPECT(want, nv.nvmlDeviceGetComputeInstanceId(d, &u));
	EXPECT(want, nv.nvmlDeviceGetAttributes_v2(d, &attrs));
	EXPECT(want, nv.nvmlDeviceGetAttributes(d, &attrs1));
	EXPECT(want, nv.nvmlDeviceGetGpuInstanceProfileInfo(d, NVML_GPU_INSTANCE_PROFILE_1_SLICE, &gp1));
	EXPECT(want, nv.nvmlDeviceGetGpuInstanceProfileInfoV(d, NVML_GPU_INSTANCE_PROFILE_1_SLICE, &gp2));
	EXPECT(want, nv.nvmlDeviceGetGpuInstanceProfileInfoByIdV(d, 19, &gp2));
	EXPECT(want, nv.nvmlDeviceGetGpuInstanceRemainingCapacity(d, 19, &u));
	u = 8;
	EXPECT(want, nv.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, 19, pl, &u));
	u = 8;
	EXPECT(want, nv.nvmlDeviceGetGpuInstancePossiblePlacements(d, 19, pl, &u));
	u = 16;
	EXPECT(want, nv.nvmlDeviceGetGpuInstances(d, 19, gis, &u));
	EXPECT(want, nv.nvmlDeviceGetGpuInstanceById(d, 7, &gi));
	u = 4;
	EXPECT(want, nv.nvmlDeviceGetComputeRunningProcesses_v3(d, &u, procs));
	u = 4;
	EXPECT(want, nv.nvmlDeviceGetComputeRunningProcesses_v2(d, &u, procs));
	u = 4;
	EXPECT(want, nv.nvmlDeviceGetComputeRunningProcesses(d, &u, procs1));
	/* Mutating calls last. */
	EXPECT(want, nv.nvmlDeviceSetMigMode(d, NVML_DEVICE_MIG_ENABLE, &act));
	EXPECT(want, nv.nvmlDeviceCreateGpuInstance(d, 19, &gi));
	EXPECT(want, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 19, &at, &gi));
}

static void expect_gi_calls(nvmlGpuInstance_t gi, nvmlReturn_t want)
{
	nvmlGpuInstanceInfo_t info;
	nvmlComputeInstanceProfileInfo_t cp1;
	nvmlComputeInstanceProfileInfo_v2_t cp2 = {.version = nvmlComputeInstanceProfileInfo_v2};
	nvmlComputeInstancePlacement_t pl[8], at = {0, 1};
	nvmlComputeInstance_t cis[8], ci = NULL;
	unsigned int u = 0;

	EXPECT(want, nv.nvmlGpuInstanceGetInfo(gi, &info));
	EXPECT(want, nv.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, 0, 0, &cp1));
	EXPECT(want, nv.nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, 0, 0, &cp2));
	EXPECT(want, nv.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, 0, &u));
	u = 8;
	EXPECT(want, nv.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, 0, pl, &u));
	u = 8;
	EXPECT(want, nv.nvmlGpuInstanceGetComputeInstances(gi, 0, cis, &u));
	EXPECT(want, nv.nvmlGpuInstanceGetComputeInstanceById(gi, 0, &ci));
	EXPECT(want, nv.nvmlGpuInstanceCreateComputeInstance(gi, 0, &ci));
	EXPECT(want, nv.nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, 0, &at, &ci));
	EXPECT(want, nv.nvmlGpuInstanceDestroy(gi));
}

static void expect_ci_calls(nvmlComputeInstance_t ci, nvmlReturn_t want)
{
	nvmlComputeInstanceInfo_t info;
	nvmlComputeInstanceInfo_v1_t info1;

	EXPECT(want, nv.nvmlComputeInstanceGetInfo_v2(ci, &info));
	EXPECT(want, nv.nvmlComputeInstanceGetInfo(ci, &info1));
	EXPECT(want, nv.nvmlComputeInstanceDestroy(ci));
}

/* ================================================================================ */
/* loading, init, error strings                                                     */
/* ================================================================================ */

static void test_every_symbol_resolves(void **state)
{
	(void)state;
	size_t n = sizeof(nvml_symbols) / sizeof(nvml_symbols[0]);
	assert_int_equal(n, 65); /* the 62 ABI entry points, nvmlErrorString, migsimGetLastError,
				    migsimCallerIsPrivileged */
	for (size_t i = 0; i < n; i++) {
		if (!dlsym(lib, nvml_symbols[i]))
			fail_msg("symbol %s is not exported", nvml_symbols[i]);
	}
	/* Nothing beyond the NVML namespace leaks out (the engine is internal). */
	assert_null(dlsym(lib, "sim_gi_create"));
	assert_null(dlsym(lib, "sim_models"));
}

static void test_error_strings(void **state)
{
	(void)state;
	/* nvmlErrorString needs no init. */
	assert_string_equal(nv.nvmlErrorString(NVML_SUCCESS), "Success");
	assert_string_equal(nv.nvmlErrorString(NVML_ERROR_UNINITIALIZED), "Uninitialized");
	assert_string_equal(nv.nvmlErrorString(NVML_ERROR_INVALID_ARGUMENT), "Invalid Argument");
	assert_string_equal(nv.nvmlErrorString(NVML_ERROR_NOT_SUPPORTED), "Not Supported");
	assert_string_equal(nv.nvmlErrorString(NVML_ERROR_NO_PERMISSION), "Insufficient Permissions");
	assert_string_equal(nv.nvmlErrorString(NVML_ERROR_NOT_FOUND), "Not Found");
	assert_string_equal(nv.nvmlErrorString(NVML_ERROR_INSUFFICIENT_SIZE), "Insufficient Size");
	assert_string_equal(nv.nvmlErrorString(NVML_ERROR_RESET_REQUIRED), "GPU requires reset");
	assert_string_equal(nv.nvmlErrorString(NVML_ERROR_IN_USE), "In use by another client");
	assert_string_equal(nv.nvmlErrorString(NVML_ERROR_INSUFFICIENT_RESOURCES), "Insufficient Resources");
	assert_string_equal(nv.nvmlErrorString(NVML_ERROR_UNKNOWN), "Unknown Error");
	/* Every code of the enum has a text; a code that is not one still gets a string. */
	for (int c = 0; c <= 30; c++) {
		const char *s = nv.nvmlErrorString((nvmlReturn_t)c);
		assert_non_null(s);
		assert_true(strlen(s) > 0);
	}
	assert_non_null(nv.nvmlErrorString((nvmlReturn_t)12345));
}

/* Every entry point answers UNINITIALIZED before init and after the last shutdown, even
 * with handles that were valid while the library was initialised. */
static void test_calls_before_init_are_uninitialized(void **state)
{
	(void)state;
	/* Before any init in this process state. */
	snprintf(handle_label, sizeof(handle_label), "before init");
	expect_system_calls(NVML_ERROR_UNINITIALIZED);
	RC(NVML_ERROR_UNINITIALIZED, nv.nvmlShutdown());

	/* Real handles of every kind, then the last shutdown. */
	OK(nv.nvmlInit_v2());
	nvmlDevice_t d = gpu(0);
	set_mig(d, NVML_DEVICE_MIG_ENABLE, NVML_SUCCESS);
	nvmlGpuInstance_t gi = gi_at(d, 9, 4, 4);
	nvmlComputeInstance_t ci = ci_new(gi, 2);
	nvmlDevice_t mig = mig_dev(d, 0);
	OK(nv.nvmlShutdown());

	snprintf(handle_label, sizeof(handle_label), "after the last shutdown");
	expect_system_calls(NVML_ERROR_UNINITIALIZED);
	expect_device_calls(d, NVML_ERROR_UNINITIALIZED);
	expect_device_calls(mig, NVML_ERROR_UNINITIALIZED);
	expect_gi_calls(gi, NVML_ERROR_UNINITIALIZED);
	expect_ci_calls(ci, NVML_ERROR_UNINITIALIZED);
	RC(NVML_ERROR_UNINITIALIZED, nv.nvmlShutdown());

	/* None of the mutating calls went through: the instances are still there. */
	OK(nv.nvmlInit_v2());
	assert_int_equal(gi_count(d, 9), 1);
	assert_int_equal(gi_count(d, 19), 0);
	unsigned int max = 0;
	OK(nv.nvmlDeviceGetMaxMigDeviceCount(d, &max));
	assert_int_equal(max, 7);
	OK(nv.nvmlShutdown());
}

static void test_init_is_reference_counted(void **state)
{
	unsigned int n = 0;
	(void)state;

	OK(nv.nvmlInit_v2());
	OK(nv.nvmlInit());
	OK(nv.nvmlInitWithFlags(0));
	OK(nv.nvmlShutdown());
	OK(nv.nvmlDeviceGetCount_v2(&n));
	OK(nv.nvmlShutdown());
	OK(nv.nvmlDeviceGetCount_v2(&n));
	assert_int_equal(n, 1);
	OK(nv.nvmlShutdown()); /* the last reference */
	RC(NVML_ERROR_UNINITIALIZED, nv.nvmlDeviceGetCount_v2(&n));
	RC(NVML_ERROR_UNINITIALIZED, nv.nvmlShutdown());
	/* And it comes back. */
	OK(nv.nvmlInit_v2());
	OK(nv.nvmlDeviceGetCount(&n));
	OK(nv.nvmlShutdown());
}

static void test_init_with_flags(void **state)
{
	unsigned int n = 0;
	(void)state;

	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlInitWithFlags(0x80));
	RC(NVML_ERROR_UNINITIALIZED, nv.nvmlDeviceGetCount_v2(&n)); /* a failed init holds no reference */
	OK(nv.nvmlInitWithFlags(NVML_INIT_FLAG_NO_GPUS | NVML_INIT_FLAG_NO_ATTACH | NVML_INIT_FLAG_FORCE_INIT));
	OK(nv.nvmlDeviceGetCount_v2(&n));
	OK(nv.nvmlShutdown());
}

/* A damaged state file is an init error with an explanation, never a crash or a reset. */
static void test_init_fails_on_corrupt_state(void **state)
{
	char msg[512] = "";
	unsigned int n = 0;
	(void)state;

	FILE *f = fopen(state_file, "w");
	assert_non_null(f);
	fputs("{ this is not a migsim state", f);
	fclose(f);
	RC(NVML_ERROR_UNKNOWN, nv.nvmlInit_v2());
	RC(NVML_ERROR_UNINITIALIZED, nv.nvmlDeviceGetCount_v2(&n));
	RC(NVML_ERROR_UNINITIALIZED, nv.nvmlShutdown());
	OK(nv.migsimGetLastError(msg, sizeof(msg)));
	assert_true(strlen(msg) > 0);
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.migsimGetLastError(msg, 1));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.migsimGetLastError(NULL, 10));
}

/* A missing state file is created from MIGSIM_GPUS on first use. */
static void test_missing_state_created_from_migsim_gpus(void **state)
{
	unsigned int n = 0;
	char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
	(void)state;

	assert_int_equal(unlink(state_file), 0);
	setenv("MIGSIM_GPUS", "2xA30", 1);
	nvmlReturn_t r = nv.nvmlInit_v2();
	unsetenv("MIGSIM_GPUS");
	OK(r);
	OK(nv.nvmlDeviceGetCount_v2(&n));
	assert_int_equal(n, 2);
	OK(nv.nvmlDeviceGetName(gpu(1), name, sizeof(name)));
	assert_string_equal(name, "NVIDIA A30");
	OK(nv.nvmlShutdown());
}

static void test_init_fault_injection(void **state)
{
	unsigned int n = 0;
	(void)state;

	assert_int_equal(migsim("fault add nvmlInit_v2 DRIVER_NOT_LOADED --nth 1"), 0);
	RC(NVML_ERROR_DRIVER_NOT_LOADED, nv.nvmlInit_v2());
	RC(NVML_ERROR_UNINITIALIZED, nv.nvmlDeviceGetCount_v2(&n));
	OK(nv.nvmlInit_v2()); /* only the first call was armed */
	OK(nv.nvmlDeviceGetCount_v2(&n));
	OK(nv.nvmlShutdown());
}

static void test_system_versions(void **state)
{
	char buf[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];
	int v1 = 0, v2 = 0;
	(void)state;

	OK(nv.nvmlSystemGetDriverVersion(buf, sizeof(buf)));
	assert_true(strlen(buf) > 0);
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlSystemGetDriverVersion(buf, 2));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlSystemGetDriverVersion(NULL, 80));
	char drv[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];
	OK(nv.nvmlSystemGetDriverVersion(drv, sizeof(drv)));
	OK(nv.nvmlSystemGetNVMLVersion(buf, sizeof(buf)));
	assert_non_null(strstr(buf, drv)); /* "13.<driver version>" */
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlSystemGetNVMLVersion(buf, 3));
	OK(nv.nvmlSystemGetCudaDriverVersion(&v1));
	OK(nv.nvmlSystemGetCudaDriverVersion_v2(&v2));
	assert_true(v1 >= 11000);
	assert_int_equal(v1, v2);
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlSystemGetCudaDriverVersion(NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlSystemGetCudaDriverVersion_v2(NULL));
}

/* ================================================================================ */
/* enumeration and identity                                                          */
/* ================================================================================ */

static void test_count_and_handle_by_index(void **state)
{
	unsigned int n = 0, idx = 99, minor = 99;
	nvmlDevice_t a = NULL, b = NULL;
	char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
	(void)state;

	OK(nv.nvmlDeviceGetCount_v2(&n));
	assert_int_equal(n, 3);
	OK(nv.nvmlDeviceGetCount(&n));
	assert_int_equal(n, 3);
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetCount_v2(NULL));
	for (unsigned int i = 0; i < 3; i++) {
		OK(nv.nvmlDeviceGetHandleByIndex_v2(i, &a));
		OK(nv.nvmlDeviceGetHandleByIndex(i, &b));
		assert_ptr_equal(a, b);
		OK(nv.nvmlDeviceGetIndex(a, &idx));
		assert_int_equal(idx, i);
		OK(nv.nvmlDeviceGetMinorNumber(a, &minor));
		assert_int_equal(minor, i);
	}
	OK(nv.nvmlDeviceGetName(a, name, sizeof(name)));
	assert_string_equal(name, "NVIDIA A30");
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetHandleByIndex_v2(3, &a));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetHandleByIndex(3, &a));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetHandleByIndex_v2(0xFFFFFFFFu, &a));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetHandleByIndex_v2(0, NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetIndex(gpu(0), NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetMinorNumber(gpu(0), NULL));
}

static void test_handle_by_uuid(void **state)
{
	char u0[NVML_DEVICE_UUID_V2_BUFFER_SIZE], u1[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
	char mu[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
	nvmlDevice_t h = NULL;
	unsigned int v = 99;
	(void)state;

	uuid_of(gpu(0), u0);
	uuid_of(gpu(1), u1);
	assert_uuid_text(u0, "GPU-", false);
	assert_uuid_text(u1, "GPU-", false);
	assert_string_not_equal(u0, u1);
	OK(nv.nvmlDeviceGetHandleByUUID(u1, &h));
	assert_ptr_equal(h, gpu(1));
	OK(nv.nvmlDeviceGetHandleByUUID(u0, &h));
	assert_ptr_equal(h, gpu(0));

	/* A MIG device's UUID gives that MIG device. */
	set_mig(gpu(1), NVML_DEVICE_MIG_ENABLE, NVML_SUCCESS);
	nvmlGpuInstance_t gi = gi_at(gpu(1), 14, 2, 2); /* GI 4 */
	ci_new(gi, 1);
	uuid_of(mig_dev(gpu(1), 0), mu);
	assert_uuid_text(mu, "MIG-", true);
	h = NULL;
	OK(nv.nvmlDeviceGetHandleByUUID(mu, &h));
	OK(nv.nvmlDeviceIsMigDeviceHandle(h, &v));
	assert_int_equal(v, 1);
	OK(nv.nvmlDeviceGetGpuInstanceId(h, &v));
	assert_int_equal(v, 4);
	nvmlDevice_t parent = NULL;
	OK(nv.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(h, &parent));
	assert_ptr_equal(parent, gpu(1));

	RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetHandleByUUID("GPU-00000000-0000-0000-0000-000000000000", &h));
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetHandleByUUID("MIG-00000000-0000-5000-8000-000000000000", &h));
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetHandleByUUID("", &h));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetHandleByUUID(NULL, &h));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetHandleByUUID(u0, NULL));
}

static void test_handle_by_pci_bus_id(void **state)
{
	nvmlDevice_t h = NULL;
	nvmlPciInfo_t pci;
	(void)state;

	/* The first GPU sits on bus 07, the second on 0F. */
	OK(nv.nvmlDeviceGetHandleByPciBusId_v2("00000000:07:00.0", &h));
	assert_ptr_equal(h, gpu(0));
	h = NULL;
	OK(nv.nvmlDeviceGetHandleByPciBusId_v2("0000:07:00.0", &h));
	assert_ptr_equal(h, gpu(0));
	h = NULL;
	OK(nv.nvmlDeviceGetHandleByPciBusId_v2("07:00.0", &h));
	assert_ptr_equal(h, gpu(0));
	h = NULL;
	OK(nv.nvmlDeviceGetHandleByPciBusId("00000000:0F:00.0", &h));
	assert_ptr_equal(h, gpu(1));
	h = NULL;
	OK(nv.nvmlDeviceGetHandleByPciBusId_v2("00000000:0f:00.0", &h)); /* hex in either case */
	assert_ptr_equal(h, gpu(1));

	/* The bus id the GPU reports leads back to it. */
	OK(nv.nvmlDeviceGetPciInfo_v3(gpu(1), &pci));
	h = NULL;
	OK(nv.nvmlDeviceGetHandleByPciBusId_v2(pci.busId, &h));
	assert_ptr_equal(h, gpu(1));
	h = NULL;
	OK(nv.nvmlDeviceGetHandleByPciBusId_v2(pci.busIdLegacy, &h));
	assert_ptr_equal(h, gpu(1));

	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetHandleByPciBusId_v2("garbage", &h));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetHandleByPciBusId_v2("", &h));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetHandleByPciBusId_v2("00000000:07:00.0junk", &h));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetHandleByPciBusId("07", &h));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetHandleByPciBusId_v2(NULL, &h));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetHandleByPciBusId_v2("00000000:07:00.0", NULL));
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetHandleByPciBusId_v2("00000000:99:00.0", &h));
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetHandleByPciBusId("0000:47:00.0", &h)); /* third DGX slot, absent */
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetHandleByPciBusId_v2("00000001:07:00.0", &h));
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetHandleByPciBusId_v2("00000000:07:01.0", &h));
}

static void test_name_and_uuid_buffer_sizes(void **state)
{
	char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE], uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
	nvmlDevice_t d = gpu(0);
	(void)state;

	OK(nv.nvmlDeviceGetName(d, name, sizeof(name)));
	assert_string_equal(name, "NVIDIA A100-SXM4-40GB");
	unsigned int need = (unsigned int)strlen(name) + 1;
	memset(name, 0, sizeof(name));
	OK(nv.nvmlDeviceGetName(d, name, need));
	assert_string_equal(name, "NVIDIA A100-SXM4-40GB");
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlDeviceGetName(d, name, need - 1));
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlDeviceGetName(d, name, 0));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetName(d, NULL, sizeof(name)));

	OK(nv.nvmlDeviceGetUUID(d, uuid, NVML_DEVICE_UUID_ASCII_LEN));
	assert_uuid_text(uuid, "GPU-", false);
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlDeviceGetUUID(d, uuid, NVML_DEVICE_UUID_ASCII_LEN - 1));
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlDeviceGetUUID(d, uuid, 4));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetUUID(d, NULL, sizeof(uuid)));
}

static void test_pci_info_all_versions(void **state)
{
	nvmlPciInfo_t p3, p2, p1;
	nvmlDevice_t d = gpu(0);
	(void)state;

	memset(&p3, 0xA5, sizeof(p3));
	OK(nv.nvmlDeviceGetPciInfo_v3(d, &p3));
	assert_string_equal(p3.busId, "00000000:07:00.0");
	assert_string_equal(p3.busIdLegacy, "0000:07:00.0");
	assert_int_equal(p3.domain, 0);
	assert_int_equal(p3.bus, 7);
	assert_int_equal(p3.device, 0);
	assert_int_equal(p3.pciDeviceId, 0x20B010DEu);
	assert_int_equal(p3.pciSubSystemId, 0x145F10DEu);
	memset(&p2, 0x5A, sizeof(p2));
	OK(nv.nvmlDeviceGetPciInfo_v2(d, &p2));
	memset(&p1, 0x3C, sizeof(p1));
	OK(nv.nvmlDeviceGetPciInfo(d, &p1));
	assert_string_equal(p2.busId, p3.busId);
	assert_string_equal(p1.busId, p3.busId);
	assert_int_equal(p2.pciDeviceId, p3.pciDeviceId);
	assert_int_equal(p1.pciDeviceId, p3.pciDeviceId);
	assert_int_equal(p1.bus, 7);
	OK(nv.nvmlDeviceGetPciInfo_v3(gpu(1), &p3));
	assert_string_equal(p3.busId, "00000000:0F:00.0");
	assert_int_equal(p3.bus, 0x0F);
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetPciInfo_v3(d, NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetPciInfo_v2(d, NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetPciInfo(d, NULL));
}

static void test_memory_info_v1_and_v2(void **state)
{
	const unsigned long long total = 40960ull << 20;
	nvmlMemory_t m1;
	nvmlMemory_v2_t m2;
	nvmlDevice_t d = gpu(0);
	(void)state;

	OK(nv.nvmlDeviceGetMemoryInfo(d, &m1));
	assert_int_equal(m1.total, total);
	assert_int_equal(m1.free + m1.used, m1.total);
	memset(&m2, 0, sizeof(m2));
	m2.version = nvmlMemory_v2;
	OK(nv.nvmlDeviceGetMemoryInfo_v2(d, &m2));
	assert_int_equal(m2.version, nvmlMemory_v2);
	assert_int_equal(m2.total, total);
	assert_int_equal(m2.reserved + m2.free + m2.used, m2.total);
	assert_int_equal(m2.used, 0);
	unsigned long long free_before = m2.free;

	/* A process's memory shows as used on its GPU only. */
	unsigned int pid = proc_start("--gpu 0 --mib 1024");
	OK(nv.nvmlDeviceGetMemoryInfo_v2(d, &m2));
	assert_int_equal(m2.used, 1024ull << 20);
	assert_int_equal(m2.free, free_before - (1024ull << 20));
	OK(nv.nvmlDeviceGetMemoryInfo(d, &m1));
	assert_int_equal(m1.free, m2.free);
	assert_int_equal(m1.free + m1.used, m1.total);
	OK(nv.nvmlDeviceGetMemoryInfo_v2(gpu(1), &m2));
	assert_int_equal(m2.used, 0);
	proc_stop(pid);

	/* Versioned struct with a wrong version word. */
	m2.version = 0;
	RC(NVML_ERROR_ARGUMENT_VERSION_MISMATCH, nv.nvmlDeviceGetMemoryInfo_v2(d, &m2));
	m2.version = NVML_STRUCT_VERSION_OF(nvmlMemory_v2_t, 1);
	RC(NVML_ERROR_ARGUMENT_VERSION_MISMATCH, nv.nvmlDeviceGetMemoryInfo_v2(d, &m2));
	m2.version = NVML_STRUCT_VERSION_OF(nvmlMemory_t, 2);
	RC(NVML_ERROR_ARGUMENT_VERSION_MISMATCH, nv.nvmlDeviceGetMemoryInfo_v2(d, &m2));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetMemoryInfo(d, NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetMemoryInfo_v2(d, NULL));
}

static void test_architecture_and_compute_capability(void **state)
{
	nvmlDeviceArchitecture_t arch = 0;
	int major = 0, minor = -1;
	(void)state;

	OK(nv.nvmlDeviceGetArchitecture(gpu(0), &arch));
	assert_int_equal(arch, NVML_DEVICE_ARCH_AMPERE);
	OK(nv.nvmlDeviceGetCudaComputeCapability(gpu(0), &major, &minor));
	assert_int_equal(major, 8);
	assert_int_equal(minor, 0);
	OK(nv.nvmlDeviceGetArchitecture(gpu(1), &arch));
	assert_int_equal(arch, NVML_DEVICE_ARCH_HOPPER);
	OK(nv.nvmlDeviceGetCudaComputeCapability(gpu(1), &major, &minor));
	assert_int_equal(major, 9);
	assert_int_equal(minor, 0);
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetArchitecture(gpu(0), NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetCudaComputeCapability(gpu(0), NULL, &minor));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetCudaComputeCapability(gpu(0), &major, NULL));
}

/* ================================================================================ */
/* MIG mode                                                                          */
/* ================================================================================ */

static void test_mig_mode_enable_disable_when_idle(void **state)
{
	nvmlDevice_t d = gpu(0);
	unsigned int max = 99;
	(void)state;

	assert_mig_mode(d, 0, 0);
	OK(nv.nvmlDeviceGetMaxMigDeviceCount(d, &max));
	assert_int_equal(max, 0);
	set_mig(d, NVML_DEVICE_MIG_ENABLE, NVML_SUCCESS);
	assert_mig_mode(d, 1, 1);
	OK(nv.nvmlDeviceGetMaxMigDeviceCount(d, &max));
	assert_int_equal(max, 7);
	set_mig(d, NVML_DEVICE_MIG_ENABLE, NVML_SUCCESS); /* already on */
	assert_mig_mode(d, 1, 1);
	set_mig(d, NVML_DEVICE_MIG_DISABLE, NVML_SUCCESS);
	assert_mig_mode(d, 0, 0);
	OK(nv.nvmlDeviceGetMaxMigDeviceCount(d, &max));
	assert_int_equal(max, 0);
	/* The other GPU was not touched. */
	set_mig(d, NVML_DEVICE_MIG_ENABLE, NVML_SUCCESS);
	assert_mig_mode(gpu(1), 0, 0);
}

static void test_mig_mode_invalid_arguments(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlReturn_t act;
	unsigned int c;
	(void)state;

	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceSetMigMode(d, 2, &act));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceSetMigMode(d, NVML_DEVICE_MIG_ENABLE, NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetMigMode(d, NULL, &c));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetMigMode(d, &c, NULL));
	assert_mig_mode(d, 0, 0);
}

/* A busy GPU cannot switch: the mode stays pending until it is idle and asked again. */
static void test_mig_enable_with_process_stays_pending(void **state)
{
	nvmlDevice_t d = gpu(0);
	unsigned int max = 99;
	(void)state;

	unsigned int pid = proc_start("--gpu 0 --mib 100");
	set_mig(d, NVML_DEVICE_MIG_ENABLE, NVML_ERROR_IN_USE);
	assert_mig_mode(d, 0, 1);
	OK(nv.nvmlDeviceGetMaxMigDeviceCount(d, &max));
	assert_int_equal(max, 0);
	nvmlGpuInstance_t gi;
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceCreateGpuInstance(d, 19, &gi));
	proc_stop(pid);
	assert_mig_mode(d, 0, 1); /* stopping the process alone does not switch */
	set_mig(d, NVML_DEVICE_MIG_ENABLE, NVML_SUCCESS);
	assert_mig_mode(d, 1, 1);
}

static void test_mig_enable_reset_required_until_gpu_reset(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstance_t gi;
	unsigned int max = 99;
	(void)state;

	set_mig(d, NVML_DEVICE_MIG_ENABLE, NVML_ERROR_RESET_REQUIRED);
	assert_mig_mode(d, 0, 1);
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceCreateGpuInstance(d, 19, &gi));
	set_mig(d, NVML_DEVICE_MIG_ENABLE, NVML_ERROR_RESET_REQUIRED); /* asking again does not help */
	assert_mig_mode(d, 0, 1);
	assert_int_equal(migsim("reset --gpu 0"), 0);
	assert_mig_mode(d, 1, 1);
	OK(nv.nvmlDeviceGetMaxMigDeviceCount(d, &max));
	assert_int_equal(max, 7);
	gi = gi_new(d, 19);
	OK(nv.nvmlGpuInstanceDestroy(gi));
}

static void test_mig_disable_with_gpu_instances_is_in_use(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlReturn_t act;
	(void)state;

	nvmlGpuInstance_t gi = gi_new(d, 19);
	RC(NVML_ERROR_IN_USE, nv.nvmlDeviceSetMigMode(d, NVML_DEVICE_MIG_DISABLE, &act));
	assert_mig_mode(d, 1, 1);
	assert_int_equal(gi_count(d, 19), 1);
	OK(nv.nvmlGpuInstanceDestroy(gi));
	set_mig(d, NVML_DEVICE_MIG_DISABLE, NVML_SUCCESS);
	assert_mig_mode(d, 0, 0);
}

/* MIG mode survives a reboot on Ampere, not on Hopper; instances never do (facts 7.1). */
static void test_reboot_mig_mode_persistence(void **state)
{
	nvmlDevice_t a100 = gpu(0), h100 = gpu(1);
	(void)state;

	set_mig(a100, NVML_DEVICE_MIG_ENABLE, NVML_SUCCESS);
	set_mig(h100, NVML_DEVICE_MIG_ENABLE, NVML_SUCCESS);
	gi_new(a100, 9);
	gi_new(h100, 9);
	assert_int_equal(migsim("reboot"), 0);
	assert_mig_mode(a100, 1, 1);
	assert_int_equal(gi_count(a100, 9), 0);
	assert_mig_mode(h100, 0, 0);
}

/* ================================================================================ */
/* GPU-instance profiles                                                              */
/* ================================================================================ */

struct gi_row {
	unsigned int index, id, slices, count, sms;
	unsigned long long mib;
	unsigned int ce, dec, enc, jpeg, ofa;
	const char *name;
};

/* A100-SXM4-40GB as nvidia-smi mig -lgip shows it (facts 7.2, mig-profiles.json). */
static const struct gi_row a100_rows[] = {
	{NVML_GPU_INSTANCE_PROFILE_1_SLICE, 19, 1, 7, 14, 4864, 1, 0, 0, 0, 0, "MIG 1g.5gb"},
	{NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1, 20, 1, 1, 14, 4864, 1, 1, 0, 1, 1, "MIG 1g.5gb+me"},
	{NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2, 15, 1, 4, 14, 9856, 1, 1, 0, 0, 0, "MIG 1g.10gb"},
	{NVML_GPU_INSTANCE_PROFILE_2_SLICE, 14, 2, 3, 28, 9856, 2, 1, 0, 0, 0, "MIG 2g.10gb"},
	{NVML_GPU_INSTANCE_PROFILE_3_SLICE, 9, 3, 2, 42, 19968, 3, 2, 0, 0, 0, "MIG 3g.20gb"},
	{NVML_GPU_INSTANCE_PROFILE_4_SLICE, 5, 4, 1, 56, 19968, 4, 2, 0, 0, 0, "MIG 4g.20gb"},
	{NVML_GPU_INSTANCE_PROFILE_7_SLICE, 0, 7, 1, 98, 40192, 7, 5, 0, 1, 1, "MIG 7g.40gb"},
};
#define A100_ROWS (sizeof(a100_rows) / sizeof(a100_rows[0]))

static void test_gi_profile_info_v1_returns_driver_ids(void **state)
{
	nvmlDevice_t d = gpu(0);
	(void)state;

	for (size_t i = 0; i < A100_ROWS; i++) {
		const struct gi_row *w = &a100_rows[i];
		nvmlGpuInstanceProfileInfo_t info;
		memset(&info, 0xA5, sizeof(info));
		OK(nv.nvmlDeviceGetGpuInstanceProfileInfo(d, w->index, &info));
		assert_int_equal(info.id, w->id); /* the driver id, not the index */
		assert_int_equal(info.isP2pSupported, 0);
		assert_int_equal(info.sliceCount, w->slices);
		assert_int_equal(info.instanceCount, w->count);
		assert_int_equal(info.multiprocessorCount, w->sms);
		assert_int_equal(info.copyEngineCount, w->ce);
		assert_int_equal(info.decoderCount, w->dec);
		assert_int_equal(info.encoderCount, w->enc);
		assert_int_equal(info.jpegCount, w->jpeg);
		assert_int_equal(info.ofaCount, w->ofa);
		assert_int_equal(info.memorySizeMB, w->mib);
	}
	/* Profile info answers with MIG disabled too (MIG-mode-independent query). */
	set_mig(d, NVML_DEVICE_MIG_DISABLE, NVML_SUCCESS);
	nvmlGpuInstanceProfileInfo_t info;
	OK(nv.nvmlDeviceGetGpuInstanceProfileInfo(d, NVML_GPU_INSTANCE_PROFILE_3_SLICE, &info));
	assert_int_equal(info.id, 9);
}

static void test_gi_profile_info_index_errors(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstanceProfileInfo_t v1;
	nvmlGpuInstanceProfileInfo_v2_t v2 = {.version = nvmlGpuInstanceProfileInfo_v2};
	(void)state;

	/* Indices the A100 lacks: 8_SLICE, 6_SLICE, 2_SLICE_REV1, GFX, NO_ME, ALL_ME, 3_SLICE_GFX. */
	static const unsigned int absent[] = {5, 6, 8, 10, 11, 12, 13, 14, 15, 16, 17};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetGpuInstanceProfileInfo(d, absent[i], &v1));
		RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetGpuInstanceProfileInfoV(d, absent[i], &v2));
	}
	/* Beyond the enumeration. */
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstanceProfileInfo(d, NVML_GPU_INSTANCE_PROFILE_COUNT, &v1));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstanceProfileInfoV(d, NVML_GPU_INSTANCE_PROFILE_COUNT, &v2));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstanceProfileInfo(d, 0xFFFFFFFFu, &v1));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstanceProfileInfoV(d, 0xFFFFFFFFu, &v2));
	/* NULL output. */
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstanceProfileInfo(d, 0, NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstanceProfileInfoV(d, 0, NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstanceProfileInfoByIdV(d, 19, NULL));
}

static void test_gi_profile_info_v2_layout(void **state)
{
	nvmlDevice_t d = gpu(0);
	(void)state;

	for (size_t i = 0; i < A100_ROWS; i++) {
		const struct gi_row *w = &a100_rows[i];
		unsigned char raw[sizeof(nvmlGpuInstanceProfileInfo_v2_t)];
		nvmlGpuInstanceProfileInfo_v2_t info;
		unsigned int u;
		unsigned long long mib;

		memset(&info, 0xA5, sizeof(info));
		info.version = nvmlGpuInstanceProfileInfo_v2;
		OK(nv.nvmlDeviceGetGpuInstanceProfileInfoV(d, w->index, &info));
		memcpy(raw, &info, sizeof(raw));
		/* Offsets of the H13 v2 layout: id +4, isP2pSupported +8, sliceCount +12, ... */
		memcpy(&u, raw + 0, 4);
		assert_int_equal(u, nvmlGpuInstanceProfileInfo_v2);
		memcpy(&u, raw + 4, 4);
		assert_int_equal(u, w->id);
		memcpy(&u, raw + 8, 4);
		assert_int_equal(u, 0); /* isP2pSupported */
		memcpy(&u, raw + 12, 4);
		assert_int_equal(u, w->slices);
		memcpy(&u, raw + 16, 4);
		assert_int_equal(u, w->count);
		memcpy(&u, raw + 20, 4);
		assert_int_equal(u, w->sms);
		memcpy(&u, raw + 24, 4);
		assert_int_equal(u, w->ce);
		memcpy(&u, raw + 28, 4);
		assert_int_equal(u, w->dec);
		memcpy(&u, raw + 40, 4);
		assert_int_equal(u, w->ofa);
		memcpy(&mib, raw + 48, 8);
		assert_int_equal(mib, w->mib);
		assert_string_equal((const char *)raw + 56, w->name);
	}
}

static void test_gi_profile_info_v3_layout(void **state)
{
	nvmlDevice_t d = gpu(0);
	(void)state;

	for (size_t i = 0; i < A100_ROWS; i++) {
		const struct gi_row *w = &a100_rows[i];
		nvmlGpuInstanceProfileInfo_v3_t info;
		unsigned char raw[sizeof(info)];
		unsigned int u;
		unsigned long long mib;

		memset(&info, 0xA5, sizeof(info));
		info.version = nvmlGpuInstanceProfileInfo_v3;
		OK(nv.nvmlDeviceGetGpuInstanceProfileInfoV(d, w->index, (nvmlGpuInstanceProfileInfo_v2_t *)&info));
		memcpy(raw, &info, sizeof(raw));
		/* No isP2pSupported: sliceCount at +8, memory at +40, name at +48, caps at +144. */
		memcpy(&u, raw + 4, 4);
		assert_int_equal(u, w->id);
		memcpy(&u, raw + 8, 4);
		assert_int_equal(u, w->slices);
		memcpy(&u, raw + 12, 4);
		assert_int_equal(u, w->count);
		memcpy(&u, raw + 16, 4);
		assert_int_equal(u, w->sms);
		memcpy(&u, raw + 36, 4);
		assert_int_equal(u, w->ofa);
		memcpy(&mib, raw + 40, 8);
		assert_int_equal(mib, w->mib);
		assert_string_equal((const char *)raw + 48, w->name);
		memcpy(&u, raw + 144, 4);
		assert_int_equal(u, 0); /* no A100 profile has P2P or GFX */
	}
}

/* The RTX PRO 6000 "+gfx" profiles carry the GFX capability in the v3 struct. */
static void test_gi_profile_info_v3_gfx_capability(void **state)
{
	static const struct {
		unsigned int index, id, caps;
		const char *name;
	} rows[] = {
		{NVML_GPU_INSTANCE_PROFILE_1_SLICE, 14, 0, "MIG 1g.24gb"},
		{NVML_GPU_INSTANCE_PROFILE_1_SLICE_GFX, 47, NVML_GPU_INSTANCE_PROFILE_CAPS_GFX, "MIG 1g.24gb+gfx"},
		{NVML_GPU_INSTANCE_PROFILE_2_SLICE_GFX, 35, NVML_GPU_INSTANCE_PROFILE_CAPS_GFX, "MIG 2g.48gb+gfx"},
		{NVML_GPU_INSTANCE_PROFILE_4_SLICE_GFX, 32, NVML_GPU_INSTANCE_PROFILE_CAPS_GFX, "MIG 4g.96gb+gfx"},
		{NVML_GPU_INSTANCE_PROFILE_1_SLICE_ALL_ME, 65, 0, "MIG 1g.24gb+me.all"},
		{NVML_GPU_INSTANCE_PROFILE_2_SLICE_ALL_ME, 64, 0, "MIG 2g.48gb+me.all"},
		{NVML_GPU_INSTANCE_PROFILE_1_SLICE_NO_ME, 67, 0, "MIG 1g.24gb-me"},
		{NVML_GPU_INSTANCE_PROFILE_2_SLICE_NO_ME, 66, 0, "MIG 2g.48gb-me"},
		{NVML_GPU_INSTANCE_PROFILE_4_SLICE, 0, 0, "MIG 4g.96gb"},
	};
	nvmlDevice_t d = gpu(0);
	(void)state;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		nvmlGpuInstanceProfileInfo_v3_t v3;
		memset(&v3, 0xA5, sizeof(v3));
		v3.version = nvmlGpuInstanceProfileInfo_v3;
		OK(nv.nvmlDeviceGetGpuInstanceProfileInfoV(d, rows[i].index, (nvmlGpuInstanceProfileInfo_v2_t *)&v3));
		assert_int_equal(v3.id, rows[i].id);
		assert_int_equal(v3.capabilities, rows[i].caps);
		assert_string_equal(v3.name, rows[i].name);
		memset(&v3, 0x5A, sizeof(v3));
		v3.version = nvmlGpuInstanceProfileInfo_v3;
		OK(nv.nvmlDeviceGetGpuInstanceProfileInfoByIdV(d, rows[i].id, (nvmlGpuInstanceProfileInfo_v2_t *)&v3));
		assert_int_equal(v3.id, rows[i].id);
		assert_int_equal(v3.capabilities, rows[i].caps);
	}
	/* The v2 struct of a +gfx profile has no capabilities, and no P2P. */
	nvmlGpuInstanceProfileInfo_v2_t v2;
	memset(&v2, 0xA5, sizeof(v2));
	v2.version = nvmlGpuInstanceProfileInfo_v2;
	OK(nv.nvmlDeviceGetGpuInstanceProfileInfoV(d, NVML_GPU_INSTANCE_PROFILE_2_SLICE_GFX, &v2));
	assert_int_equal(v2.id, 35);
	assert_int_equal(v2.isP2pSupported, 0);
	assert_int_equal(v2.sliceCount, 2);
	/* RTX PRO 6000 lacks the 3-slice, 7-slice and REV2 profiles. */
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetGpuInstanceProfileInfoV(d, NVML_GPU_INSTANCE_PROFILE_3_SLICE, &v2));
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetGpuInstanceProfileInfoV(d, NVML_GPU_INSTANCE_PROFILE_7_SLICE, &v2));
}

static void test_gi_profile_info_bad_version(void **state)
{
	static const unsigned int bad[] = {
		0,
		NVML_STRUCT_VERSION_OF(nvmlGpuInstanceProfileInfo_t, 1),
		NVML_STRUCT_VERSION_OF(nvmlGpuInstanceProfileInfo_v2_t, 1),
		NVML_STRUCT_VERSION_OF(nvmlGpuInstanceProfileInfo_v2_t, 4),
		nvmlComputeInstanceProfileInfo_v2,
		0x02000000u,
		0xFFFFFFFFu,
	};
	nvmlDevice_t d = gpu(0);
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nvmlGpuInstanceProfileInfo_v2_t info;
		memset(&info, 0, sizeof(info));
		info.version = bad[i];
		RC(NVML_ERROR_ARGUMENT_VERSION_MISMATCH, nv.nvmlDeviceGetGpuInstanceProfileInfoV(d, 0, &info));
		assert_int_equal(info.id, 0); /* nothing written */
		RC(NVML_ERROR_ARGUMENT_VERSION_MISMATCH, nv.nvmlDeviceGetGpuInstanceProfileInfoByIdV(d, 19, &info));
		assert_int_equal(info.id, 0);
	}
}

static void test_gi_profile_info_by_id(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstanceProfileInfo_v2_t by_index, by_id;
	(void)state;

	for (size_t i = 0; i < A100_ROWS; i++) {
		memset(&by_index, 0, sizeof(by_index));
		memset(&by_id, 0, sizeof(by_id));
		by_index.version = by_id.version = nvmlGpuInstanceProfileInfo_v2;
		OK(nv.nvmlDeviceGetGpuInstanceProfileInfoV(d, a100_rows[i].index, &by_index));
		OK(nv.nvmlDeviceGetGpuInstanceProfileInfoByIdV(d, a100_rows[i].id, &by_id));
		assert_memory_equal(&by_index, &by_id, sizeof(by_id));
		assert_int_equal(by_id.id, a100_rows[i].id);
	}
	by_id.version = nvmlGpuInstanceProfileInfo_v2;
	/* Ids the A100 has no profile for (1, 6) and an index constant that is no id (18). */
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetGpuInstanceProfileInfoByIdV(d, 1, &by_id));
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetGpuInstanceProfileInfoByIdV(d, 6, &by_id));
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetGpuInstanceProfileInfoByIdV(d, 18, &by_id));
}

/* ================================================================================ */
/* placements and capacity                                                            */
/* ================================================================================ */

static void assert_placements(nvmlDevice_t d, unsigned int profile_id, const unsigned int *starts, unsigned int n,
			      unsigned int size)
{
	nvmlGpuInstancePlacement_t pl[16];
	unsigned int count = 16;

	memset(pl, 0xA5, sizeof(pl));
	OK(nv.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, profile_id, pl, &count));
	assert_int_equal(count, n);
	for (unsigned int i = 0; i < n; i++) {
		assert_int_equal(pl[i].start, starts[i]);
		assert_int_equal(pl[i].size, size);
	}
}

static void test_gi_possible_placements_v2(void **state)
{
	static const unsigned int all7[] = {0, 1, 2, 3, 4, 5, 6}, even4[] = {0, 2, 4, 6}, even3[] = {0, 2, 4},
				  halves[] = {0, 4}, zero[] = {0};
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstancePlacement_t pl[16];
	unsigned int n;
	(void)state;

	assert_placements(d, 19, all7, 7, 1);
	assert_placements(d, 20, all7, 7, 1);
	assert_placements(d, 15, even4, 4, 2);
	assert_placements(d, 14, even3, 3, 2);
	assert_placements(d, 9, halves, 2, 4);
	assert_placements(d, 5, zero, 1, 4);
	assert_placements(d, 0, zero, 1, 8);

	/* NULL buffer: the count. */
	n = 0;
	OK(nv.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, 19, NULL, &n));
	assert_int_equal(n, 7);
	/* Short buffer: INSUFFICIENT_SIZE and the count needed; nothing written past it. */
	memset(pl, 0xA5, sizeof(pl));
	n = 3;
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, 19, pl, &n));
	assert_int_equal(n, 7);
	assert_int_equal(pl[3].start, 0xA5A5A5A5u);
	n = 0;
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, 9, pl, &n));
	assert_int_equal(n, 2);
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, 19, pl, NULL));
	n = 16;
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, 6, pl, &n));

	/* Placements are returned whatever the MIG mode, and whatever is occupied. */
	set_mig(d, NVML_DEVICE_MIG_ENABLE, NVML_SUCCESS);
	gi_at(d, 9, 4, 4);
	assert_placements(d, 9, halves, 2, 4);
	assert_placements(d, 19, all7, 7, 1);
}

static void test_gi_possible_placements_v1(void **state)
{
	static const unsigned int all7[] = {0, 1, 2, 3, 4, 5, 6};
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstancePlacement_t pl[8];
	unsigned int n = 8;
	(void)state;

	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstancePossiblePlacements(d, 19, NULL, &n));
	n = 8;
	OK(nv.nvmlDeviceGetGpuInstancePossiblePlacements(d, 19, pl, &n));
	assert_int_equal(n, 7);
	for (unsigned int i = 0; i < 7; i++) {
		assert_int_equal(pl[i].start, all7[i]);
		assert_int_equal(pl[i].size, 1);
	}
	/* +me: instanceCount 1 but 7 placements. */
	n = 8;
	OK(nv.nvmlDeviceGetGpuInstancePossiblePlacements(d, 20, pl, &n));
	assert_int_equal(n, 7);
	n = 1;
	OK(nv.nvmlDeviceGetGpuInstancePossiblePlacements(d, 0, pl, &n));
	assert_int_equal(n, 1);
	assert_int_equal(pl[0].start, 0);
	assert_int_equal(pl[0].size, 8);
}

static void test_gi_remaining_capacity_empty(void **state)
{
	nvmlDevice_t d = gpu(0);
	unsigned int n;
	(void)state;

	for (size_t i = 0; i < A100_ROWS; i++)
		assert_int_equal(capacity(d, a100_rows[i].id), a100_rows[i].count);
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetGpuInstanceRemainingCapacity(d, 6, &n));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstanceRemainingCapacity(d, 19, NULL));
}

/* Facts 9.4: one 3g at 4:4 on an A100-40GB leaves 1g:4, 2g:2, 3g:1, 4g:1, 7g:0. */
static void test_gi_remaining_capacity_after_3g_at_4(void **state)
{
	nvmlDevice_t d = gpu(0);
	(void)state;

	gi_at(d, 9, 4, 4);
	assert_int_equal(capacity(d, 19), 4);
	assert_int_equal(capacity(d, 14), 2);
	assert_int_equal(capacity(d, 9), 1);
	assert_int_equal(capacity(d, 5), 1);
	assert_int_equal(capacity(d, 0), 0);
	assert_int_equal(capacity(d, 20), 1);
	assert_int_equal(capacity(d, 15), 2);
	/* And each count is really creatable: four 1g fill the free half. */
	for (int i = 0; i < 4; i++)
		gi_new(d, 19);
	assert_int_equal(capacity(d, 19), 0);
	nvmlGpuInstance_t gi;
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstance(d, 19, &gi));
}

/* NVIDIA's MIG guide, A100-40GB: -cgi 19,19,14,9 -> 1g at 6, 1g at 4, 2g at 0, then the 3g
 * finds neither half free. */
static void test_nvidia_example_19_19_14_then_3g_fails(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstance_t gi = NULL;
	(void)state;

	gi_expect(d, 19, 6, 1, 13);
	gi_expect(d, 19, 4, 1, 11);
	gi_expect(d, 14, 0, 2, 3);
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstance(d, 9, &gi));
	assert_int_equal(gi_count(d, 9), 0);
	assert_int_equal(capacity(d, 9), 0);
}

/* The same profiles in the order 9,19,14,19 all fit. */
static void test_nvidia_example_9_19_14_19_succeeds(void **state)
{
	nvmlDevice_t d = gpu(0);
	(void)state;

	gi_expect(d, 9, 4, 4, 2);  /* first 3g on an empty A100 -> 4 */
	gi_expect(d, 19, 0, 1, 7);
	gi_expect(d, 14, 2, 2, 4); /* 2g after 3g@4 and 1g@0 -> 2 */
	gi_expect(d, 19, 1, 1, 8);
	assert_int_equal(capacity(d, 19), 0);
}

static void check_default_1g_order(nvmlDevice_t d)
{
	static const unsigned int order[] = {6, 4, 5, 0, 1, 2, 3};
	nvmlGpuInstance_t gi;

	for (size_t i = 0; i < 7; i++)
		gi_expect(d, 19, order[i], 1, 7 + order[i]);
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstance(d, 19, &gi));
	assert_int_equal(gi_count(d, 19), 7);
}

static void test_default_1g_placements_a100(void **state)
{
	(void)state;
	check_default_1g_order(gpu(0));
}

static void test_default_1g_placements_h100(void **state)
{
	(void)state;
	check_default_1g_order(gpu(0));
}

static void test_create_gi_errors(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstance_t gi = NULL;
	nvmlGpuInstancePlacement_t at;
	(void)state;

	gi_at(d, 19, 5, 1);
	/* The same placement again, and placements overlapping it. */
	at = (nvmlGpuInstancePlacement_t){5, 1};
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 19, &at, &gi));
	at = (nvmlGpuInstancePlacement_t){4, 2};
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 14, &at, &gi));
	at = (nvmlGpuInstancePlacement_t){4, 4};
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 9, &at, &gi));
	at = (nvmlGpuInstancePlacement_t){0, 8};
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 0, &at, &gi));
	/* Placements the profile does not list. */
	at = (nvmlGpuInstancePlacement_t){2, 4};
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 9, &at, &gi));
	at = (nvmlGpuInstancePlacement_t){7, 1};
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 19, &at, &gi));
	at = (nvmlGpuInstancePlacement_t){0, 2};
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 19, &at, &gi));
	at = (nvmlGpuInstancePlacement_t){1, 2};
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 14, &at, &gi));
	at = (nvmlGpuInstancePlacement_t){0, 3};
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 9, &at, &gi));
	/* Bad arguments. */
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 19, NULL, &gi));
	at = (nvmlGpuInstancePlacement_t){0, 1};
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 19, &at, NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceCreateGpuInstance(d, 19, NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceCreateGpuInstance(d, 6, &gi));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 6, &at, &gi));
	/* Only the first GI was made. */
	assert_int_equal(gi_count(d, 19), 1);
	assert_int_equal(gi_count(d, 14) + gi_count(d, 9) + gi_count(d, 0), 0);
}

static void test_only_one_me_instance(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstance_t gi = NULL;
	nvmlGpuInstancePlacement_t at = {0, 1};
	(void)state;

	gi_new(d, 20);
	assert_int_equal(capacity(d, 20), 0);
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstance(d, 20, &gi));
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 20, &at, &gi));
	assert_int_equal(gi_count(d, 20), 1);
	/* Plain 1g still fit beside it. */
	assert_int_equal(capacity(d, 19), 6);
	gi_new(d, 19);
}

/* RTX PRO 6000: "+me.all" takes every media engine; beside it only "-me" fits. */
static void test_rtx_me_all_blocks_all_but_no_me(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstance_t gi = NULL;
	nvmlGpuInstancePlacement_t at;
	(void)state;

	nvmlGpuInstance_t all = gi_at(d, 65, 0, 3);
	static const unsigned int blocked_1g[] = {14, 21, 47, 65};
	for (size_t i = 0; i < sizeof(blocked_1g) / sizeof(blocked_1g[0]); i++) {
		at = (nvmlGpuInstancePlacement_t){3, 3};
		RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, blocked_1g[i], &at, &gi));
		RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstance(d, blocked_1g[i], &gi));
		assert_int_equal(capacity(d, blocked_1g[i]), 0);
	}
	static const unsigned int blocked_2g[] = {5, 35, 64};
	for (size_t i = 0; i < sizeof(blocked_2g) / sizeof(blocked_2g[0]); i++) {
		at = (nvmlGpuInstancePlacement_t){6, 6};
		RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, blocked_2g[i], &at, &gi));
		assert_int_equal(capacity(d, blocked_2g[i]), 0);
	}
	assert_int_equal(capacity(d, 67), 3);
	assert_int_equal(capacity(d, 66), 1);
	nvmlGpuInstance_t no1 = gi_at(d, 67, 3, 3);
	nvmlGpuInstance_t no2 = gi_at(d, 66, 6, 6);
	assert_int_equal(gi_info(no2).id, 2);
	/* With the media-all instance gone, a plain profile fits again. */
	OK(nv.nvmlGpuInstanceDestroy(all));
	assert_int_equal(capacity(d, 14), 1);
	gi_at(d, 14, 0, 3);
	OK(nv.nvmlGpuInstanceDestroy(no1));
	OK(nv.nvmlGpuInstanceDestroy(no2));
}

static void test_rtx_me_all_refused_beside_plain_instance(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstance_t gi = NULL;
	nvmlGpuInstancePlacement_t at;
	(void)state;

	nvmlGpuInstance_t plain = gi_at(d, 14, 0, 3);
	assert_int_equal(capacity(d, 65), 0);
	assert_int_equal(capacity(d, 64), 0);
	at = (nvmlGpuInstancePlacement_t){3, 3};
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 65, &at, &gi));
	at = (nvmlGpuInstancePlacement_t){6, 6};
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 64, &at, &gi));
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstance(d, 65, &gi));
	OK(nv.nvmlGpuInstanceDestroy(plain));
	/* Beside a "-me" instance it is accepted. */
	gi_at(d, 67, 0, 3);
	assert_int_equal(capacity(d, 65), 1);
	gi_at(d, 65, 3, 3);
}

/* ================================================================================ */
/* GPU-instance ids                                                                   */
/* ================================================================================ */

static void test_gi_ids_follow_placement_table(void **state)
{
	nvmlDevice_t d = gpu(0);
	(void)state;

	for (unsigned int s = 0; s < 7; s++)
		assert_int_equal(gi_id_at(d, 19, s, 1), 7 + s);
	for (unsigned int s = 0; s < 7; s++)
		assert_int_equal(gi_id_at(d, 20, s, 1), 7 + s);
	for (unsigned int s = 0; s < 8; s += 2)
		assert_int_equal(gi_id_at(d, 15, s, 2), 3 + s / 2);
	for (unsigned int s = 0; s < 6; s += 2)
		assert_int_equal(gi_id_at(d, 14, s, 2), 3 + s / 2);
	assert_int_equal(gi_id_at(d, 9, 0, 4), 1);
	assert_int_equal(gi_id_at(d, 9, 4, 4), 2);
	assert_int_equal(gi_id_at(d, 5, 0, 4), 1);
	assert_int_equal(gi_id_at(d, 0, 0, 8), 0);
}

static void test_gi_id_same_after_destroy_recreate(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstance_t gi = NULL;
	(void)state;

	gi_at(d, 19, 0, 1);
	nvmlGpuInstance_t a = gi_at(d, 19, 3, 1);
	assert_int_equal(gi_info(a).id, 10);
	OK(nv.nvmlGpuInstanceDestroy(a));
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetGpuInstanceById(d, 10, &gi));
	gi_at(d, 19, 6, 1);
	nvmlGpuInstance_t b = gi_at(d, 19, 3, 1);
	assert_int_equal(gi_info(b).id, 10); /* the span's id, not a counter */
	OK(nv.nvmlDeviceGetGpuInstanceById(d, 10, &gi));
	assert_int_equal(gi_info(gi).placement.start, 3);
}

/* Boards with swapped halves: 3g at 4:4 is GI 1, 1g at 0 is GI 11 (facts 7.4). */
static void test_gi_ids_swapped_halves(void **state)
{
	nvmlDevice_t d = gpu(0);
	(void)state;

	nvmlGpuInstance_t g3 = gi_at(d, 9, 4, 4);
	nvmlGpuInstanceInfo_t info = gi_info(g3);
	assert_int_equal(info.id, 1);
	assert_int_equal(info.placement.start, 4); /* placements stay normalized */
	nvmlGpuInstance_t g1 = gi_at(d, 19, 0, 1);
	info = gi_info(g1);
	assert_int_equal(info.id, 11);
	assert_int_equal(info.placement.start, 0);
	assert_int_equal(gi_id_at(d, 14, 2, 2), 6);
	OK(nv.nvmlGpuInstanceDestroy(g3));
	OK(nv.nvmlGpuInstanceDestroy(g1));
	assert_int_equal(gi_id_at(d, 5, 0, 4), 2);
	assert_int_equal(gi_id_at(d, 0, 0, 8), 0);
}

/* RTX PRO 6000: 4x1g -> GIs 3,4,5,6 at 0:3, 3:3, 6:3, 9:3; 2g at 0:6 -> GI 1. */
static void test_rtx_pro_gi_ids(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstance_t gi = NULL;
	nvmlGpuInstance_t made[4];
	(void)state;

	for (unsigned int i = 0; i < 4; i++)
		made[i] = gi_expect(d, 14, 3 * i, 3, 3 + i);
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstance(d, 14, &gi));
	for (unsigned int i = 0; i < 4; i++)
		OK(nv.nvmlGpuInstanceDestroy(made[i]));
	assert_int_equal(gi_id_at(d, 5, 0, 6), 1);
	assert_int_equal(gi_id_at(d, 5, 6, 6), 2);
	assert_int_equal(gi_id_at(d, 0, 0, 12), 0);
}

/* ================================================================================ */
/* GPU-instance lookups and lifecycle                                                  */
/* ================================================================================ */

static void test_gi_info_and_lookup(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstance_t list[8], found = NULL;
	unsigned int n;
	(void)state;

	nvmlGpuInstance_t a = gi_at(d, 19, 2, 1);
	nvmlGpuInstance_t b = gi_at(d, 19, 0, 1);
	nvmlGpuInstance_t c = gi_at(d, 9, 4, 4);
	nvmlGpuInstanceInfo_t info = gi_info(c);
	assert_ptr_equal(info.device, d);
	assert_int_equal(info.id, 2);
	assert_int_equal(info.profileId, 9); /* the id it was created with */
	assert_int_equal(info.placement.start, 4);
	assert_int_equal(info.placement.size, 4);

	n = 8;
	OK(nv.nvmlDeviceGetGpuInstances(d, 19, list, &n));
	assert_int_equal(n, 2);
	unsigned int ids = 0;
	for (unsigned int i = 0; i < n; i++) {
		info = gi_info(list[i]);
		assert_int_equal(info.profileId, 19);
		ids |= 1u << info.id;
	}
	assert_int_equal(ids, (1u << 9) | (1u << 7));
	n = 8;
	OK(nv.nvmlDeviceGetGpuInstances(d, 14, list, &n));
	assert_int_equal(n, 0);

	OK(nv.nvmlDeviceGetGpuInstanceById(d, 9, &found));
	assert_int_equal(gi_info(found).placement.start, 2);
	OK(nv.nvmlDeviceGetGpuInstanceById(d, 7, &found));
	assert_int_equal(gi_info(found).placement.start, 0);
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetGpuInstanceById(d, 8, &found));
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetGpuInstanceById(d, 0, &found));
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetGpuInstanceById(d, 1000, &found));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstanceById(d, 9, NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceGetInfo(a, NULL));
	n = 8;
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstances(d, 19, NULL, &n));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstances(d, 19, list, NULL));
	n = 8;
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstances(d, 6, list, &n));

	OK(nv.nvmlGpuInstanceDestroy(a));
	OK(nv.nvmlGpuInstanceDestroy(b));
	OK(nv.nvmlGpuInstanceDestroy(c));
	assert_int_equal(gi_count(d, 19), 0);
	assert_int_equal(capacity(d, 0), 1);
}

static void test_gi_calls_with_mig_disabled_not_supported(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstance_t gi = NULL, list[8];
	nvmlGpuInstancePlacement_t at = {0, 1};
	unsigned int n = 8;
	(void)state;

	assert_mig_mode(d, 0, 0);
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceCreateGpuInstance(d, 19, &gi));
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 19, &at, &gi));
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetGpuInstances(d, 19, list, &n));
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetGpuInstanceById(d, 7, &gi));
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetGpuInstanceRemainingCapacity(d, 19, &n));
	nvmlDevice_t m = NULL;
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetMigDeviceHandleByIndex(d, 0, &m));
	/* Placements do not depend on the MIG mode. */
	n = 0;
	OK(nv.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, 19, NULL, &n));
	assert_int_equal(n, 7);

	/* A GI handle from while MIG was on is dead once it is off. */
	set_mig(d, NVML_DEVICE_MIG_ENABLE, NVML_SUCCESS);
	gi = gi_new(d, 19);
	OK(nv.nvmlGpuInstanceDestroy(gi));
	set_mig(d, NVML_DEVICE_MIG_DISABLE, NVML_SUCCESS);
	snprintf(handle_label, sizeof(handle_label), "GI handle after MIG was disabled");
	expect_gi_calls(gi, NVML_ERROR_INVALID_ARGUMENT);
}

static void test_gi_destroy_with_ci_is_in_use(void **state)
{
	nvmlDevice_t d = gpu(0);
	(void)state;

	nvmlGpuInstance_t gi = gi_at(d, 14, 0, 2);
	nvmlComputeInstance_t ci = ci_new(gi, 0);
	RC(NVML_ERROR_IN_USE, nv.nvmlGpuInstanceDestroy(gi));
	assert_int_equal(gi_count(d, 14), 1);
	assert_int_equal(gi_info(gi).id, 3);
	OK(nv.nvmlComputeInstanceDestroy(ci));
	OK(nv.nvmlGpuInstanceDestroy(gi));
	assert_int_equal(gi_count(d, 14), 0);
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceDestroy(gi)); /* already gone */
}

/* ================================================================================ */
/* compute instances                                                                  */
/* ================================================================================ */

static void test_ci_ids_lowest_free(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlComputeInstance_t ci[3], extra = NULL;
	(void)state;

	nvmlGpuInstance_t gi = gi_at(d, 9, 0, 4); /* GI 1 */
	for (unsigned int i = 0; i < 3; i++) {
		ci[i] = ci_new(gi, 0);
		nvmlComputeInstanceInfo_t info = ci_info(ci[i]);
		assert_int_equal(info.id, i);
		assert_int_equal(info.profileId, 0);
		assert_int_equal(info.placement.start, i);
		assert_int_equal(info.placement.size, 1);
	}
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlGpuInstanceCreateComputeInstance(gi, 0, &extra));
	OK(nv.nvmlComputeInstanceDestroy(ci[1]));
	nvmlComputeInstance_t again = ci_new(gi, 0);
	nvmlComputeInstanceInfo_t info = ci_info(again);
	assert_int_equal(info.id, 1);
	assert_int_equal(info.placement.start, 1);
	assert_int_equal(info.placement.size, 1);
}

struct ci_row {
	unsigned int id, slices, count, sms;
	const char *name;
};

static void test_ci_profile_info_versions(void **state)
{
	static const struct ci_row rows[] = {
		{0, 1, 3, 14, "MIG 1c.3g.20gb"},
		{1, 2, 1, 28, "MIG 2c.3g.20gb"},
		{2, 3, 1, 42, "MIG 3g.20gb"},
	};
	nvmlDevice_t d = gpu(0);
	(void)state;

	nvmlGpuInstance_t gi = gi_at(d, 9, 4, 4);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct ci_row *w = &rows[i];
		nvmlComputeInstanceProfileInfo_t v1;
		memset(&v1, 0xA5, sizeof(v1));
		OK(nv.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, w->id, NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED,
								   &v1));
		assert_int_equal(v1.id, w->id);
		assert_int_equal(v1.sliceCount, w->slices);
		assert_int_equal(v1.instanceCount, w->count);
		assert_int_equal(v1.multiprocessorCount, w->sms);
		assert_int_equal(v1.sharedCopyEngineCount, 3); /* the GI's engines, shared */
		assert_int_equal(v1.sharedDecoderCount, 2);
		assert_int_equal(v1.sharedEncoderCount, 0);
		assert_int_equal(v1.sharedJpegCount, 0);
		assert_int_equal(v1.sharedOfaCount, 0);

		/* v2 (136 bytes): nothing is written past it. */
		struct {
			nvmlComputeInstanceProfileInfo_v2_t info;
			unsigned char guard[16];
		} v2;
		memset(&v2, 0xA5, sizeof(v2));
		v2.info.version = nvmlComputeInstanceProfileInfo_v2;
		OK(nv.nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, w->id, 0, &v2.info));
		assert_int_equal(v2.info.id, w->id);
		assert_int_equal(v2.info.sliceCount, w->slices);
		assert_int_equal(v2.info.instanceCount, w->count);
		assert_int_equal(v2.info.multiprocessorCount, w->sms);
		assert_int_equal(v2.info.sharedDecoderCount, 2);
		assert_string_equal(v2.info.name, w->name);
		for (size_t k = 0; k < sizeof(v2.guard); k++)
			assert_int_equal(v2.guard[k], 0xA5);

		nvmlComputeInstanceProfileInfo_v3_t v3;
		memset(&v3, 0xA5, sizeof(v3));
		v3.version = nvmlComputeInstanceProfileInfo_v3;
		OK(nv.nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, w->id, 0, (nvmlComputeInstanceProfileInfo_v2_t *)&v3));
		assert_int_equal(v3.id, w->id);
		assert_int_equal(v3.sliceCount, w->slices);
		assert_string_equal(v3.name, w->name);
		assert_int_equal(v3.capabilities, 0);
	}
	/* Profiles a 3g GI does not offer; out of range; bad engine profile; bad version. */
	nvmlComputeInstanceProfileInfo_t v1;
	nvmlComputeInstanceProfileInfo_v2_t v2 = {.version = nvmlComputeInstanceProfileInfo_v2};
	for (unsigned int p = 3; p < NVML_COMPUTE_INSTANCE_PROFILE_COUNT; p++) {
		RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, p, 0, &v1));
		RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, p, 0, &v2));
	}
	RC(NVML_ERROR_INVALID_ARGUMENT,
	   nv.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, NVML_COMPUTE_INSTANCE_PROFILE_COUNT, 0, &v1));
	RC(NVML_ERROR_INVALID_ARGUMENT,
	   nv.nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, NVML_COMPUTE_INSTANCE_PROFILE_COUNT, 0, &v2));
	RC(NVML_ERROR_INVALID_ARGUMENT,
	   nv.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, 0, NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_COUNT, &v1));
	RC(NVML_ERROR_INVALID_ARGUMENT,
	   nv.nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, 0, NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_COUNT, &v2));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, 0, 0, NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, 0, 0, NULL));
	static const unsigned int bad[] = {0, nvmlGpuInstanceProfileInfo_v2,
					   NVML_STRUCT_VERSION_OF(nvmlComputeInstanceProfileInfo_t, 1),
					   NVML_STRUCT_VERSION_OF(nvmlComputeInstanceProfileInfo_v2_t, 3)};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&v2, 0, sizeof(v2));
		v2.version = bad[i];
		RC(NVML_ERROR_ARGUMENT_VERSION_MISMATCH, nv.nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, 0, 0, &v2));
		assert_int_equal(v2.sliceCount, 0);
	}
}

/* CI profiles inside a "+gfx" GI have the CI GFX capability. */
static void test_ci_profile_info_gfx_capability(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlComputeInstanceProfileInfo_v3_t v3;
	(void)state;

	nvmlGpuInstance_t gfx = gi_at(d, 35, 0, 6);
	for (unsigned int p = 0; p < 2; p++) {
		memset(&v3, 0xA5, sizeof(v3));
		v3.version = nvmlComputeInstanceProfileInfo_v3;
		OK(nv.nvmlGpuInstanceGetComputeInstanceProfileInfoV(gfx, p, 0, (nvmlComputeInstanceProfileInfo_v2_t *)&v3));
		assert_int_equal(v3.capabilities, NVML_COMPUTE_INSTANCE_PROFILE_CAPS_GFX);
		assert_string_equal(v3.name, p == 0 ? "MIG 1c.2g.48gb+gfx" : "MIG 2g.48gb+gfx");
	}
	nvmlGpuInstance_t plain = gi_at(d, 5, 6, 6);
	memset(&v3, 0xA5, sizeof(v3));
	v3.version = nvmlComputeInstanceProfileInfo_v3;
	OK(nv.nvmlGpuInstanceGetComputeInstanceProfileInfoV(plain, 1, 0, (nvmlComputeInstanceProfileInfo_v2_t *)&v3));
	assert_int_equal(v3.capabilities, 0);
	assert_string_equal(v3.name, "MIG 2g.48gb");
}

static void test_ci_remaining_capacity_and_placements(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlComputeInstancePlacement_t pl[8];
	unsigned int n;
	(void)state;

	nvmlGpuInstance_t gi = gi_at(d, 9, 0, 4);
	assert_int_equal(ci_capacity(gi, 0), 3);
	assert_int_equal(ci_capacity(gi, 1), 1);
	assert_int_equal(ci_capacity(gi, 2), 1);
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, 3, &n));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, 9, &n));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, 0, NULL));

	n = 0;
	OK(nv.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, 0, NULL, &n));
	assert_int_equal(n, 3);
	n = 1;
	memset(pl, 0xA5, sizeof(pl));
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, 0, pl, &n));
	assert_int_equal(n, 3);
	assert_int_equal(pl[1].start, 0xA5A5A5A5u);
	n = 8;
	OK(nv.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, 0, pl, &n));
	assert_int_equal(n, 3);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(pl[i].start, i);
		assert_int_equal(pl[i].size, 1);
	}
	n = 8;
	OK(nv.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, 1, pl, &n));
	assert_int_equal(n, 1);
	assert_int_equal(pl[0].start, 0);
	assert_int_equal(pl[0].size, 2);
	n = 8;
	OK(nv.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, 2, pl, &n));
	assert_int_equal(n, 1);
	assert_int_equal(pl[0].size, 3);
	n = 8;
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, 4, pl, &n));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, 0, pl, NULL));

	/* A 2c at 0:2 leaves one 1c (at 2) and no 2c or 3c. */
	ci_at(gi, 1, 0, 2);
	assert_int_equal(ci_capacity(gi, 0), 1);
	assert_int_equal(ci_capacity(gi, 1), 0);
	assert_int_equal(ci_capacity(gi, 2), 0);
	nvmlComputeInstanceInfo_t info = ci_info(ci_new(gi, 0));
	assert_int_equal(info.placement.start, 2);
	assert_int_equal(ci_capacity(gi, 0), 0);
}

static void test_ci_create_errors(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlComputeInstance_t ci = NULL;
	nvmlComputeInstancePlacement_t at;
	unsigned int n;
	(void)state;

	nvmlGpuInstance_t gi = gi_at(d, 9, 0, 4);
	ci_at(gi, 1, 0, 2);
	at = (nvmlComputeInstancePlacement_t){1, 1};
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, 0, &at, &ci));
	at = (nvmlComputeInstancePlacement_t){0, 3};
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, 2, &at, &ci));
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlGpuInstanceCreateComputeInstance(gi, 1, &ci));
	/* Unlisted placements. */
	at = (nvmlComputeInstancePlacement_t){1, 2};
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, 1, &at, &ci));
	at = (nvmlComputeInstancePlacement_t){3, 1};
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, 0, &at, &ci));
	/* Profiles the GI lacks, out of range, bad pointers. */
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlGpuInstanceCreateComputeInstance(gi, 3, &ci));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceCreateComputeInstance(gi, 9, &ci));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceCreateComputeInstance(gi, 0, NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, 0, NULL, &ci));
	nvmlComputeInstance_t list[8];
	n = 8;
	OK(nv.nvmlGpuInstanceGetComputeInstances(gi, 0, list, &n));
	assert_int_equal(n, 0);
	n = 8;
	OK(nv.nvmlGpuInstanceGetComputeInstances(gi, 1, list, &n));
	assert_int_equal(n, 1);
}

static void test_ci_lookup_and_info(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlComputeInstance_t list[8], found = NULL;
	unsigned int n;
	(void)state;

	nvmlGpuInstance_t gi = gi_at(d, 9, 4, 4); /* GI 2 */
	nvmlComputeInstance_t c2 = ci_at(gi, 1, 0, 2); /* CI 0 */
	nvmlComputeInstance_t c1 = ci_new(gi, 0);      /* CI 1 at 2:1 */

	nvmlComputeInstanceInfo_t info = ci_info(c1);
	assert_ptr_equal(info.device, d);
	assert_int_equal(gi_info(info.gpuInstance).id, 2);
	assert_int_equal(info.id, 1);
	assert_int_equal(info.profileId, 0);
	assert_int_equal(info.placement.start, 2);
	assert_int_equal(info.placement.size, 1);

	/* The R450 symbol fills 24 bytes: the same members, no placement. */
	struct {
		nvmlComputeInstanceInfo_v1_t info;
		unsigned char guard[16];
	} v1;
	memset(&v1, 0xA5, sizeof(v1));
	OK(nv.nvmlComputeInstanceGetInfo(c1, &v1.info));
	assert_ptr_equal(v1.info.device, d);
	assert_int_equal(gi_info(v1.info.gpuInstance).id, 2);
	assert_int_equal(v1.info.id, 1);
	assert_int_equal(v1.info.profileId, 0);
	for (size_t k = 0; k < sizeof(v1.guard); k++)
		assert_int_equal(v1.guard[k], 0xA5);
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlComputeInstanceGetInfo(c1, NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlComputeInstanceGetInfo_v2(c1, NULL));

	n = 8;
	OK(nv.nvmlGpuInstanceGetComputeInstances(gi, 0, list, &n));
	assert_int_equal(n, 1);
	assert_int_equal(ci_info(list[0]).id, 1);
	n = 8;
	OK(nv.nvmlGpuInstanceGetComputeInstances(gi, 1, list, &n));
	assert_int_equal(n, 1);
	assert_int_equal(ci_info(list[0]).id, 0);
	n = 8;
	OK(nv.nvmlGpuInstanceGetComputeInstances(gi, 2, list, &n));
	assert_int_equal(n, 0);
	n = 8;
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlGpuInstanceGetComputeInstances(gi, 3, list, &n));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceGetComputeInstances(gi, 0, NULL, &n));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceGetComputeInstances(gi, 0, list, NULL));

	OK(nv.nvmlGpuInstanceGetComputeInstanceById(gi, 0, &found));
	assert_int_equal(ci_info(found).profileId, 1);
	OK(nv.nvmlGpuInstanceGetComputeInstanceById(gi, 1, &found));
	assert_int_equal(ci_info(found).profileId, 0);
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlGpuInstanceGetComputeInstanceById(gi, 2, &found));
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlGpuInstanceGetComputeInstanceById(gi, 7, &found));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlGpuInstanceGetComputeInstanceById(gi, 0, NULL));

	OK(nv.nvmlComputeInstanceDestroy(c2));
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlGpuInstanceGetComputeInstanceById(gi, 0, &found));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlComputeInstanceDestroy(c2));
	OK(nv.nvmlComputeInstanceDestroy(c1));
	OK(nv.nvmlGpuInstanceDestroy(gi));
}

/* ================================================================================ */
/* MIG device handles                                                                 */
/* ================================================================================ */

static void test_max_mig_device_count_a100(void **state)
{
	nvmlDevice_t d = gpu(0);
	unsigned int n = 99;
	(void)state;

	OK(nv.nvmlDeviceGetMaxMigDeviceCount(d, &n));
	assert_int_equal(n, 7);
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetMaxMigDeviceCount(d, NULL));
	set_mig(d, NVML_DEVICE_MIG_DISABLE, NVML_SUCCESS);
	OK(nv.nvmlDeviceGetMaxMigDeviceCount(d, &n));
	assert_int_equal(n, 0);
}

static void test_max_mig_device_count_a30(void **state)
{
	nvmlDevice_t d = gpu(0), m = NULL;
	unsigned int n = 99;
	(void)state;

	OK(nv.nvmlDeviceGetMaxMigDeviceCount(d, &n));
	assert_int_equal(n, 4);
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetMigDeviceHandleByIndex(d, 3, &m));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetMigDeviceHandleByIndex(d, 4, &m));
}

/* MIG devices are indexed by (GI id, CI id), whatever order they were made in. */
static void test_mig_devices_ordered_by_gi_then_ci(void **state)
{
	static const unsigned int want[][2] = {{5, 0}, {5, 1}, {7, 0}, {9, 0}};
	nvmlDevice_t d = gpu(0), m = NULL;
	(void)state;

	nvmlGpuInstance_t g9 = gi_at(d, 19, 2, 1);
	ci_new(g9, 0);
	nvmlGpuInstance_t g5 = gi_at(d, 14, 4, 2);
	ci_at(g5, 0, 1, 1); /* CI 0 */
	ci_at(g5, 0, 0, 1); /* CI 1 */
	nvmlGpuInstance_t g7 = gi_at(d, 19, 0, 1);
	ci_new(g7, 0);

	for (unsigned int i = 0; i < 4; i++) {
		unsigned int v = 99;
		m = mig_dev(d, i);
		OK(nv.nvmlDeviceGetGpuInstanceId(m, &v));
		assert_int_equal(v, want[i][0]);
		OK(nv.nvmlDeviceGetComputeInstanceId(m, &v));
		assert_int_equal(v, want[i][1]);
		OK(nv.nvmlDeviceGetIndex(m, &v)); /* the MIG index */
		assert_int_equal(v, i);
		OK(nv.nvmlDeviceIsMigDeviceHandle(m, &v));
		assert_int_equal(v, 1);
	}
	for (unsigned int i = 4; i < 7; i++)
		RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetMigDeviceHandleByIndex(d, i, &m));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetMigDeviceHandleByIndex(d, 7, &m));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetMigDeviceHandleByIndex(d, 0xFFFFFFFFu, &m));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetMigDeviceHandleByIndex(d, 0, NULL));
	/* The physical GPU count never includes MIG devices. */
	unsigned int n = 0;
	OK(nv.nvmlDeviceGetCount_v2(&n));
	assert_int_equal(n, 1);
}

static void test_mig_device_handle_by_index_with_mig_off(void **state)
{
	nvmlDevice_t d = gpu(0), m = NULL;
	(void)state;

	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetMigDeviceHandleByIndex(d, 0, &m));
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetMigDeviceHandleByIndex(d, 6, &m));
}

/* Queries that only MIG handles answer, asked of the physical GPU. */
static void test_physical_handle_mig_queries(void **state)
{
	nvmlDevice_t d = gpu(0), parent = NULL;
	nvmlDeviceAttributes_t a;
	nvmlDeviceAttributes_v1_t a1;
	unsigned int v = 99;
	(void)state;

	OK(nv.nvmlDeviceIsMigDeviceHandle(d, &v));
	assert_int_equal(v, 0);
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetGpuInstanceId(d, &v));
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetComputeInstanceId(d, &v));
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetAttributes_v2(d, &a));
	RC(NVML_ERROR_NOT_SUPPORTED, nv.nvmlDeviceGetAttributes(d, &a1));
	nvmlReturn_t r = nv.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(d, &parent);
	assert_true(r == NVML_ERROR_INVALID_ARGUMENT || r == NVML_ERROR_NOT_SUPPORTED);
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceIsMigDeviceHandle(d, NULL));
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetGpuInstanceId(d, NULL));
}

static void test_mig_device_name_attributes_memory(void **state)
{
	nvmlDevice_t d = gpu(0), parent = NULL;
	char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
	nvmlDeviceAttributes_t a;
	nvmlMemory_t mem;
	nvmlMemory_v2_t mem2;
	unsigned int v;
	(void)state;

	nvmlGpuInstance_t g1 = gi_at(d, 9, 0, 4); /* GI 1 */
	ci_new(g1, 2);                            /* full 3g CI */
	nvmlGpuInstance_t g2 = gi_at(d, 9, 4, 4); /* GI 2 */
	ci_at(g2, 1, 0, 2);                       /* 2c, CI 0 */
	ci_new(g2, 0);                            /* 1c, CI 1 at 2 */

	nvmlDevice_t full = mig_dev(d, 0), two = mig_dev(d, 1), one = mig_dev(d, 2);
	OK(nv.nvmlDeviceGetName(full, name, sizeof(name)));
	assert_string_equal(name, "NVIDIA A100-SXM4-40GB MIG 3g.20gb");
	OK(nv.nvmlDeviceGetName(two, name, sizeof(name)));
	assert_string_equal(name, "NVIDIA A100-SXM4-40GB MIG 2c.3g.20gb");
	OK(nv.nvmlDeviceGetName(one, name, sizeof(name)));
	assert_string_equal(name, "NVIDIA A100-SXM4-40GB MIG 1c.3g.20gb");
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlDeviceGetName(full, name, 10));

	memset(&a, 0xA5, sizeof(a));
	OK(nv.nvmlDeviceGetAttributes_v2(two, &a));
	assert_int_equal(a.multiprocessorCount, 28);
	assert_int_equal(a.sharedCopyEngineCount, 3);
	assert_int_equal(a.sharedDecoderCount, 2);
	assert_int_equal(a.sharedEncoderCount, 0);
	assert_int_equal(a.sharedJpegCount, 0);
	assert_int_equal(a.sharedOfaCount, 0);
	assert_int_equal(a.gpuInstanceSliceCount, 3);
	assert_int_equal(a.computeInstanceSliceCount, 2);
	assert_int_equal(a.memorySizeMB, 19968);
	OK(nv.nvmlDeviceGetAttributes_v2(full, &a));
	assert_int_equal(a.multiprocessorCount, 42);
	assert_int_equal(a.computeInstanceSliceCount, 3);
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetAttributes_v2(full, NULL));

	/* The v1 symbol writes the first six members only. */
	struct {
		nvmlDeviceAttributes_v1_t a;
		unsigned char guard[16];
	} a1;
	memset(&a1, 0xA5, sizeof(a1));
	OK(nv.nvmlDeviceGetAttributes(one, &a1.a));
	assert_int_equal(a1.a.multiprocessorCount, 14);
	assert_int_equal(a1.a.sharedCopyEngineCount, 3);
	assert_int_equal(a1.a.sharedDecoderCount, 2);
	assert_int_equal(a1.a.sharedOfaCount, 0);
	for (size_t k = 0; k < sizeof(a1.guard); k++)
		assert_int_equal(a1.guard[k], 0xA5);

	/* A MIG device has its GI's memory. */
	OK(nv.nvmlDeviceGetMemoryInfo(two, &mem));
	assert_int_equal(mem.total, 19968ull << 20);
	assert_int_equal(mem.free + mem.used, mem.total);
	memset(&mem2, 0, sizeof(mem2));
	mem2.version = nvmlMemory_v2;
	OK(nv.nvmlDeviceGetMemoryInfo_v2(full, &mem2));
	assert_int_equal(mem2.total, 19968ull << 20);

	/* And the identity calls. */
	OK(nv.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(one, &parent));
	assert_ptr_equal(parent, d);
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(one, NULL));
	OK(nv.nvmlDeviceGetGpuInstanceId(one, &v));
	assert_int_equal(v, 2);
	OK(nv.nvmlDeviceGetComputeInstanceId(one, &v));
	assert_int_equal(v, 1);
	nvmlDeviceArchitecture_t arch;
	OK(nv.nvmlDeviceGetArchitecture(one, &arch));
	assert_int_equal(arch, NVML_DEVICE_ARCH_AMPERE);
}

static void test_mig_uuid_format_and_lookup(void **state)
{
	char gu[NVML_DEVICE_UUID_V2_BUFFER_SIZE], u0[NVML_DEVICE_UUID_V2_BUFFER_SIZE], u1[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
	char again[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
	nvmlDevice_t d = gpu(0), h = NULL;
	unsigned int v;
	(void)state;

	nvmlGpuInstance_t gi = gi_at(d, 9, 4, 4);
	nvmlComputeInstance_t c0 = ci_new(gi, 0);
	ci_new(gi, 0);
	uuid_of(d, gu);
	uuid_of(mig_dev(d, 0), u0);
	uuid_of(mig_dev(d, 1), u1);
	assert_uuid_text(u0, "MIG-", true);
	assert_uuid_text(u1, "MIG-", true);
	assert_string_not_equal(u0, u1);
	assert_string_not_equal(u0 + 4, gu + 4);
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlDeviceGetUUID(mig_dev(d, 0), again, NVML_DEVICE_UUID_ASCII_LEN - 1));
	OK(nv.nvmlDeviceGetUUID(mig_dev(d, 0), again, NVML_DEVICE_UUID_ASCII_LEN));
	assert_string_equal(again, u0);

	OK(nv.nvmlDeviceGetHandleByUUID(u1, &h));
	OK(nv.nvmlDeviceGetComputeInstanceId(h, &v));
	assert_int_equal(v, 1);
	OK(nv.nvmlDeviceGetIndex(h, &v));
	assert_int_equal(v, 1);

	/* Destroyed: the UUID is gone; the same slot again: the same UUID. */
	OK(nv.nvmlComputeInstanceDestroy(c0));
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetHandleByUUID(u0, &h));
	ci_new(gi, 0);
	uuid_of(mig_dev(d, 0), again);
	assert_string_equal(again, u0);
}

/* The UUID is a property of the (GPU, GI, CI) slot: the same after a re-init and in
 * another process. */
static void test_mig_uuid_stable_across_reinit_and_fork(void **state)
{
	char u[NVML_DEVICE_UUID_V2_BUFFER_SIZE], again[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
	int fds[2];
	(void)state;

	nvmlGpuInstance_t gi = gi_at(gpu(0), 14, 2, 2);
	ci_new(gi, 1);
	uuid_of(mig_dev(gpu(0), 0), u);
	OK(nv.nvmlShutdown());
	OK(nv.nvmlInit_v2());
	uuid_of(mig_dev(gpu(0), 0), again);
	assert_string_equal(again, u);

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The child: its own init, its own lookups. */
		char cu[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = "";
		nvmlDevice_t cd = NULL, cm = NULL;
		close(fds[0]);
		nv.nvmlShutdown();
		if (nv.nvmlInit_v2() == NVML_SUCCESS && nv.nvmlDeviceGetHandleByIndex_v2(0, &cd) == NVML_SUCCESS &&
		    nv.nvmlDeviceGetMigDeviceHandleByIndex(cd, 0, &cm) == NVML_SUCCESS)
			nv.nvmlDeviceGetUUID(cm, cu, sizeof(cu));
		ssize_t w = write(fds[1], cu, sizeof(cu));
		_exit(w == (ssize_t)sizeof(cu) ? 0 : 1);
	}
	close(fds[1]);
	char child[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = "";
	size_t got = 0;
	while (got < sizeof(child)) {
		ssize_t r = read(fds[0], child + got, sizeof(child) - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fds[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(got, sizeof(child));
	child[sizeof(child) - 1] = '\0';
	assert_string_equal(child, u);
}

/* ================================================================================ */
/* processes                                                                          */
/* ================================================================================ */

static void test_ci_destroy_with_process_is_in_use(void **state)
{
	nvmlDevice_t d = gpu(0);
	char u[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
	(void)state;

	nvmlGpuInstance_t gi = gi_at(d, 9, 4, 4);
	nvmlComputeInstance_t ci = ci_new(gi, 2);
	uuid_of(mig_dev(d, 0), u);
	unsigned int pid = proc_start("--uuid %s --mib 256", u);
	RC(NVML_ERROR_IN_USE, nv.nvmlComputeInstanceDestroy(ci));
	RC(NVML_ERROR_IN_USE, nv.nvmlGpuInstanceDestroy(gi));
	assert_int_equal(ci_info(ci).id, 0); /* still there */
	proc_stop(pid);
	OK(nv.nvmlComputeInstanceDestroy(ci));
	OK(nv.nvmlGpuInstanceDestroy(gi));
}

static void test_running_processes_without_mig(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlProcessInfo_t p3[4];
	nvmlProcessInfo_v2_t p2[4];
	nvmlProcessInfo_v1_t p1[4];
	unsigned int n;
	(void)state;

	n = 5;
	OK(nv.nvmlDeviceGetComputeRunningProcesses_v3(d, &n, p3));
	assert_int_equal(n, 0);
	n = 0;
	OK(nv.nvmlDeviceGetComputeRunningProcesses_v3(d, &n, NULL));
	assert_int_equal(n, 0);

	unsigned int a = proc_start("--gpu 0 --mib 1024");
	unsigned int b = proc_start("--gpu 0 --mib 2048");
	unsigned int other = proc_start("--gpu 1 --mib 512");

	/* Size queries. */
	n = 0;
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlDeviceGetComputeRunningProcesses_v3(d, &n, NULL));
	assert_int_equal(n, 2);
	n = 1;
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlDeviceGetComputeRunningProcesses_v3(d, &n, p3));
	assert_int_equal(n, 2);
	n = 1;
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlDeviceGetComputeRunningProcesses_v2(d, &n, p2));
	assert_int_equal(n, 2);
	n = 0;
	RC(NVML_ERROR_INSUFFICIENT_SIZE, nv.nvmlDeviceGetComputeRunningProcesses(d, &n, NULL));
	assert_int_equal(n, 2);
	RC(NVML_ERROR_INVALID_ARGUMENT, nv.nvmlDeviceGetComputeRunningProcesses_v3(d, NULL, p3));

	/* v3 and v2: 24-byte records, no MIG ids. */
	n = 4;
	memset(p3, 0xA5, sizeof(p3));
	OK(nv.nvmlDeviceGetComputeRunningProcesses_v3(d, &n, p3));
	assert_int_equal(n, 2);
	assert_int_equal(p3[0].pid, a);
	assert_int_equal(p3[0].usedGpuMemory, 1024ull << 20);
	assert_int_equal(p3[0].gpuInstanceId, NVML_VALUE_NOT_AVAILABLE_U32);
	assert_int_equal(p3[0].computeInstanceId, NVML_VALUE_NOT_AVAILABLE_U32);
	assert_int_equal(p3[1].pid, b);
	assert_int_equal(p3[1].usedGpuMemory, 2048ull << 20);
	n = 4;
	memset(p2, 0xA5, sizeof(p2));
	OK(nv.nvmlDeviceGetComputeRunningProcesses_v2(d, &n, p2));
	assert_int_equal(n, 2);
	assert_memory_equal(p2, p3, 2 * sizeof(p2[0]));

	/* v1: 16-byte records. */
	n = 4;
	memset(p1, 0xA5, sizeof(p1));
	OK(nv.nvmlDeviceGetComputeRunningProcesses(d, &n, p1));
	assert_int_equal(n, 2);
	assert_int_equal(p1[0].pid, a);
	assert_int_equal(p1[0].usedGpuMemory, 1024ull << 20);
	assert_int_equal(p1[1].pid, b);
	assert_int_equal(p1[1].usedGpuMemory, 2048ull << 20);
	assert_int_equal(p1[2].pid, 0xA5A5A5A5u);

	/* The other GPU has its own. */
	n = 4;
	OK(nv.nvmlDeviceGetComputeRunningProcesses_v3(gpu(1), &n, p3));
	assert_int_equal(n, 1);
	assert_int_equal(p3[0].pid, other);

	proc_stop(a);
	n = 4;
	OK(nv.nvmlDeviceGetComputeRunningProcesses_v3(d, &n, p3));
	assert_int_equal(n, 1);
	assert_int_equal(p3[0].pid, b);
	proc_stop(b);
	proc_stop(other);
}

static void test_running_processes_on_mig_devices(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlProcessInfo_t p3[4];
	nvmlProcessInfo_v1_t p1[4];
	char u[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
	unsigned int n;
	(void)state;

	nvmlGpuInstance_t g2 = gi_at(d, 9, 4, 4); /* GI 2 */
	ci_at(g2, 1, 0, 2);                       /* CI 0 */
	ci_new(g2, 0);                            /* CI 1 */
	nvmlGpuInstance_t g7 = gi_at(d, 19, 0, 1); /* GI 7 */
	ci_new(g7, 0);
	nvmlDevice_t m21 = mig_dev(d, 1), m70 = mig_dev(d, 2);
	uuid_of(m21, u);
	unsigned int pid = proc_start("--uuid %s --mib 512", u);

	/* With MIG on, CUDA processes run on MIG devices only. */
	assert_int_not_equal(migsim("proc start --gpu 0"), 0);

	n = 4;
	memset(p3, 0xA5, sizeof(p3));
	OK(nv.nvmlDeviceGetComputeRunningProcesses_v3(d, &n, p3));
	assert_int_equal(n, 1);
	assert_int_equal(p3[0].pid, pid);
	assert_int_equal(p3[0].usedGpuMemory, 512ull << 20);
	assert_int_equal(p3[0].gpuInstanceId, 2);
	assert_int_equal(p3[0].computeInstanceId, 1);
	n = 4;
	OK(nv.nvmlDeviceGetComputeRunningProcesses_v3(m21, &n, p3));
	assert_int_equal(n, 1);
	assert_int_equal(p3[0].pid, pid);
	n = 4;
	OK(nv.nvmlDeviceGetComputeRunningProcesses_v3(m70, &n, p3));
	assert_int_equal(n, 0);
	n = 4;
	OK(nv.nvmlDeviceGetComputeRunningProcesses_v3(mig_dev(d, 0), &n, p3));
	assert_int_equal(n, 0);
	n = 4;
	OK(nv.nvmlDeviceGetComputeRunningProcesses(m21, &n, p1));
	assert_int_equal(n, 1);
	assert_int_equal(p1[0].pid, pid);

	/* The MIG device's memory shows the process. */
	nvmlMemory_v2_t mem = {.version = nvmlMemory_v2};
	OK(nv.nvmlDeviceGetMemoryInfo_v2(m21, &mem));
	assert_int_equal(mem.used, 512ull << 20);
	OK(nv.nvmlDeviceGetMemoryInfo_v2(m70, &mem));
	assert_int_equal(mem.used, 0);
	proc_stop(pid);
}

/* ================================================================================ */
/* privileges                                                                         */
/* ================================================================================ */

/* Every mutating call refused, every read answered. */
static void check_unprivileged(nvmlDevice_t d, nvmlGpuInstance_t gi, nvmlComputeInstance_t ci)
{
	nvmlReturn_t act;
	nvmlGpuInstance_t g = NULL, list[8];
	nvmlComputeInstance_t c = NULL, clist[8];
	nvmlGpuInstancePlacement_t gat = {0, 1};
	nvmlComputeInstancePlacement_t cat = {1, 1};
	unsigned int n;
	char u[NVML_DEVICE_UUID_V2_BUFFER_SIZE];

	RC(NVML_ERROR_NO_PERMISSION, nv.nvmlDeviceSetMigMode(d, NVML_DEVICE_MIG_ENABLE, &act));
	RC(NVML_ERROR_NO_PERMISSION, nv.nvmlDeviceSetMigMode(d, NVML_DEVICE_MIG_DISABLE, &act));
	RC(NVML_ERROR_NO_PERMISSION, nv.nvmlDeviceCreateGpuInstance(d, 19, &g));
	RC(NVML_ERROR_NO_PERMISSION, nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 19, &gat, &g));
	RC(NVML_ERROR_NO_PERMISSION, nv.nvmlGpuInstanceCreateComputeInstance(gi, 0, &c));
	RC(NVML_ERROR_NO_PERMISSION, nv.nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, 0, &cat, &c));
	RC(NVML_ERROR_NO_PERMISSION, nv.nvmlComputeInstanceDestroy(ci));
	RC(NVML_ERROR_NO_PERMISSION, nv.nvmlGpuInstanceDestroy(gi));

	OK(nv.nvmlDeviceGetCount_v2(&n));
	assert_mig_mode(d, 1, 1);
	n = 8;
	OK(nv.nvmlDeviceGetGpuInstances(d, 9, list, &n));
	assert_int_equal(n, 1);
	assert_int_equal(gi_info(gi).id, 2);
	n = 8;
	OK(nv.nvmlGpuInstanceGetComputeInstances(gi, 0, clist, &n));
	assert_int_equal(n, 1);
	assert_int_equal(ci_info(ci).id, 0);
	assert_int_equal(capacity(d, 19), 4);
	assert_int_equal(ci_capacity(gi, 0), 2);
	uuid_of(mig_dev(d, 0), u);
	nvmlGpuInstanceProfileInfo_t info;
	OK(nv.nvmlDeviceGetGpuInstanceProfileInfo(d, 0, &info));
}

static void test_unprivileged_caller_via_migsim(void **state)
{
	nvmlDevice_t d = gpu(0);
	(void)state;

	nvmlGpuInstance_t gi = gi_at(d, 9, 4, 4);
	nvmlComputeInstance_t ci = ci_new(gi, 0);
	assert_int_equal(migsim("caller user"), 0);
	check_unprivileged(d, gi, ci);
	assert_int_equal(migsim("caller root"), 0);
	OK(nv.nvmlComputeInstanceDestroy(ci));
	OK(nv.nvmlGpuInstanceDestroy(gi));
	set_mig(d, NVML_DEVICE_MIG_DISABLE, NVML_SUCCESS);
}

static void test_unprivileged_caller_via_env(void **state)
{
	nvmlDevice_t d = gpu(0);
	(void)state;

	nvmlGpuInstance_t gi = gi_at(d, 9, 4, 4);
	nvmlComputeInstance_t ci = ci_new(gi, 0);
	setenv("MIGSIM_UNPRIVILEGED", "1", 1);
	check_unprivileged(d, gi, ci);
	setenv("MIGSIM_UNPRIVILEGED", "0", 1); /* "0" is privileged */
	nvmlComputeInstance_t c2 = ci_new(gi, 0);
	OK(nv.nvmlComputeInstanceDestroy(c2));
	unsetenv("MIGSIM_UNPRIVILEGED");
	OK(nv.nvmlComputeInstanceDestroy(ci));
	OK(nv.nvmlGpuInstanceDestroy(gi));
}

/* ================================================================================ */
/* bad handles                                                                        */
/* ================================================================================ */

static void test_garbage_handles_are_invalid_argument(void **state)
{
	nvmlDevice_t d = gpu(0);
	int local = 0;
	(void)state;

	nvmlGpuInstance_t gi = gi_at(d, 9, 4, 4);
	nvmlComputeInstance_t ci = ci_new(gi, 2);
	nvmlDevice_t mig = mig_dev(d, 0);

	const nvmlDevice_t bad_devs[] = {
		NULL,
		(nvmlDevice_t)(uintptr_t)1,
		(nvmlDevice_t)(uintptr_t)0xdeadbeefu,
		(nvmlDevice_t)(void *)&local,
		(nvmlDevice_t)(void *)((char *)(void *)d + 1),   /* inside the handle, misaligned */
		(nvmlDevice_t)(void *)((char *)(void *)mig + 2), /* the same for a MIG handle */
		(nvmlDevice_t)(void *)gi,                        /* other handle kinds */
		(nvmlDevice_t)(void *)ci,
	};
	for (size_t i = 0; i < sizeof(bad_devs) / sizeof(bad_devs[0]); i++) {
		snprintf(handle_label, sizeof(handle_label), "bad device handle #%zu", i);
		expect_device_calls(bad_devs[i], NVML_ERROR_INVALID_ARGUMENT);
	}
	const nvmlGpuInstance_t bad_gis[] = {
		NULL,
		(nvmlGpuInstance_t)(uintptr_t)1,
		(nvmlGpuInstance_t)(void *)&local,
		(nvmlGpuInstance_t)(void *)((char *)(void *)gi + 1),
		(nvmlGpuInstance_t)(void *)d,
		(nvmlGpuInstance_t)(void *)ci,
	};
	for (size_t i = 0; i < sizeof(bad_gis) / sizeof(bad_gis[0]); i++) {
		snprintf(handle_label, sizeof(handle_label), "bad GI handle #%zu", i);
		expect_gi_calls(bad_gis[i], NVML_ERROR_INVALID_ARGUMENT);
	}
	const nvmlComputeInstance_t bad_cis[] = {
		NULL,
		(nvmlComputeInstance_t)(uintptr_t)1,
		(nvmlComputeInstance_t)(void *)&local,
		(nvmlComputeInstance_t)(void *)((char *)(void *)ci + 1),
		(nvmlComputeInstance_t)(void *)d,
		(nvmlComputeInstance_t)(void *)gi,
		(nvmlComputeInstance_t)(void *)mig,
	};
	for (size_t i = 0; i < sizeof(bad_cis) / sizeof(bad_cis[0]); i++) {
		snprintf(handle_label, sizeof(handle_label), "bad CI handle #%zu", i);
		expect_ci_calls(bad_cis[i], NVML_ERROR_INVALID_ARGUMENT);
	}
	/* The real ones survived all that. */
	assert_int_equal(ci_info(ci).id, 0);
	assert_int_equal(gi_info(gi).id, 2);
	assert_mig_mode(d, 1, 1);
}

/* A pointer that is aligned and lies inside a handle but not at its start must not be
 * taken for another handle. With a 7g GI (id 0) and its CI 0, the words just past a
 * handle's first member read as "GPU 0, GI 0, CI 0", which exist. */
static void test_handle_offsets_inside_handles_are_invalid(void **state)
{
	nvmlDevice_t d = gpu(0);
	(void)state;

	nvmlGpuInstance_t gi = gi_at(d, 0, 0, 8);
	assert_int_equal(gi_info(gi).id, 0);
	nvmlComputeInstance_t ci = ci_new(gi, 4);
	assert_int_equal(ci_info(ci).id, 0);
	nvmlDevice_t mig = mig_dev(d, 0);

	for (size_t off = sizeof(unsigned int); off < 3 * sizeof(unsigned int); off += sizeof(unsigned int)) {
		snprintf(handle_label, sizeof(handle_label), "handle + %zu bytes", off);
		expect_device_calls((nvmlDevice_t)(void *)((char *)(void *)mig + off), NVML_ERROR_INVALID_ARGUMENT);
		expect_gi_calls((nvmlGpuInstance_t)(void *)((char *)(void *)gi + off), NVML_ERROR_INVALID_ARGUMENT);
		expect_ci_calls((nvmlComputeInstance_t)(void *)((char *)(void *)ci + off), NVML_ERROR_INVALID_ARGUMENT);
	}
	assert_int_equal(ci_info(ci).id, 0);
	assert_int_equal(gi_info(gi).id, 0);
}

static void test_stale_handles_are_invalid_argument(void **state)
{
	(void)state;

	/* A GPU that is gone: the second GPU of a machine that now has one. */
	nvmlDevice_t second = gpu(1);
	OK(nv.nvmlShutdown());
	assert_int_equal(new_machine("A100-SXM4-40GB"), 0);
	OK(nv.nvmlInit_v2());
	snprintf(handle_label, sizeof(handle_label), "handle of a GPU that is gone");
	expect_device_calls(second, NVML_ERROR_INVALID_ARGUMENT);

	/* A MIG device, CI and GI after they are destroyed. */
	nvmlDevice_t d = gpu(0);
	set_mig(d, NVML_DEVICE_MIG_ENABLE, NVML_SUCCESS);
	nvmlGpuInstance_t gi = gi_at(d, 9, 0, 4);
	nvmlComputeInstance_t ci = ci_new(gi, 2);
	nvmlDevice_t mig = mig_dev(d, 0);
	OK(nv.nvmlComputeInstanceDestroy(ci));
	snprintf(handle_label, sizeof(handle_label), "destroyed MIG device / CI / GI");
	expect_device_calls(mig, NVML_ERROR_INVALID_ARGUMENT);
	expect_ci_calls(ci, NVML_ERROR_INVALID_ARGUMENT);
	OK(nv.nvmlGpuInstanceDestroy(gi));
	expect_gi_calls(gi, NVML_ERROR_INVALID_ARGUMENT);

	/* Instances destroyed behind the library's back by a GPU reset. */
	gi = gi_at(d, 9, 0, 4);
	ci = ci_new(gi, 2);
	assert_int_equal(migsim("reset --gpu 0"), 0);
	snprintf(handle_label, sizeof(handle_label), "CI / GI destroyed by a GPU reset");
	expect_ci_calls(ci, NVML_ERROR_INVALID_ARGUMENT);
	expect_gi_calls(gi, NVML_ERROR_INVALID_ARGUMENT);
	assert_int_equal(gi_count(d, 9), 0);
}

/* ================================================================================ */
/* fault injection and latency                                                        */
/* ================================================================================ */

static void test_fault_fails_exactly_the_nth_call(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstance_t gi = NULL;
	(void)state;

	assert_int_equal(migsim("fault add nvmlDeviceCreateGpuInstance INSUFFICIENT_RESOURCES --nth 2"), 0);
	OK(nv.nvmlDeviceCreateGpuInstance(d, 19, &gi));
	RC(NVML_ERROR_INSUFFICIENT_RESOURCES, nv.nvmlDeviceCreateGpuInstance(d, 19, &gi));
	assert_int_equal(gi_count(d, 19), 1); /* the failed call created nothing */
	OK(nv.nvmlDeviceCreateGpuInstance(d, 19, &gi));
	OK(nv.nvmlDeviceCreateGpuInstance(d, 19, &gi));
	assert_int_equal(gi_count(d, 19), 3);
	/* Another function is not affected. */
	nvmlGpuInstancePlacement_t at = {0, 1};
	OK(nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 19, &at, &gi));
}

static void test_fault_always_keeps_failing(void **state)
{
	nvmlDevice_t d = gpu(0);
	unsigned int c, p;
	(void)state;

	assert_int_equal(migsim("fault add nvmlDeviceGetMigMode IN_USE --nth 2 --always"), 0);
	OK(nv.nvmlDeviceGetMigMode(d, &c, &p));
	for (int i = 0; i < 4; i++)
		RC(NVML_ERROR_IN_USE, nv.nvmlDeviceGetMigMode(d, &c, &p));
	assert_int_equal(migsim("fault clear"), 0);
	OK(nv.nvmlDeviceGetMigMode(d, &c, &p));

	assert_int_equal(migsim("fault add nvmlDeviceGetMaxMigDeviceCount 999 --always"), 0);
	RC(NVML_ERROR_UNKNOWN, nv.nvmlDeviceGetMaxMigDeviceCount(d, &c));
	RC(NVML_ERROR_UNKNOWN, nv.nvmlDeviceGetMaxMigDeviceCount(d, &c));
}

/* A fault armed on an unversioned name also covers its versioned symbols. */
static void test_fault_on_unversioned_name_covers_v2(void **state)
{
	unsigned int n = 0;
	nvmlDevice_t d = NULL;
	(void)state;

	assert_int_equal(migsim("fault add nvmlDeviceGetCount NVML_ERROR_UNKNOWN --always"), 0);
	RC(NVML_ERROR_UNKNOWN, nv.nvmlDeviceGetCount(&n));
	RC(NVML_ERROR_UNKNOWN, nv.nvmlDeviceGetCount_v2(&n));
	OK(nv.nvmlDeviceGetHandleByIndex_v2(0, &d)); /* a different function */
	assert_int_equal(migsim("fault clear"), 0);
	OK(nv.nvmlDeviceGetCount_v2(&n));

	/* A fault on the versioned name covers only that symbol. */
	assert_int_equal(migsim("fault add nvmlDeviceGetCount_v2 NOT_FOUND --always"), 0);
	RC(NVML_ERROR_NOT_FOUND, nv.nvmlDeviceGetCount_v2(&n));
	OK(nv.nvmlDeviceGetCount(&n));
	assert_int_equal(migsim("fault clear"), 0);

	/* The same rule for another family of symbols. */
	assert_int_equal(migsim("fault add nvmlDeviceGetHandleByIndex GPU_IS_LOST --nth 1"), 0);
	RC(NVML_ERROR_GPU_IS_LOST, nv.nvmlDeviceGetHandleByIndex_v2(0, &d));
	OK(nv.nvmlDeviceGetHandleByIndex(0, &d));
}

static void test_latency_delays_gi_create(void **state)
{
	nvmlDevice_t d = gpu(0);
	nvmlGpuInstance_t gi = NULL;
	nvmlGpuInstancePlacement_t at = {0, 1};
	(void)state;

	assert_int_equal(migsim("latency set gi-create 150"), 0);
	double t0 = now_ms();
	OK(nv.nvmlDeviceCreateGpuInstance(d, 19, &gi));
	double t1 = now_ms();
	assert_true(t1 - t0 >= 150.0);
	OK(nv.nvmlDeviceCreateGpuInstanceWithPlacement(d, 19, &at, &gi));
	assert_true(now_ms() - t1 >= 150.0);
	assert_int_equal(migsim("latency clear"), 0);
}

/* ================================================================================ */

#define T(f, setup) cmocka_unit_test_setup_teardown(f, setup, teardown_nvml)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_symbol_resolves),
		cmocka_unit_test(test_error_strings),
		T(test_calls_before_init_are_uninitialized, setup_uninit),
		T(test_init_is_reference_counted, setup_uninit),
		T(test_init_with_flags, setup_uninit),
		T(test_init_fails_on_corrupt_state, setup_uninit),
		T(test_missing_state_created_from_migsim_gpus, setup_uninit),
		T(test_init_fault_injection, setup_uninit),
		T(test_system_versions, setup_a100),

		T(test_count_and_handle_by_index, setup_three_gpus),
		T(test_handle_by_uuid, setup_two_a100),
		T(test_handle_by_pci_bus_id, setup_two_a100),
		T(test_name_and_uuid_buffer_sizes, setup_a100),
		T(test_pci_info_all_versions, setup_two_a100),
		T(test_memory_info_v1_and_v2, setup_two_a100),
		T(test_architecture_and_compute_capability, setup_a100_h100),

		T(test_mig_mode_enable_disable_when_idle, setup_two_a100),
		T(test_mig_mode_invalid_arguments, setup_a100),
		T(test_mig_enable_with_process_stays_pending, setup_a100),
		T(test_mig_enable_reset_required_until_gpu_reset, setup_a100_reset_required),
		T(test_mig_disable_with_gpu_instances_is_in_use, setup_a100_mig),
		T(test_reboot_mig_mode_persistence, setup_a100_h100),

		T(test_gi_profile_info_v1_returns_driver_ids, setup_a100_mig),
		T(test_gi_profile_info_index_errors, setup_a100_mig),
		T(test_gi_profile_info_v2_layout, setup_a100_mig),
		T(test_gi_profile_info_v3_layout, setup_a100_mig),
		T(test_gi_profile_info_v3_gfx_capability, setup_rtx_mig),
		T(test_gi_profile_info_bad_version, setup_a100_mig),
		T(test_gi_profile_info_by_id, setup_a100_mig),

		T(test_gi_possible_placements_v2, setup_a100),
		T(test_gi_possible_placements_v1, setup_a100_mig),
		T(test_gi_remaining_capacity_empty, setup_a100_mig),
		T(test_gi_remaining_capacity_after_3g_at_4, setup_a100_mig),
		T(test_nvidia_example_19_19_14_then_3g_fails, setup_a100_mig),
		T(test_nvidia_example_9_19_14_19_succeeds, setup_a100_mig),
		T(test_default_1g_placements_a100, setup_a100_mig),
		T(test_default_1g_placements_h100, setup_h100_mig),
		T(test_create_gi_errors, setup_a100_mig),
		T(test_only_one_me_instance, setup_a100_mig),
		T(test_rtx_me_all_blocks_all_but_no_me, setup_rtx_mig),
		T(test_rtx_me_all_refused_beside_plain_instance, setup_rtx_mig),

		T(test_gi_ids_follow_placement_table, setup_a100_mig),
		T(test_gi_id_same_after_destroy_recreate, setup_a100_mig),
		T(test_gi_ids_swapped_halves, setup_a100_swapped_mig),
		T(test_rtx_pro_gi_ids, setup_rtx_mig),
		T(test_gi_info_and_lookup, setup_a100_mig),
		T(test_gi_calls_with_mig_disabled_not_supported, setup_a100),
		T(test_gi_destroy_with_ci_is_in_use, setup_a100_mig),

		T(test_ci_ids_lowest_free, setup_a100_mig),
		T(test_ci_profile_info_versions, setup_a100_mig),
		T(test_ci_profile_info_gfx_capability, setup_rtx_mig),
		T(test_ci_remaining_capacity_and_placements, setup_a100_mig),
		T(test_ci_create_errors, setup_a100_mig),
		T(test_ci_lookup_and_info, setup_a100_mig),

		T(test_max_mig_device_count_a100, setup_a100_mig),
		T(test_max_mig_device_count_a30, setup_a30_mig),
		T(test_mig_devices_ordered_by_gi_then_ci, setup_a100_mig),
		T(test_mig_device_handle_by_index_with_mig_off, setup_a100),
		T(test_physical_handle_mig_queries, setup_a100_mig),
		T(test_mig_device_name_attributes_memory, setup_a100_mig),
		T(test_mig_uuid_format_and_lookup, setup_a100_mig),
		T(test_mig_uuid_stable_across_reinit_and_fork, setup_a100_mig),

		T(test_ci_destroy_with_process_is_in_use, setup_a100_mig),
		T(test_running_processes_without_mig, setup_two_a100),
		T(test_running_processes_on_mig_devices, setup_a100_mig),

		T(test_unprivileged_caller_via_migsim, setup_a100_mig),
		T(test_unprivileged_caller_via_env, setup_a100_mig),

		T(test_garbage_handles_are_invalid_argument, setup_a100_mig),
		T(test_handle_offsets_inside_handles_are_invalid, setup_a100_mig),
		T(test_stale_handles_are_invalid_argument, setup_two_a100),

		T(test_fault_fails_exactly_the_nth_call, setup_a100_mig),
		T(test_fault_always_keeps_failing, setup_a100_mig),
		T(test_fault_on_unversioned_name_covers_v2, setup_a100),
		T(test_latency_delays_gi_create, setup_a100_mig),
	};
	return cmocka_run_group_tests_name("sim NVML API", tests, group_setup, group_teardown);
}
