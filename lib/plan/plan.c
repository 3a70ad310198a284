/* SPDX-License-Identifier: MIT */
/*
 * Declarative partitioning: from targets and the node's current state to an ordered list of
 * operations. Pure: no NVML.
 *
 * Matching is by identity of what a GPU instance is: its profile, the multiset of its
 * compute instances and (when pinned) its placement. Exact matches are kept whole; a GPU
 * instance of the right profile whose compute instances differ keeps the GPU instance and
 * swaps compute instances; everything else is destroyed, compute instances first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define MAX_GIS 8

/* ---- planning ---------------------------------------------------------------- */

struct planner {
	struct mig_plan *plan;
	size_t cap;
	struct mig_error *err;
};

static struct mig_op *add_op(struct planner *p, enum mig_op_kind kind, const struct mig_gpu *g)
{
	return mig_plan_push(p->plan, &p->cap, kind, g);
}

static const struct mig_ci_profile *ci_profile_of(const struct mig_gi *gi, unsigned int id)
{
	for (size_t i = 0; i < gi->nci_profiles; i++)
		if (gi->ci_profiles[i].id == id)
			return &gi->ci_profiles[i];
	return NULL;
}

/* NVML's compute-instance profile index of a compute instance of this many slices. */
unsigned int mig_ci_profile_for_slices(unsigned int slices)
{
	static const unsigned int by_slices[9] = {0, 0, 1, 2, 3, 0, 6, 4, 5};
	return slices < 9 ? by_slices[slices] : 0;
}

/* Is the current compute instance ci the one a target asks for? The full one is the GPU
 * instance's default profile; a sized one is the profile of that many slices (so an H100
 * 1g.20gb GPU instance tells its default 1g.20gb from its one-slice 1c.1g.20gb). */
static bool ci_matches(const struct mig_gi *gi, const struct mig_ci *ci, struct mig_target_ci t)
{
	if (t.full) {
		const struct mig_ci_profile *p = ci_profile_of(gi, ci->profile_id);
		return p && p->is_default;
	}
	return ci->profile_id == mig_ci_profile_for_slices(t.slices);
}

size_t mig_ci_starts(unsigned int gi_slices, unsigned int ci_slices, unsigned int starts[8])
{
	/* Every compute-instance placement table in the facts follows one rule: a compute
	 * instance of s slices starts at a multiple of the power of two at or above s and ends
	 * inside the GPU instance (7g: 3c at 0 and 4, 2c at 0, 2, 4). */
	unsigned int step = 1;
	size_t n = 0;
	while (step < ci_slices)
		step <<= 1;
	for (unsigned int at = 0; ci_slices && at + ci_slices <= gi_slices && n < 8; at += step)
		starts[n++] = at;
	return n;
}

static bool busy_gi(const struct mig_gi *gi)
{
	for (size_t i = 0; i < gi->ncis; i++)
		if (gi->cis[i].nprocs || gi->cis[i].leased)
			return true;
	return false;
}

/* A leased instance (issue 12) is busy even with force: only its lease ends it. */
static bool leased_gi(const struct mig_gi *gi)
{
	for (size_t i = 0; i < gi->ncis; i++)
		if (gi->cis[i].leased)
			return true;
	return false;
}

/* The compute instances of one GPU instance the target keeps, and where the others go. */
struct ci_fit {
	bool keep[8];               /* current compute instance j stays */
	bool have[8];               /* target compute instance i is a kept one */
	struct mig_placement at[8]; /* where target compute instance i is created, when !have[i] */
	size_t kept;
};

static unsigned int target_ci_slices(struct mig_target_ci t, unsigned int gi_slices)
{
	return t.full ? gi_slices : t.slices;
}

/* Give each target compute instance not yet placed a free span, largest first (backtracking). */
static bool place_cis(const struct mig_target_gi *t, unsigned int gi_slices, unsigned int used, const size_t *order,
		      size_t n, struct ci_fit *f)
{
	if (n == 0)
		return true;
	size_t i = order[0];
	unsigned int s = target_ci_slices(t->cis[i], gi_slices), starts[8];
	size_t nstarts = mig_ci_starts(gi_slices, s, starts);
	for (size_t k = 0; k < nstarts; k++) {
		unsigned int span = ((1u << s) - 1) << starts[k];
		if (used & span)
			continue;
		f->at[i] = (struct mig_placement){starts[k], s};
		if (place_cis(t, gi_slices, used | span, order + 1, n - 1, f))
			return true;
	}
	return false;
}

/*
 * Which compute instances of gi (NULL: a GPU instance still to create) the target t keeps,
 * and where the missing ones go so that all of them fit: the most kept, and always the busy
 * ones unless force. A GPU instance holds at most 8, so this tries at most 256 sets.
 */
static bool fit_cis(const struct mig_gi *gi, unsigned int gi_slices, const struct mig_target_gi *t, bool force,
		    struct ci_fit *out)
{
	size_t n = gi ? gi->ncis : 0;
	unsigned int busy = 0, all = (1u << n) - 1;
	if (t->ncis > 8 || n > 8)
		return false;
	for (size_t j = 0; j < n; j++)
		if ((gi->cis[j].nprocs && !force) || gi->cis[j].leased)
			busy |= 1u << j;
	for (int size = (int)(n < t->ncis ? n : t->ncis); size >= 0; size--) {
		for (unsigned int mask = 0; mask <= all; mask++) {
			struct ci_fit f;
			unsigned int used = 0;
			bool ok = true;
			if ((int)__builtin_popcount(mask) != size || (mask & busy) != busy)
				continue;
			memset(&f, 0, sizeof(f));
			for (size_t j = 0; j < n && ok; j++) {
				if (!(mask & (1u << j)))
					continue;
				ok = false;
				for (size_t i = 0; i < t->ncis && !ok; i++)
					if (!f.have[i] && ci_matches(gi, &gi->cis[j], t->cis[i]))
						ok = f.have[i] = f.keep[j] = true;
				struct mig_placement a = gi->cis[j].placement;
				if (a.size && a.start + a.size <= 32)
					used |= ((1u << a.size) - 1) << a.start;
			}
			if (!ok)
				continue;
			size_t order[8], norder = 0;
			for (unsigned int s = 8; s > 0; s--)
				for (size_t i = 0; i < t->ncis; i++)
					if (!f.have[i] && target_ci_slices(t->cis[i], gi_slices) == s)
						order[norder++] = i;
			if (!place_cis(t, gi_slices, used, order, norder, &f))
				continue;
			f.kept = (size_t)size;
			*out = f;
			return true;
		}
	}
	return false;
}

static const struct mig_gi_profile *gi_profile_of(const struct mig_gpu *g, unsigned int profile_id)
{
	for (size_t k = 0; k < g->nprofiles; k++)
		if (g->profiles[k].id == profile_id)
			return &g->profiles[k];
	return NULL;
}

static unsigned int gi_compute_slices(const struct mig_gpu *g, unsigned int profile_id)
{
	for (size_t k = 0; k < g->nprofiles; k++)
		if (g->profiles[k].id == profile_id)
			return g->profiles[k].slices;
	return 0;
}

static bool exact(const struct mig_gpu *g, const struct mig_gi *gi, const struct mig_target_gi *t)
{
	struct ci_fit f;
	if (gi->profile_id != t->profile_id || gi->ncis != t->ncis)
		return false;
	if (t->pinned && (gi->placement.start != t->at.start || gi->placement.size != t->at.size))
		return false;
	return fit_cis(gi, gi_compute_slices(g, gi->profile_id), t, false, &f) && f.kept == t->ncis;
}

static bool adjustable(const struct mig_gpu *g, const struct mig_gi *gi, const struct mig_target_gi *t, bool force)
{
	struct ci_fit f;
	if (gi->profile_id != t->profile_id)
		return false;
	if (t->pinned && (gi->placement.start != t->at.start || gi->placement.size != t->at.size))
		return false;
	/* fit_cis keeps busy compute instances unless force: no fit means one would go */
	return fit_cis(gi, gi_compute_slices(g, gi->profile_id), t, force, &f);
}

/* Match every current GI in mask to a distinct target (exact matches first, busy GIs first,
 * then GIs whose compute instances change). pair[target] = current index or -1. */
static bool match_subset(const struct mig_gpu *g, const struct mig_gpu_target *t, unsigned int mask, bool force,
			 int *pair, size_t *nexact)
{
	bool matched[MAX_GIS] = {0};
	for (size_t i = 0; i < MAX_GIS; i++)
		pair[i] = -1;
	*nexact = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t j = 0; j < g->ngis; j++) {
			if (!(mask & (1u << j)) || matched[j] || busy_gi(&g->gis[j]) != (pass == 0))
				continue;
			for (size_t i = 0; i < t->ngis && !matched[j]; i++)
				if (pair[i] < 0 && exact(g, &g->gis[j], &t->gis[i])) {
					pair[i] = (int)j;
					matched[j] = true;
					(*nexact)++;
				}
		}
	for (size_t j = 0; j < g->ngis; j++) {
		if (!(mask & (1u << j)) || matched[j])
			continue;
		for (size_t i = 0; i < t->ngis && !matched[j]; i++)
			if (pair[i] < 0 && adjustable(g, &g->gis[j], &t->gis[i], force)) {
				pair[i] = (int)j;
				matched[j] = true;
			}
		if (!matched[j])
			return false;
	}
	return true;
}

static int busy_blocker(struct planner *p, const struct mig_gpu *g, const struct mig_gi *gi, const char *why)
{
	for (size_t i = 0; i < gi->ncis; i++)
		if (gi->cis[i].leased)
			return mig_error_set(p->err, MIG_E_BUSY,
					     "GPU %u GPU instance %u (%s at %u:%u) is leased (MIG device %s); %s; release "
					     "its lease first",
					     g->index, gi->id, gi->profile, gi->placement.start, gi->placement.size,
					     gi->cis[i].uuid, why);
	for (size_t i = 0; i < gi->ncis; i++)
		if (gi->cis[i].nprocs)
			return mig_error_set(p->err, MIG_E_BUSY,
					     "GPU %u GPU instance %u (%s at %u:%u) runs process %u on compute instance %u "
					     "(%s); %s",
					     g->index, gi->id, gi->profile, gi->placement.start, gi->placement.size,
					     gi->cis[i].procs[0].pid, gi->cis[i].id, gi->cis[i].uuid, why);
	return mig_error_set(p->err, MIG_E_BUSY, "GPU %u GPU instance %u is busy", g->index, gi->id);
}

/* Place the targets not kept (pair[t] < 0) beside the kept GIs; pinned ones go where
 * pinned. Fills at[] and returns 0 when they fit. */
static int place_new(const struct mig_gpu *g, const struct mig_gpu_target *t, const int *pair,
		     struct mig_placement *at)
{
	struct mig_gi occupied[MAX_GIS * 2];
	const struct mig_gi_profile *want[MAX_GIS];
	size_t which[MAX_GIS], nwant = 0, nocc = 0;
	struct mig_placement out[MAX_GIS];

	for (size_t i = 0; i < t->ngis; i++)
		if (pair[i] >= 0)
			occupied[nocc++] = g->gis[pair[i]];
	for (size_t i = 0; i < t->ngis; i++) {
		if (pair[i] >= 0)
			continue;
		if (t->gis[i].pinned) {
			struct mig_placement a = t->gis[i].at;
			for (size_t k = 0; k < nocc; k++) {
				struct mig_placement b = occupied[k].placement;
				if (a.start < b.start + b.size && b.start < a.start + a.size)
					return -1;
			}
			memset(&occupied[nocc], 0, sizeof(occupied[0]));
			occupied[nocc].profile_id = t->gis[i].profile_id;
			occupied[nocc++].placement = a;
			at[i] = a;
			continue;
		}
		for (size_t k = 0; k < g->nprofiles; k++)
			if (g->profiles[k].id == t->gis[i].profile_id) {
				want[nwant] = &g->profiles[k];
				which[nwant++] = i;
			}
	}
	struct mig_gpu view = *g;
	view.gis = occupied;
	view.ngis = nocc;
	if (nwant && mig_place_gis(&view, want, nwant, out, NULL))
		return -1;
	for (size_t k = 0; k < nwant; k++)
		at[which[k]] = out[k];
	return 0;
}

static int plan_gpu(struct planner *p, const struct mig_gpu *g, const struct mig_gpu_target *t, bool force)
{
	struct mig_gpu_plan *gp = &p->plan->gpus[p->plan->ngpus++];
	size_t first_op = p->plan->nops;
	int pair[MAX_GIS];          /* target i keeps current GI pair[i], or -1 */
	bool taken[MAX_GIS] = {0};  /* current GI j is kept */
	struct mig_placement at[MAX_GIS];

	memset(gp, 0, sizeof(*gp));
	gp->gpu = g->index;
	snprintf(gp->uuid, sizeof(gp->uuid), "%s", g->uuid);
	mig_gpu_layout_text(g, gp->before, sizeof(gp->before));
	for (size_t i = 0; i < MAX_GIS; i++)
		pair[i] = -1;

	bool enabled_now = g->mode_current == MIG_MODE_ENABLED;
	if (!t->mig_enabled) {
		for (size_t j = 0; j < g->ngis; j++)
			if ((busy_gi(&g->gis[j]) && !force) || leased_gi(&g->gis[j]))
				return busy_blocker(p, g, &g->gis[j], "disabling MIG would destroy it");
	} else if (enabled_now) {
		/* Which current GPU instances to keep: the largest set that can each be matched to a
		 * distinct target and leaves room for the rest, preferring exact matches. Busy ones
		 * must be in it. At most 8 GPU instances make this a search over 256 sets. */
		unsigned int busy = 0, full = (1u << g->ngis) - 1;
		for (size_t j = 0; j < g->ngis; j++)
			if ((busy_gi(&g->gis[j]) && !force) || leased_gi(&g->gis[j]))
				busy |= 1u << j;
		bool found = false;
		size_t best_exact = 0;
		int best_pair[MAX_GIS];
		struct mig_placement best_at[MAX_GIS];
		for (int size = (int)g->ngis; size >= 0 && !found; size--) {
			for (unsigned int mask = 0; mask <= full; mask++) {
				int trial[MAX_GIS];
				size_t nexact;
				if ((int)__builtin_popcount(mask) != size || (mask & busy) != busy ||
				    !match_subset(g, t, mask, force, trial, &nexact))
					continue;
				if (place_new(g, t, trial, at) != 0)
					continue;
				if (!found || nexact > best_exact) {
					found = true;
					best_exact = nexact;
					memcpy(best_pair, trial, sizeof(best_pair));
					memcpy(best_at, at, sizeof(best_at));
				}
			}
		}
		if (!found) {
			for (size_t j = 0; j < g->ngis; j++)
				if (busy & (1u << j)) {
					bool alone_fits = false;
					int trial[MAX_GIS];
					size_t nexact;
					alone_fits = match_subset(g, t, 1u << j, force, trial, &nexact) &&
						     place_new(g, t, trial, at) == 0;
					return busy_blocker(p, g, &g->gis[j],
							    alone_fits ? "the target does not fit beside it and the other busy instances"
								       : "the target has no place for it");
				}
			return mig_error_set(p->err, MIG_E_INVALID, "the target layout does not fit on GPU %u", g->index);
		}
		memcpy(pair, best_pair, sizeof(pair));
		memcpy(at, best_at, sizeof(at));
		for (size_t i = 0; i < t->ngis; i++)
			if (pair[i] >= 0)
				taken[pair[i]] = true;
	} else if (place_new(g, t, pair, at)) {
		return mig_error_set(p->err, MIG_E_INVALID, "the target layout does not fit on GPU %u", g->index);
	}

	/* the compute instances of each target: which stay, where the new ones go */
	struct ci_fit fits[MAX_GIS];
	for (size_t i = 0; i < t->ngis && t->mig_enabled; i++) {
		const struct mig_gi *gi = pair[i] >= 0 ? &g->gis[pair[i]] : NULL;
		if (!fit_cis(gi, gi_compute_slices(g, t->gis[i].profile_id), &t->gis[i], force, &fits[i]))
			return mig_error_set(p->err, MIG_E_INVALID,
					     "the compute instances of %s do not fit in one GPU instance on GPU %u",
					     t->gis[i].profile, g->index);
	}

	/* destroy: compute instances, then GPU instances */
	for (size_t j = 0; j < g->ngis; j++) {
		const struct mig_gi *gi = &g->gis[j];
		const bool *keep = NULL;
		for (size_t i = 0; i < t->ngis && t->mig_enabled; i++)
			if (pair[i] == (int)j) {
				keep = fits[i].keep;
				gp->kept_cis += fits[i].kept;
			}
		for (size_t k = 0; k < gi->ncis; k++) {
			if (keep && keep[k])
				continue;
			struct mig_op *op = add_op(p, MIG_OP_DESTROY_CI, g);
			if (!op)
				return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
			op->gi_id = gi->id;
			op->ci_id = gi->cis[k].id;
			op->profile_id = gi->cis[k].profile_id; /* what a roll back creates again */
			op->ci_at = gi->cis[k].placement;
			op->at = gi->placement;
			snprintf(op->profile, sizeof(op->profile), "%s", gi->cis[k].profile);
			gp->destroyed_cis++;
		}
	}
	for (size_t j = 0; j < g->ngis; j++) {
		if (t->mig_enabled && taken[j]) {
			gp->kept_gis++;
			continue;
		}
		struct mig_op *op = add_op(p, MIG_OP_DESTROY_GI, g);
		if (!op)
			return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
		op->gi_id = g->gis[j].id;
		op->at = g->gis[j].placement;
		snprintf(op->profile, sizeof(op->profile), "%s", g->gis[j].profile);
		gp->destroyed_gis++;
	}
	/* MIG mode */
	bool pending_other = g->mode_pending != (t->mig_enabled ? MIG_MODE_ENABLED : MIG_MODE_DISABLED);
	if (!t->mig_enabled && (g->mode_current != MIG_MODE_DISABLED || pending_other)) {
		if (!add_op(p, MIG_OP_DISABLE_MIG, g))
			return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
	}
	if (t->mig_enabled && (!enabled_now || pending_other)) {
		if (!add_op(p, MIG_OP_ENABLE_MIG, g))
			return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
	}
	/* create: GPU instances, then compute instances largest first */
	int created_at[MAX_GIS];
	for (size_t i = 0; i < t->ngis && t->mig_enabled; i++) {
		created_at[i] = -1;
		if (pair[i] >= 0)
			continue;
		struct mig_op *op = add_op(p, MIG_OP_CREATE_GI, g);
		if (!op)
			return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
		op->profile_id = t->gis[i].profile_id;
		op->at = at[i];
		snprintf(op->profile, sizeof(op->profile), "%s", t->gis[i].profile);
		created_at[i] = (int)(p->plan->nops - 1);
		gp->created_gis++;
	}
	for (size_t i = 0; i < t->ngis && t->mig_enabled; i++) {
		const struct mig_target_gi *tg = &t->gis[i];
		unsigned int gi_slices = gi_compute_slices(g, tg->profile_id);
		for (unsigned int size = 8; size > 0; size--) {
			for (size_t c = 0; c < tg->ncis; c++) {
				if (fits[i].have[c] || target_ci_slices(tg->cis[c], gi_slices) != size)
					continue;
				struct mig_op *op = add_op(p, MIG_OP_CREATE_CI, g);
				if (!op)
					return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
				op->ci = tg->cis[c];
				op->ci_at = fits[i].at[c];
				if (!tg->cis[c].full)
					op->profile_id = mig_ci_profile_for_slices(tg->cis[c].slices);
				else
					op->profile_id = mig_default_ci_profile(g, gi_profile_of(g, tg->profile_id),
										pair[i] >= 0 ? &g->gis[pair[i]] : NULL);
				op->gi_slices = gi_slices;
				op->new_gi = created_at[i];
				op->gi_id = pair[i] >= 0 ? g->gis[pair[i]].id : 0;
				op->at = pair[i] >= 0 ? g->gis[pair[i]].placement : at[i];
				if (tg->cis[c].full)
					snprintf(op->profile, sizeof(op->profile), "%s", tg->profile);
				else
					snprintf(op->profile, sizeof(op->profile), "%uc.%s", tg->cis[c].slices, tg->profile);
				gp->created_cis++;
			}
		}
	}
	/* the layout after */
	for (size_t i = 0; i < t->ngis && t->mig_enabled; i++) {
		gp->after[gp->nafter] = pair[i] >= 0 ? g->gis[pair[i]].placement : at[i];
		gp->after_id[gp->nafter] = pair[i] >= 0 ? (int)g->gis[pair[i]].id : -1;
		snprintf(gp->after_profile[gp->nafter], MIG_PROFILE_MAX, "%s", t->gis[i].profile);
		gp->nafter++;
	}
	gp->changes = p->plan->nops > first_op;
	return 0;
}

/*
 * Compute-instance keys ("1c.3g.20gb": 4) count compute instances; how they are grouped into
 * GPU instances of that profile is free. Regroup the pooled part of a target like the GPU's
 * current GPU instances, wherever those hold compute instances the target wants, then put
 * the rest beside them or into new GPU instances. A node whose compute instances are
 * already right, however grouped, then needs nothing. False when it does not apply.
 */
static bool regroup(const struct mig_gpu *g, const struct mig_gpu_target *t, struct mig_gpu_target *out)
{
	struct pooled {
		unsigned int profile_id;
		const char *profile;
		struct mig_target_ci ci;
		bool placed;
	} pool[MAX_GIS * 8];
	size_t npool = 0;
	int from[MAX_GIS];      /* out->gis[k] regroups current GI from[k], or -1 */
	size_t matched[MAX_GIS]; /* how many of its compute instances it keeps */

	*out = *t;
	out->ngis = 0;
	for (size_t i = 0; i < t->ngis; i++) {
		if (!t->gis[i].pooled) {
			from[out->ngis] = -1;
			matched[out->ngis] = 0;
			out->gis[out->ngis++] = t->gis[i];
			continue;
		}
		for (size_t c = 0; c < t->gis[i].ncis; c++)
			pool[npool++] = (struct pooled){t->gis[i].profile_id, t->gis[i].profile, t->gis[i].cis[c], false};
	}
	if (npool == 0 || g->mode_current != MIG_MODE_ENABLED)
		return false;
	/* the current GPU instances, busy ones first, keep the pooled compute instances they have */
	for (int pass = 0; pass < 2; pass++)
		for (size_t j = 0; j < g->ngis; j++) {
			const struct mig_gi *gi = &g->gis[j];
			struct mig_target_gi tg;
			if (busy_gi(gi) != (pass == 0))
				continue;
			memset(&tg, 0, sizeof(tg));
			for (size_t k = 0; k < gi->ncis; k++)
				for (size_t x = 0; x < npool; x++)
					if (!pool[x].placed && pool[x].profile_id == gi->profile_id &&
					    ci_matches(gi, &gi->cis[k], pool[x].ci)) {
						pool[x].placed = true;
						tg.cis[tg.ncis++] = pool[x].ci;
						tg.profile_id = pool[x].profile_id;
						snprintf(tg.profile, sizeof(tg.profile), "%s", pool[x].profile);
						break;
					}
			if (tg.ncis == 0)
				continue;
			if (out->ngis == MAX_GIS)
				return false;
			tg.pooled = true;
			from[out->ngis] = (int)j;
			matched[out->ngis] = tg.ncis;
			out->gis[out->ngis++] = tg;
		}
	/* the rest: beside those where they fit without moving anything, else new GPU instances */
	for (size_t x = 0; x < npool; x++) {
		if (pool[x].placed)
			continue;
		for (size_t k = 0; k < out->ngis && !pool[x].placed; k++) {
			struct mig_target_gi *tg = &out->gis[k];
			struct ci_fit f;
			if (!tg->pooled || tg->profile_id != pool[x].profile_id || tg->ncis == 8)
				continue;
			size_t had = tg->ncis;
			tg->cis[tg->ncis++] = pool[x].ci;
			const struct mig_gi *gi = from[k] >= 0 ? &g->gis[from[k]] : NULL;
			if (fit_cis(gi, gi_compute_slices(g, tg->profile_id), tg, false, &f) && (!gi || f.kept == matched[k]))
				pool[x].placed = true;
			else
				tg->ncis = had;
		}
		if (pool[x].placed)
			continue;
		if (out->ngis == MAX_GIS)
			return false;
		struct mig_target_gi *tg = &out->gis[out->ngis];
		memset(tg, 0, sizeof(*tg));
		tg->profile_id = pool[x].profile_id;
		snprintf(tg->profile, sizeof(tg->profile), "%s", pool[x].profile);
		tg->pooled = true;
		tg->cis[tg->ncis++] = pool[x].ci;
		matched[out->ngis] = 0;
		from[out->ngis++] = -1;
		pool[x].placed = true;
	}
	return true;
}

static bool is_mode_op(const struct mig_op *op)
{
	return op->kind == MIG_OP_ENABLE_MIG || op->kind == MIG_OP_DISABLE_MIG;
}

/* Move the MIG mode phase to the front: every mode change, and before it the destroys on
 * the GPUs leaving MIG mode; otherwise the order stays (stable), and CREATE_CI operations
 * follow their CREATE_GI to its new index. As mig-parted, modes are settled on all GPUs
 * before instances change on any, so that pre-apply-mode and pre-apply-config hooks bracket
 * their phases. */
static int mode_phase_first(struct mig_plan *plan)
{
	unsigned long long leaving = 0; /* GPUs (bit per GPU index < 64) that disable MIG */
	size_t n = plan->nops, next = 0;
	if (n == 0)
		return 0;
	struct mig_op *ops = malloc(n * sizeof(*ops));
	size_t *where = malloc(n * sizeof(*where));
	if (!ops || !where) {
		free(ops);
		free(where);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (plan->ops[i].kind == MIG_OP_DISABLE_MIG && plan->ops[i].gpu < 64)
			leaving |= 1ull << plan->ops[i].gpu;
	for (int phase = 0; phase < 2; phase++) {
		for (size_t i = 0; i < n; i++) {
			const struct mig_op *op = &plan->ops[i];
			bool destroy = op->kind == MIG_OP_DESTROY_CI || op->kind == MIG_OP_DESTROY_GI;
			bool mode_phase = is_mode_op(op) || (destroy && op->gpu < 64 && (leaving & (1ull << op->gpu)));
			if (mode_phase != (phase == 0))
				continue;
			where[i] = next;
			ops[next++] = *op;
		}
		if (phase == 0)
			plan->nmode_ops = next;
	}
	for (size_t i = 0; i < n; i++)
		if (ops[i].new_gi >= 0)
			ops[i].new_gi = (int)where[ops[i].new_gi];
	free(plan->ops);
	free(where);
	plan->ops = ops;
	return 0;
}

/* Plan one GPU; for a target with pooled compute instances, both as grouped now and as the
 * config packs them, keeping the plan with fewer operations. */
static int plan_gpu_best(struct planner *p, const struct mig_gpu *g, const struct mig_gpu_target *t, bool force)
{
	struct mig_gpu_target alt;
	struct mig_error quiet;
	struct mig_error *err = p->err;
	size_t nops = p->plan->nops, ngpus = p->plan->ngpus;

	if (!regroup(g, t, &alt))
		return plan_gpu(p, g, t, force);
	p->err = &quiet;
	int alt_rc = plan_gpu(p, g, &alt, force);
	size_t alt_ops = p->plan->nops - nops;
	p->err = err;
	if (alt_rc == 0 && alt_ops == 0)
		return 0;
	p->plan->nops = nops;
	p->plan->ngpus = ngpus;
	int rc = plan_gpu(p, g, t, force);
	if (alt_rc == 0 && (rc != 0 || p->plan->nops - nops > alt_ops)) {
		p->plan->nops = nops;
		p->plan->ngpus = ngpus;
		return plan_gpu(p, g, &alt, force);
	}
	return rc;
}

int mig_plan_make(const struct mig_node *node, const struct mig_gpu_target *targets, bool force,
		  struct mig_plan **out, struct mig_error *err)
{
	struct mig_plan *plan = calloc(1, sizeof(*plan));
	struct planner p = {plan, 0, NULL};
	p.err = err; /* not in the initializer, which cppcheck's CTU check takes for reading *err */
	if (!plan || !(plan->gpus = calloc(node->ngpus ? node->ngpus : 1, sizeof(*plan->gpus)))) {
		free(plan);
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < node->ngpus; i++) {
		if (!targets[i].selected)
			continue;
		if (plan_gpu_best(&p, &node->gpus[i], &targets[i], force)) {
			mig_plan_free(plan);
			return -1;
		}
	}
	if (mode_phase_first(plan)) {
		mig_plan_free(plan);
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	*out = plan;
	return 0;
}

void mig_plan_free(struct mig_plan *plan)
{
	if (!plan)
		return;
	free(plan->ops);
	free(plan->gpus);
	free(plan);
}

