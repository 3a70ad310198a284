/* SPDX-License-Identifier: MIT */
/*
 * Exact placement of new GPU instances. A GPU has at most 8 GPU instances and each profile
 * at most 8 placements, so an exhaustive depth-first search, with repeats of a profile
 * taken in ascending placement order, is small and always finds a fit when one exists.
 * Slices are a bit mask over the placement grid (8 units; 12 on RTX PRO 6000).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "policy.h"

#define MAX_NEW 8

struct search {
	const struct mig_gpu *gpu;
	const struct mig_gi_profile *want[MAX_NEW]; /* largest first */
	size_t order[MAX_NEW];                      /* want[k] is profiles[order[k]] */
	size_t n;
	size_t pick[MAX_NEW];  /* placement index chosen for want[k] */
	size_t best[MAX_NEW];
	bool found;
	unsigned int best_block, best_free;
	double best_value; /* the policy's worth of the GPU after (policy.c) */
	unsigned int max_slices; /* the GPU's compute slices: the largest profile's */
	unsigned int count[64];  /* instances per profile (index into gpu->profiles) */
	unsigned int slices;     /* compute slices in use */
	unsigned int gis;
	bool has_all_me, has_media; /* a +me.all instance; an instance that is not -me */
	const struct mig_placement *fixed; /* mig_place_gi_at: the one placement to try */
};

static uint64_t mask_of(struct mig_placement p)
{
	if (p.size >= 64)
		return ~0ull;
	return ((1ull << p.size) - 1) << p.start;
}

static size_t profile_slot(const struct mig_gpu *g, const struct mig_gi_profile *p)
{
	return (size_t)(p - g->profiles);
}

static const struct mig_gi_profile *profile_by_id(const struct mig_gpu *g, unsigned int id)
{
	for (size_t i = 0; i < g->nprofiles; i++)
		if (g->profiles[i].id == id)
			return &g->profiles[i];
	return NULL;
}

/* Largest run of free units, and how many placements of every profile are still free. */
static void score(const struct search *s, uint64_t used, unsigned int *block, unsigned int *free_pl)
{
	unsigned int run = 0;
	*block = 0;
	for (unsigned int u = 0; u < s->gpu->grid; u++) {
		run = (used >> u) & 1 ? 0 : run + 1;
		if (run > *block)
			*block = run;
	}
	*free_pl = 0;
	for (size_t i = 0; i < s->gpu->nprofiles; i++)
		for (size_t k = 0; k < s->gpu->profiles[i].nplacements; k++)
			*free_pl += (mask_of(s->gpu->profiles[i].placements[k]) & used) == 0;
}

static bool allowed(const struct search *s, const struct mig_gi_profile *p)
{
	enum mig_media m = p->parsed.media;
	if (s->count[profile_slot(s->gpu, p)] >= p->instance_count || s->gis >= MAX_NEW)
		return false;
	if (s->slices + p->slices > s->max_slices)
		return false;
	if (m == MIG_MEDIA_ME_ALL && s->has_media)
		return false;
	if (s->has_all_me && m != MIG_MEDIA_NO_ME)
		return false;
	return true;
}

static void dfs(struct search *s, size_t k, uint64_t used)
{
	if (k == s->n) {
		unsigned int block, free_pl;
		score(s, used, &block, &free_pl);
		/* the policy first (what the GPU could still take), then the largest free block and the
		 * most free placements; placements are tried in ascending order, so the first of equals
		 * has the lowest starts */
		struct mig_place_state st = {.used = used, .slices = s->slices, .gis = s->gis,
					     .max_slices = s->max_slices, .has_all_me = s->has_all_me,
					     .has_media = s->has_media};
		memcpy(st.count, s->count, sizeof(st.count));
		double value = mig_place_value(s->gpu, &st, NULL), d = value - s->best_value;
		if (!s->found || d > 1e-9 ||
		    (d > -1e-9 && (block > s->best_block || (block == s->best_block && free_pl > s->best_free)))) {
			s->found = true;
			s->best_value = value;
			s->best_block = block;
			s->best_free = free_pl;
			memcpy(s->best, s->pick, sizeof(s->pick));
		}
		return;
	}
	const struct mig_gi_profile *p = s->want[k];
	if (!allowed(s, p))
		return;
	size_t first = k > 0 && s->want[k - 1] == p ? s->pick[k - 1] + 1 : 0;
	for (size_t i = first; i < p->nplacements; i++) {
		uint64_t m = mask_of(p->placements[i]);
		if (m & used)
			continue;
		if (s->fixed && (p->placements[i].start != s->fixed->start || p->placements[i].size != s->fixed->size))
			continue;
		size_t slot = profile_slot(s->gpu, p);
		bool had_all_me = s->has_all_me, had_media = s->has_media;
		s->pick[k] = i;
		s->count[slot]++;
		s->slices += p->slices;
		s->gis++;
		s->has_all_me |= p->parsed.media == MIG_MEDIA_ME_ALL;
		s->has_media |= p->parsed.media != MIG_MEDIA_NO_ME;
		dfs(s, k + 1, used | m);
		s->count[slot]--;
		s->slices -= p->slices;
		s->gis--;
		s->has_all_me = had_all_me;
		s->has_media = had_media;
	}
}

static int place(const struct mig_gpu *gpu, const struct mig_gi_profile *const *profiles, size_t n,
		 const struct mig_placement *fixed, struct mig_placement *out, struct mig_error *err)
{
	struct search s;
	uint64_t used = 0;

	memset(&s, 0, sizeof(s));
	s.gpu = gpu;
	s.fixed = fixed;
	if (n > MAX_NEW || gpu->nprofiles > 64)
		return mig_error_set(err, MIG_E_NOT_FOUND, "%zu GPU instances cannot fit on one GPU (at most %d)", n,
				     MAX_NEW);
	for (size_t i = 0; i < gpu->nprofiles; i++)
		if (gpu->profiles[i].slices > s.max_slices)
			s.max_slices = gpu->profiles[i].slices;
	for (size_t i = 0; i < gpu->ngis; i++) {
		const struct mig_gi *gi = &gpu->gis[i];
		const struct mig_gi_profile *p = profile_by_id(gpu, gi->profile_id);
		used |= mask_of(gi->placement);
		s.gis++;
		if (!p)
			continue;
		s.count[profile_slot(gpu, p)]++;
		s.slices += p->slices;
		s.has_all_me |= p->parsed.media == MIG_MEDIA_ME_ALL;
		s.has_media |= p->parsed.media != MIG_MEDIA_NO_ME;
	}
	/* Largest first prunes early; equal profiles stay adjacent for the ordering rule. */
	s.n = n;
	for (size_t i = 0; i < n; i++)
		s.order[i] = i;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			const struct mig_gi_profile *a = profiles[s.order[j - 1]], *b = profiles[s.order[j]];
			if (a->slices > b->slices || (a->slices == b->slices && a->id <= b->id))
				break;
			size_t t = s.order[j];
			s.order[j] = s.order[j - 1];
			s.order[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		s.want[i] = profiles[s.order[i]];
	dfs(&s, 0, used);
	if (!s.found)
		return mig_error_set(err, MIG_E_NOT_FOUND, "the requested GPU instances do not fit on GPU %u", gpu->index);
	for (size_t i = 0; i < n; i++)
		out[s.order[i]] = s.want[i]->placements[s.best[i]];
	return 0;
}

int mig_place_gis(const struct mig_gpu *gpu, const struct mig_gi_profile *const *profiles, size_t n,
		  struct mig_placement *out, struct mig_error *err)
{
	return place(gpu, profiles, n, NULL, out, err);
}

int mig_place_gi_at(const struct mig_gpu *gpu, const struct mig_gi_profile *profile, struct mig_placement at,
		    struct mig_error *err)
{
	struct mig_placement out;
	const struct mig_gi_profile *one[1] = {profile};
	return place(gpu, one, 1, &at, &out, err);
}
