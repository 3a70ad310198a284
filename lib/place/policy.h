/* SPDX-License-Identifier: MIT */
/*
 * The placement policy's internals, shared by the exact solver (place.c) and the policy
 * (policy.c). Not part of the public API.
 */
#ifndef MIG_PLACE_POLICY_H
#define MIG_PLACE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

#define MIG_PLACE_MAX_PROFILES 64
#define MIG_PLACE_MAX_GIS 8

/* What the rules need to know about a GPU's occupancy. */
struct mig_place_state {
	uint64_t used;           /* placement units taken */
	unsigned int slices;     /* compute slices taken */
	unsigned int gis;        /* GPU instances */
	unsigned int max_slices; /* the GPU's compute slices: its largest profile's */
	unsigned int count[MIG_PLACE_MAX_PROFILES]; /* instances per profile slot */
	bool has_all_me, has_media; /* a +me.all instance; an instance that is not -me */
};

uint64_t mig_place_mask(struct mig_placement p);
/* The state of the GPU's existing instances; -1 when the GPU has more profiles than fit. */
int mig_place_state_init(const struct mig_gpu *g, struct mig_place_state *st);
/* May one more instance of profile slot p go on at all (counts, compute slices, media)? */
bool mig_place_allowed(const struct mig_gpu *g, const struct mig_place_state *st, size_t p);
void mig_place_state_add(const struct mig_gpu *g, struct mig_place_state *st, size_t p, struct mig_placement at);
/* Could an instance of slot p go on by the counts and compute slices alone, wherever it went? */
bool mig_place_room(const struct mig_gpu *g, const struct mig_place_state *st, size_t p);

/*
 * The policy's worth of a state (policy.c's opening comment has the whole rule): for each
 * profile of the mix, weighted by it, the number of further instances the GPU could take,
 * plus a bonus while a waste-free placement of a profile that also has wasteful ones is free,
 * minus a cost when the GPU has the room for a profile but no placement (w: a weight per
 * profile slot; NULL: the default mix). Higher keeps the GPU more open.
 */
double mig_place_value(const struct mig_gpu *g, const struct mig_place_state *st, const double *w);
/* The default mix: one profile per compute size (the plain one with the least memory), equal weights. */
void mig_place_default_weights(const struct mig_gpu *g, double *w);

#endif
