/* SPDX-License-Identifier: MIT */
/*
 * The simulator's NVML entry points: a drop-in libnvidia-ml.so.1.
 *
 * Every call runs under one process-wide mutex: it refreshes the shared state (cheap when
 * the file is unchanged), applies armed faults and latencies, answers from the state, and
 * for mutating calls saves it under the file lock. Handles are addresses inside static
 * tables, decoded by range, so a garbage or stale handle is answered, not dereferenced.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define EXPORT __attribute__((visibility("default")))

/* Declare every entry point from the ABI table, so each definition below is checked
 * against the signature a client resolves. */
#define DECLARE_ENTRY_POINT(name, params) EXPORT nvmlReturn_t name params;
MIG_NVML_FUNCTIONS(DECLARE_ENTRY_POINT)
#undef DECLARE_ENTRY_POINT
EXPORT const char *nvmlErrorString(nvmlReturn_t result);
EXPORT nvmlReturn_t migsimGetLastError(char *buf, unsigned int len);
EXPORT nvmlReturn_t migsimCallerIsPrivileged(unsigned int *privileged);
EXPORT nvmlReturn_t migsimGetRoot(char *buf, unsigned int len);

#define SIM_DRIVER_VERSION "580.82.07"
#define SIM_NVML_VERSION "13.580.82.07"
#define SIM_CUDA_VERSION 13000

struct nvmlDevice_st {
	unsigned int gpu;
	int gi; /* SIM_NO_ID for a physical GPU */
	int ci;
};
struct nvmlGpuInstance_st {
	unsigned int gpu;
	unsigned int gi;
};
struct nvmlComputeInstance_st {
	unsigned int gpu;
	unsigned int gi;
	unsigned int ci;
};

static struct nvmlDevice_st gpu_handles[SIM_MAX_GPUS];
static struct nvmlDevice_st mig_handles[SIM_MAX_GPUS][SIM_MAX_GI_IDS][SIM_MAX_CIS];
static struct nvmlGpuInstance_st gi_handles[SIM_MAX_GPUS][SIM_MAX_GI_IDS];
static struct nvmlComputeInstance_st ci_handles[SIM_MAX_GPUS][SIM_MAX_GI_IDS][SIM_MAX_CIS];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned int init_count;
static struct sim_store store;
static struct sim_state *st = &store.st;
static char last_error[1024];

static void fill_handle_tables(void)
{
	for (unsigned int g = 0; g < SIM_MAX_GPUS; g++) {
		gpu_handles[g] = (struct nvmlDevice_st){g, SIM_NO_ID, SIM_NO_ID};
		for (unsigned int i = 0; i < SIM_MAX_GI_IDS; i++) {
			gi_handles[g][i] = (struct nvmlGpuInstance_st){g, i};
			for (unsigned int c = 0; c < SIM_MAX_CIS; c++) {
				mig_handles[g][i][c] = (struct nvmlDevice_st){g, (int)i, (int)c};
				ci_handles[g][i][c] = (struct nvmlComputeInstance_st){g, i, c};
			}
		}
	}
}

/* Is p the address of an element of the table [base, base + n)? */
static bool in_table(const void *p, const void *base, size_t n, size_t elem)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;
	return a >= b && a < b + n * elem && (a - b) % elem == 0;
}

/* ---- call frame ---------------------------------------------------------------- */

enum access { READ, WRITE };

static const struct {
	const char *alias;
	const char *fns[2];
} latency_aliases[] = {
	{"gi-create", {"nvmlDeviceCreateGpuInstance", "nvmlDeviceCreateGpuInstanceWithPlacement"}},
	{"gi-destroy", {"nvmlGpuInstanceDestroy", NULL}},
	{"ci-create", {"nvmlGpuInstanceCreateComputeInstance", "nvmlGpuInstanceCreateComputeInstanceWithPlacement"}},
	{"ci-destroy", {"nvmlComputeInstanceDestroy", NULL}},
	{"mig-mode", {"nvmlDeviceSetMigMode", NULL}},
};

/* A fault or latency on "nvmlDeviceGetCount" also covers the versioned nvmlDeviceGetCount_v2. */
static bool fault_matches(const char *armed, const char *fn)
{
	size_t n = strlen(armed);
	if (strncmp(armed, fn, n) != 0)
		return false;
	return fn[n] == '\0' || (fn[n] == '_' && fn[n + 1] == 'v' && fn[n + 2] >= '1' && fn[n + 2] <= '9' && !fn[n + 3]);
}

static bool op_matches(const char *op, const char *fn)
{
	if (fault_matches(op, fn) || strcmp(op, "*") == 0)
		return true;
	for (size_t i = 0; i < sizeof(latency_aliases) / sizeof(latency_aliases[0]); i++)
		if (strcmp(op, latency_aliases[i].alias) == 0)
			for (size_t k = 0; k < 2; k++)
				if (latency_aliases[i].fns[k] && strcmp(latency_aliases[i].fns[k], fn) == 0)
					return true;
	return false;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void note_error(const char *msg)
{
	snprintf(last_error, sizeof(last_error), "%s", msg);
}

/* Count this call against armed faults; returns the error to fail with, or SUCCESS. */
static nvmlReturn_t apply_faults(const char *fn)
{
	char err[512];
	bool armed = false;

	for (unsigned int i = 0; i < st->nfaults && !armed; i++)
		armed = fault_matches(st->faults[i].function, fn);
	if (!armed)
		return NVML_SUCCESS;

	/* Counts are shared by every process: update them under the lock. */
	bool was_locked = store.locked;
	if (!was_locked && (sim_store_lock(&store, err, sizeof(err)) || sim_store_load(&store, err, sizeof(err)))) {
		note_error(err);
		sim_store_unlock(&store);
		return NVML_ERROR_UNKNOWN;
	}
	nvmlReturn_t r = NVML_SUCCESS;
	bool changed = false;
	for (unsigned int i = 0; i < st->nfaults; i++) {
		struct sim_fault *f = &st->faults[i];
		if (!fault_matches(f->function, fn) || (!f->always && f->calls >= f->nth))
			continue;
		f->calls++;
		changed = true;
		if (r == NVML_SUCCESS && (f->calls == f->nth || (f->always && f->calls > f->nth)))
			r = f->error;
	}
	if (changed && sim_store_save(&store, err, sizeof(err))) {
		note_error(err);
		r = NVML_ERROR_UNKNOWN;
	}
	if (!was_locked)
		sim_store_unlock(&store);
	return r;
}

static void apply_latency(const char *fn)
{
	for (unsigned int i = 0; i < st->nlatencies; i++)
		if (op_matches(st->latencies[i].op, fn) && st->latencies[i].ms)
			sleep_ms(st->latencies[i].ms);
}

/* MIGSIM_TRACE=PATH: append the name of every NVML entry point called to PATH, one line
 * each, in one O_APPEND write, so that the lines of concurrent processes never mix. */
static void trace_call(const char *fn)
{
	const char *path = getenv("MIGSIM_TRACE");
	if (!path || !*path)
		return;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	char line[128];
	int n = snprintf(line, sizeof(line), "%s\n", fn);
	if (n > 0 && (size_t)n < sizeof(line) && write(fd, line, (size_t)n) < 0) {
		/* a trace that cannot be written is not the caller's failure */
	}
	close(fd);
}

/* MIGSIM_TIMELINE=PATH: for every mutating call, append "START END NAME" (CLOCK_MONOTONIC
 * seconds, shared by all processes): from the state lock taken (before its latency) to the
 * save. The driver's busy intervals, for benchmarks that tell its time from the caller's. */
static double timeline_t0;
static const char *timeline_fn;

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void timeline_end(void)
{
	const char *path = getenv("MIGSIM_TIMELINE");
	if (!path || !*path || !timeline_fn)
		return;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	char line[160];
	int n = snprintf(line, sizeof(line), "%.6f %.6f %s\n", timeline_t0, mono_now(), timeline_fn);
	if (n > 0 && (size_t)n < sizeof(line) && write(fd, line, (size_t)n) < 0) {
		/* a timeline that cannot be written is not the caller's failure */
	}
	close(fd);
	timeline_fn = NULL;
}

static bool caller_unprivileged(void)
{
	return st->unprivileged || sim_env_flag("MIGSIM_UNPRIVILEGED");
}

static nvmlReturn_t begin(const char *fn, enum access access)
{
	char err[512];

	trace_call(fn);
	pthread_mutex_lock(&mu);
	if (init_count == 0) {
		pthread_mutex_unlock(&mu);
		return NVML_ERROR_UNINITIALIZED;
	}
	if ((access == WRITE && sim_store_lock(&store, err, sizeof(err))) || sim_store_load(&store, err, sizeof(err))) {
		note_error(err);
		sim_store_unlock(&store);
		pthread_mutex_unlock(&mu);
		return NVML_ERROR_UNKNOWN;
	}
	nvmlReturn_t r = apply_faults(fn);
	if (r == NVML_SUCCESS && access == WRITE && caller_unprivileged())
		r = NVML_ERROR_NO_PERMISSION;
	if (r != NVML_SUCCESS) {
		sim_store_unlock(&store);
		pthread_mutex_unlock(&mu);
		return r;
	}
	if (access == WRITE) {
		timeline_t0 = mono_now();
		timeline_fn = fn;
	}
	apply_latency(fn); /* under the file lock for writes: the driver serialises MIG changes */
	return NVML_SUCCESS;
}

/* Finish a call: save when a mutating call succeeded and says it changed something. */
static nvmlReturn_t end(nvmlReturn_t r, bool changed)
{
	char err[512];

	if (store.locked && changed && sim_store_save(&store, err, sizeof(err))) {
		note_error(err);
		r = NVML_ERROR_UNKNOWN;
	}
	if (store.locked)
		timeline_end();
	sim_store_unlock(&store);
	pthread_mutex_unlock(&mu);
	return r;
}

#define BEGIN(access)                                          \
	do {                                                   \
		nvmlReturn_t begin_r_ = begin(__func__, access); \
		if (begin_r_ != NVML_SUCCESS)                  \
			return begin_r_;                       \
	} while (0)

/* ---- handle decoding (after BEGIN, so the state is current) -------------------------- */

static struct sim_gpu *phys_gpu(nvmlDevice_t d)
{
	if (!in_table(d, gpu_handles, SIM_MAX_GPUS, sizeof(gpu_handles[0])) || d->gpu >= st->ngpus)
		return NULL;
	return &st->gpus[d->gpu];
}

struct mig_dev {
	struct sim_gpu *gpu;
	struct sim_gi *gi;
	struct sim_ci *ci;
	const struct sim_gi_profile *gp;
	const struct sim_ci_profile *cp;
};

static bool mig_of(nvmlDevice_t d, struct mig_dev *m)
{
	if (!in_table(d, mig_handles, (size_t)SIM_MAX_GPUS * SIM_MAX_GI_IDS * SIM_MAX_CIS, sizeof(mig_handles[0][0][0])) ||
	    d->gpu >= st->ngpus)
		return false;
	m->gpu = &st->gpus[d->gpu];
	if (m->gpu->mig_current != NVML_DEVICE_MIG_ENABLE)
		return false;
	m->gi = sim_gpu_find_gi(m->gpu, (unsigned int)d->gi);
	m->ci = m->gi ? sim_gi_find_ci(m->gi, (unsigned int)d->ci) : NULL;
	if (!m->ci)
		return false;
	m->gp = sim_gpu_gi_profile(m->gpu, m->gi->profile_id);
	m->cp = sim_gi_ci_by_id(m->gp, m->ci->profile_id);
	return true;
}

static struct sim_gi *gi_of(nvmlGpuInstance_t h, struct sim_gpu **gpu)
{
	if (!in_table(h, gi_handles, (size_t)SIM_MAX_GPUS * SIM_MAX_GI_IDS, sizeof(gi_handles[0][0])) ||
	    h->gpu >= st->ngpus)
		return NULL;
	*gpu = &st->gpus[h->gpu];
	if ((*gpu)->mig_current != NVML_DEVICE_MIG_ENABLE)
		return NULL;
	return sim_gpu_find_gi(*gpu, h->gi);
}

static struct sim_ci *ci_of(nvmlComputeInstance_t h, struct sim_gpu **gpu, struct sim_gi **gi)
{
	if (!in_table(h, ci_handles, (size_t)SIM_MAX_GPUS * SIM_MAX_GI_IDS * SIM_MAX_CIS, sizeof(ci_handles[0][0][0])) ||
	    h->gpu >= st->ngpus)
		return NULL;
	*gpu = &st->gpus[h->gpu];
	if ((*gpu)->mig_current != NVML_DEVICE_MIG_ENABLE)
		return NULL;
	*gi = sim_gpu_find_gi(*gpu, h->gi);
	return *gi ? sim_gi_find_ci(*gi, h->ci) : NULL;
}

static unsigned int gpu_index(const struct sim_gpu *g)
{
	return (unsigned int)(g - st->gpus);
}

static nvmlReturn_t copy_string(char *dst, unsigned int len, const char *src)
{
	if (!dst)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (strlen(src) + 1 > len)
		return NVML_ERROR_INSUFFICIENT_SIZE;
	memcpy(dst, src, strlen(src) + 1);
	return NVML_SUCCESS;
}

/* ---- init, system ---------------------------------------------------------------- */

static nvmlReturn_t do_init(const char *fn)
{
	trace_call(fn);
	pthread_mutex_lock(&mu);
	if (init_count == 0) {
		char err[512];
		fill_handle_tables();
		if (sim_store_open(&store, NULL, err, sizeof(err)) || sim_store_load(&store, err, sizeof(err))) {
			note_error(err);
			if (!sim_env_flag("MIGSIM_QUIET"))
				fprintf(stderr, "migsim: %s\n", err);
			sim_store_close(&store);
			pthread_mutex_unlock(&mu);
			return NVML_ERROR_UNKNOWN;
		}
	}
	nvmlReturn_t r = apply_faults(fn);
	if (r == NVML_SUCCESS) {
		apply_latency(fn);
		init_count++;
	} else if (init_count == 0) {
		sim_store_close(&store);
	}
	pthread_mutex_unlock(&mu);
	return r;
}

EXPORT nvmlReturn_t nvmlInit_v2(void)
{
	return do_init(__func__);
}

EXPORT nvmlReturn_t nvmlInit(void)
{
	return do_init(__func__);
}

EXPORT nvmlReturn_t nvmlInitWithFlags(unsigned int flags)
{
	if (flags & ~(NVML_INIT_FLAG_NO_GPUS | NVML_INIT_FLAG_NO_ATTACH | NVML_INIT_FLAG_FORCE_INIT))
		return NVML_ERROR_INVALID_ARGUMENT;
	return do_init(__func__);
}

EXPORT nvmlReturn_t nvmlShutdown(void)
{
	trace_call(__func__);
	pthread_mutex_lock(&mu);
	if (init_count == 0) {
		pthread_mutex_unlock(&mu);
		return NVML_ERROR_UNINITIALIZED;
	}
	if (--init_count == 0)
		sim_store_close(&store);
	pthread_mutex_unlock(&mu);
	return NVML_SUCCESS;
}

EXPORT const char *nvmlErrorString(nvmlReturn_t result)
{
	trace_call(__func__);
	return sim_error_string(result);
}

/* Not NVML: the simulator's explanation of its last internal failure (bad state file,
 * bad MIGSIM_GPUS), for tools that want to show it. */
EXPORT nvmlReturn_t migsimGetLastError(char *buf, unsigned int len)
{
	return copy_string(buf, len, last_error);
}

/* Not NVML: the directory that stands for "/" on this simulated node: its /proc files
 * (mig-minors, /proc/devices, the capability files) and, once made, its /dev nodes. */
EXPORT nvmlReturn_t migsimGetRoot(char *buf, unsigned int len)
{
	pthread_mutex_lock(&mu);
	if (init_count == 0) {
		pthread_mutex_unlock(&mu);
		return NVML_ERROR_UNINITIALIZED;
	}
	nvmlReturn_t r = copy_string(buf, len, store.root);
	pthread_mutex_unlock(&mu);
	return r;
}

/* Not NVML: would a mutating call of this process be allowed (1) or refused with
 * NVML_ERROR_NO_PERMISSION (0)? The same rule as the calls themselves (caller_unprivileged),
 * so tools can check before they change anything, as they check uid and the mig/config
 * capability on a real driver. Reads the shared state; changes nothing, counts no fault. */
EXPORT nvmlReturn_t migsimCallerIsPrivileged(unsigned int *privileged)
{
	char err[512];

	if (!privileged)
		return NVML_ERROR_INVALID_ARGUMENT;
	pthread_mutex_lock(&mu);
	if (init_count == 0) {
		pthread_mutex_unlock(&mu);
		return NVML_ERROR_UNINITIALIZED;
	}
	if (sim_store_load(&store, err, sizeof(err))) {
		note_error(err);
		pthread_mutex_unlock(&mu);
		return NVML_ERROR_UNKNOWN;
	}
	*privileged = caller_unprivileged() ? 0 : 1;
	pthread_mutex_unlock(&mu);
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
	BEGIN(READ);
	return end(copy_string(version, length, SIM_DRIVER_VERSION), false);
}

EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length)
{
	BEGIN(READ);
	return end(copy_string(version, length, SIM_NVML_VERSION), false);
}

static nvmlReturn_t cuda_version(int *v)
{
	if (!v)
		return NVML_ERROR_INVALID_ARGUMENT;
	*v = SIM_CUDA_VERSION;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *cudaDriverVersion)
{
	BEGIN(READ);
	return end(cuda_version(cudaDriverVersion), false);
}

EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion)
{
	BEGIN(READ);
	return end(cuda_version(cudaDriverVersion), false);
}

/* ---- enumeration ---------------------------------------------------------------- */

static nvmlReturn_t device_count(unsigned int *count)
{
	if (!count)
		return NVML_ERROR_INVALID_ARGUMENT;
	*count = st->ngpus;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
	BEGIN(READ);
	return end(device_count(deviceCount), false);
}

EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned int *deviceCount)
{
	BEGIN(READ);
	return end(device_count(deviceCount), false);
}

static nvmlReturn_t handle_by_index(unsigned int index, nvmlDevice_t *device)
{
	if (!device || index >= st->ngpus)
		return NVML_ERROR_INVALID_ARGUMENT;
	*device = &gpu_handles[index];
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
	BEGIN(READ);
	return end(handle_by_index(index, device), false);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device)
{
	BEGIN(READ);
	return end(handle_by_index(index, device), false);
}

static nvmlReturn_t handle_by_uuid(const char *uuid, nvmlDevice_t *device)
{
	struct sim_mig_ref refs[SIM_MAX_GIS * SIM_MAX_CIS];
	char mig[SIM_UUID_LEN + 1];

	if (!uuid || !device)
		return NVML_ERROR_INVALID_ARGUMENT;
	for (unsigned int i = 0; i < st->ngpus; i++) {
		struct sim_gpu *g = &st->gpus[i];
		if (strcasecmp(g->uuid, uuid) == 0) {
			*device = &gpu_handles[i];
			return NVML_SUCCESS;
		}
		unsigned int n = sim_gpu_mig_devices(g, refs);
		for (unsigned int k = 0; k < n; k++) {
			sim_mig_uuid(g, refs[k].gi_id, refs[k].ci_id, mig);
			if (strcasecmp(mig, uuid) == 0) {
				*device = &mig_handles[i][refs[k].gi_id][refs[k].ci_id];
				return NVML_SUCCESS;
			}
		}
	}
	return NVML_ERROR_NOT_FOUND;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device)
{
	BEGIN(READ);
	return end(handle_by_uuid(uuid, device), false);
}

/* Accepts "domain:bus:device.function" with a 4- or 8-digit domain, or "bus:device.function". */
static nvmlReturn_t handle_by_pci(const char *bus_id, nvmlDevice_t *device)
{
	unsigned int domain = 0, bus, dev, fn;
	char tail;

	if (!bus_id || !device)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (sscanf(bus_id, "%x:%x:%x.%x%c", &domain, &bus, &dev, &fn, &tail) != 4 &&
	    (domain = 0, sscanf(bus_id, "%x:%x.%x%c", &bus, &dev, &fn, &tail) != 3))
		return NVML_ERROR_INVALID_ARGUMENT;
	for (unsigned int i = 0; i < st->ngpus; i++) {
		if (domain == 0 && bus == st->gpus[i].pci_bus && dev == 0 && fn == 0) {
			*device = &gpu_handles[i];
			return NVML_SUCCESS;
		}
	}
	return NVML_ERROR_NOT_FOUND;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *device)
{
	BEGIN(READ);
	return end(handle_by_pci(pciBusId, device), false);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByPciBusId(const char *pciBusId, nvmlDevice_t *device)
{
	BEGIN(READ);
	return end(handle_by_pci(pciBusId, device), false);
}

/* ---- identity ---------------------------------------------------------------- */

/* Resolve any device handle: a physical GPU, or a live MIG device (m->ci set). */
static struct sim_gpu *any_gpu(nvmlDevice_t d, struct mig_dev *m)
{
	memset(m, 0, sizeof(*m));
	struct sim_gpu *g = phys_gpu(d);
	if (g)
		return g;
	return mig_of(d, m) ? m->gpu : NULL;
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
	struct mig_dev m;
	char buf[160];
	BEGIN(READ);
	struct sim_gpu *g = any_gpu(device, &m);
	if (!g)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	if (m.ci)
		snprintf(buf, sizeof(buf), "%s MIG %s", g->model->name, m.cp->name);
	else
		snprintf(buf, sizeof(buf), "%s", g->model->name);
	return end(copy_string(name, length, buf), false);
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
	struct mig_dev m;
	char buf[SIM_UUID_LEN + 1];
	BEGIN(READ);
	struct sim_gpu *g = any_gpu(device, &m);
	if (!g)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	if (m.ci)
		sim_mig_uuid(g, m.gi->id, m.ci->id, buf);
	else
		snprintf(buf, sizeof(buf), "%s", g->uuid);
	return end(copy_string(uuid, length, buf), false);
}

static nvmlReturn_t pci_info(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
	struct mig_dev m;
	struct sim_gpu *g = any_gpu(device, &m);
	if (!g || !pci)
		return NVML_ERROR_INVALID_ARGUMENT;
	memset(pci, 0, sizeof(*pci));
	pci->domain = 0;
	pci->bus = g->pci_bus;
	pci->device = 0;
	pci->pciDeviceId = g->model->pci_device_id;
	pci->pciSubSystemId = g->model->pci_subsystem_id;
	snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), NVML_DEVICE_PCI_BUS_ID_LEGACY_FMT, 0u, g->pci_bus, 0u);
	snprintf(pci->busId, sizeof(pci->busId), NVML_DEVICE_PCI_BUS_ID_FMT, 0u, g->pci_bus, 0u);
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
	BEGIN(READ);
	return end(pci_info(device, pci), false);
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
	BEGIN(READ);
	return end(pci_info(device, pci), false);
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
	BEGIN(READ);
	return end(pci_info(device, pci), false);
}

static int mig_index_of(struct sim_gpu *g, unsigned int gi_id, unsigned int ci_id)
{
	struct sim_mig_ref refs[SIM_MAX_GIS * SIM_MAX_CIS];
	unsigned int n = sim_gpu_mig_devices(g, refs);
	for (unsigned int i = 0; i < n; i++)
		if (refs[i].gi_id == gi_id && refs[i].ci_id == ci_id)
			return (int)i;
	return -1;
}

EXPORT nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index)
{
	struct mig_dev m;
	BEGIN(READ);
	struct sim_gpu *g = any_gpu(device, &m);
	if (!g || !index)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	*index = m.ci ? (unsigned int)mig_index_of(g, m.gi->id, m.ci->id) : gpu_index(g);
	return end(NVML_SUCCESS, false);
}

EXPORT nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t device, unsigned int *minorNumber)
{
	BEGIN(READ);
	struct sim_gpu *g = phys_gpu(device);
	struct mig_dev m;
	if (!g)
		return end(mig_of(device, &m) ? NVML_ERROR_NOT_SUPPORTED : NVML_ERROR_INVALID_ARGUMENT, false);
	if (!minorNumber)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	*minorNumber = g->minor;
	return end(NVML_SUCCESS, false);
}

/* Bytes of memory held by processes on a GPU, a GI (ci < 0) or one MIG device. */
static unsigned long long used_bytes(unsigned int gpu, int gi, int ci)
{
	unsigned long long mib = 0;
	for (unsigned int i = 0; i < st->nprocs; i++) {
		const struct sim_proc *p = &st->procs[i];
		if (p->gpu == gpu && (gi == SIM_NO_ID || p->gi == gi) && (ci == SIM_NO_ID || p->ci == ci))
			mib += p->used_mib;
	}
	return mib << 20;
}

/* total, reserved, used by processes. A physical GPU keeps 1/160 of its memory for the
 * driver (about 512 MiB on 80 GB, as real boards report); a MIG device has its GI's. */
static nvmlReturn_t memory_of(nvmlDevice_t device, unsigned long long *total, unsigned long long *reserved,
			      unsigned long long *used)
{
	struct mig_dev m;
	struct sim_gpu *g = any_gpu(device, &m);
	if (!g)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (m.ci) {
		*total = m.gp->memory_mib << 20;
		*reserved = 0;
		*used = used_bytes(gpu_index(g), (int)m.gi->id, SIM_NO_ID);
	} else {
		*total = g->model->memory_mib << 20;
		*reserved = *total / 160;
		*used = used_bytes(gpu_index(g), SIM_NO_ID, SIM_NO_ID);
	}
	if (*used > *total - *reserved)
		*used = *total - *reserved;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
	unsigned long long total, reserved, used;
	BEGIN(READ);
	if (!memory)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	nvmlReturn_t r = memory_of(device, &total, &reserved, &used);
	if (r == NVML_SUCCESS) {
		memory->total = total;
		memory->used = used + reserved; /* v1 counts the reserved part as used */
		memory->free = total - reserved - used;
	}
	return end(r, false);
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory)
{
	unsigned long long total, reserved, used;
	BEGIN(READ);
	if (!memory)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	if (memory->version != nvmlMemory_v2)
		return end(NVML_ERROR_ARGUMENT_VERSION_MISMATCH, false);
	nvmlReturn_t r = memory_of(device, &total, &reserved, &used);
	if (r == NVML_SUCCESS) {
		memory->total = total;
		memory->reserved = reserved;
		memory->used = used;
		memory->free = total - reserved - used;
	}
	return end(r, false);
}

EXPORT nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t device, nvmlDeviceArchitecture_t *arch)
{
	struct mig_dev m;
	BEGIN(READ);
	struct sim_gpu *g = any_gpu(device, &m);
	if (!g || !arch)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	*arch = g->model->arch;
	return end(NVML_SUCCESS, false);
}

EXPORT nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor)
{
	struct mig_dev m;
	BEGIN(READ);
	struct sim_gpu *g = any_gpu(device, &m);
	if (!g || !major || !minor)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	*major = g->model->cc_major;
	*minor = g->model->cc_minor;
	return end(NVML_SUCCESS, false);
}

/* ---- MIG mode ---------------------------------------------------------------- */

EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode)
{
	BEGIN(READ);
	struct sim_gpu *g = phys_gpu(device);
	if (!g || !currentMode || !pendingMode)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	if (g->model->nprofiles == 0) /* a GPU without MIG, as the driver answers for one */
		return end(NVML_ERROR_NOT_SUPPORTED, false);
	*currentMode = g->mig_current;
	*pendingMode = g->mig_pending;
	return end(NVML_SUCCESS, false);
}

EXPORT nvmlReturn_t nvmlDeviceSetMigMode(nvmlDevice_t device, unsigned int mode, nvmlReturn_t *activationStatus)
{
	BEGIN(WRITE);
	struct sim_gpu *g = phys_gpu(device);
	if (!g || !activationStatus)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	nvmlReturn_t r = sim_set_mig_mode(st, gpu_index(g), mode, activationStatus);
	return end(r, r == NVML_SUCCESS);
}

/* ---- MIG device handles ---------------------------------------------------------------- */

EXPORT nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count)
{
	BEGIN(READ);
	struct sim_gpu *g = phys_gpu(device);
	if (!g || !count)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	*count = g->mig_current == NVML_DEVICE_MIG_ENABLE ? g->model->max_mig_devices : 0;
	return end(NVML_SUCCESS, false);
}

EXPORT nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index, nvmlDevice_t *migDevice)
{
	struct sim_mig_ref refs[SIM_MAX_GIS * SIM_MAX_CIS];
	BEGIN(READ);
	struct sim_gpu *g = phys_gpu(device);
	if (!g || !migDevice)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	if (g->mig_current != NVML_DEVICE_MIG_ENABLE)
		return end(NVML_ERROR_NOT_SUPPORTED, false);
	if (index >= g->model->max_mig_devices)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	unsigned int n = sim_gpu_mig_devices(g, refs);
	if (index >= n)
		return end(NVML_ERROR_NOT_FOUND, false);
	*migDevice = &mig_handles[gpu_index(g)][refs[index].gi_id][refs[index].ci_id];
	return end(NVML_SUCCESS, false);
}

EXPORT nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device, unsigned int *isMigDevice)
{
	struct mig_dev m;
	BEGIN(READ);
	if (!isMigDevice)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	if (phys_gpu(device))
		*isMigDevice = 0;
	else if (mig_of(device, &m))
		*isMigDevice = 1;
	else
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	return end(NVML_SUCCESS, false);
}

EXPORT nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t migDevice, nvmlDevice_t *device)
{
	struct mig_dev m;
	BEGIN(READ);
	if (!device || !mig_of(migDevice, &m))
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	*device = &gpu_handles[gpu_index(m.gpu)];
	return end(NVML_SUCCESS, false);
}

static nvmlReturn_t mig_id(nvmlDevice_t device, unsigned int *id, bool want_ci)
{
	struct mig_dev m;
	if (!id)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (phys_gpu(device))
		return NVML_ERROR_NOT_SUPPORTED;
	if (!mig_of(device, &m))
		return NVML_ERROR_INVALID_ARGUMENT;
	*id = want_ci ? m.ci->id : m.gi->id;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int *id)
{
	BEGIN(READ);
	return end(mig_id(device, id, false), false);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int *id)
{
	BEGIN(READ);
	return end(mig_id(device, id, true), false);
}

static nvmlReturn_t attributes(nvmlDevice_t device, nvmlDeviceAttributes_t *a)
{
	struct mig_dev m;
	if (!a)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (phys_gpu(device))
		return NVML_ERROR_NOT_SUPPORTED; /* "currently only supports MIG device handles" */
	if (!mig_of(device, &m))
		return NVML_ERROR_INVALID_ARGUMENT;
	a->multiprocessorCount = m.cp->sms;
	a->sharedCopyEngineCount = m.cp->ce;
	a->sharedDecoderCount = m.cp->dec;
	a->sharedEncoderCount = m.cp->enc;
	a->sharedJpegCount = m.cp->jpeg;
	a->sharedOfaCount = m.cp->ofa;
	a->gpuInstanceSliceCount = m.gp->slices;
	a->computeInstanceSliceCount = m.cp->slices;
	a->memorySizeMB = m.gp->memory_mib;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t device, nvmlDeviceAttributes_t *attributes_out)
{
	BEGIN(READ);
	return end(attributes(device, attributes_out), false);
}

EXPORT nvmlReturn_t nvmlDeviceGetAttributes(nvmlDevice_t device, nvmlDeviceAttributes_v1_t *attributes_out)
{
	nvmlDeviceAttributes_t full;
	BEGIN(READ);
	if (!attributes_out)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	nvmlReturn_t r = attributes(device, &full);
	if (r == NVML_SUCCESS)
		memcpy(attributes_out, &full, sizeof(*attributes_out));
	return end(r, false);
}

/* ---- GPU instance profiles ---------------------------------------------------------------- */

static void fill_gi_v1(const struct sim_gi_profile *p, nvmlGpuInstanceProfileInfo_t *o)
{
	o->id = p->id;
	o->isP2pSupported = p->p2p;
	o->sliceCount = p->slices;
	o->instanceCount = p->instance_count;
	o->multiprocessorCount = p->sms;
	o->copyEngineCount = p->ce;
	o->decoderCount = p->dec;
	o->encoderCount = p->enc;
	o->jpegCount = p->jpeg;
	o->ofaCount = p->ofa;
	o->memorySizeMB = p->memory_mib;
}

/* The V functions take a v2 pointer but branch on the caller's version word. */
static nvmlReturn_t fill_gi_versioned(const struct sim_gi_profile *p, nvmlGpuInstanceProfileInfo_v2_t *info)
{
	if (info->version == nvmlGpuInstanceProfileInfo_v2) {
		nvmlGpuInstanceProfileInfo_t v1;
		fill_gi_v1(p, &v1);
		info->id = v1.id;
		info->isP2pSupported = v1.isP2pSupported;
		info->sliceCount = v1.sliceCount;
		info->instanceCount = v1.instanceCount;
		info->multiprocessorCount = v1.multiprocessorCount;
		info->copyEngineCount = v1.copyEngineCount;
		info->decoderCount = v1.decoderCount;
		info->encoderCount = v1.encoderCount;
		info->jpegCount = v1.jpegCount;
		info->ofaCount = v1.ofaCount;
		info->memorySizeMB = v1.memorySizeMB;
		snprintf(info->name, sizeof(info->name), "MIG %s", p->name);
		return NVML_SUCCESS;
	}
	if (info->version == nvmlGpuInstanceProfileInfo_v3) {
		nvmlGpuInstanceProfileInfo_v3_t *v3 = (nvmlGpuInstanceProfileInfo_v3_t *)info;
		v3->id = p->id;
		v3->sliceCount = p->slices;
		v3->instanceCount = p->instance_count;
		v3->multiprocessorCount = p->sms;
		v3->copyEngineCount = p->ce;
		v3->decoderCount = p->dec;
		v3->encoderCount = p->enc;
		v3->jpegCount = p->jpeg;
		v3->ofaCount = p->ofa;
		v3->memorySizeMB = p->memory_mib;
		snprintf(v3->name, sizeof(v3->name), "MIG %s", p->name);
		v3->capabilities = p->caps;
		return NVML_SUCCESS;
	}
	return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
}

/* Profile queries answer whatever the MIG mode (modern drivers are "MIG mode independent,
 * MIG query capable"); an index the GPU lacks is NOT_SUPPORTED, one past the table INVALID. */
static nvmlReturn_t gi_profile_by_index(nvmlDevice_t device, unsigned int index, const struct sim_gi_profile **p)
{
	struct sim_gpu *g = phys_gpu(device);
	if (!g || index >= NVML_GPU_INSTANCE_PROFILE_COUNT)
		return NVML_ERROR_INVALID_ARGUMENT;
	*p = sim_model_gi_by_index(g->model, index);
	return *p ? NVML_SUCCESS : NVML_ERROR_NOT_SUPPORTED;
}

EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfo(nvmlDevice_t device, unsigned int profile,
							nvmlGpuInstanceProfileInfo_t *info)
{
	const struct sim_gi_profile *p;
	BEGIN(READ);
	if (!info)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	nvmlReturn_t r = gi_profile_by_index(device, profile, &p);
	if (r == NVML_SUCCESS)
		fill_gi_v1(p, info);
	return end(r, false);
}

EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfoV(nvmlDevice_t device, unsigned int profile,
							 nvmlGpuInstanceProfileInfo_v2_t *info)
{
	const struct sim_gi_profile *p;
	BEGIN(READ);
	if (!info)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	if (info->version != nvmlGpuInstanceProfileInfo_v2 && info->version != nvmlGpuInstanceProfileInfo_v3)
		return end(NVML_ERROR_ARGUMENT_VERSION_MISMATCH, false);
	nvmlReturn_t r = gi_profile_by_index(device, profile, &p);
	if (r == NVML_SUCCESS)
		r = fill_gi_versioned(p, info);
	return end(r, false);
}

EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfoByIdV(nvmlDevice_t device, unsigned int profileId,
							     nvmlGpuInstanceProfileInfo_v2_t *info)
{
	BEGIN(READ);
	struct sim_gpu *g = phys_gpu(device);
	if (!g || !info)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	if (info->version != nvmlGpuInstanceProfileInfo_v2 && info->version != nvmlGpuInstanceProfileInfo_v3)
		return end(NVML_ERROR_ARGUMENT_VERSION_MISMATCH, false);
	const struct sim_gi_profile *p = sim_gpu_gi_profile(g, profileId);
	if (!p)
		return end(NVML_ERROR_NOT_SUPPORTED, false);
	return end(fill_gi_versioned(p, info), false);
}

EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceRemainingCapacity(nvmlDevice_t device, unsigned int profileId,
							      unsigned int *count)
{
	BEGIN(READ);
	struct sim_gpu *g = phys_gpu(device);
	if (!g || !count)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	const struct sim_gi_profile *p = sim_gpu_gi_profile(g, profileId);
	if (g->mig_current != NVML_DEVICE_MIG_ENABLE || !p)
		return end(NVML_ERROR_NOT_SUPPORTED, false);
	*count = sim_gi_remaining(g, p);
	return end(NVML_SUCCESS, false);
}

/* Placement lists: NULL asks for the count; a short buffer gets INSUFFICIENT_SIZE and the
 * count needed. The v1 symbol behaves the same (its "buffer sized by instanceCount" rule
 * overflows for +me profiles, so *count is taken as the buffer size here). */
static nvmlReturn_t copy_placements(const struct sim_placement *list, unsigned int n, void *out, unsigned int *count)
{
	if (!count)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (!out) {
		*count = n;
		return NVML_SUCCESS;
	}
	if (*count < n) {
		*count = n;
		return NVML_ERROR_INSUFFICIENT_SIZE;
	}
	nvmlGpuInstancePlacement_t *dst = out; /* same layout as nvmlComputeInstancePlacement_t */
	for (unsigned int i = 0; i < n; i++)
		dst[i] = (nvmlGpuInstancePlacement_t){list[i].start, list[i].size};
	*count = n;
	return NVML_SUCCESS;
}

static nvmlReturn_t gi_placements(nvmlDevice_t device, unsigned int profileId, nvmlGpuInstancePlacement_t *placements,
				  unsigned int *count)
{
	struct sim_gpu *g = phys_gpu(device);
	if (!g)
		return NVML_ERROR_INVALID_ARGUMENT;
	const struct sim_gi_profile *p = sim_gpu_gi_profile(g, profileId);
	if (!p)
		return NVML_ERROR_NOT_SUPPORTED;
	return copy_placements(p->placements, p->nplacements, placements, count);
}

EXPORT nvmlReturn_t nvmlDeviceGetGpuInstancePossiblePlacements_v2(nvmlDevice_t device, unsigned int profileId,
								  nvmlGpuInstancePlacement_t *placements,
								  unsigned int *count)
{
	BEGIN(READ);
	return end(gi_placements(device, profileId, placements, count), false);
}

EXPORT nvmlReturn_t nvmlDeviceGetGpuInstancePossiblePlacements(nvmlDevice_t device, unsigned int profileId,
							       nvmlGpuInstancePlacement_t *placements,
							       unsigned int *count)
{
	BEGIN(READ);
	if (!placements)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	return end(gi_placements(device, profileId, placements, count), false);
}

/* ---- GPU instances ---------------------------------------------------------------- */

static nvmlReturn_t create_gi(nvmlDevice_t device, unsigned int profileId, const struct sim_placement *at,
			      nvmlGpuInstance_t *out)
{
	unsigned int id;
	struct sim_gpu *g = phys_gpu(device);
	if (!g || !out)
		return NVML_ERROR_INVALID_ARGUMENT;
	nvmlReturn_t r = sim_gi_create(g, profileId, at, &id);
	if (r == NVML_SUCCESS)
		*out = &gi_handles[gpu_index(g)][id];
	return r;
}

EXPORT nvmlReturn_t nvmlDeviceCreateGpuInstance(nvmlDevice_t device, unsigned int profileId,
						nvmlGpuInstance_t *gpuInstance)
{
	BEGIN(WRITE);
	nvmlReturn_t r = create_gi(device, profileId, NULL, gpuInstance);
	return end(r, r == NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceCreateGpuInstanceWithPlacement(nvmlDevice_t device, unsigned int profileId,
							     const nvmlGpuInstancePlacement_t *placement,
							     nvmlGpuInstance_t *gpuInstance)
{
	BEGIN(WRITE);
	if (!placement)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	struct sim_placement at = {placement->start, placement->size};
	nvmlReturn_t r = create_gi(device, profileId, &at, gpuInstance);
	return end(r, r == NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlGpuInstanceDestroy(nvmlGpuInstance_t gpuInstance)
{
	struct sim_gpu *g;
	BEGIN(WRITE);
	struct sim_gi *gi = gi_of(gpuInstance, &g);
	if (!gi)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	nvmlReturn_t r = sim_gi_destroy(st, gpu_index(g), gi->id);
	return end(r, r == NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetGpuInstances(nvmlDevice_t device, unsigned int profileId,
					      nvmlGpuInstance_t *gpuInstances, unsigned int *count)
{
	BEGIN(READ);
	struct sim_gpu *g = phys_gpu(device);
	if (!g || !gpuInstances || !count)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	if (g->mig_current != NVML_DEVICE_MIG_ENABLE)
		return end(NVML_ERROR_NOT_SUPPORTED, false);
	if (!sim_gpu_gi_profile(g, profileId))
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	unsigned int n = 0;
	for (unsigned int i = 0; i < g->ngi; i++)
		if (g->gi[i].profile_id == profileId)
			gpuInstances[n++] = &gi_handles[gpu_index(g)][g->gi[i].id];
	*count = n;
	return end(NVML_SUCCESS, false);
}

EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceById(nvmlDevice_t device, unsigned int id, nvmlGpuInstance_t *gpuInstance)
{
	BEGIN(READ);
	struct sim_gpu *g = phys_gpu(device);
	if (!g || !gpuInstance)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	if (g->mig_current != NVML_DEVICE_MIG_ENABLE)
		return end(NVML_ERROR_NOT_SUPPORTED, false);
	if (!sim_gpu_find_gi(g, id))
		return end(NVML_ERROR_NOT_FOUND, false);
	*gpuInstance = &gi_handles[gpu_index(g)][id];
	return end(NVML_SUCCESS, false);
}

EXPORT nvmlReturn_t nvmlGpuInstanceGetInfo(nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t *info)
{
	struct sim_gpu *g;
	BEGIN(READ);
	struct sim_gi *gi = gi_of(gpuInstance, &g);
	if (!gi || !info)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	info->device = &gpu_handles[gpu_index(g)];
	info->id = gi->id;
	info->profileId = gi->profile_id;
	info->placement = (nvmlGpuInstancePlacement_t){gi->placement.start, gi->placement.size};
	return end(NVML_SUCCESS, false);
}

/* ---- compute instance profiles ---------------------------------------------------------------- */

static nvmlReturn_t ci_profile(nvmlGpuInstance_t h, unsigned int profile, unsigned int eng,
			       const struct sim_ci_profile **c)
{
	struct sim_gpu *g;
	struct sim_gi *gi = gi_of(h, &g);
	if (!gi || profile >= NVML_COMPUTE_INSTANCE_PROFILE_COUNT || eng >= NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_COUNT)
		return NVML_ERROR_INVALID_ARGUMENT;
	*c = sim_gi_ci_by_id(sim_gpu_gi_profile(g, gi->profile_id), profile);
	return *c ? NVML_SUCCESS : NVML_ERROR_NOT_SUPPORTED;
}

static void fill_ci_v1(const struct sim_ci_profile *c, nvmlComputeInstanceProfileInfo_t *o)
{
	o->id = c->id;
	o->sliceCount = c->slices;
	o->instanceCount = c->instance_count;
	o->multiprocessorCount = c->sms;
	o->sharedCopyEngineCount = c->ce;
	o->sharedDecoderCount = c->dec;
	o->sharedEncoderCount = c->enc;
	o->sharedJpegCount = c->jpeg;
	o->sharedOfaCount = c->ofa;
}

EXPORT nvmlReturn_t nvmlGpuInstanceGetComputeInstanceProfileInfo(nvmlGpuInstance_t gpuInstance, unsigned int profile,
								 unsigned int engProfile,
								 nvmlComputeInstanceProfileInfo_t *info)
{
	const struct sim_ci_profile *c;
	BEGIN(READ);
	if (!info)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	nvmlReturn_t r = ci_profile(gpuInstance, profile, engProfile, &c);
	if (r == NVML_SUCCESS)
		fill_ci_v1(c, info);
	return end(r, false);
}

EXPORT nvmlReturn_t nvmlGpuInstanceGetComputeInstanceProfileInfoV(nvmlGpuInstance_t gpuInstance, unsigned int profile,
								  unsigned int engProfile,
								  nvmlComputeInstanceProfileInfo_v2_t *info)
{
	const struct sim_ci_profile *c;
	nvmlComputeInstanceProfileInfo_t v1;
	BEGIN(READ);
	if (!info)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	if (info->version != nvmlComputeInstanceProfileInfo_v2 && info->version != nvmlComputeInstanceProfileInfo_v3)
		return end(NVML_ERROR_ARGUMENT_VERSION_MISMATCH, false);
	nvmlReturn_t r = ci_profile(gpuInstance, profile, engProfile, &c);
	if (r != NVML_SUCCESS)
		return end(r, false);
	fill_ci_v1(c, &v1);
	/* v2 and v3 share the layout up to the name; v3 appends capabilities. */
	memcpy(&info->id, &v1, sizeof(v1));
	snprintf(info->name, sizeof(info->name), "MIG %s", c->name);
	if (info->version == nvmlComputeInstanceProfileInfo_v3)
		((nvmlComputeInstanceProfileInfo_v3_t *)info)->capabilities = c->caps;
	return end(NVML_SUCCESS, false);
}

EXPORT nvmlReturn_t nvmlGpuInstanceGetComputeInstanceRemainingCapacity(nvmlGpuInstance_t gpuInstance,
								       unsigned int profileId, unsigned int *count)
{
	const struct sim_ci_profile *c;
	struct sim_gpu *g;
	BEGIN(READ);
	if (!count)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	nvmlReturn_t r = ci_profile(gpuInstance, profileId, NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED, &c);
	if (r == NVML_SUCCESS) {
		struct sim_gi *gi = gi_of(gpuInstance, &g);
		*count = sim_ci_remaining(g, gi, c);
	}
	return end(r, false);
}

EXPORT nvmlReturn_t nvmlGpuInstanceGetComputeInstancePossiblePlacements(nvmlGpuInstance_t gpuInstance,
									unsigned int profileId,
									nvmlComputeInstancePlacement_t *placements,
									unsigned int *count)
{
	const struct sim_ci_profile *c;
	BEGIN(READ);
	nvmlReturn_t r = ci_profile(gpuInstance, profileId, NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED, &c);
	if (r == NVML_SUCCESS)
		r = copy_placements(c->placements, c->nplacements, placements, count);
	return end(r, false);
}

/* ---- compute instances ---------------------------------------------------------------- */

static nvmlReturn_t create_ci(nvmlGpuInstance_t h, unsigned int profileId, const struct sim_placement *at,
			      nvmlComputeInstance_t *out)
{
	struct sim_gpu *g;
	unsigned int id;
	struct sim_gi *gi = gi_of(h, &g);
	if (!gi || !out)
		return NVML_ERROR_INVALID_ARGUMENT;
	nvmlReturn_t r = sim_ci_create(g, gi, profileId, at, &id);
	if (r == NVML_SUCCESS)
		*out = &ci_handles[gpu_index(g)][gi->id][id];
	return r;
}

EXPORT nvmlReturn_t nvmlGpuInstanceCreateComputeInstance(nvmlGpuInstance_t gpuInstance, unsigned int profileId,
							 nvmlComputeInstance_t *computeInstance)
{
	BEGIN(WRITE);
	nvmlReturn_t r = create_ci(gpuInstance, profileId, NULL, computeInstance);
	return end(r, r == NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlGpuInstanceCreateComputeInstanceWithPlacement(nvmlGpuInstance_t gpuInstance,
								      unsigned int profileId,
								      const nvmlComputeInstancePlacement_t *placement,
								      nvmlComputeInstance_t *computeInstance)
{
	BEGIN(WRITE);
	if (!placement)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	struct sim_placement at = {placement->start, placement->size};
	nvmlReturn_t r = create_ci(gpuInstance, profileId, &at, computeInstance);
	return end(r, r == NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlComputeInstanceDestroy(nvmlComputeInstance_t computeInstance)
{
	struct sim_gpu *g;
	struct sim_gi *gi;
	BEGIN(WRITE);
	struct sim_ci *ci = ci_of(computeInstance, &g, &gi);
	if (!ci)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	nvmlReturn_t r = sim_ci_destroy(st, gpu_index(g), gi->id, ci->id);
	return end(r, r == NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlGpuInstanceGetComputeInstances(nvmlGpuInstance_t gpuInstance, unsigned int profileId,
						       nvmlComputeInstance_t *computeInstances, unsigned int *count)
{
	const struct sim_ci_profile *c;
	struct sim_gpu *g;
	BEGIN(READ);
	if (!computeInstances || !count)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	nvmlReturn_t r = ci_profile(gpuInstance, profileId, NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED, &c);
	if (r != NVML_SUCCESS)
		return end(r, false);
	struct sim_gi *gi = gi_of(gpuInstance, &g);
	unsigned int n = 0;
	for (unsigned int i = 0; i < gi->nci; i++)
		if (gi->ci[i].profile_id == profileId)
			computeInstances[n++] = &ci_handles[gpu_index(g)][gi->id][gi->ci[i].id];
	*count = n;
	return end(NVML_SUCCESS, false);
}

EXPORT nvmlReturn_t nvmlGpuInstanceGetComputeInstanceById(nvmlGpuInstance_t gpuInstance, unsigned int id,
							  nvmlComputeInstance_t *computeInstance)
{
	struct sim_gpu *g;
	BEGIN(READ);
	struct sim_gi *gi = gi_of(gpuInstance, &g);
	if (!gi || !computeInstance)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	if (!sim_gi_find_ci(gi, id))
		return end(NVML_ERROR_NOT_FOUND, false);
	*computeInstance = &ci_handles[gpu_index(g)][gi->id][id];
	return end(NVML_SUCCESS, false);
}

static nvmlReturn_t ci_info(nvmlComputeInstance_t h, nvmlComputeInstanceInfo_t *info)
{
	struct sim_gpu *g;
	struct sim_gi *gi;
	struct sim_ci *ci = ci_of(h, &g, &gi);
	if (!ci || !info)
		return NVML_ERROR_INVALID_ARGUMENT;
	info->device = &gpu_handles[gpu_index(g)];
	info->gpuInstance = &gi_handles[gpu_index(g)][gi->id];
	info->id = ci->id;
	info->profileId = ci->profile_id;
	info->placement = (nvmlComputeInstancePlacement_t){ci->placement.start, ci->placement.size};
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlComputeInstanceGetInfo_v2(nvmlComputeInstance_t computeInstance, nvmlComputeInstanceInfo_t *info)
{
	BEGIN(READ);
	return end(ci_info(computeInstance, info), false);
}

EXPORT nvmlReturn_t nvmlComputeInstanceGetInfo(nvmlComputeInstance_t computeInstance, nvmlComputeInstanceInfo_v1_t *info)
{
	nvmlComputeInstanceInfo_t full;
	BEGIN(READ);
	if (!info)
		return end(NVML_ERROR_INVALID_ARGUMENT, false);
	nvmlReturn_t r = ci_info(computeInstance, &full);
	if (r == NVML_SUCCESS)
		memcpy(info, &full, sizeof(*info)); /* the R450 struct stops before placement */
	return end(r, false);
}

/* ---- processes ---------------------------------------------------------------- */

/* The processes of a physical GPU (all of them, with their MIG ids) or of one MIG device,
 * written as v1 (16-byte) or v2/v3 (24-byte) records. */
static nvmlReturn_t running_processes(nvmlDevice_t device, unsigned int *count, void *infos, bool v1)
{
	struct mig_dev m;
	struct sim_gpu *g = any_gpu(device, &m);
	if (!g || !count)
		return NVML_ERROR_INVALID_ARGUMENT;
	unsigned int gpu = gpu_index(g), n = 0, cap = *count;
	for (unsigned int i = 0; i < st->nprocs; i++) {
		const struct sim_proc *p = &st->procs[i];
		if (p->gpu != gpu || (m.ci && (p->gi != (int)m.gi->id || p->ci != (int)m.ci->id)))
			continue;
		if (infos && n < cap) {
			if (v1) {
				nvmlProcessInfo_v1_t *o = (nvmlProcessInfo_v1_t *)infos + n;
				o->pid = p->pid;
				o->usedGpuMemory = p->used_mib << 20;
			} else {
				nvmlProcessInfo_t *o = (nvmlProcessInfo_t *)infos + n;
				o->pid = p->pid;
				o->usedGpuMemory = p->used_mib << 20;
				o->gpuInstanceId = p->gi == SIM_NO_ID ? NVML_VALUE_NOT_AVAILABLE_U32 : (unsigned int)p->gi;
				o->computeInstanceId = p->ci == SIM_NO_ID ? NVML_VALUE_NOT_AVAILABLE_U32 : (unsigned int)p->ci;
			}
		}
		n++;
	}
	*count = n;
	if (n > cap || (!infos && n > 0))
		return NVML_ERROR_INSUFFICIENT_SIZE;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount,
							    nvmlProcessInfo_t *infos)
{
	BEGIN(READ);
	return end(running_processes(device, infoCount, infos, false), false);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount,
							    nvmlProcessInfo_v2_t *infos)
{
	BEGIN(READ);
	return end(running_processes(device, infoCount, infos, false), false);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device, unsigned int *infoCount,
							 nvmlProcessInfo_v1_t *infos)
{
	BEGIN(READ);
	return end(running_processes(device, infoCount, infos, true), false);
}
