/* SPDX-License-Identifier: MIT */
/*
 * The placement policy (issue 12): where one more GPU instance goes, on one GPU or across
 * a node, so that the GPUs stay open for the requests that follow.
 *
 * A GPU's worth is what it could still take. For each profile of the expected mix (not
 * told: one profile per compute size, the plain one with the least memory, weighted
 * equally), weighted by the mix:
 *   + how many more instances of it would fit (the most disjoint free placements, capped by
 *     the profile's instance count and the compute slices left);
 *   + WASTE_FREE_BONUS while a waste-free placement of it is free, for a profile that also
 *     has placements that waste compute slices (3g on an A100/H100: 0:4 covers four
 *     compute slices and leaves one unusable, 4:4 covers three and the memory-only unit 7),
 *     so that small instances keep off the one place where it fits without waste;
 *   - STRANDED_COST when the GPU has the compute slices, placement units and instance count
 *     for it but no free placement (fragmentation: the refusal the issue counts).
 * A new instance goes where it costs the least worth; ties go to the fullest GPU, then the
 * lowest GPU index and the lowest start. Everything here is pure: no NVML, no allocation.
 * bench/README.md (churn_bench) has the figures behind the two constants and the variants
 * measured.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

/* further instances a free waste-free placement is worth, beyond its own; it must stay
 * below 1 + STRANDED_COST, or a 2g on an empty A100 goes to 0:2, where the 4g's only
 * placement is (a 2g at 4:2 costs 5 + the bonus, at 0:2 6 + the cost) */
#define WASTE_FREE_BONUS 1.5
/* what a profile the GPU has the room but no placement for costs, in instances */
#define STRANDED_COST 1.0

uint64_t mig_place_mask(struct mig_placement p)
{
	if (p.size >= 64)
		return ~0ull;
	return ((1ull << p.size) - 1) << p.start;
}

static size_t slot_of(const struct mig_gpu *g, unsigned int profile_id)
{
	for (size_t i = 0; i < g->nprofiles; i++)
		if (g->profiles[i].id == profile_id)
			return i;
	return SIZE_MAX;
}

int mig_place_state_init(const struct mig_gpu *g, struct mig_place_state *st)
{
	memset(st, 0, sizeof(*st));
	if (g->nprofiles > MIG_PLACE_MAX_PROFILES)
		return -1;
	for (size_t i = 0; i < g->nprofiles; i++)
		if (g->profiles[i].slices > st->max_slices)
			st->max_slices = g->profiles[i].slices;
	for (size_t i = 0; i < g->ngis; i++) {
		size_t p = slot_of(g, g->gis[i].profile_id);
		if (p == SIZE_MAX) {
			st->used |= mig_place_mask(g->gis[i].placement);
			st->gis++;
			continue;
		}
		mig_place_state_add(g, st, p, g->gis[i].placement);
	}
	return 0;
}

bool mig_place_room(const struct mig_gpu *g, const struct mig_place_state *st, size_t p)
{
	const struct mig_gi_profile *q = &g->profiles[p];
	return st->count[p] < q->instance_count && st->gis < MIG_PLACE_MAX_GIS &&
	       st->slices + q->slices <= st->max_slices;
}

bool mig_place_allowed(const struct mig_gpu *g, const struct mig_place_state *st, size_t p)
{
	enum mig_media m = g->profiles[p].parsed.media;
	if (!mig_place_room(g, st, p))
		return false;
	if (m == MIG_MEDIA_ME_ALL && st->has_media)
		return false;
	if (st->has_all_me && m != MIG_MEDIA_NO_ME)
		return false;
	return true;
}

void mig_place_state_add(const struct mig_gpu *g, struct mig_place_state *st, size_t p, struct mig_placement at)
{
	const struct mig_gi_profile *q = &g->profiles[p];
	st->used |= mig_place_mask(at);
	st->count[p]++;
	st->slices += q->slices;
	st->gis++;
	st->has_all_me |= q->parsed.media == MIG_MEDIA_ME_ALL;
	st->has_media |= q->parsed.media != MIG_MEDIA_NO_ME;
}

void mig_place_default_weights(const struct mig_gpu *g, double *w)
{
	for (size_t i = 0; i < g->nprofiles && i < MIG_PLACE_MAX_PROFILES; i++) {
		const struct mig_gi_profile *q = &g->profiles[i];
		bool least = q->parsed.media == MIG_MEDIA_DEFAULT;
		for (size_t j = 0; j < g->nprofiles && least; j++) {
			const struct mig_gi_profile *o = &g->profiles[j];
			if (j != i && o->parsed.media == MIG_MEDIA_DEFAULT && o->slices == q->slices &&
			    (o->memory_mib < q->memory_mib || (o->memory_mib == q->memory_mib && j < i)))
				least = false;
		}
		w[i] = least ? 1.0 : 0.0;
	}
}

/* How many more instances of slot p the GPU could take. */
static unsigned int more_of(const struct mig_gpu *g, const struct mig_place_state *st, size_t p)
{
	const struct mig_gi_profile *q = &g->profiles[p];
	if (!mig_place_allowed(g, st, p) || q->slices == 0)
		return 0;
	unsigned int room = q->instance_count - st->count[p];
	unsigned int by_slices = (st->max_slices - st->slices) / q->slices;
	unsigned int by_gis = MIG_PLACE_MAX_GIS - st->gis;
	if (by_slices < room)
		room = by_slices;
	if (by_gis < room)
		room = by_gis;
	/* the most disjoint free placements: earliest end first is optimal for intervals */
	uint64_t used = st->used;
	unsigned int fit = 0;
	for (;;) {
		size_t best = SIZE_MAX;
		for (size_t k = 0; k < q->nplacements; k++) {
			if (mig_place_mask(q->placements[k]) & used)
				continue;
			if (best == SIZE_MAX || q->placements[k].start + q->placements[k].size <
							q->placements[best].start + q->placements[best].size)
				best = k;
		}
		if (best == SIZE_MAX || fit >= room)
			break;
		used |= mig_place_mask(q->placements[best]);
		fit++;
	}
	return fit;
}

static unsigned int popcount64(uint64_t x)
{
	unsigned int n = 0;
	for (; x; x &= x - 1)
		n++;
	return n;
}

/* Enough free compute slices, placement units and instance count for profile slot p,
 * wherever it went (the media rules included)? */
static bool has_capacity(const struct mig_gpu *g, const struct mig_place_state *st, size_t p)
{
	const struct mig_gi_profile *q = &g->profiles[p];
	unsigned int units = q->nplacements ? q->placements[0].size : 0;
	return mig_place_allowed(g, st, p) && g->grid >= popcount64(st->used) + units;
}

/* The compute units: those a one-slice instance can take alone (the one-unit placements of
 * one-slice profiles; on an A100/H100 units 0 to 6, unit 7 holds memory only). 0 if none. */
static uint64_t compute_units(const struct mig_gpu *g)
{
	uint64_t c = 0;
	for (size_t i = 0; i < g->nprofiles; i++)
		if (g->profiles[i].slices == 1)
			for (size_t k = 0; k < g->profiles[i].nplacements; k++)
				if (g->profiles[i].placements[k].size == 1)
					c |= mig_place_mask(g->profiles[i].placements[k]);
	return c;
}

/* Does profile q have a placement that wastes compute slices (covers more compute units than
 * it has slices), and is one that wastes none free? */
static bool waste_free_open(const struct mig_gi_profile *q, uint64_t compute, uint64_t used)
{
	bool wasteful = false, open = false;
	for (size_t k = 0; k < q->nplacements; k++) {
		uint64_t m = mig_place_mask(q->placements[k]);
		bool waste_free = popcount64(m & compute) == q->slices;
		wasteful |= !waste_free;
		open |= waste_free && !(m & used);
	}
	return wasteful && open;
}

double mig_place_value(const struct mig_gpu *g, const struct mig_place_state *st, const double *w)
{
	double dw[MIG_PLACE_MAX_PROFILES];
	double v = 0;
	uint64_t compute = compute_units(g);
	if (!w) {
		mig_place_default_weights(g, dw);
		w = dw;
	}
	for (size_t p = 0; p < g->nprofiles; p++) {
		if (w[p] <= 0)
			continue;
		unsigned int more = more_of(g, st, p);
		v += w[p] * more;
		if (more == 0 && has_capacity(g, st, p))
			v -= w[p] * STRANDED_COST;
		else if (more > 0 && compute && waste_free_open(&g->profiles[p], compute, st->used))
			v += w[p] * WASTE_FREE_BONUS;
	}
	return v;
}

/* Weights per profile slot of g from a mix given by names; unknown names weigh nothing. */
static void mix_weights(const struct mig_gpu *g, const struct mig_place_mix *mix, double *w)
{
	if (!mix || mix->n == 0) {
		mig_place_default_weights(g, w);
		return;
	}
	for (size_t i = 0; i < g->nprofiles && i < MIG_PLACE_MAX_PROFILES; i++)
		w[i] = 0;
	for (size_t k = 0; k < mix->n; k++) {
		const struct mig_gi_profile *q = mig_gpu_find_profile(g, mix->profiles[k], NULL);
		if (q && mix->weights[k] > 0)
			w[q - g->profiles] += mix->weights[k];
	}
}

int mig_place_one(const struct mig_node *node, const bool *eligible, const char *profile,
		  const struct mig_place_mix *mix, struct mig_place_choice *out, struct mig_error *err)
{
	bool found = false, known = false, capacity = false, unread = false;
	size_t room_gpu = 0;
	double best_loss = 0;
	unsigned int best_full = 0;
	struct mig_error perr;
	const struct mig_gpu *first = NULL;

	if (!node || !profile || !out)
		return mig_error_set(err, MIG_E_INVALID, "no node, profile or result to place with");
	if (mix && MIG_CHECK_RESERVED(mix, "struct mig_place_mix", err))
		return -1;
	memset(out, 0, sizeof(*out));
	mig_error_reset(&perr);
	for (size_t gi = 0; gi < node->ngpus; gi++) {
		const struct mig_gpu *g = &node->gpus[gi];
		struct mig_place_state st;
		double w[MIG_PLACE_MAX_PROFILES];
		if ((eligible && !eligible[gi]) || g->mode_current != MIG_MODE_ENABLED)
			continue;
		if (!first)
			first = g;
		const struct mig_gi_profile *q = mig_gpu_find_profile(g, profile, first == g ? &perr : NULL);
		if (!q || mig_place_state_init(g, &st))
			continue;
		known = true;
		unread |= q->nplacements == 0;
		size_t p = (size_t)(q - g->profiles);
		if (!mig_place_allowed(g, &st, p))
			continue;
		if (!capacity && has_capacity(g, &st, p)) {
			capacity = true;
			room_gpu = gi;
		}
		mix_weights(g, mix, w);
		double before = mig_place_value(g, &st, w);
		for (size_t k = 0; k < q->nplacements; k++) {
			if (mig_place_mask(q->placements[k]) & st.used)
				continue;
			struct mig_place_state after = st;
			mig_place_state_add(g, &after, p, q->placements[k]);
			double loss = before - mig_place_value(g, &after, w);
			bool better;
			if (!found)
				better = true;
			else if (loss < best_loss - 1e-9 || loss > best_loss + 1e-9)
				better = loss < best_loss;
			else
				better = st.slices > best_full;
			if (better) {
				found = true;
				best_loss = loss;
				best_full = st.slices;
				out->gpu = gi;
				out->profile = q;
				out->at = q->placements[k];
				out->loss = loss;
			}
		}
	}
	if (found)
		return 0;
	if (!first)
		return mig_error_set(err, MIG_E_NOT_FOUND, "no GPU with MIG enabled to place %s on", profile);
	if (!known)
		return mig_error_set(err, MIG_E_NOT_FOUND, "no GPU with MIG enabled has profile %s: %s", profile,
				     perr.msg);
	if (unread)
		return mig_error_set(err, MIG_E_INVALID,
				     "the node was read without its placements (MIG_READ_CAPACITY); cannot place %s", profile);
	if (capacity)
		return mig_error_set(err, MIG_E_FRAGMENTED,
				     "no free placement for %s on any GPU, although GPU %u has the free slices for it "
				     "(fragmented: destroying and re-creating instances would make room)",
				     profile, node->gpus[room_gpu].index);
	return mig_error_set(err, MIG_E_NO_CAPACITY,
			     "no GPU has the free slices for %s (no capacity: every GPU with MIG enabled is too full)",
			     profile);
}
