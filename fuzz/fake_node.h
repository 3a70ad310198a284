/* SPDX-License-Identifier: MIT */
/* For the fuzz targets: a libmig node without NVML, one empty MIG-enabled GPU of every model
 * the simulator knows (from its tables) and a GPU without MIG, built once. */
#ifndef MIGCTL_FUZZ_FAKE_NODE_H
#define MIGCTL_FUZZ_FAKE_NODE_H

#include <stdio.h>
#include <stdlib.h>

#include "../include/mig.h"
#include "../sim/state.h"

#define FAKE_MAX (SIM_MAX_GPUS)

static struct {
	struct mig_node node;
	struct mig_gpu gpus[FAKE_MAX];
	struct mig_gi_profile profiles[FAKE_MAX][SIM_MAX_GI_PROFILES];
	struct mig_placement pl[FAKE_MAX][SIM_MAX_GI_PROFILES][SIM_MAX_PLACEMENTS];
} fake;

static inline void fake_node(void)
{
	if (fake.node.gpus)
		return;
	fake.node.gpus = fake.gpus;
	for (size_t m = 0; m <= sim_nmodels && fake.node.ngpus < FAKE_MAX; m++) {
		size_t i = fake.node.ngpus++;
		struct mig_gpu *g = &fake.gpus[i];
		g->index = (unsigned int)i;
		snprintf(g->uuid, sizeof(g->uuid), "GPU-00000000-1111-2222-3333-%012zu", i);
		snprintf(g->pci_bus_id, sizeof(g->pci_bus_id), "00000000:%02zX:00.0", 0x10 * (i + 1));
		if (m == sim_nmodels) { /* a GPU without MIG */
			snprintf(g->name, sizeof(g->name), "Tesla T4");
			g->pci_device_id = 0x1EB810DE;
			g->pci_subsystem_id = 0x12A210DE;
			g->mode_current = g->mode_pending = MIG_MODE_UNSUPPORTED;
			continue;
		}
		const struct sim_model *sm = &sim_models[m];
		snprintf(g->name, sizeof(g->name), "%s", sm->name);
		g->pci_device_id = sm->pci_device_id;
		g->pci_subsystem_id = sm->pci_subsystem_id;
		g->memory_mib = sm->memory_mib;
		g->mode_current = g->mode_pending = MIG_MODE_ENABLED;
		g->grid = sm->grid;
		g->profiles = fake.profiles[i];
		g->nprofiles = sm->nprofiles;
		for (unsigned int k = 0; k < sm->nprofiles; k++) {
			const struct sim_gi_profile *s = &sm->profiles[k];
			struct mig_gi_profile *p = &fake.profiles[i][k];
			p->id = s->id;
			p->index = s->index;
			snprintf(p->name, sizeof(p->name), "%s", s->name);
			if (mig_profile_name_parse(s->name, &p->parsed, NULL))
				abort();
			p->slices = s->slices;
			p->instance_count = s->instance_count;
			p->remaining = s->instance_count;
			p->memory_mib = s->memory_mib;
			for (unsigned int j = 0; j < s->nplacements; j++)
				fake.pl[i][k][j] = (struct mig_placement){s->placements[j].start, s->placements[j].size};
			p->placements = fake.pl[i][k];
			p->nplacements = s->nplacements;
		}
	}
}

#endif
