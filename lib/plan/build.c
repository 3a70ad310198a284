/* SPDX-License-Identifier: MIT */
/*
 * Plans made operation by operation (create, create-ci, destroy, mode), and what every plan
 * knows of its GPUs: their layout when the plan was made (a plan is refused when a GPU no
 * longer looks so) and the layout its operations lead to (checked after executing). Pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- layouts ---------------------------------------------------------------- */

#define LAYOUT_GIS 16
#define LAYOUT_CIS 8

struct layout_ci {
	long id; /* -1: made by the plan, id unknown */
	unsigned int profile_id;
	struct mig_placement at;
};

struct layout_gi {
	long id;
	unsigned int profile_id;
	struct mig_placement at;
	struct layout_ci cis[LAYOUT_CIS];
	size_t ncis;
};

struct layout {
	int mode; /* enum mig_mode, current */
	struct layout_gi gis[LAYOUT_GIS];
	size_t ngis;
	int new_gi_op[LAYOUT_GIS]; /* the CREATE_GI op that made gis[i], or -1 */
};

static void layout_of(const struct mig_gpu *g, struct layout *l)
{
	memset(l, 0, sizeof(*l));
	l->mode = g->mode_current;
	for (size_t i = 0; i < g->ngis && l->ngis < LAYOUT_GIS; i++) {
		const struct mig_gi *gi = &g->gis[i];
		struct layout_gi *lg = &l->gis[l->ngis];
		l->new_gi_op[l->ngis++] = -1;
		lg->id = gi->id;
		lg->profile_id = gi->profile_id;
		lg->at = gi->placement;
		for (size_t k = 0; k < gi->ncis && lg->ncis < LAYOUT_CIS; k++)
			lg->cis[lg->ncis++] = (struct layout_ci){gi->cis[k].id, gi->cis[k].profile_id, gi->cis[k].placement};
	}
}

static struct layout_gi *layout_gi(struct layout *l, long id, int new_gi)
{
	for (size_t i = 0; i < l->ngis; i++)
		if (new_gi >= 0 ? l->new_gi_op[i] == new_gi : l->gis[i].id == id)
			return &l->gis[i];
	return NULL;
}

/* Apply op (index k of its plan) to l; false when it cannot apply to this layout. */
static bool layout_step(struct layout *l, const struct mig_op *op, size_t k)
{
	struct layout_gi *gi;
	switch (op->kind) {
	case MIG_OP_DESTROY_CI:
		if (!(gi = layout_gi(l, op->gi_id, -1)))
			return false;
		for (size_t i = 0; i < gi->ncis; i++)
			if (gi->cis[i].id == (long)op->ci_id) {
				gi->cis[i] = gi->cis[--gi->ncis];
				return true;
			}
		return false;
	case MIG_OP_DESTROY_GI:
		for (size_t i = 0; i < l->ngis; i++)
			if (l->gis[i].id == (long)op->gi_id && l->new_gi_op[i] < 0) {
				l->gis[i] = l->gis[l->ngis - 1];
				l->new_gi_op[i] = l->new_gi_op[l->ngis - 1];
				l->ngis--;
				return true;
			}
		return false;
	case MIG_OP_DISABLE_MIG:
		l->mode = MIG_MODE_DISABLED;
		return true;
	case MIG_OP_ENABLE_MIG:
		l->mode = MIG_MODE_ENABLED;
		return true;
	case MIG_OP_CREATE_GI:
		if (l->ngis >= LAYOUT_GIS)
			return false;
		l->new_gi_op[l->ngis] = (int)k;
		l->gis[l->ngis++] = (struct layout_gi){-1, op->profile_id, op->at, {{0, 0, {0, 0}}}, 0};
		return true;
	case MIG_OP_CREATE_CI:
		if (!(gi = layout_gi(l, op->gi_id, op->new_gi)) || gi->ncis >= LAYOUT_CIS)
			return false;
		gi->cis[gi->ncis++] = (struct layout_ci){-1, op->profile_id, op->ci_at};
		return true;
	}
	return false;
}

static int cmp_ci(const void *a, const void *b)
{
	const struct layout_ci *x = a, *y = b;
	return x->at.start != y->at.start ? (x->at.start < y->at.start ? -1 : 1)
					  : (x->profile_id < y->profile_id ? -1 : x->profile_id > y->profile_id);
}

static int cmp_gi(const void *a, const void *b)
{
	const struct layout_gi *x = a, *y = b;
	return x->at.start != y->at.start ? (x->at.start < y->at.start ? -1 : 1)
					  : (x->profile_id < y->profile_id ? -1 : x->profile_id > y->profile_id);
}

/* The layout in words, GPU instances and their compute instances by placement: with ids for
 * "has the GPU moved?", without for "does it look as planned?". */
static void layout_text(struct layout *l, bool ids, char *buf, size_t len)
{
	size_t used = 0;
	qsort(l->gis, l->ngis, sizeof(l->gis[0]), cmp_gi);
	used += (size_t)snprintf(buf + used, len - used, "mode %d;", l->mode);
	for (size_t i = 0; i < l->ngis && used < len; i++) {
		struct layout_gi *gi = &l->gis[i];
		qsort(gi->cis, gi->ncis, sizeof(gi->cis[0]), cmp_ci);
		if (ids)
			used += (size_t)snprintf(buf + used, len - used, " gi %ld", gi->id);
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, " p%u@%u:%u[", gi->profile_id, gi->at.start,
						 gi->at.size);
		for (size_t k = 0; k < gi->ncis && used < len; k++) {
			if (ids)
				used += (size_t)snprintf(buf + used, len - used, "ci %ld ", gi->cis[k].id);
			if (used < len)
				used += (size_t)snprintf(buf + used, len - used, "p%u@%u:%u%s", gi->cis[k].profile_id,
							 gi->cis[k].at.start, gi->cis[k].at.size, k + 1 < gi->ncis ? "," : "");
		}
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "]");
	}
}

void mig_gpu_layout_text(const struct mig_gpu *g, char *buf, size_t len)
{
	struct layout *l = malloc(sizeof(*l));
	if (!l) {
		snprintf(buf, len, "?");
		return;
	}
	layout_of(g, l);
	layout_text(l, true, buf, len);
	free(l);
}

int mig_plan_check_result(const struct mig_plan *plan, const struct mig_gpu *before, const struct mig_gpu *after,
			  char *why, size_t len)
{
	struct layout *want = malloc(sizeof(*want)), *got = malloc(sizeof(*got));
	char a[2048], b[2048];
	int rc = 0;
	if (!want || !got) {
		free(want);
		free(got);
		snprintf(why, len, "out of memory");
		return -1;
	}
	layout_of(before, want);
	for (size_t k = 0; k < plan->nops && rc == 0; k++)
		if (strcmp(plan->ops[k].gpu_uuid, before->uuid) == 0 && !layout_step(want, &plan->ops[k], k))
			rc = -1;
	layout_of(after, got);
	layout_text(want, false, a, sizeof(a));
	layout_text(got, false, b, sizeof(b));
	if (rc || strcmp(a, b) != 0) {
		snprintf(why, len, "expected %.900s, found %.900s", a, b);
		rc = -1;
	}
	free(want);
	free(got);
	return rc;
}

/* ---- building ---------------------------------------------------------------- */

int mig_plan_new(struct mig_plan **out, struct mig_error *err)
{
	struct mig_plan *plan = calloc(1, sizeof(*plan));
	if (!plan)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	plan->atomic = true;
	*out = plan;
	return 0;
}

struct mig_gpu_plan *mig_plan_note_gpu(struct mig_plan *plan, const struct mig_gpu *g)
{
	for (size_t i = 0; i < plan->ngpus; i++)
		if (strcmp(plan->gpus[i].uuid, g->uuid) == 0)
			return &plan->gpus[i];
	struct mig_gpu_plan *gpus = realloc(plan->gpus, (plan->ngpus + 1) * sizeof(*gpus));
	if (!gpus)
		return NULL;
	plan->gpus = gpus;
	struct mig_gpu_plan *gp = &gpus[plan->ngpus++];
	memset(gp, 0, sizeof(*gp));
	gp->gpu = g->index;
	snprintf(gp->uuid, sizeof(gp->uuid), "%s", g->uuid);
	mig_gpu_layout_text(g, gp->before, sizeof(gp->before));
	return gp;
}

struct mig_op *mig_plan_push(struct mig_plan *plan, size_t *cap, enum mig_op_kind kind, const struct mig_gpu *g)
{
	if (plan->nops == *cap) {
		size_t more = *cap ? *cap * 2 : 16;
		struct mig_op *ops = realloc(plan->ops, more * sizeof(*ops));
		if (!ops)
			return NULL;
		plan->ops = ops;
		*cap = more;
	}
	struct mig_op *op = &plan->ops[plan->nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->gpu = g->index;
	snprintf(op->gpu_uuid, sizeof(op->gpu_uuid), "%s", g->uuid);
	op->new_gi = -1;
	return op;
}

/* Builders append one at a time: capacity is the count (realloc each time: plans are short). */
static struct mig_op *append(struct mig_plan *plan, enum mig_op_kind kind, const struct mig_gpu *g,
			     struct mig_error *err)
{
	size_t cap = plan->nops;
	struct mig_gpu_plan *gp = mig_plan_note_gpu(plan, g);
	struct mig_op *op = gp ? mig_plan_push(plan, &cap, kind, g) : NULL;
	if (!op) {
		mig_error_set(err, MIG_E_NOMEM, "out of memory");
		return NULL;
	}
	gp->changes = true;
	if (kind == MIG_OP_ENABLE_MIG || kind == MIG_OP_DISABLE_MIG)
		plan->nmode_ops = plan->nops; /* built plans are one phase: mode ops come alone */
	return op;
}

unsigned int mig_default_ci_profile(const struct mig_gpu *g, const struct mig_gi_profile *p, const struct mig_gi *existing)
{
	for (size_t i = 0; existing && i < existing->nci_profiles; i++)
		if (existing->ci_profiles[i].is_default)
			return existing->ci_profiles[i].id;
	if (!p)
		return 0;
	/* The default is the full-size compute instance with the most SMs. A REV2 one-slice GPU
	 * instance with more SMs than the plain one-slice one (H100 1g.20gb: 26 against 16) has
	 * them only in the REV1 one-slice compute instance; elsewhere it is the one of its size. */
	if (p->index == NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2)
		for (size_t i = 0; i < g->nprofiles; i++)
			if (g->profiles[i].index == NVML_GPU_INSTANCE_PROFILE_1_SLICE && p->sms > g->profiles[i].sms)
				return NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE_REV1;
	return mig_ci_profile_for_slices(p->slices);
}

int mig_plan_add_create_gi(struct mig_plan *plan, const struct mig_gpu *g, const struct mig_gi_profile *profile,
			   struct mig_placement at, bool with_ci, struct mig_error *err)
{
	struct mig_op *op = append(plan, MIG_OP_CREATE_GI, g, err);
	if (!op)
		return -1;
	op->profile_id = profile->id;
	op->at = at;
	snprintf(op->profile, sizeof(op->profile), "%s", profile->name);
	int gi_op = (int)(plan->nops - 1);
	if (!with_ci)
		return 0;
	if (!(op = append(plan, MIG_OP_CREATE_CI, g, err)))
		return -1;
	op->new_gi = gi_op;
	op->ci = (struct mig_target_ci){.slices = profile->slices, .full = true};
	op->gi_slices = profile->slices;
	op->profile_id = mig_default_ci_profile(g, profile, NULL);
	op->ci_at = (struct mig_placement){0, profile->slices};
	op->at = at;
	snprintf(op->profile, sizeof(op->profile), "%s", profile->name);
	return 0;
}

int mig_plan_add_create_ci(struct mig_plan *plan, const struct mig_gpu *g, const struct mig_gi *gi,
			   const struct mig_ci_profile *profile, struct mig_placement ci_at, struct mig_error *err)
{
	struct mig_op *op = append(plan, MIG_OP_CREATE_CI, g, err);
	if (!op)
		return -1;
	op->gi_id = gi->id;
	op->at = gi->placement;
	op->profile_id = profile->id;
	op->ci = (struct mig_target_ci){.slices = profile->slices, .full = profile->is_default};
	op->ci_at = ci_at;
	snprintf(op->profile, sizeof(op->profile), "%s", profile->name);
	return 0;
}

int mig_plan_add_destroy_ci(struct mig_plan *plan, const struct mig_gpu *g, const struct mig_gi *gi,
			    const struct mig_ci *ci, struct mig_error *err)
{
	struct mig_op *op = append(plan, MIG_OP_DESTROY_CI, g, err);
	if (!op)
		return -1;
	op->gi_id = gi->id;
	op->ci_id = ci->id;
	op->profile_id = ci->profile_id;
	op->ci_at = ci->placement;
	op->at = gi->placement;
	snprintf(op->profile, sizeof(op->profile), "%s", ci->profile);
	return 0;
}

int mig_plan_add_destroy_gi(struct mig_plan *plan, const struct mig_gpu *g, const struct mig_gi *gi,
			    struct mig_error *err)
{
	struct mig_op *op = append(plan, MIG_OP_DESTROY_GI, g, err);
	if (!op)
		return -1;
	op->gi_id = gi->id;
	op->profile_id = gi->profile_id;
	op->at = gi->placement;
	snprintf(op->profile, sizeof(op->profile), "%s", gi->profile);
	return 0;
}

int mig_plan_add_mode(struct mig_plan *plan, const struct mig_gpu *g, bool enable, struct mig_error *err)
{
	return append(plan, enable ? MIG_OP_ENABLE_MIG : MIG_OP_DISABLE_MIG, g, err) ? 0 : -1;
}
