/* SPDX-License-Identifier: MIT */
/*
 * migsim: controls the simulated machine behind the simulator's libnvidia-ml.so.1.
 * It edits the same state file the library reads, under the same lock.
 * Exit codes: 0 ok, 1 the operation failed, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "procfs.h"
#include "store.h"

#define EXIT_USAGE 2

static const char *state_path; /* --state, else the default */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "migsim: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'migsim help'.\n");
	va_end(ap);
	return EXIT_USAGE;
}

static int open_store(struct sim_store *s)
{
	char err[1024];
	if (sim_store_open(s, state_path, err, sizeof(err))) {
		fprintf(stderr, "migsim: %s\n", err);
		return -1;
	}
	return 0;
}

/* Lock, load, let fn change the state, save. fn returns 0, or 1 with a message printed. */
static int modify(int (*fn)(struct sim_state *, void *), void *arg)
{
	struct sim_store s;
	char err[1024];
	int ret = 1;

	if (open_store(&s))
		return 1;
	if (sim_store_lock(&s, err, sizeof(err)) || sim_store_load(&s, err, sizeof(err))) {
		fprintf(stderr, "migsim: %s\n", err);
		goto out;
	}
	if (fn(&s.st, arg) != 0)
		goto out;
	if (sim_store_save(&s, err, sizeof(err))) {
		fprintf(stderr, "migsim: %s\n", err);
		goto out;
	}
	ret = 0;
out:
	sim_store_unlock(&s);
	sim_store_close(&s);
	return ret;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

/* ---- init ---------------------------------------------------------------- */

static int cmd_init(int argc, char **argv)
{
	const char *gpus = NULL;
	struct sim_store s;
	char err[1024];
	int ret = 1;

	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			return usage_error("init: unknown option '%s'", argv[i]);
		if (gpus)
			return usage_error("init: one GPU list, e.g. '8xA100-SXM4-40GB' or 'A30,H100-SXM5-80GB' (got '%s' too)", argv[i]);
		gpus = argv[i];
	}
	if (!gpus)
		gpus = getenv("MIGSIM_GPUS");
	if (open_store(&s))
		return 1;
	if (sim_store_lock(&s, err, sizeof(err))) {
		fprintf(stderr, "migsim: %s\n", err);
		goto out;
	}
	if (sim_state_init(&s.st, gpus && *gpus ? gpus : NULL, err, sizeof(err))) {
		fprintf(stderr, "migsim: init: %s\n", err);
		goto out;
	}
	if (sim_store_save(&s, err, sizeof(err))) {
		fprintf(stderr, "migsim: %s\n", err);
		goto out;
	}
	printf("Simulated %u GPU(s) in %s\n", s.st.ngpus, s.path);
	ret = 0;
out:
	sim_store_unlock(&s);
	sim_store_close(&s);
	return ret;
}

/* ---- show ---------------------------------------------------------------- */

static json_t *placement_json(struct sim_placement p)
{
	return json_pack("{s:I, s:I}", "start", (json_int_t)p.start, "size", (json_int_t)p.size);
}

static json_t *show_json(const struct sim_store *s)
{
	const struct sim_state *st = &s->st;
	json_t *gpus = json_array(), *procs = json_array(), *faults = json_array(), *lats = json_array();
	char pci[32], uuid[SIM_UUID_LEN + 1];

	for (unsigned int i = 0; i < st->ngpus; i++) {
		const struct sim_gpu *g = &st->gpus[i];
		json_t *gis = json_array();
		for (unsigned int j = 0; j < g->ngi; j++) {
			const struct sim_gi *gi = &g->gi[j];
			const struct sim_gi_profile *p = sim_gpu_gi_profile(g, gi->profile_id);
			json_t *cis = json_array();
			for (unsigned int k = 0; k < gi->nci; k++) {
				const struct sim_ci *ci = &gi->ci[k];
				sim_mig_uuid(g, gi->id, ci->id, uuid);
				json_array_append_new(
					cis, json_pack("{s:I, s:s, s:I, s:o, s:s}", "id", (json_int_t)ci->id, "profile",
						       sim_gi_ci_by_id(p, ci->profile_id)->name, "profile_id",
						       (json_int_t)ci->profile_id, "placement", placement_json(ci->placement),
						       "uuid", uuid));
			}
			json_array_append_new(gis, json_pack("{s:I, s:s, s:I, s:o, s:o}", "id", (json_int_t)gi->id,
							     "profile", p->name, "profile_id", (json_int_t)gi->profile_id,
							     "placement", placement_json(gi->placement),
							     "compute_instances", cis));
		}
		snprintf(pci, sizeof(pci), NVML_DEVICE_PCI_BUS_ID_FMT, 0u, g->pci_bus, 0u);
		json_array_append_new(
			gpus, json_pack("{s:I, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:b, s:b, s:o}", "index", (json_int_t)i,
					"model", g->model->key, "name", g->model->name, "uuid", g->uuid, "pci_bus_id",
					pci, "mig_mode", "current", g->mig_current ? "enabled" : "disabled", "pending",
					g->mig_pending ? "enabled" : "disabled", "reset_required", g->reset_required,
					"swapped_halves", g->swapped_halves, "gpu_instances", gis));
	}
	for (unsigned int i = 0; i < st->nprocs; i++) {
		const struct sim_proc *p = &st->procs[i];
		json_t *o = json_pack("{s:I, s:I, s:I, s:s}", "pid", (json_int_t)p->pid, "gpu", (json_int_t)p->gpu,
				      "used_mib", (json_int_t)p->used_mib, "name", p->name);
		if (p->gi != SIM_NO_ID) {
			sim_mig_uuid(&st->gpus[p->gpu], (unsigned int)p->gi, (unsigned int)p->ci, uuid);
			json_object_set_new(o, "gpu_instance_id", json_integer(p->gi));
			json_object_set_new(o, "compute_instance_id", json_integer(p->ci));
			json_object_set_new(o, "mig_uuid", json_string(uuid));
		}
		json_array_append_new(procs, o);
	}
	for (unsigned int i = 0; i < st->nfaults; i++) {
		const struct sim_fault *f = &st->faults[i];
		json_array_append_new(faults, json_pack("{s:s, s:s, s:I, s:b, s:I}", "function", f->function, "error",
							sim_return_name(f->error), "nth", (json_int_t)f->nth, "always",
							f->always, "calls", (json_int_t)f->calls));
	}
	for (unsigned int i = 0; i < st->nlatencies; i++)
		json_array_append_new(lats, json_pack("{s:s, s:I}", "op", st->latencies[i].op, "ms",
						      (json_int_t)st->latencies[i].ms));
	return json_pack("{s:s, s:I, s:s, s:o, s:o, s:o, s:o}", "state", s->path, "generation",
			 (json_int_t)st->generation, "caller", st->unprivileged ? "user" : "root", "gpus", gpus,
			 "processes", procs, "faults", faults, "latencies", lats);
}

/* One row of slots per GPU: which GI holds each memory slice ("." = free). */
static void print_slices(const struct sim_gpu *g)
{
	printf("    slices  ");
	for (unsigned int u = 0; u < g->model->grid; u++) {
		int owner = -1;
		for (unsigned int j = 0; j < g->ngi; j++)
			if (u >= g->gi[j].placement.start && u < g->gi[j].placement.start + g->gi[j].placement.size)
				owner = (int)g->gi[j].id;
		if (owner < 0)
			printf("[ .]");
		else
			printf("[%2d]", owner);
	}
	printf("\n");
}

static void show_text(const struct sim_store *s)
{
	const struct sim_state *st = &s->st;
	char uuid[SIM_UUID_LEN + 1];

	printf("state %s (generation %llu), caller: %s\n", s->path, st->generation, st->unprivileged ? "user" : "root");
	for (unsigned int i = 0; i < st->ngpus; i++) {
		const struct sim_gpu *g = &st->gpus[i];
		printf("GPU %u: %s (UUID: %s) %08X:%02X:00.0\n", i, g->model->name, g->uuid, 0u, g->pci_bus);
		if (g->model->nprofiles == 0) { /* a GPU without MIG */
			printf("    MIG: not supported\n");
			continue;
		}
		printf("    MIG mode: current %s, pending %s%s%s\n", g->mig_current ? "enabled" : "disabled",
		       g->mig_pending ? "enabled" : "disabled", g->reset_required ? ", reset required" : "",
		       g->swapped_halves ? ", swapped halves" : "");
		if (g->mig_current)
			print_slices(g);
		for (unsigned int j = 0; j < g->ngi; j++) {
			const struct sim_gi *gi = &g->gi[j];
			const struct sim_gi_profile *p = sim_gpu_gi_profile(g, gi->profile_id);
			printf("    GI %2u  %-16s profile %2u  placement %u:%u\n", gi->id, p->name, gi->profile_id,
			       gi->placement.start, gi->placement.size);
			for (unsigned int k = 0; k < gi->nci; k++) {
				const struct sim_ci *ci = &gi->ci[k];
				sim_mig_uuid(g, gi->id, ci->id, uuid);
				printf("        CI %u  %-18s profile %u  placement %u:%u  %s\n", ci->id,
				       sim_gi_ci_by_id(p, ci->profile_id)->name, ci->profile_id, ci->placement.start,
				       ci->placement.size, uuid);
			}
		}
	}
	for (unsigned int i = 0; i < st->nprocs; i++) {
		const struct sim_proc *p = &st->procs[i];
		if (p->gi == SIM_NO_ID)
			printf("process %u %s on GPU %u, %llu MiB\n", p->pid, p->name, p->gpu, p->used_mib);
		else
			printf("process %u %s on GPU %u GI %d CI %d, %llu MiB\n", p->pid, p->name, p->gpu, p->gi, p->ci,
			       p->used_mib);
	}
	for (unsigned int i = 0; i < st->nfaults; i++) {
		const struct sim_fault *f = &st->faults[i];
		printf("fault: %s call %u%s -> %s (%u calls so far)\n", f->function, f->nth, f->always ? " and after" : "",
		       sim_return_name(f->error), f->calls);
	}
	for (unsigned int i = 0; i < st->nlatencies; i++)
		printf("latency: %s %u ms\n", st->latencies[i].op, st->latencies[i].ms);
}

static int cmd_show(int argc, char **argv)
{
	bool json = false;
	struct sim_store s;
	char err[1024];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return usage_error("show: unknown argument '%s'", argv[i]);
	}
	if (open_store(&s))
		return 1;
	if (sim_store_load(&s, err, sizeof(err))) {
		fprintf(stderr, "migsim: %s\n", err);
		sim_store_close(&s);
		return 1;
	}
	if (json) {
		json_t *doc = show_json(&s);
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("\n");
		json_decref(doc);
	} else {
		show_text(&s);
	}
	sim_store_close(&s);
	return 0;
}

static int cmd_models(int argc, char **argv)
{
	bool json = argc > 1 && strcmp(argv[1], "--json") == 0;
	if (argc > 2 || (argc == 2 && !json))
		return usage_error("models: unknown argument '%s'", argv[argc - 1]);
	json_t *arr = json_array();
	for (size_t i = 0; i < sim_nmodels; i++) {
		const struct sim_model *m = &sim_models[i];
		if (json) {
			json_t *profiles = json_array();
			for (unsigned int k = 0; k < m->nprofiles; k++)
				json_array_append_new(profiles, json_string(m->profiles[k].name));
			char id[16];
			snprintf(id, sizeof(id), "0x%08X", m->pci_device_id);
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:o}", "model", m->key, "name", m->name,
							     "pci_device_id", id, "memory_mib", (json_int_t)m->memory_mib,
							     "profiles", profiles));
		} else {
			printf("%-16s %-45s 0x%08X", m->key, m->name, m->pci_device_id);
			for (unsigned int k = 0; k < m->nprofiles; k++)
				printf(" %s", m->profiles[k].name);
			printf("\n");
		}
	}
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		printf("\n");
	}
	json_decref(arr);
	return 0;
}

static int cmd_path(int argc, char **argv)
{
	struct sim_store s;
	(void)argv;
	if (argc > 1)
		return usage_error("path: takes no arguments (got '%s')", argv[1]);
	if (open_store(&s))
		return 1;
	printf("%s\n", s.path);
	sim_store_close(&s);
	return 0;
}

static int cmd_root(int argc, char **argv)
{
	struct sim_store s;
	char err[1200];
	if (argc > 1)
		return usage_error("root: takes no arguments (got '%s')", argv[1]);
	if (open_store(&s))
		return 1;
	/* the root is filled from the state: load it (creating it on first use) */
	int ret = 0;
	if (sim_store_load(&s, err, sizeof(err)) || sim_store_sync_root(&s, err, sizeof(err))) {
		fprintf(stderr, "migsim: %s\n", err);
		ret = 1;
	} else {
		printf("%s\n", s.root);
	}
	sim_store_close(&s);
	return ret;
}

static int cmd_devices(int argc, char **argv)
{
	struct sim_store s;
	char err[1200];
	if (argc > 1)
		return usage_error("devices: takes no arguments (got '%s')", argv[1]);
	if (open_store(&s))
		return 1;
	int ret = 0;
	if (sim_store_load(&s, err, sizeof(err)) || sim_store_sync_root(&s, err, sizeof(err)) ||
	    sim_devnodes_make(s.root, &s.st, err, sizeof(err))) {
		fprintf(stderr, "migsim: devices: %s\n", err);
		ret = 1;
	} else {
		printf("%s/dev\n", s.root);
	}
	sim_store_close(&s);
	return ret;
}

/* ---- processes ---------------------------------------------------------------- */

struct proc_req {
	long gpu;
	const char *uuid;
	unsigned long long mib;
	const char *name;
	unsigned int pid;
};

static int find_uuid(const struct sim_state *st, const char *uuid, unsigned int *gpu, int *gi, int *ci)
{
	struct sim_mig_ref refs[SIM_MAX_GIS * SIM_MAX_CIS];
	char mig[SIM_UUID_LEN + 1];
	for (unsigned int i = 0; i < st->ngpus; i++) {
		if (strcasecmp(st->gpus[i].uuid, uuid) == 0) {
			*gpu = i;
			*gi = *ci = SIM_NO_ID;
			return 0;
		}
		unsigned int n = sim_gpu_mig_devices(&st->gpus[i], refs);
		for (unsigned int k = 0; k < n; k++) {
			sim_mig_uuid(&st->gpus[i], refs[k].gi_id, refs[k].ci_id, mig);
			if (strcasecmp(mig, uuid) == 0) {
				*gpu = i;
				*gi = (int)refs[k].gi_id;
				*ci = (int)refs[k].ci_id;
				return 0;
			}
		}
	}
	return -1;
}

static int do_proc_start(struct sim_state *st, void *arg)
{
	struct proc_req *req = arg;
	unsigned int gpu;
	int gi = SIM_NO_ID, ci = SIM_NO_ID;

	if (req->uuid) {
		if (find_uuid(st, req->uuid, &gpu, &gi, &ci)) {
			fprintf(stderr, "migsim: no GPU or MIG device has UUID %s; see 'migsim show'\n", req->uuid);
			return 1;
		}
	} else {
		if (req->gpu >= (long)st->ngpus) {
			fprintf(stderr, "migsim: no GPU %ld; the simulated node has %u\n", req->gpu, st->ngpus);
			return 1;
		}
		gpu = (unsigned int)req->gpu;
	}
	nvmlReturn_t r = sim_proc_start(st, gpu, gi, ci, req->mib, req->name, &req->pid);
	if (r == NVML_ERROR_NOT_SUPPORTED) {
		fprintf(stderr, "migsim: GPU %u is in MIG mode: start the process on a MIG device (--uuid MIG-...)\n", gpu);
		return 1;
	}
	if (r != NVML_SUCCESS) {
		fprintf(stderr, "migsim: cannot start a process: %s\n", sim_error_string(r));
		return 1;
	}
	return 0;
}

static int do_proc_stop(struct sim_state *st, void *arg)
{
	struct proc_req *req = arg;
	if (sim_proc_stop(st, req->pid) != NVML_SUCCESS) {
		fprintf(stderr, "migsim: no simulated process %u\n", req->pid);
		return 1;
	}
	return 0;
}

static int cmd_proc(int argc, char **argv)
{
	struct proc_req req = {.gpu = -1, .mib = 1024};
	unsigned long v;

	if (argc < 2)
		return usage_error("proc: say 'start' or 'stop'%s", "");
	if (strcmp(argv[1], "stop") == 0) {
		if (argc != 3 || parse_uint(argv[2], 4194304, &v))
			return usage_error("proc stop: give one pid (got '%s')", argc > 2 ? argv[2] : "nothing");
		req.pid = (unsigned int)v;
		return modify(do_proc_stop, &req);
	}
	if (strcmp(argv[1], "start") != 0)
		return usage_error("proc: unknown action '%s'; use start or stop", argv[1]);
	for (int i = 2; i < argc; i += 2) { /* options come in pairs: --name value */
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!val)
			return usage_error("proc start: '%s' needs a value", opt);
		if (strcmp(opt, "--gpu") == 0) {
			if (parse_uint(val, SIM_MAX_GPUS - 1, &v))
				return usage_error("proc start: --gpu takes a GPU index (got '%s')", val);
			req.gpu = (long)v;
		} else if (strcmp(opt, "--uuid") == 0) {
			req.uuid = val;
		} else if (strcmp(opt, "--mib") == 0) {
			if (parse_uint(val, 1ul << 30, &v))
				return usage_error("proc start: --mib takes a size in MiB (got '%s')", val);
			req.mib = v;
		} else if (strcmp(opt, "--name") == 0) {
			req.name = val;
		} else {
			return usage_error("proc start: unknown option '%s'", opt);
		}
	}
	if ((req.gpu < 0) == (req.uuid == NULL))
		return usage_error("proc start: give exactly one of --gpu INDEX or --uuid UUID%s", "");
	int ret = modify(do_proc_start, &req);
	if (ret == 0)
		printf("%u\n", req.pid);
	return ret;
}

/* ---- reset, reboot, caller ---------------------------------------------------------------- */

struct reset_req {
	long gpu; /* -1: all */
	bool kill;
};

static int do_reset(struct sim_state *st, void *arg)
{
	struct reset_req *req = arg;
	if (req->gpu >= (long)st->ngpus) {
		fprintf(stderr, "migsim: no GPU %ld; the simulated node has %u\n", req->gpu, st->ngpus);
		return 1;
	}
	for (unsigned int i = 0; i < st->ngpus; i++) {
		if (req->gpu >= 0 && (long)i != req->gpu)
			continue;
		if (sim_gpu_reset(st, i, req->kill) == NVML_ERROR_IN_USE) {
			fprintf(stderr, "migsim: GPU %u is in use by %u process(es); stop them or pass --kill\n", i,
				sim_gpu_nprocs(st, i, SIM_NO_ID, SIM_NO_ID));
			return 1;
		}
	}
	return 0;
}

static int cmd_reset(int argc, char **argv)
{
	struct reset_req req = {.gpu = -1};
	unsigned long v;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--kill") == 0)
			req.kill = true;
		else if (strcmp(argv[i], "--gpu") == 0 && i + 1 < argc && parse_uint(argv[i + 1], SIM_MAX_GPUS - 1, &v) == 0)
			req.gpu = (long)v, i++;
		else
			return usage_error("reset: unknown argument '%s'; use [--gpu INDEX] [--kill]", argv[i]);
	}
	return modify(do_reset, &req);
}

static int do_reboot(struct sim_state *st, void *arg)
{
	(void)arg;
	sim_reboot(st);
	return 0;
}

static int cmd_reboot(int argc, char **argv)
{
	if (argc > 1)
		return usage_error("reboot: takes no arguments (got '%s')", argv[1]);
	return modify(do_reboot, NULL);
}

static int do_caller(struct sim_state *st, void *arg)
{
	st->unprivileged = *(bool *)arg;
	return 0;
}

static int cmd_caller(int argc, char **argv)
{
	bool unprivileged;
	if (argc != 2 || (strcmp(argv[1], "root") != 0 && strcmp(argv[1], "user") != 0))
		return usage_error("caller: say 'root' or 'user' (got '%s')", argc > 1 ? argv[1] : "nothing");
	unprivileged = strcmp(argv[1], "user") == 0;
	return modify(do_caller, &unprivileged);
}

/* ---- faults and latency ---------------------------------------------------------------- */

static int do_fault_add(struct sim_state *st, void *arg)
{
	if (st->nfaults >= SIM_MAX_FAULTS) {
		fprintf(stderr, "migsim: at most %d faults can be armed; 'migsim fault clear' first\n", SIM_MAX_FAULTS);
		return 1;
	}
	st->faults[st->nfaults++] = *(struct sim_fault *)arg;
	return 0;
}

static int do_fault_clear(struct sim_state *st, void *arg)
{
	(void)arg;
	st->nfaults = 0;
	return 0;
}

static int cmd_fault(int argc, char **argv)
{
	struct sim_fault f = {.nth = 1};
	unsigned long v;

	if (argc == 2 && strcmp(argv[1], "clear") == 0)
		return modify(do_fault_clear, NULL);
	if (argc < 4 || strcmp(argv[1], "add") != 0)
		return usage_error("fault: use 'fault add FUNCTION ERROR [--nth N] [--always]' or 'fault clear'%s", "");
	if (strncmp(argv[2], "nvml", 4) != 0 || strlen(argv[2]) >= sizeof(f.function))
		return usage_error("fault add: '%s' is not an NVML function name (e.g. nvmlDeviceCreateGpuInstance)",
				   argv[2]);
	snprintf(f.function, sizeof(f.function), "%s", argv[2]);
	if (sim_return_parse(argv[3], &f.error) || f.error == NVML_SUCCESS)
		return usage_error("fault add: '%s' is not an NVML error; use a name such as NVML_ERROR_IN_USE, "
				   "IN_USE or a number such as 19", argv[3]);
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--always") == 0)
			f.always = true;
		else if (strcmp(argv[i], "--nth") == 0 && i + 1 < argc && parse_uint(argv[i + 1], 1000000000, &v) == 0 && v > 0)
			f.nth = (unsigned int)v, i++;
		else
			return usage_error("fault add: unknown or incomplete option '%s'; use --nth N (from 1) or --always",
					   argv[i]);
	}
	return modify(do_fault_add, &f);
}

static int do_latency_set(struct sim_state *st, void *arg)
{
	struct sim_latency *l = arg;
	for (unsigned int i = 0; i < st->nlatencies; i++) {
		if (strcmp(st->latencies[i].op, l->op) == 0) {
			st->latencies[i].ms = l->ms;
			return 0;
		}
	}
	if (st->nlatencies >= SIM_MAX_LATENCIES) {
		fprintf(stderr, "migsim: at most %d latencies; 'migsim latency clear' first\n", SIM_MAX_LATENCIES);
		return 1;
	}
	st->latencies[st->nlatencies++] = *l;
	return 0;
}

static int do_latency_clear(struct sim_state *st, void *arg)
{
	(void)arg;
	st->nlatencies = 0;
	return 0;
}

static int cmd_latency(int argc, char **argv)
{
	static const char *const aliases[] = {"gi-create", "gi-destroy", "ci-create", "ci-destroy", "mig-mode", "*", NULL};
	struct sim_latency l = {{0}, 0};
	unsigned long v;

	if (argc == 2 && strcmp(argv[1], "clear") == 0)
		return modify(do_latency_clear, NULL);
	if (argc != 4 || strcmp(argv[1], "set") != 0)
		return usage_error("latency: use 'latency set OP MS' or 'latency clear'%s", "");
	bool known = strncmp(argv[2], "nvml", 4) == 0 && strlen(argv[2]) < sizeof(l.op);
	for (size_t i = 0; aliases[i] && !known; i++)
		known = strcmp(argv[2], aliases[i]) == 0;
	if (!known)
		return usage_error("latency set: '%s' is neither an NVML function name nor one of gi-create, gi-destroy, "
				   "ci-create, ci-destroy, mig-mode, *", argv[2]);
	if (parse_uint(argv[3], 600000, &v))
		return usage_error("latency set: '%s' is not a number of milliseconds (0 to 600000)", argv[3]);
	snprintf(l.op, sizeof(l.op), "%s", argv[2]);
	l.ms = (unsigned int)v;
	return modify(do_latency_set, &l);
}

/* ---- dispatch ---------------------------------------------------------------- */

static int cmd_help(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *args;
	const char *help;
} commands[] = {
	{"init", cmd_init, "[GPUS]", "create or replace the simulated machine (GPUS as in MIGSIM_GPUS)"},
	{"show", cmd_show, "[--json]", "GPUs, MIG mode, instances, MIG UUIDs, processes, faults, latencies"},
	{"models", cmd_models, "[--json]", "the GPU models the simulator knows"},
	{"path", cmd_path, "", "print the state file's path"},
	{"root", cmd_root, "", "print the simulated node's root (its /proc files; $MIGSIM_ROOT)"},
	{"devices", cmd_devices, "",
	 "mknod the GPU, control and MIG config/monitor nodes under ROOT/dev (needs root)"},
	{"proc", cmd_proc, "start (--gpu N | --uuid UUID) [--mib N] [--name NAME] | stop PID",
	 "start or stop a fake process (start prints its pid)"},
	{"reset", cmd_reset, "[--gpu N] [--kill]", "reset GPUs: apply pending MIG mode, destroy instances"},
	{"reboot", cmd_reboot, "", "reboot the node: processes end, GPUs reset, Hopper/Blackwell MIG mode off"},
	{"caller", cmd_caller, "root|user", "make NVML callers privileged (root) or not (user)"},
	{"fault", cmd_fault, "add FUNCTION ERROR [--nth N] [--always] | clear",
	 "fail the Nth call of an NVML function (once, or from then on)"},
	{"latency", cmd_latency, "set OP MS | clear", "delay calls (OP: NVML function, gi-create, gi-destroy, ci-create, ci-destroy, mig-mode, *)"},
	{"help", cmd_help, "", "this text"},
};

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: migsim [--state PATH] COMMAND [ARGS]\n\n"
	       "Controls the simulated GPUs behind migctl's libnvidia-ml.so.1 simulator.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-8s %s\n           %s\n", commands[i].name, commands[i].args, commands[i].help);
	printf("\nEnvironment: MIGSIM_STATE (state file), MIGSIM_ROOT (the simulated /proc and /dev; default\n"
	       "<state file>.root), MIGSIM_GPUS (GPUs for a new state file, e.g.\n"
	       "8xA100-SXM4-40GB or 2xH100-SXM5-80GB,A30; a model may add :swapped or :reset-required).\n"
	       "Exit status: 0 ok, 1 the operation failed, 2 usage error.\n");
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;
	if (i < argc && strcmp(argv[i], "--state") == 0) {
		if (i + 1 >= argc || argv[i + 1][0] == '\0')
			return usage_error("--state needs a path%s", "");
		state_path = argv[i + 1];
		i += 2;
	}
	if (i >= argc)
		return usage_error("no command given%s", "");
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(argv[i], commands[k].name) == 0)
			return commands[k].fn(argc - i, argv + i);
	if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
		return cmd_help(0, NULL);
	return usage_error("unknown command '%s'", argv[i]);
}
