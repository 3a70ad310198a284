/* SPDX-License-Identifier: MIT */
/*
 * MIG semantics of the simulated driver, as pure functions over struct sim_state.
 * The rules and where each comes from are listed in docs/simulator.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uuid/uuid.h>

#include "state.h"

static bool overlaps(struct sim_placement a, struct sim_placement b)
{
	return a.start < b.start + b.size && b.start < a.start + a.size;
}

static bool placement_listed(const struct sim_placement *list, unsigned int n, struct sim_placement at)
{
	for (unsigned int i = 0; i < n; i++)
		if (list[i].start == at.start && list[i].size == at.size)
			return true;
	return false;
}

const struct sim_gi_profile *sim_gpu_gi_profile(const struct sim_gpu *g, unsigned int profile_id)
{
	return sim_model_gi_by_id(g->model, profile_id);
}

struct sim_gi *sim_gpu_find_gi(struct sim_gpu *g, unsigned int gi_id)
{
	for (unsigned int i = 0; i < g->ngi; i++)
		if (g->gi[i].id == gi_id)
			return &g->gi[i];
	return NULL;
}

struct sim_ci *sim_gi_find_ci(struct sim_gi *gi, unsigned int ci_id)
{
	for (unsigned int i = 0; i < gi->nci; i++)
		if (gi->ci[i].id == ci_id)
			return &gi->ci[i];
	return NULL;
}

/* ---- GPU instances ---------------------------------------------------------------- */

static bool span_free(const struct sim_gpu *g, struct sim_placement at)
{
	for (unsigned int i = 0; i < g->ngi; i++)
		if (overlaps(g->gi[i].placement, at))
			return false;
	return true;
}

/* "+me.all" takes every media engine: beside it only "-me" profiles fit, and it fits
 * only beside "-me" profiles. */
static bool media_allows(const struct sim_gpu *g, const struct sim_gi_profile *p)
{
	for (unsigned int i = 0; i < g->ngi; i++) {
		const struct sim_gi_profile *q = sim_gpu_gi_profile(g, g->gi[i].profile_id);
		if (p->media == SIM_MEDIA_ALL && q->media != SIM_MEDIA_NONE)
			return false;
		if (q->media == SIM_MEDIA_ALL && p->media != SIM_MEDIA_NONE)
			return false;
	}
	return true;
}

/* How many more GIs of p the GPU-wide limits allow, ignoring where they would go. */
static unsigned int gi_headroom(const struct sim_gpu *g, const struct sim_gi_profile *p)
{
	unsigned int same = 0, slices = 0;

	if (g->mig_current != NVML_DEVICE_MIG_ENABLE || !media_allows(g, p))
		return 0;
	for (unsigned int i = 0; i < g->ngi; i++) {
		const struct sim_gi_profile *q = sim_gpu_gi_profile(g, g->gi[i].profile_id);
		slices += q->slices;
		same += g->gi[i].profile_id == p->id;
	}
	unsigned int limit = g->model->max_gpu_instances;
	if (limit > SIM_MAX_GIS) /* not as a ?: min, which cppcheck 2.10 misreads as always 0 */
		limit = SIM_MAX_GIS;
	unsigned int room = limit > g->ngi ? limit - g->ngi : 0;
	unsigned int count_room = p->instance_count > same ? p->instance_count - same : 0;
	unsigned int slice_room = g->model->compute_slices > slices ? (g->model->compute_slices - slices) / p->slices : 0;
	if (count_room < room)
		room = count_room;
	if (slice_room < room)
		room = slice_room;
	return room;
}

bool sim_gi_fits(const struct sim_gpu *g, const struct sim_gi_profile *p, struct sim_placement at)
{
	return gi_headroom(g, p) > 0 && span_free(g, at);
}

/* The most non-overlapping free placements of a list (earliest-end greedy is optimal
 * for intervals), so capacity counts what can really be created together. */
static unsigned int max_disjoint_free(const struct sim_placement *list, unsigned int n,
				      bool (*is_free)(const void *, struct sim_placement), const void *ctx)
{
	bool taken[SIM_MAX_PLACEMENTS] = {false};
	unsigned int count = 0, frontier = 0;

	for (;;) {
		int best = -1;
		for (unsigned int i = 0; i < n; i++) {
			if (taken[i] || list[i].start < frontier || !is_free(ctx, list[i]))
				continue;
			if (best < 0 || list[i].start + list[i].size < list[best].start + list[best].size)
				best = (int)i;
		}
		if (best < 0)
			return count;
		taken[best] = true;
		frontier = list[best].start + list[best].size;
		count++;
	}
}

static bool gi_span_free(const void *ctx, struct sim_placement at)
{
	return span_free(ctx, at);
}

unsigned int sim_gi_remaining(const struct sim_gpu *g, const struct sim_gi_profile *p)
{
	unsigned int room = gi_headroom(g, p);
	unsigned int fit = max_disjoint_free(p->placements, p->nplacements, gi_span_free, g);
	return fit < room ? fit : room;
}

/* How many currently free placements, over every profile of the GPU, a GI at `at` would
 * take away. The default placement minimises this (ties to the lowest start): the rule
 * reproduces every placement the facts record for real drivers (1g: 6,4,5,0,1,2,3). */
static unsigned int placements_blocked(const struct sim_gpu *g, struct sim_placement at)
{
	unsigned int blocked = 0;
	for (unsigned int i = 0; i < g->model->nprofiles; i++) {
		const struct sim_gi_profile *q = &g->model->profiles[i];
		for (unsigned int j = 0; j < q->nplacements; j++)
			if (overlaps(q->placements[j], at) && span_free(g, q->placements[j]))
				blocked++;
	}
	return blocked;
}

static void insert_gi(struct sim_gpu *g, const struct sim_gi *gi)
{
	unsigned int pos = 0;
	while (pos < g->ngi && g->gi[pos].id < gi->id)
		pos++;
	memmove(&g->gi[pos + 1], &g->gi[pos], (g->ngi - pos) * sizeof(g->gi[0]));
	g->gi[pos] = *gi;
	g->ngi++;
}

nvmlReturn_t sim_gi_create(struct sim_gpu *g, unsigned int profile_id, const struct sim_placement *at,
			   unsigned int *gi_id)
{
	const struct sim_gi_profile *p = sim_gpu_gi_profile(g, profile_id);
	struct sim_placement chosen;

	if (g->mig_current != NVML_DEVICE_MIG_ENABLE)
		return NVML_ERROR_NOT_SUPPORTED;
	if (!p)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (at) {
		if (!placement_listed(p->placements, p->nplacements, *at))
			return NVML_ERROR_INVALID_ARGUMENT;
		if (!sim_gi_fits(g, p, *at))
			return NVML_ERROR_INSUFFICIENT_RESOURCES;
		chosen = *at;
	} else {
		int best = -1;
		unsigned int best_score = 0;
		for (unsigned int i = 0; i < p->nplacements; i++) {
			if (!sim_gi_fits(g, p, p->placements[i]))
				continue;
			unsigned int score = placements_blocked(g, p->placements[i]);
			if (best < 0 || score < best_score ||
			    (score == best_score && p->placements[i].start < p->placements[best].start)) {
				best = (int)i;
				best_score = score;
			}
		}
		if (best < 0)
			return NVML_ERROR_INSUFFICIENT_RESOURCES;
		chosen = p->placements[best];
	}

	int id = sim_model_gi_id(g->model, chosen, g->swapped_halves);
	if (id < 0 || sim_gpu_find_gi(g, (unsigned int)id))
		return NVML_ERROR_UNKNOWN; /* the tables contradict themselves */
	struct sim_gi gi = {.id = (unsigned int)id, .profile_id = profile_id, .placement = chosen};
	insert_gi(g, &gi);
	if (gi_id)
		*gi_id = (unsigned int)id;
	return NVML_SUCCESS;
}

nvmlReturn_t sim_gi_destroy(struct sim_state *st, unsigned int gpu, unsigned int gi_id)
{
	struct sim_gpu *g = &st->gpus[gpu];
	struct sim_gi *gi = sim_gpu_find_gi(g, gi_id);

	if (!gi)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (gi->nci > 0 || sim_gpu_nprocs(st, gpu, (int)gi_id, SIM_NO_ID) > 0)
		return NVML_ERROR_IN_USE;
	size_t idx = (size_t)(gi - g->gi);
	memmove(gi, gi + 1, (g->ngi - idx - 1) * sizeof(*gi));
	g->ngi--;
	return NVML_SUCCESS;
}

/* ---- compute instances ---------------------------------------------------------------- */

static bool ci_span_free(const void *ctx, struct sim_placement at)
{
	const struct sim_gi *gi = ctx;
	for (unsigned int i = 0; i < gi->nci; i++)
		if (overlaps(gi->ci[i].placement, at))
			return false;
	return true;
}

static unsigned int ci_headroom(const struct sim_gpu *g, const struct sim_gi *gi, const struct sim_ci_profile *c)
{
	const struct sim_gi_profile *p = sim_gpu_gi_profile(g, gi->profile_id);
	unsigned int same = 0, slices = 0;

	for (unsigned int i = 0; i < gi->nci; i++) {
		const struct sim_ci_profile *d = sim_gi_ci_by_id(p, gi->ci[i].profile_id);
		slices += d->slices;
		same += gi->ci[i].profile_id == c->id;
	}
	unsigned int room = SIM_MAX_CIS - gi->nci;
	unsigned int count_room = c->instance_count > same ? c->instance_count - same : 0;
	unsigned int slice_room = p->slices > slices ? (p->slices - slices) / c->slices : 0;
	if (count_room < room)
		room = count_room;
	if (slice_room < room)
		room = slice_room;
	return room;
}

unsigned int sim_ci_remaining(const struct sim_gpu *g, const struct sim_gi *gi, const struct sim_ci_profile *c)
{
	unsigned int room = ci_headroom(g, gi, c);
	unsigned int fit = max_disjoint_free(c->placements, c->nplacements, ci_span_free, gi);
	return fit < room ? fit : room;
}

static void insert_ci(struct sim_gi *gi, const struct sim_ci *ci)
{
	unsigned int pos = 0;
	while (pos < gi->nci && gi->ci[pos].id < ci->id)
		pos++;
	memmove(&gi->ci[pos + 1], &gi->ci[pos], (gi->nci - pos) * sizeof(gi->ci[0]));
	gi->ci[pos] = *ci;
	gi->nci++;
}

nvmlReturn_t sim_ci_create(struct sim_gpu *g, struct sim_gi *gi, unsigned int profile_id,
			   const struct sim_placement *at, unsigned int *ci_id)
{
	const struct sim_gi_profile *p = sim_gpu_gi_profile(g, gi->profile_id);
	const struct sim_ci_profile *c;
	struct sim_placement chosen;

	if (profile_id >= NVML_COMPUTE_INSTANCE_PROFILE_COUNT)
		return NVML_ERROR_INVALID_ARGUMENT;
	c = sim_gi_ci_by_id(p, profile_id);
	if (!c)
		return NVML_ERROR_NOT_SUPPORTED;
	if (at) {
		if (!placement_listed(c->placements, c->nplacements, *at))
			return NVML_ERROR_INVALID_ARGUMENT;
		if (ci_headroom(g, gi, c) == 0 || !ci_span_free(gi, *at))
			return NVML_ERROR_INSUFFICIENT_RESOURCES;
		chosen = *at;
	} else {
		/* Observed: -cci 0,0,0 in a 3g GI gives placements 0:1, 1:1, 2:1, i.e. the lowest free. */
		int found = -1;
		if (ci_headroom(g, gi, c) > 0)
			for (unsigned int i = 0; i < c->nplacements && found < 0; i++)
				if (ci_span_free(gi, c->placements[i]))
					found = (int)i;
		if (found < 0)
			return NVML_ERROR_INSUFFICIENT_RESOURCES;
		chosen = c->placements[found];
	}

	unsigned int id = 0;
	while (sim_gi_find_ci(gi, id))
		id++; /* lowest free slot; headroom guarantees one below SIM_MAX_CIS */
	struct sim_ci ci = {.id = id, .profile_id = profile_id, .placement = chosen};
	insert_ci(gi, &ci);
	if (ci_id)
		*ci_id = id;
	return NVML_SUCCESS;
}

nvmlReturn_t sim_ci_destroy(struct sim_state *st, unsigned int gpu, unsigned int gi_id, unsigned int ci_id)
{
	struct sim_gi *gi = sim_gpu_find_gi(&st->gpus[gpu], gi_id);
	struct sim_ci *ci = gi ? sim_gi_find_ci(gi, ci_id) : NULL;

	if (!ci)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (sim_gpu_nprocs(st, gpu, (int)gi_id, (int)ci_id) > 0)
		return NVML_ERROR_IN_USE;
	size_t idx = (size_t)(ci - gi->ci);
	memmove(ci, ci + 1, (gi->nci - idx - 1) * sizeof(*ci));
	gi->nci--;
	return NVML_SUCCESS;
}

/* ---- MIG mode, resets, processes ---------------------------------------------------- */

unsigned int sim_gpu_nprocs(const struct sim_state *st, unsigned int gpu, int gi, int ci)
{
	unsigned int n = 0;
	for (unsigned int i = 0; i < st->nprocs; i++) {
		const struct sim_proc *p = &st->procs[i];
		if (p->gpu != gpu)
			continue;
		if (gi != SIM_NO_ID && p->gi != gi)
			continue;
		if (ci != SIM_NO_ID && p->ci != ci)
			continue;
		n++;
	}
	return n;
}

nvmlReturn_t sim_set_mig_mode(struct sim_state *st, unsigned int gpu, unsigned int mode, nvmlReturn_t *activation)
{
	struct sim_gpu *g = &st->gpus[gpu];

	if (g->model->nprofiles == 0) /* a GPU without MIG */
		return NVML_ERROR_NOT_SUPPORTED;
	if (mode != NVML_DEVICE_MIG_DISABLE && mode != NVML_DEVICE_MIG_ENABLE)
		return NVML_ERROR_INVALID_ARGUMENT;
	/* NVIDIA's tools destroy instances before disabling; the driver refuses otherwise. */
	if (mode == NVML_DEVICE_MIG_DISABLE && g->ngi > 0)
		return NVML_ERROR_IN_USE;
	g->mig_pending = mode;
	if (g->mig_current == mode)
		*activation = NVML_SUCCESS;
	else if (sim_gpu_nprocs(st, gpu, SIM_NO_ID, SIM_NO_ID) > 0)
		*activation = NVML_ERROR_IN_USE;
	else if (g->reset_required)
		*activation = NVML_ERROR_RESET_REQUIRED;
	else {
		g->mig_current = mode;
		*activation = NVML_SUCCESS;
	}
	return NVML_SUCCESS;
}

static void kill_gpu_processes(struct sim_state *st, unsigned int gpu)
{
	unsigned int kept = 0;
	for (unsigned int i = 0; i < st->nprocs; i++)
		if (st->procs[i].gpu != gpu)
			st->procs[kept++] = st->procs[i];
	st->nprocs = kept;
}

nvmlReturn_t sim_gpu_reset(struct sim_state *st, unsigned int gpu, bool kill_processes)
{
	struct sim_gpu *g = &st->gpus[gpu];

	if (sim_gpu_nprocs(st, gpu, SIM_NO_ID, SIM_NO_ID) > 0) {
		if (!kill_processes)
			return NVML_ERROR_IN_USE;
		kill_gpu_processes(st, gpu);
	}
	g->ngi = 0; /* instances never survive a reset */
	g->mig_current = g->mig_pending;
	return NVML_SUCCESS;
}

void sim_reboot(struct sim_state *st)
{
	st->nprocs = 0;
	for (unsigned int i = 0; i < st->ngpus; i++) {
		struct sim_gpu *g = &st->gpus[i];
		sim_gpu_reset(st, i, true);
		if (!g->model->mig_mode_survives_reset)
			g->mig_current = g->mig_pending = NVML_DEVICE_MIG_DISABLE;
	}
}

unsigned int sim_gpu_mig_devices(const struct sim_gpu *g, struct sim_mig_ref out[SIM_MAX_GIS * SIM_MAX_CIS])
{
	unsigned int n = 0;
	if (g->mig_current != NVML_DEVICE_MIG_ENABLE)
		return 0;
	for (unsigned int i = 0; i < g->ngi; i++)
		for (unsigned int j = 0; j < g->gi[i].nci; j++)
			out[n++] = (struct sim_mig_ref){g->gi[i].id, g->gi[i].ci[j].id};
	return n;
}

void sim_mig_uuid(const struct sim_gpu *g, unsigned int gi_id, unsigned int ci_id, char out[SIM_UUID_LEN + 1])
{
	/* A fixed namespace for the simulator's name-based (version 5) UUIDs. */
	static const uuid_t ns = {0x6d, 0x69, 0x67, 0x73, 0x69, 0x6d, 0x40, 0x00,
				  0x80, 0x00, 0x6d, 0x69, 0x67, 0x63, 0x74, 0x6c};
	char name[96];
	uuid_t u;
	char text[37];

	int len = snprintf(name, sizeof(name), "%s/%u/%u", g->uuid, gi_id, ci_id);
	uuid_generate_sha1(u, ns, name, (size_t)len);
	uuid_unparse_lower(u, text);
	snprintf(out, SIM_UUID_LEN + 1, "MIG-%s", text);
}

nvmlReturn_t sim_proc_start(struct sim_state *st, unsigned int gpu, int gi, int ci, unsigned long long used_mib,
			    const char *name, unsigned int *pid)
{
	struct sim_gpu *g;

	if (gpu >= st->ngpus)
		return NVML_ERROR_INVALID_ARGUMENT;
	g = &st->gpus[gpu];
	if (gi == SIM_NO_ID) {
		/* With MIG on, CUDA runs only on MIG devices. */
		if (g->mig_current == NVML_DEVICE_MIG_ENABLE)
			return NVML_ERROR_NOT_SUPPORTED;
	} else {
		struct sim_gi *gp = sim_gpu_find_gi(g, (unsigned int)gi);
		if (!gp || ci == SIM_NO_ID || !sim_gi_find_ci(gp, (unsigned int)ci))
			return NVML_ERROR_NOT_FOUND;
	}
	if (st->nprocs >= SIM_MAX_PROCS)
		return NVML_ERROR_INSUFFICIENT_RESOURCES;
	struct sim_proc *p = &st->procs[st->nprocs++];
	memset(p, 0, sizeof(*p));
	p->pid = st->next_pid++;
	p->gpu = gpu;
	p->gi = gi;
	p->ci = gi == SIM_NO_ID ? SIM_NO_ID : ci;
	p->used_mib = used_mib;
	snprintf(p->name, sizeof(p->name), "%s", name && *name ? name : "python3");
	if (pid)
		*pid = p->pid;
	return NVML_SUCCESS;
}

nvmlReturn_t sim_proc_stop(struct sim_state *st, unsigned int pid)
{
	for (unsigned int i = 0; i < st->nprocs; i++) {
		if (st->procs[i].pid == pid) {
			memmove(&st->procs[i], &st->procs[i + 1], (st->nprocs - i - 1) * sizeof(st->procs[0]));
			st->nprocs--;
			return NVML_SUCCESS;
		}
	}
	return NVML_ERROR_NOT_FOUND;
}

/* ---- return codes ---------------------------------------------------------------- */

static const struct {
	nvmlReturn_t code;
	const char *name;
	const char *text;
} returns[] = {
	{NVML_SUCCESS, "NVML_SUCCESS", "Success"},
	{NVML_ERROR_UNINITIALIZED, "NVML_ERROR_UNINITIALIZED", "Uninitialized"},
	{NVML_ERROR_INVALID_ARGUMENT, "NVML_ERROR_INVALID_ARGUMENT", "Invalid Argument"},
	{NVML_ERROR_NOT_SUPPORTED, "NVML_ERROR_NOT_SUPPORTED", "Not Supported"},
	{NVML_ERROR_NO_PERMISSION, "NVML_ERROR_NO_PERMISSION", "Insufficient Permissions"},
	{NVML_ERROR_ALREADY_INITIALIZED, "NVML_ERROR_ALREADY_INITIALIZED", "Already Initialized"},
	{NVML_ERROR_NOT_FOUND, "NVML_ERROR_NOT_FOUND", "Not Found"},
	{NVML_ERROR_INSUFFICIENT_SIZE, "NVML_ERROR_INSUFFICIENT_SIZE", "Insufficient Size"},
	{NVML_ERROR_INSUFFICIENT_POWER, "NVML_ERROR_INSUFFICIENT_POWER", "Insufficient External Power"},
	{NVML_ERROR_DRIVER_NOT_LOADED, "NVML_ERROR_DRIVER_NOT_LOADED", "Driver Not Loaded"},
	{NVML_ERROR_TIMEOUT, "NVML_ERROR_TIMEOUT", "Timeout"},
	{NVML_ERROR_IRQ_ISSUE, "NVML_ERROR_IRQ_ISSUE", "Interrupt Request Issue"},
	{NVML_ERROR_LIBRARY_NOT_FOUND, "NVML_ERROR_LIBRARY_NOT_FOUND", "NVML Shared Library Not Found"},
	{NVML_ERROR_FUNCTION_NOT_FOUND, "NVML_ERROR_FUNCTION_NOT_FOUND", "Function Not Found"},
	{NVML_ERROR_CORRUPTED_INFOROM, "NVML_ERROR_CORRUPTED_INFOROM", "Corrupted infoROM"},
	{NVML_ERROR_GPU_IS_LOST, "NVML_ERROR_GPU_IS_LOST", "GPU is lost"},
	{NVML_ERROR_RESET_REQUIRED, "NVML_ERROR_RESET_REQUIRED", "GPU requires reset"},
	{NVML_ERROR_OPERATING_SYSTEM, "NVML_ERROR_OPERATING_SYSTEM", "GPU access blocked by the operating system"},
	{NVML_ERROR_LIB_RM_VERSION_MISMATCH, "NVML_ERROR_LIB_RM_VERSION_MISMATCH", "Driver/library version mismatch"},
	{NVML_ERROR_IN_USE, "NVML_ERROR_IN_USE", "In use by another client"},
	{NVML_ERROR_MEMORY, "NVML_ERROR_MEMORY", "Insufficient Memory"},
	{NVML_ERROR_NO_DATA, "NVML_ERROR_NO_DATA", "No data"},
	{NVML_ERROR_VGPU_ECC_NOT_SUPPORTED, "NVML_ERROR_VGPU_ECC_NOT_SUPPORTED",
	 "ECC is not supported for this vGPU"},
	{NVML_ERROR_INSUFFICIENT_RESOURCES, "NVML_ERROR_INSUFFICIENT_RESOURCES", "Insufficient Resources"},
	{NVML_ERROR_FREQ_NOT_SUPPORTED, "NVML_ERROR_FREQ_NOT_SUPPORTED", "Frequency not supported"},
	{NVML_ERROR_ARGUMENT_VERSION_MISMATCH, "NVML_ERROR_ARGUMENT_VERSION_MISMATCH",
	 "Versioned struct has an unsupported version"},
	{NVML_ERROR_DEPRECATED, "NVML_ERROR_DEPRECATED", "Deprecated"},
	{NVML_ERROR_NOT_READY, "NVML_ERROR_NOT_READY", "Not ready"},
	{NVML_ERROR_GPU_NOT_FOUND, "NVML_ERROR_GPU_NOT_FOUND", "GPU not found"},
	{NVML_ERROR_INVALID_STATE, "NVML_ERROR_INVALID_STATE", "Invalid state"},
	{NVML_ERROR_RESET_TYPE_NOT_SUPPORTED, "NVML_ERROR_RESET_TYPE_NOT_SUPPORTED", "Reset type not supported"},
	{NVML_ERROR_UNKNOWN, "NVML_ERROR_UNKNOWN", "Unknown Error"},
};

const char *sim_return_name(nvmlReturn_t r)
{
	for (size_t i = 0; i < sizeof(returns) / sizeof(returns[0]); i++)
		if (returns[i].code == r)
			return returns[i].name;
	return "NVML_ERROR_UNKNOWN";
}

const char *sim_error_string(nvmlReturn_t r)
{
	for (size_t i = 0; i < sizeof(returns) / sizeof(returns[0]); i++)
		if (returns[i].code == r)
			return returns[i].text;
	return "Unknown Error";
}

/* Accepts "NVML_ERROR_IN_USE", "ERROR_IN_USE", "IN_USE" (any case) or the number. */
int sim_return_parse(const char *s, nvmlReturn_t *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s && *end == '\0') {
		for (size_t i = 0; i < sizeof(returns) / sizeof(returns[0]); i++)
			if ((long)returns[i].code == v) {
				*out = returns[i].code;
				return 0;
			}
		return -1;
	}
	for (size_t i = 0; i < sizeof(returns) / sizeof(returns[0]); i++) {
		const char *n = returns[i].name;
		const char *tails[] = {n, n + strlen("NVML_"), strncmp(n, "NVML_ERROR_", 11) == 0 ? n + 11 : NULL};
		for (size_t k = 0; k < 3; k++)
			if (tails[k] && strcasecmp(s, tails[k]) == 0) {
				*out = returns[i].code;
				return 0;
			}
	}
	return -1;
}
