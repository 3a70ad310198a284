/* SPDX-License-Identifier: MIT */
/*
 * The simulated machine: GPUs with their MIG mode, GPU and compute instances, fake
 * processes, armed faults and latencies. One struct, saved as one JSON file that every
 * process using the simulator shares (sim/store.c), changed only by the engine
 * (sim/engine.c), whose functions are pure over this struct.
 */
#ifndef MIGSIM_STATE_H
#define MIGSIM_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "../nvml/nvml_abi.h"
#include "models.h"

#define SIM_MAX_GPUS 16
#define SIM_MAX_GIS 8       /* RM: GPUMGR_MAX_GPU_INSTANCES */
#define SIM_MAX_CIS 8       /* RM: GPUMGR_MAX_COMPUTE_INSTANCES */
#define SIM_MAX_GI_IDS 15   /* swizzIds 0..14 */
#define SIM_MAX_PROCS 256
#define SIM_MAX_FAULTS 32
#define SIM_MAX_LATENCIES 32
#define SIM_FN_NAME_MAX 64
#define SIM_UUID_LEN 40     /* "GPU-" + 36 */
#define SIM_NO_ID (-1)

#define SIM_STATE_FORMAT "migsim-state"
#define SIM_STATE_VERSION 1
#define SIM_DEFAULT_GPUS "A100-SXM4-40GB"

struct sim_ci {
	unsigned int id;
	unsigned int profile_id;
	struct sim_placement placement;
};

struct sim_gi {
	unsigned int id;
	unsigned int profile_id;
	struct sim_placement placement;
	unsigned int nci;
	struct sim_ci ci[SIM_MAX_CIS]; /* sorted by id */
};

struct sim_gpu {
	const struct sim_model *model;
	char uuid[SIM_UUID_LEN + 1];
	unsigned int pci_bus;
	unsigned int minor;
	bool swapped_halves;   /* GI ids looked up with start XOR half (seen on some boards) */
	bool reset_required;   /* MIG mode changes wait for a GPU reset (passthrough VM) */
	unsigned int mig_current;
	unsigned int mig_pending;
	unsigned int ngi;
	struct sim_gi gi[SIM_MAX_GIS]; /* sorted by id */
};

struct sim_proc {
	unsigned int pid;
	unsigned int gpu;
	int gi; /* SIM_NO_ID on a GPU without MIG */
	int ci;
	unsigned long long used_mib;
	char name[32];
};

struct sim_fault {
	char function[SIM_FN_NAME_MAX]; /* NVML symbol, e.g. "nvmlDeviceCreateGpuInstance" */
	unsigned int nth;               /* fail the nth call counted from when it was armed */
	unsigned int calls;             /* calls counted so far */
	nvmlReturn_t error;
	bool always;                    /* keep failing every call from the nth on */
};

struct sim_latency {
	char op[SIM_FN_NAME_MAX]; /* NVML symbol or an alias such as "gi-create" */
	unsigned int ms;
};

struct sim_state {
	unsigned long long generation; /* bumped by every save */
	bool unprivileged;             /* callers lack root / the mig config capability */
	unsigned int next_pid;
	unsigned int ngpus;
	struct sim_gpu gpus[SIM_MAX_GPUS];
	unsigned int nprocs;
	struct sim_proc procs[SIM_MAX_PROCS];
	unsigned int nfaults;
	struct sim_fault faults[SIM_MAX_FAULTS];
	unsigned int nlatencies;
	struct sim_latency latencies[SIM_MAX_LATENCIES];
};

/* ---- building and checking (state.c) ---------------------------------------------- */

/* An on/off environment variable: set, not empty and not "0". */
bool sim_env_flag(const char *name);

/* Format a message into err (when given) and return -1. */
int sim_errorf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fill *st from a GPU list such as "A100-SXM4-40GB", "8xA100-SXM4-40GB" or
 * "2xH100-SXM5-80GB,A30"; a model may carry ":swapped" and ":reset-required".
 * Returns 0, or -1 with a message in err that says what is accepted. */
int sim_state_init(struct sim_state *st, const char *gpu_list, char *err, size_t errlen);

/* Strict reader and writer of the state file's JSON text. */
int sim_state_from_json(struct sim_state *st, const char *text, size_t len, char *err, size_t errlen);
char *sim_state_to_json(const struct sim_state *st); /* malloc'd; NULL on allocation failure */

/* Every invariant the engine keeps (ids, placements, overlaps, counts, references). */
int sim_state_check(const struct sim_state *st, char *err, size_t errlen);

/* ---- MIG semantics (engine.c); each returns an NVML code ---------------------------- */

const struct sim_gi_profile *sim_gpu_gi_profile(const struct sim_gpu *g, unsigned int profile_id);
struct sim_gi *sim_gpu_find_gi(struct sim_gpu *g, unsigned int gi_id);
struct sim_ci *sim_gi_find_ci(struct sim_gi *gi, unsigned int ci_id);

/* Can a GI of this profile be created at this placement now? (placement must be listed) */
bool sim_gi_fits(const struct sim_gpu *g, const struct sim_gi_profile *p, struct sim_placement at);
unsigned int sim_gi_remaining(const struct sim_gpu *g, const struct sim_gi_profile *p);
nvmlReturn_t sim_gi_create(struct sim_gpu *g, unsigned int profile_id, const struct sim_placement *at,
			   unsigned int *gi_id);
nvmlReturn_t sim_gi_destroy(struct sim_state *st, unsigned int gpu, unsigned int gi_id);

unsigned int sim_ci_remaining(const struct sim_gpu *g, const struct sim_gi *gi, const struct sim_ci_profile *c);
nvmlReturn_t sim_ci_create(struct sim_gpu *g, struct sim_gi *gi, unsigned int profile_id,
			   const struct sim_placement *at, unsigned int *ci_id);
nvmlReturn_t sim_ci_destroy(struct sim_state *st, unsigned int gpu, unsigned int gi_id, unsigned int ci_id);

/* MIG mode: the call's own result, and *activation as nvmlDeviceSetMigMode reports it. */
nvmlReturn_t sim_set_mig_mode(struct sim_state *st, unsigned int gpu, unsigned int mode, nvmlReturn_t *activation);
/* A GPU reset: applies the pending MIG mode and destroys every instance. Fails with
 * IN_USE while processes run on the GPU unless kill_processes. */
nvmlReturn_t sim_gpu_reset(struct sim_state *st, unsigned int gpu, bool kill_processes);
/* A node reboot: every process ends, every GPU resets, and GPUs whose MIG mode does
 * not survive a reset (Hopper, Blackwell) come back with MIG disabled. */
void sim_reboot(struct sim_state *st);

unsigned int sim_gpu_nprocs(const struct sim_state *st, unsigned int gpu, int gi, int ci);

/* MIG devices (one per CI) in NVML's order: GI id, then CI id. Returns how many. */
struct sim_mig_ref {
	unsigned int gi_id;
	unsigned int ci_id;
};
unsigned int sim_gpu_mig_devices(const struct sim_gpu *g, struct sim_mig_ref out[SIM_MAX_GIS * SIM_MAX_CIS]);

/* Deterministic MIG device UUID for (GPU UUID, GI id, CI id): a name-based v5 UUID. */
void sim_mig_uuid(const struct sim_gpu *g, unsigned int gi_id, unsigned int ci_id, char out[SIM_UUID_LEN + 1]);

/* Processes (test control). */
nvmlReturn_t sim_proc_start(struct sim_state *st, unsigned int gpu, int gi, int ci, unsigned long long used_mib,
			    const char *name, unsigned int *pid);
nvmlReturn_t sim_proc_stop(struct sim_state *st, unsigned int pid);

/* The name of an NVML return code as in nvml.h ("NVML_ERROR_IN_USE"), and back. */
const char *sim_return_name(nvmlReturn_t r);
int sim_return_parse(const char *s, nvmlReturn_t *out);
/* nvmlErrorString's text. */
const char *sim_error_string(nvmlReturn_t r);

#endif
