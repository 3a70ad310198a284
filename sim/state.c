/* SPDX-License-Identifier: MIT */
/* Building the simulated machine from a GPU list, and the state file's JSON form. */
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "state.h"

bool sim_env_flag(const char *name)
{
	const char *v = getenv(name);
	return v && *v && strcmp(v, "0") != 0;
}

int sim_errorf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- MIGSIM_GPUS ---------------------------------------------------------------- */

/* PCI buses of a DGX-style 8-GPU board, then further ones for larger simulated nodes. */
static const unsigned int pci_buses[SIM_MAX_GPUS] = {0x07, 0x0F, 0x47, 0x4E, 0x87, 0x90, 0xB7, 0xBD,
						      0x17, 0x1F, 0x57, 0x5E, 0x97, 0xA0, 0xC7, 0xCD};

static void gpu_uuid(unsigned int index, const struct sim_model *m, char out[SIM_UUID_LEN + 1])
{
	static const uuid_t ns = {0x6d, 0x69, 0x67, 0x73, 0x69, 0x6d, 0x40, 0x00,
				  0x80, 0x00, 0x67, 0x70, 0x75, 0x00, 0x00, 0x01};
	char name[96], text[37];
	uuid_t u;
	int len = snprintf(name, sizeof(name), "migsim-gpu/%u/%s", index, m->key);
	uuid_generate_sha1(u, ns, name, (size_t)len);
	uuid_unparse_lower(u, text);
	snprintf(out, SIM_UUID_LEN + 1, "GPU-%s", text);
}

static void known_models(char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sim_nmodels && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", sim_models[i].key);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int add_gpus(struct sim_state *st, char *item, char *err, size_t errlen)
{
	unsigned long count = 1;
	char *spec = item, *x = strchr(item, 'x');

	/* "8xA100-SXM4-40GB": a count only when everything before the 'x' is digits. */
	if (x && x > item) {
		bool digits = true;
		for (char *c = item; c < x; c++)
			digits = digits && isdigit((unsigned char)*c);
		if (digits) {
			count = strtoul(item, NULL, 10);
			spec = x + 1;
		}
	}
	char *flags = strchr(spec, ':');
	if (flags)
		*flags++ = '\0';
	const struct sim_model *m = sim_model_find(spec);
	if (!m) {
		char models[512];
		known_models(models, sizeof(models));
		return sim_errorf(err, errlen, "unknown GPU model '%s'; known models: %s", spec, models);
	}
	bool swapped = false, reset_required = false;
	while (flags) {
		char *next = strchr(flags, ':');
		if (next)
			*next++ = '\0';
		if (strcmp(flags, "swapped") == 0)
			swapped = true;
		else if (strcmp(flags, "reset-required") == 0)
			reset_required = true;
		else
			return sim_errorf(err, errlen, "unknown option ':%s' after '%s'; accepted: :swapped, :reset-required",
				    flags, m->key);
		flags = next;
	}
	if (count == 0)
		return sim_errorf(err, errlen, "'%s' asks for no GPUs; a simulated node has 1 to %d", item, SIM_MAX_GPUS);
	if (count > SIM_MAX_GPUS || st->ngpus + count > SIM_MAX_GPUS)
		return sim_errorf(err, errlen, "'%s' asks for too many GPUs: a simulated node has 1 to %d", item,
			    SIM_MAX_GPUS);
	for (unsigned long i = 0; i < count; i++) {
		struct sim_gpu *g = &st->gpus[st->ngpus];
		memset(g, 0, sizeof(*g));
		g->model = m;
		gpu_uuid(st->ngpus, m, g->uuid);
		g->pci_bus = pci_buses[st->ngpus];
		g->minor = st->ngpus;
		g->swapped_halves = swapped;
		g->reset_required = reset_required;
		st->ngpus++;
	}
	return 0;
}

int sim_state_init(struct sim_state *st, const char *gpu_list, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	st->next_pid = 4100;
	if (!gpu_list)
		gpu_list = SIM_DEFAULT_GPUS;
	if (strspn(gpu_list, " \t") == strlen(gpu_list))
		return sim_errorf(err, errlen, "no GPUs in the list; give e.g. A100-SXM4-40GB or 2xH100-SXM5-80GB,A30");

	char *copy = strdup(gpu_list);
	if (!copy)
		return sim_errorf(err, errlen, "out of memory");
	int ret = 0;
	char *rest = copy;
	for (char *item = strsep(&rest, ","); item && ret == 0; item = strsep(&rest, ",")) {
		item = trim(item);
		if (*item == '\0')
			ret = sim_errorf(err, errlen, "empty GPU name in the list");
		else
			ret = add_gpus(st, item, err, errlen);
	}
	free(copy);
	return ret;
}

/* ---- JSON reader ---------------------------------------------------------------- */

struct reader {
	char *err;
	size_t errlen;
};

static int bad(struct reader *r, const char *where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(struct reader *r, const char *where, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sim_errorf(r->err, r->errlen, "%s: %s", where, msg);
}

static int only_keys(struct reader *r, const char *where, json_t *obj, const char *const allowed[])
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strcmp(allowed[i], key) == 0;
		if (!ok)
			return bad(r, where, "unknown key '%s'", key);
	}
	return 0;
}

static int get_uint(struct reader *r, const char *where, json_t *obj, const char *key, unsigned long long max,
		    unsigned long long *out)
{
	json_t *v = json_object_get(obj, key);
	*out = 0; /* set on every path: bad()'s -1 is opaque to static analysis (variadic) */
	if (!v)
		return bad(r, where, "missing key '%s'", key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (unsigned long long)json_integer_value(v) > max)
		return bad(r, where, "'%s' must be an integer from 0 to %llu", key, max);
	*out = (unsigned long long)json_integer_value(v);
	return 0;
}

static int get_u32(struct reader *r, const char *where, json_t *obj, const char *key, unsigned int max,
		   unsigned int *out)
{
	unsigned long long v;
	if (get_uint(r, where, obj, key, max, &v))
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static int get_bool(struct reader *r, const char *where, json_t *obj, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);
	*out = false;
	if (!v)
		return bad(r, where, "missing key '%s'", key);
	if (!json_is_boolean(v))
		return bad(r, where, "'%s' must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int get_str(struct reader *r, const char *where, json_t *obj, const char *key, const char **out)
{
	json_t *v = json_object_get(obj, key);
	*out = "";
	if (!v)
		return bad(r, where, "missing key '%s'", key);
	if (!json_is_string(v))
		return bad(r, where, "'%s' must be a string", key);
	*out = json_string_value(v);
	return 0;
}

static int get_array(struct reader *r, const char *where, json_t *obj, const char *key, size_t max, json_t **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v)
		return bad(r, where, "missing key '%s'", key);
	if (!json_is_array(v))
		return bad(r, where, "'%s' must be an array", key);
	if (json_array_size(v) > max)
		return bad(r, where, "'%s' has %zu entries; at most %zu", key, json_array_size(v), max);
	*out = v;
	return 0;
}

/* An id that may be null (a process on a GPU without MIG). */
static int get_opt_id(struct reader *r, const char *where, json_t *obj, const char *key, unsigned int max, int *out)
{
	json_t *v = json_object_get(obj, key);
	if (v && json_is_null(v)) {
		*out = SIM_NO_ID;
		return 0;
	}
	unsigned int u;
	if (get_u32(r, where, obj, key, max, &u))
		return -1;
	*out = (int)u;
	return 0;
}

static int read_placement(struct reader *r, const char *where, json_t *obj, unsigned int grid,
			  struct sim_placement *p)
{
	return get_u32(r, where, obj, "start", grid, &p->start) || get_u32(r, where, obj, "size", grid, &p->size);
}

static int read_gpu(struct reader *r, const char *where, json_t *o, struct sim_gpu *g)
{
	static const char *const keys[] = {"model", "uuid", "pci_bus", "minor", "swapped_halves", "reset_required",
					   "mig_current", "mig_pending", "gpu_instances", NULL};
	static const char *const gi_keys[] = {"id", "profile_id", "start", "size", "compute_instances", NULL};
	static const char *const ci_keys[] = {"id", "profile_id", "start", "size", NULL};
	const char *model, *uuid;
	json_t *gis;
	char at[96];

	if (!json_is_object(o))
		return bad(r, where, "must be an object");
	if (only_keys(r, where, o, keys) || get_str(r, where, o, "model", &model))
		return -1;
	g->model = sim_model_find(model);
	if (!g->model)
		return bad(r, where, "unknown GPU model '%s'", model);
	if (get_str(r, where, o, "uuid", &uuid))
		return -1;
	if (strlen(uuid) != SIM_UUID_LEN || strncmp(uuid, "GPU-", 4) != 0)
		return bad(r, where, "'uuid' must look like GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
	memcpy(g->uuid, uuid, SIM_UUID_LEN + 1);
	if (get_u32(r, where, o, "pci_bus", 255, &g->pci_bus) || get_u32(r, where, o, "minor", 255, &g->minor) ||
	    get_bool(r, where, o, "swapped_halves", &g->swapped_halves) ||
	    get_bool(r, where, o, "reset_required", &g->reset_required) ||
	    get_u32(r, where, o, "mig_current", 1, &g->mig_current) ||
	    get_u32(r, where, o, "mig_pending", 1, &g->mig_pending) ||
	    get_array(r, where, o, "gpu_instances", SIM_MAX_GIS, &gis))
		return -1;
	g->ngi = (unsigned int)json_array_size(gis);
	for (unsigned int i = 0; i < g->ngi; i++) {
		json_t *go = json_array_get(gis, i), *cis;
		struct sim_gi *gi = &g->gi[i];
		snprintf(at, sizeof(at), "%s.gpu_instances[%u]", where, i);
		if (!json_is_object(go))
			return bad(r, at, "must be an object");
		if (only_keys(r, at, go, gi_keys) || get_u32(r, at, go, "id", SIM_MAX_GI_IDS - 1, &gi->id) ||
		    get_u32(r, at, go, "profile_id", 255, &gi->profile_id) ||
		    read_placement(r, at, go, g->model->grid, &gi->placement) ||
		    get_array(r, at, go, "compute_instances", SIM_MAX_CIS, &cis))
			return -1;
		gi->nci = (unsigned int)json_array_size(cis);
		for (unsigned int j = 0; j < gi->nci; j++) {
			json_t *co = json_array_get(cis, j);
			struct sim_ci *ci = &gi->ci[j];
			char cat[128];
			snprintf(cat, sizeof(cat), "%s.compute_instances[%u]", at, j);
			if (!json_is_object(co))
				return bad(r, cat, "must be an object");
			if (only_keys(r, cat, co, ci_keys) || get_u32(r, cat, co, "id", SIM_MAX_CIS - 1, &ci->id) ||
			    get_u32(r, cat, co, "profile_id", NVML_COMPUTE_INSTANCE_PROFILE_COUNT - 1, &ci->profile_id) ||
			    read_placement(r, cat, co, 8, &ci->placement))
				return -1;
		}
	}
	return 0;
}

static int read_proc(struct reader *r, const char *where, json_t *o, struct sim_proc *p)
{
	static const char *const keys[] = {"pid", "gpu", "gi", "ci", "used_mib", "name", NULL};
	const char *name;
	if (!json_is_object(o))
		return bad(r, where, "must be an object");
	if (only_keys(r, where, o, keys) || get_u32(r, where, o, "pid", 4194304, &p->pid) ||
	    get_u32(r, where, o, "gpu", SIM_MAX_GPUS - 1, &p->gpu) ||
	    get_opt_id(r, where, o, "gi", SIM_MAX_GI_IDS - 1, &p->gi) ||
	    get_opt_id(r, where, o, "ci", SIM_MAX_CIS - 1, &p->ci) ||
	    get_uint(r, where, o, "used_mib", 1ull << 30, &p->used_mib) || get_str(r, where, o, "name", &name))
		return -1;
	if (strlen(name) >= sizeof(p->name))
		return bad(r, where, "'name' is longer than %zu characters", sizeof(p->name) - 1);
	snprintf(p->name, sizeof(p->name), "%s", name);
	return 0;
}

static int read_fault(struct reader *r, const char *where, json_t *o, struct sim_fault *f)
{
	static const char *const keys[] = {"function", "nth", "calls", "error", "always", NULL};
	const char *fn, *error;
	if (!json_is_object(o))
		return bad(r, where, "must be an object");
	if (only_keys(r, where, o, keys) || get_str(r, where, o, "function", &fn) ||
	    get_u32(r, where, o, "nth", 1000000000, &f->nth) || get_u32(r, where, o, "calls", 1000000000, &f->calls) ||
	    get_str(r, where, o, "error", &error) || get_bool(r, where, o, "always", &f->always))
		return -1;
	if (!*fn || strlen(fn) >= sizeof(f->function))
		return bad(r, where, "'function' must be an NVML function name");
	snprintf(f->function, sizeof(f->function), "%s", fn);
	if (sim_return_parse(error, &f->error) || f->error == NVML_SUCCESS)
		return bad(r, where, "'error' must name an NVML error such as NVML_ERROR_IN_USE");
	if (f->nth == 0)
		return bad(r, where, "'nth' counts calls from 1");
	return 0;
}

static int read_latency(struct reader *r, const char *where, json_t *o, struct sim_latency *l)
{
	static const char *const keys[] = {"op", "ms", NULL};
	const char *op;
	if (!json_is_object(o))
		return bad(r, where, "must be an object");
	if (only_keys(r, where, o, keys) || get_str(r, where, o, "op", &op) ||
	    get_u32(r, where, o, "ms", 600000, &l->ms))
		return -1;
	if (!*op || strlen(op) >= sizeof(l->op))
		return bad(r, where, "'op' must be an NVML function name or an operation alias");
	snprintf(l->op, sizeof(l->op), "%s", op);
	return 0;
}

int sim_state_from_json(struct sim_state *st, const char *text, size_t len, char *err, size_t errlen)
{
	static const char *const keys[] = {"format", "version", "generation", "unprivileged", "next_pid", "gpus",
					   "processes", "faults", "latencies", NULL};
	struct reader r = {err, errlen};
	json_error_t jerr;
	json_t *root, *arr;
	const char *format;
	unsigned int version;
	char where[64];
	int ret = -1;

	memset(st, 0, sizeof(*st));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return sim_errorf(err, errlen, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		bad(&r, "top level", "must be an object");
		goto out;
	}
	if (get_str(&r, "top level", root, "format", &format))
		goto out;
	if (strcmp(format, SIM_STATE_FORMAT) != 0) {
		bad(&r, "top level", "'format' is '%s', not '%s': this is not a migsim state file", format,
		    SIM_STATE_FORMAT);
		goto out;
	}
	if (get_u32(&r, "top level", root, "version", 1000, &version))
		goto out;
	if (version != SIM_STATE_VERSION) {
		bad(&r, "top level", "state format version %u is not supported (this simulator reads version %d)",
		    version, SIM_STATE_VERSION);
		goto out;
	}
	if (only_keys(&r, "top level", root, keys) ||
	    get_uint(&r, "top level", root, "generation", ~0ull >> 1, &st->generation) ||
	    get_bool(&r, "top level", root, "unprivileged", &st->unprivileged) ||
	    get_u32(&r, "top level", root, "next_pid", 4194304, &st->next_pid))
		goto out;

	if (get_array(&r, "top level", root, "gpus", SIM_MAX_GPUS, &arr))
		goto out;
	st->ngpus = (unsigned int)json_array_size(arr);
	for (unsigned int i = 0; i < st->ngpus; i++) {
		snprintf(where, sizeof(where), "gpus[%u]", i);
		if (read_gpu(&r, where, json_array_get(arr, i), &st->gpus[i]))
			goto out;
	}
	if (get_array(&r, "top level", root, "processes", SIM_MAX_PROCS, &arr))
		goto out;
	st->nprocs = (unsigned int)json_array_size(arr);
	for (unsigned int i = 0; i < st->nprocs; i++) {
		snprintf(where, sizeof(where), "processes[%u]", i);
		if (read_proc(&r, where, json_array_get(arr, i), &st->procs[i]))
			goto out;
	}
	if (get_array(&r, "top level", root, "faults", SIM_MAX_FAULTS, &arr))
		goto out;
	st->nfaults = (unsigned int)json_array_size(arr);
	for (unsigned int i = 0; i < st->nfaults; i++) {
		snprintf(where, sizeof(where), "faults[%u]", i);
		if (read_fault(&r, where, json_array_get(arr, i), &st->faults[i]))
			goto out;
	}
	if (get_array(&r, "top level", root, "latencies", SIM_MAX_LATENCIES, &arr))
		goto out;
	st->nlatencies = (unsigned int)json_array_size(arr);
	for (unsigned int i = 0; i < st->nlatencies; i++) {
		snprintf(where, sizeof(where), "latencies[%u]", i);
		if (read_latency(&r, where, json_array_get(arr, i), &st->latencies[i]))
			goto out;
	}
	ret = sim_state_check(st, err, errlen);
out:
	json_decref(root);
	return ret;
}

/* ---- invariants ---------------------------------------------------------------- */

/* Re-create the GPU's instances one by one on an empty copy: each must be allowed by the
 * same rules the driver applies at creation. The rules are symmetric, so order is free. */
static int check_gpu(const struct sim_gpu *g, unsigned int index, char *err, size_t errlen)
{
	struct sim_gpu probe = *g;
	probe.ngi = 0;

	if (g->mig_current == NVML_DEVICE_MIG_DISABLE && g->ngi > 0)
		return sim_errorf(err, errlen, "gpus[%u]: has GPU instances while MIG is disabled", index);
	for (unsigned int i = 0; i < g->ngi; i++) {
		const struct sim_gi *gi = &g->gi[i];
		const struct sim_gi_profile *p = sim_gpu_gi_profile(g, gi->profile_id);
		if (!p)
			return sim_errorf(err, errlen, "gpus[%u].gpu_instances[%u]: %s has no GPU instance profile id %u",
				    index, i, g->model->key, gi->profile_id);
		if (i > 0 && g->gi[i - 1].id >= gi->id)
			return sim_errorf(err, errlen, "gpus[%u].gpu_instances: ids must be unique and ascending", index);
		if (sim_model_gi_id(g->model, gi->placement, g->swapped_halves) != (int)gi->id)
			return sim_errorf(err, errlen, "gpus[%u].gpu_instances[%u]: id %u does not match placement %u:%u",
				    index, i, gi->id, gi->placement.start, gi->placement.size);
		unsigned int new_id;
		if (sim_gi_create(&probe, gi->profile_id, &gi->placement, &new_id) != NVML_SUCCESS)
			return sim_errorf(err, errlen,
				    "gpus[%u].gpu_instances[%u]: profile %u at %u:%u is not a valid placement or "
				    "overlaps another instance",
				    index, i, gi->profile_id, gi->placement.start, gi->placement.size);
		struct sim_gi *pgi = sim_gpu_find_gi(&probe, new_id);
		for (unsigned int j = 0; j < gi->nci; j++) {
			const struct sim_ci *ci = &gi->ci[j];
			if (j > 0 && gi->ci[j - 1].id >= ci->id)
				return sim_errorf(err, errlen,
					    "gpus[%u].gpu_instances[%u].compute_instances: ids must be unique and ascending",
					    index, i);
			unsigned int ci_id;
			if (sim_ci_create(&probe, pgi, ci->profile_id, &ci->placement, &ci_id) != NVML_SUCCESS)
				return sim_errorf(err, errlen,
					    "gpus[%u].gpu_instances[%u].compute_instances[%u]: profile %u at %u:%u is "
					    "not valid in a %s instance or overlaps another",
					    index, i, j, ci->profile_id, ci->placement.start, ci->placement.size, p->name);
			/* the probe numbered it lowest-free; take the recorded id */
			sim_gi_find_ci(pgi, ci_id)->id = ci->id;
		}
	}
	return 0;
}

int sim_state_check(const struct sim_state *st, char *err, size_t errlen)
{
	if (st->ngpus == 0 || st->ngpus > SIM_MAX_GPUS)
		return sim_errorf(err, errlen, "a simulated node has 1 to %d GPUs", SIM_MAX_GPUS);
	for (unsigned int i = 0; i < st->ngpus; i++) {
		const struct sim_gpu *g = &st->gpus[i];
		for (unsigned int j = 0; j < i; j++)
			if (st->gpus[j].pci_bus == g->pci_bus || strcmp(st->gpus[j].uuid, g->uuid) == 0)
				return sim_errorf(err, errlen, "gpus[%u] and gpus[%u] share a PCI bus or UUID", j, i);
		if (check_gpu(g, i, err, errlen))
			return -1;
	}
	for (unsigned int i = 0; i < st->nprocs; i++) {
		const struct sim_proc *p = &st->procs[i];
		if (p->gpu >= st->ngpus)
			return sim_errorf(err, errlen, "processes[%u]: no GPU %u", i, p->gpu);
		if ((p->gi == SIM_NO_ID) != (p->ci == SIM_NO_ID))
			return sim_errorf(err, errlen, "processes[%u]: 'gi' and 'ci' are both set or both null", i);
		if (p->gi != SIM_NO_ID) {
			struct sim_gpu *g = (struct sim_gpu *)&st->gpus[p->gpu];
			struct sim_gi *gi = sim_gpu_find_gi(g, (unsigned int)p->gi);
			if (!gi || !sim_gi_find_ci(gi, (unsigned int)p->ci))
				return sim_errorf(err, errlen, "processes[%u]: GPU %u has no MIG device %d/%d", i, p->gpu,
					    p->gi, p->ci);
		}
		if (p->pid >= st->next_pid)
			return sim_errorf(err, errlen, "processes[%u]: pid %u is not below next_pid %u", i, p->pid,
				    st->next_pid);
		for (unsigned int j = 0; j < i; j++)
			if (st->procs[j].pid == p->pid)
				return sim_errorf(err, errlen, "processes[%u]: pid %u is used twice", i, p->pid);
	}
	return 0;
}

/* ---- JSON writer ---------------------------------------------------------------- */

static json_t *id_or_null(int id)
{
	return id == SIM_NO_ID ? json_null() : json_integer(id);
}

char *sim_state_to_json(const struct sim_state *st)
{
	json_t *root = json_object(), *gpus = json_array(), *procs = json_array(), *faults = json_array(),
	       *lats = json_array();
	char *text = NULL;

	if (!root || !gpus || !procs || !faults || !lats)
		goto out;
	json_object_set_new(root, "format", json_string(SIM_STATE_FORMAT));
	json_object_set_new(root, "version", json_integer(SIM_STATE_VERSION));
	json_object_set_new(root, "generation", json_integer((json_int_t)st->generation));
	json_object_set_new(root, "unprivileged", json_boolean(st->unprivileged));
	json_object_set_new(root, "next_pid", json_integer(st->next_pid));
	for (unsigned int i = 0; i < st->ngpus; i++) {
		const struct sim_gpu *g = &st->gpus[i];
		json_t *gis = json_array();
		for (unsigned int j = 0; j < g->ngi; j++) {
			const struct sim_gi *gi = &g->gi[j];
			json_t *cis = json_array();
			for (unsigned int k = 0; k < gi->nci; k++) {
				const struct sim_ci *ci = &gi->ci[k];
				json_array_append_new(cis, json_pack("{s:I, s:I, s:I, s:I}", "id", (json_int_t)ci->id,
								     "profile_id", (json_int_t)ci->profile_id, "start",
								     (json_int_t)ci->placement.start, "size",
								     (json_int_t)ci->placement.size));
			}
			json_array_append_new(gis, json_pack("{s:I, s:I, s:I, s:I, s:o}", "id", (json_int_t)gi->id,
							     "profile_id", (json_int_t)gi->profile_id, "start",
							     (json_int_t)gi->placement.start, "size",
							     (json_int_t)gi->placement.size, "compute_instances", cis));
		}
		json_array_append_new(
			gpus, json_pack("{s:s, s:s, s:I, s:I, s:b, s:b, s:I, s:I, s:o}", "model", g->model->key, "uuid",
					g->uuid, "pci_bus", (json_int_t)g->pci_bus, "minor", (json_int_t)g->minor,
					"swapped_halves", g->swapped_halves, "reset_required", g->reset_required,
					"mig_current", (json_int_t)g->mig_current, "mig_pending",
					(json_int_t)g->mig_pending, "gpu_instances", gis));
	}
	json_object_set_new(root, "gpus", gpus);
	gpus = NULL;
	for (unsigned int i = 0; i < st->nprocs; i++) {
		const struct sim_proc *p = &st->procs[i];
		json_array_append_new(procs, json_pack("{s:I, s:I, s:o, s:o, s:I, s:s}", "pid", (json_int_t)p->pid,
						       "gpu", (json_int_t)p->gpu, "gi", id_or_null(p->gi), "ci",
						       id_or_null(p->ci), "used_mib", (json_int_t)p->used_mib, "name",
						       p->name));
	}
	json_object_set_new(root, "processes", procs);
	procs = NULL;
	for (unsigned int i = 0; i < st->nfaults; i++) {
		const struct sim_fault *f = &st->faults[i];
		json_array_append_new(faults, json_pack("{s:s, s:I, s:I, s:s, s:b}", "function", f->function, "nth",
							(json_int_t)f->nth, "calls", (json_int_t)f->calls, "error",
							sim_return_name(f->error), "always", f->always));
	}
	json_object_set_new(root, "faults", faults);
	faults = NULL;
	for (unsigned int i = 0; i < st->nlatencies; i++)
		json_array_append_new(lats, json_pack("{s:s, s:I}", "op", st->latencies[i].op, "ms",
						      (json_int_t)st->latencies[i].ms));
	json_object_set_new(root, "latencies", lats);
	lats = NULL;
	text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
out:
	json_decref(root);
	json_decref(gpus);
	json_decref(procs);
	json_decref(faults);
	json_decref(lats);
	return text;
}
