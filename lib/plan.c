/* SPDX-License-Identifier: MIT */
/*
 * Declarative partitioning: from a config to per-GPU targets, from targets and the node's
 * current state to an ordered list of operations (pure), and carrying the operations out.
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

/* ---- config -> targets ---------------------------------------------------------------- */

static bool entry_names_gpu(const struct mig_config_entry *e, const struct mig_gpu *g)
{
	bool named = e->all_devices;
	for (size_t i = 0; i < e->nindices && !named; i++)
		named = e->indices[i] == g->index;
	for (size_t i = 0; i < e->nids && !named; i++) {
		struct mig_node one = {(struct mig_gpu *)g, 1};
		bool sel = false;
		named = strcasecmp(e->ids[i], g->uuid) == 0 ||
			(mig_select_gpus(&one, e->ids[i], &sel, NULL) == 0 && sel);
	}
	if (!named)
		return false;
	if (e->nfilters == 0)
		return true;
	for (size_t i = 0; i < e->nfilters; i++) {
		const struct mig_device_filter *f = &e->filters[i];
		if (f->device_id == g->pci_device_id && (!f->has_subsystem || f->subsystem_id == g->pci_subsystem_id))
			return true;
	}
	return false;
}

/* Every explicitly named GPU must exist. */
static int check_entry_names(const struct mig_config *c, const struct mig_config_entry *e, const struct mig_node *node,
			     struct mig_error *err)
{
	for (size_t i = 0; i < e->nindices; i++)
		if (e->indices[i] >= node->ngpus)
			return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: devices names GPU %u, but this node has %zu GPU%s",
					     c->file, e->where.line, e->where.column, e->indices[i], node->ngpus,
					     node->ngpus == 1 ? "" : "s");
	for (size_t i = 0; i < e->nids; i++) {
		bool found = false;
		for (size_t k = 0; k < node->ngpus && !found; k++) {
			struct mig_node one = {&node->gpus[k], 1};
			bool sel = false;
			found = strcasecmp(e->ids[i], node->gpus[k].uuid) == 0 ||
				(mig_select_gpus(&one, e->ids[i], &sel, NULL) == 0 && sel);
		}
		if (!found)
			return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: devices names %s, which no GPU of this node is",
					     c->file, e->where.line, e->where.column, e->ids[i]);
	}
	return 0;
}

static struct mig_target_gi *new_target_gi(struct mig_gpu_target *t, const struct mig_gi_profile *p)
{
	if (t->ngis >= MAX_GIS)
		return NULL;
	struct mig_target_gi *gi = &t->gis[t->ngis++];
	memset(gi, 0, sizeof(*gi));
	gi->profile_id = p->id;
	snprintf(gi->profile, sizeof(gi->profile), "%s", p->name);
	return gi;
}

static int resolve_entry(const struct mig_config *c, const struct mig_config_entry *e, const struct mig_gpu *g,
			 struct mig_gpu_target *t, struct mig_error *err)
{
	for (size_t k = 0; k < e->nprofiles; k++) {
		const struct mig_config_profile *cp = &e->profiles[k];
		struct mig_profile_name gi_name = cp->parsed;
		char text[MIG_PROFILE_MAX];
		struct mig_error perr;
		gi_name.compute_slices = 0;
		mig_profile_name_format(&gi_name, text, sizeof(text));
		const struct mig_gi_profile *p = mig_gpu_find_profile(g, text, &perr);
		if (!p)
			return mig_error_set(err, MIG_E_NOT_FOUND, "%s:%u:%u: %s", c->file, cp->where.line, cp->where.column,
					     perr.msg);
		unsigned int cs = cp->parsed.compute_slices;
		if (cs && !(cs <= p->slices && (cs == p->slices || 2 * cs <= p->slices + 1)))
			return mig_error_set(err, MIG_E_INVALID,
					     "%s:%u:%u: a %s GPU instance offers no %u-slice compute instance ('%s'); see "
					     "'migctl ci-profiles' for the sizes it offers",
					     c->file, cp->where.line, cp->where.column, p->name, cs, cp->name);
		if (cp->parsed.compute_slices && cp->nstarts)
			return mig_error_set(err, MIG_E_INVALID,
					     "%s:%u:%u: placements pin GPU instances; '%s' names compute instances", c->file,
					     cp->where.line, cp->where.column, cp->name);
		for (unsigned int n = 0; n < cp->count; n++) {
			if (cp->parsed.compute_slices == 0) {
				struct mig_target_gi *gi = new_target_gi(t, p);
				if (!gi)
					goto too_many;
				gi->cis[gi->ncis++] = (struct mig_target_ci){p->slices, true};
				if (n < cp->nstarts) {
					bool listed = false;
					for (size_t j = 0; j < p->nplacements && !listed; j++)
						if (p->placements[j].start == cp->starts[n]) {
							gi->at = p->placements[j];
							listed = true;
						}
					if (!listed)
						return mig_error_set(err, MIG_E_INVALID,
								     "%s:%u:%u: %s has no placement starting at %u on GPU %u (%s)",
								     c->file, cp->where.line, cp->where.column, p->name,
								     cp->starts[n], g->index, g->name);
					gi->pinned = true;
				}
				continue;
			}
			/* a compute instance: into the first GI of this profile with room, else a new one */
			struct mig_target_gi *home = NULL;
			for (size_t j = 0; j < t->ngis && !home; j++) {
				struct mig_target_gi *gi = &t->gis[j];
				unsigned int used = 0;
				bool partial = gi->profile_id == p->id && gi->ncis < 8;
				for (size_t x = 0; x < gi->ncis && partial; x++) {
					partial = !gi->cis[x].full;
					used += gi->cis[x].slices;
				}
				if (partial && used + cp->parsed.compute_slices <= p->slices)
					home = gi;
			}
			if (!home && !(home = new_target_gi(t, p)))
				goto too_many;
			home->cis[home->ncis++] = (struct mig_target_ci){cp->parsed.compute_slices, false};
		}
	}
	return 0;
too_many:
	return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: more than %d GPU instances for GPU %u", c->file, e->where.line,
			     e->where.column, MAX_GIS, g->index);
}

/* Does the target fit the GPU at all, ignoring what is on it now? */
static int check_fits_empty(const struct mig_config *c, const struct mig_config_entry *e, const struct mig_gpu *g,
			    const struct mig_gpu_target *t, struct mig_error *err)
{
	struct mig_gpu empty = *g;
	struct mig_gi pinned[MAX_GIS];
	const struct mig_gi_profile *want[MAX_GIS];
	struct mig_placement out[MAX_GIS];
	size_t npinned = 0, nwant = 0;
	char list[256] = "";
	size_t used = 0;

	for (size_t i = 0; i < t->ngis; i++) {
		const struct mig_target_gi *gi = &t->gis[i];
		if (used < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? "," : "", gi->profile);
		for (size_t k = 0; k < g->nprofiles; k++)
			if (g->profiles[k].id == gi->profile_id) {
				if (gi->pinned) {
					memset(&pinned[npinned], 0, sizeof(pinned[0]));
					pinned[npinned].profile_id = gi->profile_id;
					pinned[npinned++].placement = gi->at;
				} else {
					want[nwant++] = &g->profiles[k];
				}
			}
	}
	for (size_t i = 0; i < npinned; i++)
		for (size_t j = 0; j < i; j++) {
			struct mig_placement a = pinned[i].placement, b = pinned[j].placement;
			if (a.start < b.start + b.size && b.start < a.start + a.size)
				return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: pinned placements %u:%u and %u:%u overlap on GPU %u",
						     c->file, e->where.line, e->where.column, a.start, a.size, b.start, b.size,
						     g->index);
		}
	empty.gis = pinned;
	empty.ngis = npinned;
	if (nwant && mig_place_gis(&empty, want, nwant, out, NULL))
		return mig_error_set(err, MIG_E_INVALID,
				     "%s:%u:%u: %s cannot fit together on GPU %u (%s) in any layout; see 'migctl profiles -i %u'",
				     c->file, e->where.line, e->where.column, list, g->index, g->name, g->index);
	return 0;
}

int mig_config_targets(const struct mig_config *c, const struct mig_config_set *set, const struct mig_node *node,
		       struct mig_gpu_target *targets, struct mig_error *err)
{
	memset(targets, 0, node->ngpus * sizeof(*targets));
	for (size_t k = 0; k < set->nentries; k++) {
		const struct mig_config_entry *e = &set->entries[k];
		if (check_entry_names(c, e, node, err))
			return -1;
		for (size_t i = 0; i < node->ngpus; i++) {
			const struct mig_gpu *g = &node->gpus[i];
			struct mig_gpu_target *t = &targets[i];
			if (!entry_names_gpu(e, g))
				continue;
			if (t->selected)
				return mig_error_set(err, MIG_E_INVALID,
						     "%s:%u:%u: GPU %u is also chosen by the entry at line %u; each GPU may be "
						     "chosen by one entry",
						     c->file, e->where.line, e->where.column, g->index, t->where.line);
			if (g->mode_current == MIG_MODE_UNSUPPORTED) {
				if (e->all_devices || !e->mig_enabled)
					continue; /* "all" means the MIG-capable ones, as in mig-parted */
				return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: GPU %u (%s) does not support MIG", c->file,
						     e->where.line, e->where.column, g->index, g->name);
			}
			t->selected = true;
			t->mig_enabled = e->mig_enabled;
			t->where = e->where;
			if (e->mig_enabled && (resolve_entry(c, e, g, t, err) || check_fits_empty(c, e, g, t, err)))
				return -1;
		}
	}
	return 0;
}

/* ---- planning ---------------------------------------------------------------- */

struct planner {
	struct mig_plan *plan;
	size_t cap;
	struct mig_error *err;
};

static struct mig_op *add_op(struct planner *p, enum mig_op_kind kind, unsigned int gpu)
{
	if (p->plan->nops == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct mig_op *ops = realloc(p->plan->ops, cap * sizeof(*ops));
		if (!ops)
			return NULL;
		p->plan->ops = ops;
		p->cap = cap;
	}
	struct mig_op *op = &p->plan->ops[p->plan->nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->gpu = gpu;
	op->new_gi = -1;
	return op;
}

static const struct mig_ci_profile *ci_profile_of(const struct mig_gi *gi, unsigned int id)
{
	for (size_t i = 0; i < gi->nci_profiles; i++)
		if (gi->ci_profiles[i].id == id)
			return &gi->ci_profiles[i];
	return NULL;
}

static struct mig_target_ci spec_of(const struct mig_gi *gi, const struct mig_ci *ci)
{
	const struct mig_ci_profile *p = ci_profile_of(gi, ci->profile_id);
	return (struct mig_target_ci){p ? p->slices : ci->placement.size, p ? p->is_default : false};
}

static bool spec_eq(struct mig_target_ci a, struct mig_target_ci b)
{
	return a.full == b.full && (a.full || a.slices == b.slices);
}

static bool busy_gi(const struct mig_gi *gi)
{
	for (size_t i = 0; i < gi->ncis; i++)
		if (gi->cis[i].nprocs)
			return true;
	return false;
}

/* Which current CIs of gi a target GI keeps (keep[j]) and which target CIs it still needs. */
static size_t match_cis(const struct mig_gi *gi, const struct mig_target_gi *t, bool *keep, bool *have)
{
	size_t kept = 0;
	memset(keep, 0, gi->ncis * sizeof(*keep));
	memset(have, 0, t->ncis * sizeof(*have));
	for (size_t i = 0; i < t->ncis; i++)
		for (size_t j = 0; j < gi->ncis && !have[i]; j++)
			if (!keep[j] && spec_eq(spec_of(gi, &gi->cis[j]), t->cis[i])) {
				keep[j] = have[i] = true;
				kept++;
			}
	return kept;
}

static bool exact(const struct mig_gi *gi, const struct mig_target_gi *t)
{
	bool keep[8], have[8];
	if (gi->profile_id != t->profile_id || gi->ncis != t->ncis)
		return false;
	if (t->pinned && (gi->placement.start != t->at.start || gi->placement.size != t->at.size))
		return false;
	return match_cis(gi, t, keep, have) == t->ncis;
}

static bool adjustable(const struct mig_gi *gi, const struct mig_target_gi *t, bool force)
{
	bool keep[8], have[8];
	if (gi->profile_id != t->profile_id)
		return false;
	if (t->pinned && (gi->placement.start != t->at.start || gi->placement.size != t->at.size))
		return false;
	match_cis(gi, t, keep, have);
	for (size_t j = 0; j < gi->ncis; j++)
		if (!keep[j] && gi->cis[j].nprocs && !force)
			return false; /* it would destroy a busy compute instance */
	return true;
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
				if (pair[i] < 0 && exact(&g->gis[j], &t->gis[i])) {
					pair[i] = (int)j;
					matched[j] = true;
					(*nexact)++;
				}
		}
	for (size_t j = 0; j < g->ngis; j++) {
		if (!(mask & (1u << j)) || matched[j])
			continue;
		for (size_t i = 0; i < t->ngis && !matched[j]; i++)
			if (pair[i] < 0 && adjustable(&g->gis[j], &t->gis[i], force)) {
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
		if (gi->cis[i].nprocs)
			return mig_error_set(p->err, MIG_E_INVALID,
					     "GPU %u GPU instance %u (%s at %u:%u) runs process %u on compute instance %u "
					     "(%s); %s. Stop its processes, or pass --force",
					     g->index, gi->id, gi->profile, gi->placement.start, gi->placement.size,
					     gi->cis[i].procs[0].pid, gi->cis[i].id, gi->cis[i].uuid, why);
	return mig_error_set(p->err, MIG_E_INVALID, "GPU %u GPU instance %u is busy", g->index, gi->id);
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
	for (size_t i = 0; i < MAX_GIS; i++)
		pair[i] = -1;

	bool enabled_now = g->mode_current == MIG_MODE_ENABLED;
	if (!t->mig_enabled) {
		for (size_t j = 0; j < g->ngis; j++)
			if (busy_gi(&g->gis[j]) && !force)
				return busy_blocker(p, g, &g->gis[j], "disabling MIG would destroy it");
	} else if (enabled_now) {
		/* Which current GPU instances to keep: the largest set that can each be matched to a
		 * distinct target and leaves room for the rest, preferring exact matches. Busy ones
		 * must be in it. At most 8 GPU instances make this a search over 256 sets. */
		unsigned int busy = 0, full = (1u << g->ngis) - 1;
		for (size_t j = 0; j < g->ngis; j++)
			if (busy_gi(&g->gis[j]) && !force)
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

	/* destroy: compute instances, then GPU instances */
	for (size_t j = 0; j < g->ngis; j++) {
		const struct mig_gi *gi = &g->gis[j];
		bool keep[8] = {0}, have[8];
		int target = -1;
		for (size_t i = 0; i < t->ngis && t->mig_enabled; i++)
			if (pair[i] == (int)j)
				target = (int)i;
		if (target >= 0)
			gp->kept_cis += match_cis(gi, &t->gis[target], keep, have);
		for (size_t k = 0; k < gi->ncis; k++) {
			if (keep[k])
				continue;
			struct mig_op *op = add_op(p, MIG_OP_DESTROY_CI, g->index);
			if (!op)
				return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
			op->gi_id = gi->id;
			op->ci_id = gi->cis[k].id;
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
		struct mig_op *op = add_op(p, MIG_OP_DESTROY_GI, g->index);
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
		if (!add_op(p, MIG_OP_DISABLE_MIG, g->index))
			return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
	}
	if (t->mig_enabled && (!enabled_now || pending_other)) {
		if (!add_op(p, MIG_OP_ENABLE_MIG, g->index))
			return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
	}
	/* create: GPU instances, then compute instances largest first */
	int created_at[MAX_GIS];
	for (size_t i = 0; i < t->ngis && t->mig_enabled; i++) {
		created_at[i] = -1;
		if (pair[i] >= 0)
			continue;
		struct mig_op *op = add_op(p, MIG_OP_CREATE_GI, g->index);
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
		bool keep[8] = {0}, have[8] = {0};
		unsigned int gi_slices = 0;
		for (size_t k = 0; k < g->nprofiles; k++)
			if (g->profiles[k].id == tg->profile_id)
				gi_slices = g->profiles[k].slices;
		if (pair[i] >= 0)
			match_cis(&g->gis[pair[i]], tg, keep, have);
		for (unsigned int size = 8; size > 0; size--) {
			for (size_t c = 0; c < tg->ncis; c++) {
				unsigned int s = tg->cis[c].full ? gi_slices : tg->cis[c].slices;
				if (have[c] || s != size)
					continue;
				struct mig_op *op = add_op(p, MIG_OP_CREATE_CI, g->index);
				if (!op)
					return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
				op->ci = tg->cis[c];
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

int mig_plan_make(const struct mig_node *node, const struct mig_gpu_target *targets, bool force,
		  struct mig_plan **out, struct mig_error *err)
{
	struct mig_plan *plan = calloc(1, sizeof(*plan));
	struct planner p = {plan, 0, err};
	if (!plan || !(plan->gpus = calloc(node->ngpus ? node->ngpus : 1, sizeof(*plan->gpus)))) {
		free(plan);
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < node->ngpus; i++) {
		if (!targets[i].selected)
			continue;
		if (plan_gpu(&p, &node->gpus[i], &targets[i], force)) {
			mig_plan_free(plan);
			return -1;
		}
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

/* ---- carrying it out ---------------------------------------------------------------- */

/* NVML's compute-instance profile index of a partial compute instance of this many slices. */
static unsigned int ci_profile_for_slices(unsigned int slices)
{
	static const unsigned int by_slices[9] = {0, 0, 1, 2, 3, 0, 6, 4, 5};
	return slices < 9 ? by_slices[slices] : 0;
}

int mig_plan_apply(struct mig_ctx *ctx, const struct mig_plan *plan, size_t *done, bool *pending,
		   void (*progress)(const struct mig_op *op, size_t index, void *arg), void *arg, struct mig_error *err)
{
	unsigned int *new_ids = calloc(plan->nops ? plan->nops : 1, sizeof(*new_ids));
	unsigned long long waiting = 0; /* GPUs whose mode change is pending (bit per GPU) */
	size_t nwaiting = 0;
	char which[256] = "";
	int ret = 0;
	if (!new_ids)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	*done = 0;
	for (size_t i = 0; i < plan->nops && ret == 0; i++) {
		const struct mig_op *op = &plan->ops[i];
		struct mig_mode_result res;
		if (op->gpu < 64 && (waiting & (1ull << op->gpu)))
			continue;
		switch (op->kind) {
		case MIG_OP_DESTROY_CI:
			ret = mig_ci_destroy(ctx, op->gpu, op->gi_id, op->ci_id, err);
			break;
		case MIG_OP_DESTROY_GI:
			ret = mig_gi_destroy(ctx, op->gpu, op->gi_id, err);
			break;
		case MIG_OP_DISABLE_MIG:
		case MIG_OP_ENABLE_MIG: {
			bool enable = op->kind == MIG_OP_ENABLE_MIG;
			ret = mig_gpu_set_mig_mode(ctx, op->gpu, enable, &res, err);
			if (ret == 0 && res.current != (enable ? MIG_MODE_ENABLED : MIG_MODE_DISABLED)) {
				/* the rest of this GPU waits; the others go on */
				if (op->gpu < 64)
					waiting |= 1ull << op->gpu;
				if (pending)
					pending[op->gpu] = true;
				size_t used = strlen(which);
				snprintf(which + used, sizeof(which) - used, "%sGPU %u (%s)", nwaiting++ ? ", " : "", op->gpu,
					 res.activation == NVML_ERROR_RESET_REQUIRED ? "reset required" : "in use");
				continue;
			}
			break;
		}
		case MIG_OP_CREATE_GI:
			ret = mig_gi_create(ctx, op->gpu, op->profile_id, &op->at, &new_ids[i], NULL, err);
			break;
		case MIG_OP_CREATE_CI: {
			unsigned int gi = op->new_gi >= 0 ? new_ids[op->new_gi] : op->gi_id, profile;
			if (op->ci.full)
				ret = mig_gi_default_ci_profile(ctx, op->gpu, gi, op->gi_slices, &profile, err);
			else
				profile = ci_profile_for_slices(op->ci.slices);
			if (ret == 0)
				ret = mig_ci_create(ctx, op->gpu, gi, profile, NULL, err);
			break;
		}
		}
		if (ret == 0) {
			(*done)++;
			if (progress)
				progress(op, i, arg);
		}
	}
	free(new_ids);
	if (ret == 0 && nwaiting)
		ret = mig_error_set(err, MIG_E_PENDING,
				    "the MIG mode change is pending on %s; those GPUs must be idle or reset before their "
				    "instances can be changed (the other GPUs were done)",
				    which);
	return ret;
}
