/* SPDX-License-Identifier: MIT */
/* Lookups over the generated model tables, and the placement -> GPU-instance id rule. */
#include <strings.h>

#include "models.h"

const struct sim_model *sim_model_find(const char *name)
{
	for (size_t i = 0; i < sim_nmodels; i++) {
		const struct sim_model *m = &sim_models[i];
		if (strcasecmp(m->key, name) == 0)
			return m;
		for (const char *const *a = m->aliases; *a; a++)
			if (strcasecmp(*a, name) == 0)
				return m;
	}
	return NULL;
}

const struct sim_gi_profile *sim_model_gi_by_id(const struct sim_model *m, unsigned int profile_id)
{
	for (unsigned int i = 0; i < m->nprofiles; i++)
		if (m->profiles[i].id == profile_id)
			return &m->profiles[i];
	return NULL;
}

const struct sim_gi_profile *sim_model_gi_by_index(const struct sim_model *m, unsigned int index)
{
	for (unsigned int i = 0; i < m->nprofiles; i++)
		if (m->profiles[i].index == index)
			return &m->profiles[i];
	return NULL;
}

const struct sim_ci_profile *sim_gi_ci_by_id(const struct sim_gi_profile *p, unsigned int ci_profile_id)
{
	for (unsigned int i = 0; i < p->nci; i++)
		if (p->ci[i].id == ci_profile_id)
			return &p->ci[i];
	return NULL;
}

/*
 * A GI id is RM's "swizzId" of the memory span: the whole GPU is 0, halves 1-2, quarters
 * 3-6, eighths 7-14, numbered from the start of the grid. Boards with swapped halves look
 * the span up half a grid further on; NVML placements stay normalized either way.
 */
int sim_model_gi_id(const struct sim_model *m, struct sim_placement span, bool swapped_halves)
{
	unsigned int grid = m->grid;
	unsigned int start = span.start;

	if (span.size == 0 || grid % span.size != 0 || start % span.size != 0 || start + span.size > grid)
		return -1;
	if (swapped_halves && span.size < grid)
		start = (start + grid / 2) % grid; /* == start XOR half on the 8-slice grid */
	unsigned int parts = grid / span.size; /* 1, 2, 4 or 8 */
	if (parts != 1 && parts != 2 && parts != 4 && parts != 8)
		return -1;
	return (int)(parts - 1 + start / span.size);
}
