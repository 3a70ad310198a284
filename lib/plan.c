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
		if (!cs && mig_profile_name_is_compute(cp->name))
			cs = p->slices;
		if (cs && !(cs <= p->slices && (cs == p->slices || 2 * cs <= p->slices + 1)))
			return mig_error_set(err, MIG_E_INVALID,
					     "%s:%u:%u: a %s GPU instance offers no %u-slice compute instance ('%s'); see "
					     "'migctl ci-profiles' for the sizes it offers",
					     c->file, cp->where.line, cp->where.column, p->name, cs, cp->name);
		if (cs && cp->nstarts)
			return mig_error_set(err, MIG_E_INVALID,
					     "%s:%u:%u: placements pin GPU instances; '%s' names compute instances", c->file,
					     cp->where.line, cp->where.column, cp->name);
		for (unsigned int n = 0; n < cp->count; n++) {
			if (cs == 0) {
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
				if (partial && used + cs <= p->slices)
					home = gi;
			}
			if (!home && !(home = new_target_gi(t, p)))
				goto too_many;
			home->pooled = true;
			home->cis[home->ncis++] = (struct mig_target_ci){cs, false};
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

/* NVML's compute-instance profile index of a compute instance of this many slices. */
static unsigned int ci_profile_for_slices(unsigned int slices)
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
	return ci->profile_id == ci_profile_for_slices(t.slices);
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
		if (gi->cis[i].nprocs)
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
		if (gi->cis[j].nprocs && !force)
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
			struct mig_op *op = add_op(p, MIG_OP_DESTROY_CI, g->index);
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
		unsigned int gi_slices = gi_compute_slices(g, tg->profile_id);
		for (unsigned int size = 8; size > 0; size--) {
			for (size_t c = 0; c < tg->ncis; c++) {
				if (fits[i].have[c] || target_ci_slices(tg->cis[c], gi_slices) != size)
					continue;
				struct mig_op *op = add_op(p, MIG_OP_CREATE_CI, g->index);
				if (!op)
					return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
				op->ci = tg->cis[c];
				op->ci_at = fits[i].at[c];
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

/* ---- carrying it out ---------------------------------------------------------------- */

int mig_op_format(const struct mig_op *op, char *buf, size_t len)
{
	static const char *const verbs[] = {"destroy compute instance", "destroy GPU instance", "disable MIG mode",
					    "enable MIG mode", "create GPU instance", "create compute instance"};
	const char *verb = (unsigned int)op->kind < 6 ? verbs[op->kind] : "?";
	switch (op->kind) {
	case MIG_OP_DESTROY_CI:
		return snprintf(buf, len, "GPU %u: %s %u (%s) in GPU instance %u", op->gpu, verb, op->ci_id, op->profile,
				op->gi_id);
	case MIG_OP_DESTROY_GI:
		return snprintf(buf, len, "GPU %u: %s %u (%s at %u:%u)", op->gpu, verb, op->gi_id, op->profile, op->at.start,
				op->at.size);
	case MIG_OP_CREATE_GI:
		return snprintf(buf, len, "GPU %u: %s %s (profile ID %u) at placement %u:%u", op->gpu, verb, op->profile,
				op->profile_id, op->at.start, op->at.size);
	case MIG_OP_CREATE_CI:
		if (op->new_gi >= 0)
			return snprintf(buf, len, "GPU %u: %s %s in the new GPU instance at %u:%u", op->gpu, verb, op->profile,
					op->at.start, op->at.size);
		return snprintf(buf, len, "GPU %u: %s %s in GPU instance %u", op->gpu, verb, op->profile, op->gi_id);
	default:
		return snprintf(buf, len, "GPU %u: %s", op->gpu, verb);
	}
}

/* After a failed operation, leave no GPU instance without compute instances that the plan
 * did not mean to leave so: a GPU instance this apply created loses the compute instances
 * it got and goes; one whose compute instances this apply destroyed and that is left with
 * none is destroyed when the plan destroys it (unless its own destroy is what failed), else
 * gets them back at their placements (new MIG device UUIDs). Best effort: says in note what
 * it did or could not do. */
static void roll_back(struct mig_ctx *ctx, const struct mig_plan *plan, size_t failed, const bool *ok,
		      const unsigned int *ids, char *note, size_t len)
{
	size_t removed = 0, restored = 0, finished = 0, failures = 0;
	struct mig_error e;
	note[0] = '\0';
	for (size_t k = 0; k < failed; k++) {
		const struct mig_op *gi_op = &plan->ops[k];
		if (gi_op->kind != MIG_OP_CREATE_GI || !ok[k])
			continue;
		size_t want = 0, got = 0;
		for (size_t i = 0; i < plan->nops; i++)
			if (plan->ops[i].kind == MIG_OP_CREATE_CI && plan->ops[i].new_gi == (int)k) {
				want++;
				got += i < failed && ok[i];
			}
		if (got == want)
			continue;
		bool fine = true;
		for (size_t i = 0; i < failed; i++)
			if (plan->ops[i].kind == MIG_OP_CREATE_CI && plan->ops[i].new_gi == (int)k && ok[i])
				fine &= mig_ci_destroy(ctx, gi_op->gpu, ids[k], ids[i], &e) == 0;
		fine = fine && mig_gi_destroy(ctx, gi_op->gpu, ids[k], &e) == 0;
		removed += fine;
		failures += !fine;
	}
	for (size_t k = 0; k < failed; k++) {
		const struct mig_op *first = &plan->ops[k];
		if (first->kind != MIG_OP_DESTROY_CI || !ok[k])
			continue;
		bool seen = false; /* handle each GPU instance once, at its first destroyed compute instance */
		for (size_t i = 0; i < k && !seen; i++)
			seen = plan->ops[i].kind == MIG_OP_DESTROY_CI && ok[i] && plan->ops[i].gpu == first->gpu &&
			       plan->ops[i].gi_id == first->gi_id;
		unsigned int left;
		if (seen || mig_gi_count_cis(ctx, first->gpu, first->gi_id, &left, &e) || left > 0)
			continue;
		bool planned = false; /* the plan destroys it later, and that is not what failed */
		for (size_t i = failed + 1; i < plan->nops; i++)
			planned |= plan->ops[i].kind == MIG_OP_DESTROY_GI && plan->ops[i].gpu == first->gpu &&
				   plan->ops[i].gi_id == first->gi_id;
		if (planned && mig_gi_destroy(ctx, first->gpu, first->gi_id, &e) == 0) {
			finished++;
			continue;
		}
		bool fine = true;
		for (size_t i = k; i < failed; i++) {
			const struct mig_op *op = &plan->ops[i];
			if (op->kind == MIG_OP_DESTROY_CI && ok[i] && op->gpu == first->gpu && op->gi_id == first->gi_id)
				fine &= mig_ci_create(ctx, op->gpu, op->gi_id, op->profile_id, &op->ci_at, NULL, &e) == 0;
		}
		restored += fine;
		failures += !fine;
	}
	if (removed || restored || finished || failures)
		snprintf(note, len,
			 " (so that no GPU instance is left without compute instances: %zu new one(s) removed, %zu given "
			 "their compute instances back, %zu destroyed as planned%s)",
			 removed, restored, finished, failures ? "; some could not be: see 'migctl status'" : "");
}

int mig_plan_apply(struct mig_ctx *ctx, const struct mig_plan *plan, size_t *done, bool *pending,
		   const struct mig_apply_events *events, struct mig_error *err)
{
	static const struct mig_apply_events none = {NULL, NULL, NULL};
	/* new_ids[i]: the id operation i created (GPU or compute instance); ok[i]: it was done */
	unsigned int *new_ids = calloc(plan->nops ? plan->nops : 1, sizeof(*new_ids));
	bool *ok = calloc(plan->nops ? plan->nops : 1, sizeof(*ok));
	unsigned long long waiting = 0; /* GPUs whose mode change is pending (bit per GPU) */
	size_t nwaiting = 0, failed = plan->nops;
	char which[256] = "";
	int ret = 0;
	if (!new_ids || !ok) {
		free(new_ids);
		free(ok);
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	*done = 0;
	if (!events)
		events = &none;
	for (size_t i = 0; i < plan->nops && ret == 0; i++) {
		const struct mig_op *op = &plan->ops[i];
		struct mig_mode_result res;
		if (i == plan->nmode_ops && events->before_instances && events->before_instances(events->arg, err)) {
			ret = -1;
			break;
		}
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
				ret = mig_ci_create(ctx, op->gpu, gi, profile, &op->ci_at, &new_ids[i], err);
			break;
		}
		}
		if (ret == 0) {
			ok[i] = true;
			(*done)++;
			if (events->progress)
				events->progress(op, i, events->arg);
		} else {
			failed = i;
		}
	}
	if (ret && failed < plan->nops) {
		/* name the step, then undo what would leave a GPU instance without compute instances */
		char step[256], note[200], cause[MIG_ERROR_MSG_MAX];
		mig_op_format(&plan->ops[failed], step, sizeof(step));
		snprintf(cause, sizeof(cause), "%s", err ? err->msg : ""); /* err may be NULL */
		roll_back(ctx, plan, failed, ok, new_ids, note, sizeof(note));
		if (err)
			snprintf(err->msg, sizeof(err->msg), "operation %zu of %zu failed (%.200s): %.200s%s", failed + 1,
				 plan->nops, step, cause, note);
	}
	free(new_ids);
	free(ok);
	if (ret == 0 && nwaiting)
		ret = mig_error_set(err, MIG_E_PENDING,
				    "the MIG mode change is pending on %s; those GPUs must be idle or reset before their "
				    "instances can be changed (the other GPUs were done)",
				    which);
	return ret;
}
