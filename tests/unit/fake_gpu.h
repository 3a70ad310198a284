/* SPDX-License-Identifier: MIT */
/* Fake libmig GPUs for the unit tests, from the simulator's model tables. Include after cmocka.h. */
#ifndef MIGCTL_TEST_FAKE_GPU_H
#define MIGCTL_TEST_FAKE_GPU_H

#include <stdio.h>
#include <string.h>

#include "../../include/mig.h"
#include "../../sim/state.h"

/* A libmig view of an empty, MIG-enabled simulated GPU of this model, built from the
 * simulator's tables, for tests of pure libmig code. */
static void gpu_from_model(const struct sim_model *m, struct mig_gpu *g, struct mig_gi_profile *profiles,
			   struct mig_placement (*pl)[SIM_MAX_PLACEMENTS])
{
	memset(g, 0, sizeof(*g));
	g->mode_current = g->mode_pending = MIG_MODE_ENABLED;
	g->grid = m->grid;
	g->profiles = profiles;
	g->nprofiles = m->nprofiles;
	snprintf(g->name, sizeof(g->name), "%s", m->name);
	g->pci_device_id = m->pci_device_id;
	g->pci_subsystem_id = m->pci_subsystem_id;
	g->memory_mib = m->memory_mib;
	for (unsigned int i = 0; i < m->nprofiles; i++) {
		const struct sim_gi_profile *s = &m->profiles[i];
		struct mig_gi_profile *p = &profiles[i];
		memset(p, 0, sizeof(*p));
		p->id = s->id;
		p->index = s->index;
		snprintf(p->name, sizeof(p->name), "%s", s->name);
		assert_int_equal(mig_profile_name_parse(s->name, &p->parsed, NULL), 0);
		p->slices = s->slices;
		p->instance_count = s->instance_count;
		p->memory_mib = s->memory_mib;
		for (unsigned int k = 0; k < s->nplacements; k++)
			pl[i][k] = (struct mig_placement){s->placements[k].start, s->placements[k].size};
		p->placements = pl[i];
		p->nplacements = s->nplacements;
	}
}

#endif
