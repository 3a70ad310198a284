/* SPDX-License-Identifier: MIT */
/* The GPU models the simulator knows: identity and MIG profile tables (sim/models_data.c). */
#ifndef MIGSIM_MODELS_H
#define MIGSIM_MODELS_H

#include <stdbool.h>
#include <stddef.h>

#define SIM_MAX_PLACEMENTS 8
#define SIM_MAX_CI_PROFILES 8
#define SIM_MAX_GI_PROFILES 16

struct sim_placement {
	unsigned int start;
	unsigned int size;
};

/* How a GI profile uses the GPU's media engines (decoders, encoders, JPEG, OFA). */
enum sim_media {
	SIM_MEDIA_SHARED, /* the ordinary profiles and "+me" */
	SIM_MEDIA_NONE,   /* "-me": none; may be created beside a "+me.all" */
	SIM_MEDIA_ALL,    /* "+me.all": all of them; blocks every profile but "-me" */
};

struct sim_ci_profile {
	const char *name; /* without the "MIG " prefix, e.g. "1c.3g.20gb" */
	unsigned int id;  /* == NVML_COMPUTE_INSTANCE_PROFILE_* index */
	unsigned int slices;
	unsigned int instance_count;
	unsigned int sms;
	unsigned int ce, dec, enc, jpeg, ofa;
	unsigned int caps;
	bool is_default; /* the profile "nvidia-smi mig -cgi ... -C" creates */
	unsigned int nplacements;
	struct sim_placement placements[SIM_MAX_PLACEMENTS];
};

struct sim_gi_profile {
	const char *name;   /* without the "MIG " prefix, e.g. "1g.5gb+me" */
	unsigned int index; /* NVML_GPU_INSTANCE_PROFILE_* */
	unsigned int id;    /* driver profile id */
	unsigned int slices;
	unsigned int instance_count;
	unsigned int sms;
	unsigned long long memory_mib;
	unsigned int ce, dec, enc, jpeg, ofa;
	unsigned int p2p;
	unsigned int caps;
	enum sim_media media;
	unsigned int nplacements;
	struct sim_placement placements[SIM_MAX_PLACEMENTS];
	unsigned int nci;
	struct sim_ci_profile ci[SIM_MAX_CI_PROFILES];
};

struct sim_model {
	const char *key;             /* MIGSIM_GPUS spelling, e.g. "A100-SXM4-40GB" */
	const char *const *aliases;  /* other accepted spellings, NULL-terminated */
	const char *name;            /* nvmlDeviceGetName */
	unsigned int pci_device_id;  /* (device << 16) | vendor */
	unsigned int pci_subsystem_id;
	unsigned int arch;
	int cc_major, cc_minor;
	unsigned long long memory_mib;
	unsigned int total_sms;
	unsigned int grid;           /* placement units (memory slices; 12 on RTX PRO 6000) */
	unsigned int compute_slices;
	unsigned int max_gpu_instances;
	unsigned int max_mig_devices;
	bool mig_mode_survives_reset;
	unsigned int nprofiles;
	struct sim_gi_profile profiles[SIM_MAX_GI_PROFILES];
};

extern const struct sim_model sim_models[];
extern const size_t sim_nmodels;

/* Case-insensitive lookup by key or alias; NULL when unknown. */
const struct sim_model *sim_model_find(const char *name);
/* Lookups inside one model; NULL when the model has no such profile. */
const struct sim_gi_profile *sim_model_gi_by_id(const struct sim_model *m, unsigned int profile_id);
const struct sim_gi_profile *sim_model_gi_by_index(const struct sim_model *m, unsigned int index);
const struct sim_ci_profile *sim_gi_ci_by_id(const struct sim_gi_profile *p, unsigned int ci_profile_id);
/* The GPU-instance id (RM swizzId) of a placement span; -1 when the span has none. */
int sim_model_gi_id(const struct sim_model *m, struct sim_placement span, bool swapped_halves);

#endif
