/* SPDX-License-Identifier: MIT */
/*
 * Plans as JSON documents, so that a plan can be written down, read back, checked against the
 * node and executed, and so that the journal records exactly what ran. The document:
 *
 *   {"format": "migctl-plan", "version": 1, "mode_operations": N,
 *    "gpus": [{"index", "uuid", "before", "changes", "after": [{"profile", "start", "size", "id"}]}],
 *    "operations": [{"op", "gpu", "gpu_uuid", ... every field of struct mig_op}]}
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PLAN_FORMAT "migctl-plan"
#define PLAN_VERSION 1

static const char *const op_names[] = {
	[MIG_OP_DESTROY_CI] = "destroy_ci", [MIG_OP_DESTROY_GI] = "destroy_gi", [MIG_OP_DISABLE_MIG] = "disable_mig",
	[MIG_OP_ENABLE_MIG] = "enable_mig", [MIG_OP_CREATE_GI] = "create_gi",   [MIG_OP_CREATE_CI] = "create_ci",
};

static json_t *placement(struct mig_placement p)
{
	return json_pack("{s:I, s:I}", "start", (json_int_t)p.start, "size", (json_int_t)p.size);
}

json_t *mig_plan_json(const struct mig_plan *plan)
{
	json_t *gpus = json_array(), *ops = json_array();
	for (size_t i = 0; i < plan->ngpus; i++) {
		const struct mig_gpu_plan *gp = &plan->gpus[i];
		json_t *after = json_array();
		for (size_t k = 0; k < gp->nafter; k++)
			json_array_append_new(after, json_pack("{s:s, s:I, s:I, s:I}", "profile", gp->after_profile[k], "start",
							       (json_int_t)gp->after[k].start, "size",
							       (json_int_t)gp->after[k].size, "id", (json_int_t)gp->after_id[k]));
		json_array_append_new(
			gpus, json_pack("{s:I, s:s, s:s, s:b, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}}", "index",
					(json_int_t)gp->gpu, "uuid", gp->uuid, "before", gp->before, "changes", gp->changes,
					"after", after, "counts", "kept_gis", (json_int_t)gp->kept_gis, "kept_cis",
					(json_int_t)gp->kept_cis, "destroyed_gis", (json_int_t)gp->destroyed_gis,
					"destroyed_cis", (json_int_t)gp->destroyed_cis, "created_gis",
					(json_int_t)gp->created_gis, "created_cis", (json_int_t)gp->created_cis));
	}
	for (size_t i = 0; i < plan->nops; i++) {
		const struct mig_op *op = &plan->ops[i];
		json_array_append_new(
			ops, json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:s, s:o, s:o, s:I, s:b, s:I}", "op",
				       op_names[op->kind], "gpu", (json_int_t)op->gpu, "gpu_uuid", op->gpu_uuid, "gi_id",
				       (json_int_t)op->gi_id, "new_gi", (json_int_t)op->new_gi, "ci_id", (json_int_t)op->ci_id,
				       "profile_id", (json_int_t)op->profile_id, "profile", op->profile, "placement",
				       placement(op->at), "ci_placement", placement(op->ci_at), "ci_slices",
				       (json_int_t)op->ci.slices, "ci_full", op->ci.full, "gi_slices",
				       (json_int_t)op->gi_slices));
	}
	return json_pack("{s:s, s:i, s:I, s:b, s:o, s:o}", "format", PLAN_FORMAT, "version", PLAN_VERSION,
			 "mode_operations", (json_int_t)plan->nmode_ops, "atomic", plan->atomic, "gpus", gpus, "operations",
			 ops);
}

char *mig_plan_to_json(const struct mig_plan *plan, struct mig_error *err)
{
	json_t *doc = mig_plan_json(plan);
	char *text = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	if (!text)
		mig_error_set(err, MIG_E_NOMEM, "out of memory");
	return text;
}

/* ---- reading ---------------------------------------------------------------- */

static int bad(struct mig_error *err, const char *where, size_t i, const char *what)
{
	return mig_error_set(err, MIG_E_INVALID, "not a plan (format migctl-plan): %s %zu: %s", where, i, what);
}

static bool get_uint(json_t *o, const char *key, unsigned int *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0xffffffffLL)
		return false;
	*out = (unsigned int)json_integer_value(v);
	return true;
}

static bool get_placement(json_t *o, const char *key, struct mig_placement *p)
{
	json_t *v = json_object_get(o, key);
	return json_is_object(v) && get_uint(v, "start", &p->start) && get_uint(v, "size", &p->size);
}

static bool get_str(json_t *o, const char *key, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && strlen(s) < len && (snprintf(buf, len, "%s", s), true);
}

static int read_gpus(json_t *arr, struct mig_plan *plan, struct mig_error *err)
{
	plan->gpus = calloc(json_array_size(arr) ? json_array_size(arr) : 1, sizeof(*plan->gpus));
	if (!plan->gpus)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *o = json_array_get(arr, i), *after = json_object_get(o, "after"), *counts = json_object_get(o, "counts");
		struct mig_gpu_plan *gp = &plan->gpus[plan->ngpus++];
		if (!json_is_object(o) || !get_uint(o, "index", &gp->gpu) || !get_str(o, "uuid", gp->uuid, sizeof(gp->uuid)) ||
		    !get_str(o, "before", gp->before, sizeof(gp->before)) || !json_is_boolean(json_object_get(o, "changes")) ||
		    !json_is_array(after) || json_array_size(after) > 8 || !json_is_object(counts))
			return bad(err, "GPU", i, "needs index, uuid, before, changes, after (at most 8) and counts");
		gp->changes = json_is_true(json_object_get(o, "changes"));
		unsigned int c[6];
		const char *keys[6] = {"kept_gis", "kept_cis", "destroyed_gis", "destroyed_cis", "created_gis", "created_cis"};
		for (size_t k = 0; k < 6; k++)
			if (!get_uint(counts, keys[k], &c[k]))
				return bad(err, "GPU", i, "counts needs kept_gis, kept_cis, destroyed_gis, destroyed_cis, "
							  "created_gis and created_cis");
		gp->kept_gis = c[0], gp->kept_cis = c[1], gp->destroyed_gis = c[2];
		gp->destroyed_cis = c[3], gp->created_gis = c[4], gp->created_cis = c[5];
		for (size_t k = 0; k < json_array_size(after); k++) {
			json_t *a = json_array_get(after, k), *id = json_object_get(a, "id");
			if (!get_str(a, "profile", gp->after_profile[k], MIG_PROFILE_MAX) ||
			    !get_uint(a, "start", &gp->after[k].start) || !get_uint(a, "size", &gp->after[k].size) ||
			    !json_is_integer(id))
				return bad(err, "GPU", i, "each of after needs profile, start, size and id");
			gp->after_id[k] = (int)json_integer_value(id);
			gp->nafter++;
		}
	}
	return 0;
}

static int read_op(json_t *o, size_t i, struct mig_op *op, const struct mig_plan *plan, struct mig_error *err)
{
	const char *name = json_string_value(json_object_get(o, "op"));
	json_t *new_gi = json_object_get(o, "new_gi"), *full = json_object_get(o, "ci_full");
	size_t k;
	memset(op, 0, sizeof(*op));
	for (k = 0; name && k < sizeof(op_names) / sizeof(op_names[0]); k++)
		if (strcmp(name, op_names[k]) == 0)
			break;
	if (!name || k == sizeof(op_names) / sizeof(op_names[0]))
		return bad(err, "operation", i, "op must be one of destroy_ci, destroy_gi, disable_mig, enable_mig, "
						"create_gi, create_ci");
	op->kind = (enum mig_op_kind)k;
	if (!get_uint(o, "gpu", &op->gpu) || !get_str(o, "gpu_uuid", op->gpu_uuid, sizeof(op->gpu_uuid)) ||
	    !get_uint(o, "gi_id", &op->gi_id) || !get_uint(o, "ci_id", &op->ci_id) ||
	    !get_uint(o, "profile_id", &op->profile_id) || !get_str(o, "profile", op->profile, sizeof(op->profile)) ||
	    !get_placement(o, "placement", &op->at) || !get_placement(o, "ci_placement", &op->ci_at) ||
	    !get_uint(o, "ci_slices", &op->ci.slices) || !json_is_boolean(full) || !get_uint(o, "gi_slices", &op->gi_slices) ||
	    !json_is_integer(new_gi))
		return bad(err, "operation", i, "a field is missing or of the wrong type");
	op->ci.full = json_is_true(full);
	json_int_t ng = json_integer_value(new_gi);
	/* a compute instance in a GPU instance the plan makes names that earlier create_gi */
	if (ng < -1 || ng >= (json_int_t)i ||
	    (ng >= 0 && (op->kind != MIG_OP_CREATE_CI || plan->ops[ng].kind != MIG_OP_CREATE_GI ||
			 strcmp(plan->ops[ng].gpu_uuid, op->gpu_uuid) != 0)))
		return bad(err, "operation", i, "new_gi must name an earlier create_gi on the same GPU, or be -1");
	op->new_gi = (int)ng;
	bool known = false;
	for (size_t g = 0; g < plan->ngpus; g++)
		known |= strcmp(plan->gpus[g].uuid, op->gpu_uuid) == 0 && plan->gpus[g].gpu == op->gpu;
	if (!known)
		return bad(err, "operation", i, "its GPU (index and uuid) is not among the plan's gpus");
	return 0;
}

int mig_plan_from_json(const char *text, struct mig_plan **out, struct mig_error *err)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	struct mig_plan *plan = NULL;
	int rc = -1;
	if (!doc)
		return mig_error_set(err, MIG_E_INVALID, "not a plan (format migctl-plan): line %d, column %d: %s", jerr.line, jerr.column,
				     jerr.text);
	json_t *gpus = json_object_get(doc, "gpus"), *ops = json_object_get(doc, "operations");
	const char *format = json_string_value(json_object_get(doc, "format"));
	unsigned int version = 0, nmode = 0;
	if (!format || strcmp(format, PLAN_FORMAT) != 0 || !get_uint(doc, "version", &version)) {
		mig_error_set(err, MIG_E_INVALID, "not a plan (format migctl-plan): it needs \"format\": \"%s\" and a version", PLAN_FORMAT);
		goto out;
	}
	if (version != PLAN_VERSION) {
		mig_error_set(err, MIG_E_UNSUPPORTED, "a plan of format version %u; this libmig reads version %d", version,
			      PLAN_VERSION);
		goto out;
	}
	if (!json_is_array(gpus) || !json_is_array(ops) || !get_uint(doc, "mode_operations", &nmode) ||
	    nmode > json_array_size(ops)) {
		mig_error_set(err, MIG_E_INVALID, "not a plan (format migctl-plan): it needs gpus, operations and mode_operations (at most "
						  "the number of operations)");
		goto out;
	}
	if (mig_plan_new(&plan, err) || read_gpus(gpus, plan, err))
		goto out;
	plan->ops = calloc(json_array_size(ops) ? json_array_size(ops) : 1, sizeof(*plan->ops));
	if (!plan->ops) {
		mig_error_set(err, MIG_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(ops); i++, plan->nops++)
		if (read_op(json_array_get(ops, i), i, &plan->ops[i], plan, err))
			goto out;
	plan->nmode_ops = nmode;
	plan->atomic = json_is_true(json_object_get(doc, "atomic"));
	*out = plan;
	plan = NULL;
	rc = 0;
out:
	mig_plan_free(plan);
	json_decref(doc);
	return rc;
}
