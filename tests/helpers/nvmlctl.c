/* SPDX-License-Identifier: MIT */
/*
 * nvmlctl: drives the NVML C ABI from the command line, so shell tests can act on the
 * simulator from separate processes. It dlopens $MIGSIM_LIB (else "libnvidia-ml.so.1"),
 * calls nvmlInit_v2 once, runs the operations given on the command line in order, and
 * calls nvmlShutdown. Several operations are separated by "--"; they run in one NVML
 * session, so one process can act, wait for another, and look again.
 *
 *   nvmlctl [-t] OP ARGS [-- OP ARGS]...
 *
 *   enable GPU | disable GPU          nvmlDeviceSetMigMode; prints "activation CODE"
 *   mig-mode GPU                      prints "current C pending P"
 *   create-gi GPU PROFILE_ID [S:Z]    prints "gi ID placement S:Z"
 *   destroy-gi GPU GI_ID              prints "destroyed gi ID"
 *   count-gis GPU                     prints how many GPU instances the GPU has
 *   list-gis GPU                      prints "gi ID profile P placement S:Z" per instance
 *   create-ci GPU GI_ID CI_PROFILE    prints "ci ID"
 *   destroy-ci GPU GI_ID CI_ID        prints "destroyed ci ID"
 *   loop-create GPU PROFILE_ID        creates until NVML_ERROR_INSUFFICIENT_RESOURCES and
 *                                     prints how many creations succeeded
 *   churn GPU PROFILE_ID N            N create+destroy cycles (0: forever); a create that
 *                                     finds no room is retried; prints "cycles N"
 *   wait FILE                         waits (up to 30 s) until FILE exists
 *   touch FILE                        creates FILE
 *
 * -t prints "elapsed_ms N" after each operation (the NVML calls alone, not process start).
 * A failing NVML call prints "OP: error CODE (TEXT)" on stdout and stops the run.
 * Exit status: 0 every operation succeeded, 1 an NVML call failed, 2 usage, 3 the library
 * or one of its symbols could not be loaded.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../nvml/nvml_abi.h"
#include "../sim_guard.h"

typedef nvmlReturn_t(migsimGetLastError_fn)(char *buf, unsigned int len);

#define FN_FIELD(name, params) name##_fn *name;
static struct {
	MIG_NVML_FUNCTIONS(FN_FIELD)
	nvmlErrorString_fn *nvmlErrorString;
	migsimGetLastError_fn *migsimGetLastError;
} nv;
#undef FN_FIELD

static void *lib;
static int timing;

#define EXIT_NVML 1
#define EXIT_USAGE 2
#define EXIT_LOAD 3

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "nvmlctl: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: nvmlctl [-t] OP ARGS [-- OP ARGS]... (see tests/helpers/nvmlctl.c)\n");
	return EXIT_USAGE;
}

/* A symbol into a typed function pointer, without an object-to-function pointer cast. */
static void load_symbol(const char *name, void *fnptr, size_t size)
{
	void *p = dlsym(lib, name);
	memset(fnptr, 0, size);
	if (p && size == sizeof(p))
		memcpy(fnptr, &p, sizeof(p));
}

static int load_library(void)
{
	const char *path = getenv("MIGSIM_LIB");
	if (!path || !*path)
		path = "libnvidia-ml.so.1";
	lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "nvmlctl: cannot load %s: %s\n", path, dlerror());
		return -1;
	}
#define FN_LOAD(name, params) load_symbol(#name, &nv.name, sizeof(nv.name));
	MIG_NVML_FUNCTIONS(FN_LOAD)
#undef FN_LOAD
	load_symbol("nvmlErrorString", &nv.nvmlErrorString, sizeof(nv.nvmlErrorString));
	load_symbol("migsimGetLastError", &nv.migsimGetLastError, sizeof(nv.migsimGetLastError));
	/* nvmlctl changes MIG state: prove this is the simulator before any NVML call */
	if (sim_guard_handle(lib, "nvmlctl", path))
		return -1;
	return 0;
}

/* A required symbol that the library lacks ends the run. */
static void need(int present, const char *name)
{
	if (!present) {
		fprintf(stderr, "nvmlctl: the library has no symbol %s\n", name);
		exit(EXIT_LOAD);
	}
}
#define NEED(name) need(nv.name != NULL, #name)

/* Print an NVML failure of op; returns EXIT_NVML for a non-success code, else 0. */
static int check(const char *op, nvmlReturn_t r)
{
	if (r == NVML_SUCCESS)
		return 0;
	printf("%s: error %d (%s)\n", op, (int)r, nv.nvmlErrorString ? nv.nvmlErrorString(r) : "?");
	return EXIT_NVML;
}

static int parse_uint(const char *s, unsigned int *out)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > 0xFFFFFFFFul)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static int parse_placement(const char *s, nvmlGpuInstancePlacement_t *p)
{
	char buf[64];
	char *colon;
	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	colon = strchr(buf, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	return parse_uint(buf, &p->start) || parse_uint(colon + 1, &p->size) ? -1 : 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int device(const char *arg, nvmlDevice_t *dev)
{
	unsigned int index;
	if (parse_uint(arg, &index))
		return usage("'%s' is not a GPU index", arg);
	NEED(nvmlDeviceGetHandleByIndex_v2);
	return check("nvmlDeviceGetHandleByIndex_v2", nv.nvmlDeviceGetHandleByIndex_v2(index, dev));
}

static int gpu_instance(nvmlDevice_t dev, const char *arg, nvmlGpuInstance_t *gi)
{
	unsigned int id;
	if (parse_uint(arg, &id))
		return usage("'%s' is not a GPU instance id", arg);
	NEED(nvmlDeviceGetGpuInstanceById);
	return check("nvmlDeviceGetGpuInstanceById", nv.nvmlDeviceGetGpuInstanceById(dev, id, gi));
}

/* ---- operations ---------------------------------------------------------------- */

static int op_mig(int argc, char **argv, unsigned int mode)
{
	nvmlDevice_t dev;
	nvmlReturn_t activation = NVML_SUCCESS;
	int rc;
	if (argc != 2)
		return usage("%s takes GPU", argv[0]);
	if ((rc = device(argv[1], &dev)) != 0)
		return rc;
	NEED(nvmlDeviceSetMigMode);
	if ((rc = check("nvmlDeviceSetMigMode", nv.nvmlDeviceSetMigMode(dev, mode, &activation))) != 0)
		return rc;
	printf("activation %d\n", (int)activation);
	return 0;
}

static int op_mig_mode(int argc, char **argv)
{
	nvmlDevice_t dev;
	unsigned int current = 99, pending = 99;
	int rc;
	if (argc != 2)
		return usage("%s takes GPU", argv[0]);
	if ((rc = device(argv[1], &dev)) != 0)
		return rc;
	NEED(nvmlDeviceGetMigMode);
	if ((rc = check("nvmlDeviceGetMigMode", nv.nvmlDeviceGetMigMode(dev, &current, &pending))) != 0)
		return rc;
	printf("current %u pending %u\n", current, pending);
	return 0;
}

static nvmlReturn_t gi_info(nvmlGpuInstance_t gi, nvmlGpuInstanceInfo_t *info)
{
	NEED(nvmlGpuInstanceGetInfo);
	memset(info, 0, sizeof(*info));
	return nv.nvmlGpuInstanceGetInfo(gi, info);
}

/* One creation; *r gets NVML's answer. Prints the new instance on success. */
static int create_one(nvmlDevice_t dev, unsigned int profile, const nvmlGpuInstancePlacement_t *at, nvmlReturn_t *r,
		      int quiet)
{
	nvmlGpuInstance_t gi = NULL;
	nvmlGpuInstanceInfo_t info;
	if (at) {
		NEED(nvmlDeviceCreateGpuInstanceWithPlacement);
		*r = nv.nvmlDeviceCreateGpuInstanceWithPlacement(dev, profile, at, &gi);
	} else {
		NEED(nvmlDeviceCreateGpuInstance);
		*r = nv.nvmlDeviceCreateGpuInstance(dev, profile, &gi);
	}
	if (*r != NVML_SUCCESS || quiet)
		return 0;
	int rc = check("nvmlGpuInstanceGetInfo", gi_info(gi, &info));
	if (rc == 0)
		printf("gi %u placement %u:%u\n", info.id, info.placement.start, info.placement.size);
	return rc;
}

static int op_create_gi(int argc, char **argv)
{
	nvmlDevice_t dev;
	nvmlGpuInstancePlacement_t at;
	unsigned int profile;
	nvmlReturn_t r;
	int rc;
	if (argc != 3 && argc != 4)
		return usage("%s takes GPU PROFILE_ID [START:SIZE]", argv[0]);
	if (parse_uint(argv[2], &profile))
		return usage("'%s' is not a profile id", argv[2]);
	if (argc == 4 && parse_placement(argv[3], &at))
		return usage("'%s' is not a placement START:SIZE", argv[3]);
	if ((rc = device(argv[1], &dev)) != 0)
		return rc;
	if ((rc = create_one(dev, profile, argc == 4 ? &at : NULL, &r, 0)) != 0)
		return rc;
	return check(argc == 4 ? "nvmlDeviceCreateGpuInstanceWithPlacement" : "nvmlDeviceCreateGpuInstance", r);
}

static int op_destroy_gi(int argc, char **argv)
{
	nvmlDevice_t dev;
	nvmlGpuInstance_t gi;
	int rc;
	if (argc != 3)
		return usage("%s takes GPU GI_ID", argv[0]);
	if ((rc = device(argv[1], &dev)) != 0 || (rc = gpu_instance(dev, argv[2], &gi)) != 0)
		return rc;
	NEED(nvmlGpuInstanceDestroy);
	if ((rc = check("nvmlGpuInstanceDestroy", nv.nvmlGpuInstanceDestroy(gi))) != 0)
		return rc;
	printf("destroyed gi %s\n", argv[2]);
	return 0;
}

/* Every GPU instance, found by id (GI ids are 0..14). */
static int op_list_gis(int argc, char **argv, int count_only)
{
	nvmlDevice_t dev;
	unsigned int n = 0;
	int rc;
	if (argc != 2)
		return usage("%s takes GPU", argv[0]);
	if ((rc = device(argv[1], &dev)) != 0)
		return rc;
	NEED(nvmlDeviceGetGpuInstanceById);
	for (unsigned int id = 0; id < 15; id++) {
		nvmlGpuInstance_t gi;
		nvmlGpuInstanceInfo_t info;
		nvmlReturn_t r = nv.nvmlDeviceGetGpuInstanceById(dev, id, &gi);
		if (r == NVML_ERROR_NOT_FOUND)
			continue;
		if ((rc = check("nvmlDeviceGetGpuInstanceById", r)) != 0)
			return rc;
		if ((rc = check("nvmlGpuInstanceGetInfo", gi_info(gi, &info))) != 0)
			return rc;
		if (info.id != id) {
			printf("nvmlGpuInstanceGetInfo: GI %u reports id %u\n", id, info.id);
			return EXIT_NVML;
		}
		n++;
		if (!count_only)
			printf("gi %u profile %u placement %u:%u\n", info.id, info.profileId, info.placement.start,
			       info.placement.size);
	}
	if (count_only)
		printf("%u\n", n);
	return 0;
}

static int op_create_ci(int argc, char **argv)
{
	nvmlDevice_t dev;
	nvmlGpuInstance_t gi;
	nvmlComputeInstance_t ci = NULL;
	nvmlComputeInstanceInfo_t info;
	unsigned int profile;
	int rc;
	if (argc != 4)
		return usage("%s takes GPU GI_ID CI_PROFILE_ID", argv[0]);
	if (parse_uint(argv[3], &profile))
		return usage("'%s' is not a compute instance profile id", argv[3]);
	if ((rc = device(argv[1], &dev)) != 0 || (rc = gpu_instance(dev, argv[2], &gi)) != 0)
		return rc;
	NEED(nvmlGpuInstanceCreateComputeInstance);
	NEED(nvmlComputeInstanceGetInfo_v2);
	if ((rc = check("nvmlGpuInstanceCreateComputeInstance", nv.nvmlGpuInstanceCreateComputeInstance(gi, profile, &ci))) !=
	    0)
		return rc;
	memset(&info, 0, sizeof(info));
	if ((rc = check("nvmlComputeInstanceGetInfo_v2", nv.nvmlComputeInstanceGetInfo_v2(ci, &info))) != 0)
		return rc;
	printf("ci %u\n", info.id);
	return 0;
}

static int op_destroy_ci(int argc, char **argv)
{
	nvmlDevice_t dev;
	nvmlGpuInstance_t gi;
	nvmlComputeInstance_t ci;
	unsigned int id;
	int rc;
	if (argc != 4)
		return usage("%s takes GPU GI_ID CI_ID", argv[0]);
	if (parse_uint(argv[3], &id))
		return usage("'%s' is not a compute instance id", argv[3]);
	if ((rc = device(argv[1], &dev)) != 0 || (rc = gpu_instance(dev, argv[2], &gi)) != 0)
		return rc;
	NEED(nvmlGpuInstanceGetComputeInstanceById);
	NEED(nvmlComputeInstanceDestroy);
	if ((rc = check("nvmlGpuInstanceGetComputeInstanceById", nv.nvmlGpuInstanceGetComputeInstanceById(gi, id, &ci))) !=
	    0)
		return rc;
	if ((rc = check("nvmlComputeInstanceDestroy", nv.nvmlComputeInstanceDestroy(ci))) != 0)
		return rc;
	printf("destroyed ci %u\n", id);
	return 0;
}

static int op_loop_create(int argc, char **argv)
{
	nvmlDevice_t dev;
	unsigned int profile, created = 0;
	nvmlReturn_t r;
	int rc;
	if (argc != 3)
		return usage("%s takes GPU PROFILE_ID", argv[0]);
	if (parse_uint(argv[2], &profile))
		return usage("'%s' is not a profile id", argv[2]);
	if ((rc = device(argv[1], &dev)) != 0)
		return rc;
	for (;;) {
		if ((rc = create_one(dev, profile, NULL, &r, 1)) != 0)
			return rc;
		if (r != NVML_SUCCESS)
			break;
		created++;
		if (created > 64) {
			printf("loop-create: more than 64 creations succeeded\n");
			return EXIT_NVML;
		}
	}
	printf("%u\n", created);
	return r == NVML_ERROR_INSUFFICIENT_RESOURCES ? 0 : check("nvmlDeviceCreateGpuInstance", r);
}

static int op_churn(int argc, char **argv)
{
	nvmlDevice_t dev;
	unsigned int profile, cycles, done = 0;
	int rc;
	if (argc != 4)
		return usage("%s takes GPU PROFILE_ID CYCLES", argv[0]);
	if (parse_uint(argv[2], &profile))
		return usage("'%s' is not a profile id", argv[2]);
	if (parse_uint(argv[3], &cycles))
		return usage("'%s' is not a number of cycles", argv[3]);
	if ((rc = device(argv[1], &dev)) != 0)
		return rc;
	NEED(nvmlDeviceCreateGpuInstance);
	NEED(nvmlGpuInstanceDestroy);
	while (cycles == 0 || done < cycles) {
		nvmlGpuInstance_t gi;
		nvmlReturn_t r = nv.nvmlDeviceCreateGpuInstance(dev, profile, &gi);
		if (r == NVML_ERROR_INSUFFICIENT_RESOURCES)
			continue; /* others hold every slot right now */
		if ((rc = check("nvmlDeviceCreateGpuInstance", r)) != 0)
			return rc;
		if ((rc = check("nvmlGpuInstanceDestroy", nv.nvmlGpuInstanceDestroy(gi))) != 0)
			return rc;
		done++;
	}
	printf("cycles %u\n", done);
	return 0;
}

static int op_wait(int argc, char **argv)
{
	if (argc != 2)
		return usage("%s takes FILE", argv[0]);
	for (int i = 0; i < 6000; i++) {
		if (access(argv[1], F_OK) == 0)
			return 0;
		sleep_ms(5);
	}
	printf("wait: %s did not appear within 30 s\n", argv[1]);
	return EXIT_NVML;
}

static int op_touch(int argc, char **argv)
{
	if (argc != 2)
		return usage("%s takes FILE", argv[0]);
	FILE *f = fopen(argv[1], "w");
	if (!f || fclose(f) != 0) {
		printf("touch: cannot create %s: %s\n", argv[1], strerror(errno));
		return EXIT_NVML;
	}
	return 0;
}

static int run_op(int argc, char **argv)
{
	const char *op = argv[0];
	if (strcmp(op, "enable") == 0)
		return op_mig(argc, argv, NVML_DEVICE_MIG_ENABLE);
	if (strcmp(op, "disable") == 0)
		return op_mig(argc, argv, NVML_DEVICE_MIG_DISABLE);
	if (strcmp(op, "mig-mode") == 0)
		return op_mig_mode(argc, argv);
	if (strcmp(op, "create-gi") == 0)
		return op_create_gi(argc, argv);
	if (strcmp(op, "destroy-gi") == 0)
		return op_destroy_gi(argc, argv);
	if (strcmp(op, "count-gis") == 0)
		return op_list_gis(argc, argv, 1);
	if (strcmp(op, "list-gis") == 0)
		return op_list_gis(argc, argv, 0);
	if (strcmp(op, "create-ci") == 0)
		return op_create_ci(argc, argv);
	if (strcmp(op, "destroy-ci") == 0)
		return op_destroy_ci(argc, argv);
	if (strcmp(op, "loop-create") == 0)
		return op_loop_create(argc, argv);
	if (strcmp(op, "churn") == 0)
		return op_churn(argc, argv);
	if (strcmp(op, "wait") == 0)
		return op_wait(argc, argv);
	if (strcmp(op, "touch") == 0)
		return op_touch(argc, argv);
	return usage("unknown operation '%s'", op);
}

static const char *const known_ops[] = {"enable",    "disable",   "mig-mode",    "create-gi", "destroy-gi",
					"count-gis", "list-gis",  "create-ci",   "destroy-ci", "loop-create",
					"churn",     "wait",      "touch",       NULL};

int main(int argc, char **argv)
{
	int first = 1, rc = 0;

	if (first < argc && strcmp(argv[first], "-t") == 0) {
		timing = 1;
		first++;
	}
	if (first >= argc)
		return usage("no operation given%s", "");
	/* Check every operation name before touching NVML, so a typo changes nothing. */
	for (int i = first; i < argc; i++) {
		if (i == first || strcmp(argv[i - 1], "--") == 0) {
			int known = 0;
			for (size_t k = 0; known_ops[k] && !known; k++)
				known = strcmp(argv[i], known_ops[k]) == 0;
			if (!known)
				return usage("unknown operation '%s'", argv[i]);
		}
	}
	if (load_library())
		return EXIT_LOAD;
	NEED(nvmlInit_v2);
	NEED(nvmlShutdown);
	nvmlReturn_t r = nv.nvmlInit_v2();
	if (r != NVML_SUCCESS) {
		char why[1024] = "";
		if (nv.migsimGetLastError)
			nv.migsimGetLastError(why, sizeof(why));
		printf("nvmlInit_v2: error %d (%s)%s%s\n", (int)r, nv.nvmlErrorString ? nv.nvmlErrorString(r) : "?",
		       *why ? ": " : "", why);
		return EXIT_NVML;
	}
	for (int i = first; i < argc && rc == 0;) {
		int end = i;
		while (end < argc && strcmp(argv[end], "--") != 0)
			end++;
		if (end == i) {
			rc = usage("empty operation between '--'%s", "");
			break;
		}
		char *saved = end < argc ? argv[end] : NULL;
		if (end < argc)
			argv[end] = NULL;
		double t0 = now_ms();
		rc = run_op(end - i, argv + i);
		if (timing)
			printf("elapsed_ms %.0f\n", now_ms() - t0);
		fflush(stdout);
		if (end < argc)
			argv[end] = saved;
		i = end + 1;
	}
	r = nv.nvmlShutdown();
	if (rc == 0)
		rc = check("nvmlShutdown", r);
	return rc;
}
