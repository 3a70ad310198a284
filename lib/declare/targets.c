/* SPDX-License-Identifier: MIT */
/*
 * From a mig-parted config set to one target per GPU: which GPU instances (profile, compute
 * instances, pinned placement) each selected GPU should have. Pure: reads the node, no NVML.
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
		struct mig_node one = {.gpus = (struct mig_gpu *)g, .ngpus = 1};
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
			struct mig_node one = {.gpus = &node->gpus[k], .ngpus = 1};
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
					     "%s:%u:%u: a %s GPU instance offers no %u-slice compute instance ('%s'); its compute instance "
					     "profiles say the sizes it offers",
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
				gi->cis[gi->ncis++] = (struct mig_target_ci){.slices = p->slices, .full = true};
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
			home->cis[home->ncis++] = (struct mig_target_ci){.slices = cs, .full = false};
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

	for (size_t i = 0; i < t->ngis; i++) {
		const struct mig_target_gi *gi = &t->gis[i];
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
	if (nwant && mig_place_gis(&empty, want, nwant, out, NULL)) {
		/* the rule they break ("1g.10gb: 8 asked, at most 7 fit"), with the list counted */
		char why[300], counted[200];
		const struct mig_gi_profile *all[MAX_GIS];
		size_t nall = 0;
		for (size_t i = 0; i < t->ngis; i++)
			for (size_t k = 0; k < g->nprofiles; k++)
				if (g->profiles[k].id == t->gis[i].profile_id && nall < MAX_GIS)
					all[nall++] = &g->profiles[k];
		struct mig_gpu bare = *g;
		bare.ngis = 0;
		mig_format_profile_list(all, nall, counted, sizeof(counted));
		if (!mig_explain_unfit(&bare, all, nall, why, sizeof(why)))
			mig_explain_unfit(&empty, want, nwant, why, sizeof(why));
		return mig_error_set(err, MIG_E_INVALID,
				     "%s:%u:%u: %s cannot fit together on GPU %u (%s) in any layout%s%s",
				     c->file, e->where.line, e->where.column, counted, g->index, g->name, why[0] ? ": " : "",
				     why);
	}
	return 0;
}

/* A set that selects no GPU of the node (a device-filter typo, a file shared by a fleet): the
 * filters its entries give, and the GPUs here by model with the device id a filter takes. */
static int selects_nothing(const struct mig_config *c, const struct mig_config_set *set, const struct mig_node *node,
			   struct mig_error *err)
{
	char asked[160] = "", here[240] = "";
	size_t a = 0, h = 0;
	for (size_t k = 0; k < set->nentries; k++)
		for (size_t i = 0; i < set->entries[k].nfilters && a < sizeof(asked); i++)
			a += (size_t)snprintf(asked + a, sizeof(asked) - a, "%s0x%08X", a ? ", " : "",
					      set->entries[k].filters[i].device_id);
	for (size_t i = 0; i < node->ngpus && h < sizeof(here); i++) {
		const struct mig_gpu *g = &node->gpus[i];
		size_t same = 0;
		bool seen = false;
		for (size_t k = 0; k < node->ngpus; k++) {
			seen |= k < i && node->gpus[k].pci_device_id == g->pci_device_id && strcmp(node->gpus[k].name, g->name) == 0;
			same += node->gpus[k].pci_device_id == g->pci_device_id && strcmp(node->gpus[k].name, g->name) == 0;
		}
		if (!seen)
			h += (size_t)snprintf(here + h, sizeof(here) - h, "%s%zu x %s (device id 0x%08X)", h ? ", " : "", same,
					      g->name, g->pci_device_id);
	}
	return mig_error_set(err, MIG_E_NOT_FOUND,
			     "%s:%u:%u: config '%s' selects no GPU of this node%s%s%s; the GPUs here: %s. Correct the "
			     "device-filter or devices",
			     c->file, set->where.line, set->where.column, set->name, a ? " (its device-filter " : "", asked,
			     a ? " matches none)" : " (its devices name none that support MIG)", node->ngpus ? here : "none");
}

int mig_config_targets(const struct mig_config *c, const struct mig_config_set *set, const struct mig_node *node,
		       struct mig_gpu_target *targets, struct mig_error *err)
{
	return mig_config_targets_flags(c, set, node, 0, targets, err);
}

int mig_config_targets_flags(const struct mig_config *c, const struct mig_config_set *set, const struct mig_node *node,
			     unsigned int flags, struct mig_gpu_target *targets, struct mig_error *err)
{
	size_t matched = 0;
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
			matched++;
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
	if (!matched && !(flags & MIG_TARGETS_ALLOW_NO_MATCH))
		return selects_nothing(c, set, node, err);
	return 0;
}
