/* SPDX-License-Identifier: MIT */
/*
 * libmig: NVIDIA MIG management over NVML.
 *
 * Conventions: every fallible function takes a `struct mig_error *` (which may be NULL)
 * and returns 0 on success or -1 on failure with the error filled in. The library never
 * prints and never exits.
 */
#ifndef MIG_H
#define MIG_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MIG_VERSION_MAJOR 0
#define MIG_VERSION_MINOR 1

/* ---- errors ---------------------------------------------------------------- */

enum mig_status {
	MIG_OK = 0,
	MIG_E_NVML,      /* an NVML call failed; mig_error.nvml holds its nvmlReturn_t */
	MIG_E_LIBRARY,   /* libnvidia-ml.so.1 could not be loaded */
	MIG_E_INVALID,   /* bad input: a profile name, a selector, an argument */
	MIG_E_NOT_FOUND, /* nothing matches (a GPU selector, a profile on this GPU) */
	MIG_E_NOMEM,
	MIG_E_PENDING,   /* a MIG mode change waits for an idle GPU or a reset */
	MIG_E_PERMISSION, /* the caller may not change MIG configuration (mig_ctx_check_admin) */
};

#define MIG_ERROR_MSG_MAX 512

struct mig_error {
	enum mig_status status;
	int nvml; /* the NVML return code when status is MIG_E_NVML, else 0 */
	bool change; /* NVML refused a change (MIG mode, create, destroy), not a read */
	char msg[MIG_ERROR_MSG_MAX];
};

void mig_error_reset(struct mig_error *err);

/* ---- profile names ---------------------------------------------------------------- */

/* What follows the memory size in a profile name. */
enum mig_media {
	MIG_MEDIA_DEFAULT = 0, /* no suffix */
	MIG_MEDIA_ME,          /* "+me": with media engines */
	MIG_MEDIA_ME_ALL,      /* "+me.all": with all media engines */
	MIG_MEDIA_NO_ME,       /* "-me": without media engines */
	MIG_MEDIA_GFX,         /* "+gfx": graphics capable */
};

/*
 * A profile as NVIDIA tools write it: "[<c>c.]<g>g.<mem>gb[suffix]", e.g. "1g.10gb",
 * "1g.10gb+me", "1g.24gb-me", "1g.24gb+me.all", "1g.24gb+gfx", "1c.3g.20gb". The optional
 * "MIG " prefix that NVML puts in profile names is accepted. compute_slices is 0 when the
 * name has no "<c>c." part (the compute instance, if any, is the whole GPU instance).
 */
struct mig_profile_name {
	unsigned int compute_slices;
	unsigned int gi_slices;
	unsigned int memory_gb;
	enum mig_media media;
};

int mig_profile_name_parse(const char *text, struct mig_profile_name *out, struct mig_error *err);

/* Does the text name a compute instance ("1c.3g.20gb")? "1c.1g.20gb" does although it parses
 * like "1g.20gb": an H100 1g.20gb GPU instance offers that one-slice compute instance besides
 * its default (full) one. */
bool mig_profile_name_is_compute(const char *text);

/* Canonical spelling ("1c.3g.20gb", never the "MIG " prefix); the length it needed, as snprintf. */
int mig_profile_name_format(const struct mig_profile_name *p, char *buf, size_t len);

/* Same GPU-instance profile (compute part ignored)? */
bool mig_profile_name_same_gi(const struct mig_profile_name *a, const struct mig_profile_name *b);

/* ---- context ---------------------------------------------------------------- */

/* A loaded and initialised NVML. One per process is enough; NVML is initialised once. */
struct mig_ctx;

/* nvml_path: NULL for $MIGCTL_NVML_LIB, else "libnvidia-ml.so.1". */
int mig_ctx_new(struct mig_ctx **out, const char *nvml_path, struct mig_error *err);
void mig_ctx_free(struct mig_ctx *ctx);
/* NVML calls made through this context so far (for benchmarks and tests). */
unsigned long mig_ctx_nvml_calls(const struct mig_ctx *ctx);
const char *mig_ctx_driver_version(const struct mig_ctx *ctx);
/* The NVML library that was loaded (as given to dlopen). */
const char *mig_ctx_nvml_path(const struct mig_ctx *ctx);

/* What a change needs, for mig_ctx_check_admin. */
enum mig_admin {
	MIG_ADMIN_INSTANCES = 1, /* create or destroy GPU or compute instances */
	MIG_ADMIN_MODE = 2,      /* enable or disable MIG mode */
};

/*
 * May this process make the changes in `what` (enum mig_admin bits)? Changes nothing and
 * makes no NVML call. The driver's rule: MIG mode needs root (or CAP_SYS_ADMIN); instances
 * need that or read access to /proc/driver/nvidia/capabilities/mig/config. A simulator
 * that exports migsimCallerIsPrivileged answers for itself instead. Returns 0 when allowed,
 * else -1 with MIG_E_PERMISSION and a message that says what is needed and how to get it.
 */
int mig_ctx_check_admin(struct mig_ctx *ctx, unsigned int what, struct mig_error *err);

/*
 * Run as root, refuse a file (opened as fd) that decides what root does unless root owns it
 * and no one else can write it: kind names it ("hooks file"), why says what it decides.
 * 0, or -1 with MIG_E_PERMISSION. For any other user: always 0.
 */
int mig_check_trusted_fd(const char *kind, const char *why, const char *path, int fd, struct mig_error *err);

/* ---- the node's state ---------------------------------------------------------------- */

#define MIG_NAME_MAX 96
#define MIG_UUID_MAX 96
#define MIG_PROFILE_MAX 96 /* NVML_DEVICE_NAME_V2_BUFFER_SIZE */

struct mig_placement {
	unsigned int start;
	unsigned int size;
};

struct mig_process {
	unsigned int pid;
	unsigned long long used_mib;
};

struct mig_ci_profile {
	unsigned int id; /* NVML_COMPUTE_INSTANCE_PROFILE_* */
	char name[MIG_PROFILE_MAX];
	unsigned int slices;
	unsigned int instance_count;
	unsigned int remaining;
	unsigned int sms;
	unsigned int ce, dec, enc, jpeg, ofa;
	bool is_default; /* the full-size profile, created by "create -C" */
};

struct mig_ci {
	unsigned int id;
	unsigned int profile_id;
	char profile[MIG_PROFILE_MAX];
	struct mig_placement placement;
	char uuid[MIG_UUID_MAX]; /* the MIG device's UUID, for CUDA_VISIBLE_DEVICES */
	int mig_index;           /* nvmlDeviceGetMigDeviceHandleByIndex index, -1 if unknown */
	unsigned int sms;
	unsigned long long memory_mib;
	struct mig_process *procs;
	size_t nprocs;
};

struct mig_gi {
	unsigned int id;
	unsigned int profile_id;
	char profile[MIG_PROFILE_MAX];
	struct mig_placement placement;
	struct mig_ci *cis;
	size_t ncis;
	struct mig_ci_profile *ci_profiles; /* what this GI offers */
	size_t nci_profiles;
};

struct mig_gi_profile {
	unsigned int index; /* NVML_GPU_INSTANCE_PROFILE_* */
	unsigned int id;    /* driver profile id (nvidia-smi's "ID") */
	char name[MIG_PROFILE_MAX];
	struct mig_profile_name parsed;
	unsigned int slices;
	unsigned int instance_count;
	unsigned int remaining; /* NVML's remaining capacity; 0 while MIG is off (MIG_READ_CAPACITY) */
	unsigned int sms;
	unsigned int ce, dec, enc, jpeg, ofa;
	unsigned long long memory_mib;
	struct mig_placement *placements; /* MIG_READ_CAPACITY */
	size_t nplacements;
};

enum mig_mode {
	MIG_MODE_UNSUPPORTED = -1,
	MIG_MODE_DISABLED = 0,
	MIG_MODE_ENABLED = 1,
};

struct mig_gpu {
	unsigned int index;
	char name[MIG_NAME_MAX];
	char uuid[MIG_UUID_MAX];
	char pci_bus_id[32];
	unsigned int pci_device_id;    /* (device << 16) | vendor, e.g. 0x20B010DE */
	unsigned int pci_subsystem_id; /* (subsystem << 16) | subsystem vendor */
	unsigned long long memory_mib;
	enum mig_mode mode_current;
	enum mig_mode mode_pending;
	unsigned int grid; /* placement units: largest start + size over every profile */
	struct mig_gi_profile *profiles;
	size_t nprofiles;
	struct mig_gi *gis; /* ascending id */
	size_t ngis;
	struct mig_process *procs; /* every process on the GPU (with MIG ids where on a MIG device) */
	size_t nprocs;
	unsigned int *proc_gi; /* per process: GI id, or ~0u */
	unsigned int *proc_ci;
};

struct mig_node {
	struct mig_gpu *gpus;
	size_t ngpus;
};

/* What to read beyond GPUs, MIG mode, instances, MIG devices and processes. */
enum mig_read_flags {
	MIG_READ_BASIC = 0,
	MIG_READ_CAPACITY = 1, /* profile placements, remaining capacity of GI and CI profiles */
};

int mig_node_read(struct mig_ctx *ctx, struct mig_node **out, unsigned int flags, struct mig_error *err);
void mig_node_free(struct mig_node *node);

/* ---- changes ---------------------------------------------------------------- */

struct mig_mode_result {
	enum mig_mode current;
	enum mig_mode pending;
	int activation; /* NVML's activation status: 0 done, else why the change waits */
};

/* Enable or disable MIG mode. Succeeds when NVML accepted the request; res says whether it
 * is active or pending (activation: NVML_ERROR_IN_USE, NVML_ERROR_RESET_REQUIRED, ...). */
int mig_gpu_set_mig_mode(struct mig_ctx *ctx, unsigned int gpu, bool enable, struct mig_mode_result *res,
			 struct mig_error *err);

/* Create a GPU instance of a driver profile id; at NULL lets the driver place it. */
int mig_gi_create(struct mig_ctx *ctx, unsigned int gpu, unsigned int profile_id, const struct mig_placement *at,
		  unsigned int *gi_id, struct mig_placement *placed, struct mig_error *err);
int mig_gi_destroy(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, struct mig_error *err);
/* at: a placement inside the GPU instance (compute slices), or NULL to let the driver choose. */
int mig_ci_create(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, unsigned int ci_profile_id,
		  const struct mig_placement *at, unsigned int *ci_id, struct mig_error *err);
/* The starts NVML offers a compute instance of ci_slices inside a GPU instance of gi_slices
 * compute slices (at most 8 written to starts); how many. */
size_t mig_ci_starts(unsigned int gi_slices, unsigned int ci_slices, unsigned int starts[8]);
/* The default ("-C") compute instance profile of a GPU instance whose profile has gi_slices
 * compute slices: the full-size one with the most SMs. */
int mig_gi_default_ci_profile(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, unsigned int gi_slices,
			      unsigned int *ci_profile_id, struct mig_error *err);
int mig_ci_destroy(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, unsigned int ci_id,
		   struct mig_error *err);
/* How many compute instances GPU instance gi_id of GPU gpu has now. */
int mig_gi_count_cis(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, unsigned int *count,
		     struct mig_error *err);

/* ---- placement ---------------------------------------------------------------- */

/*
 * Find placements for new GPU instances of the n given profiles (pointers into
 * gpu->profiles, repeats allowed) beside the GPU's existing instances, whenever any exist:
 * the search is exhaustive. It honours placements, overlaps, each profile's instance
 * count, the GPU's compute slices and the media-engine rules (+me.all only beside -me).
 * Among the solutions it picks the one leaving the largest free block, then the most free
 * placements, then the lowest starts. out[i] is the placement for profiles[i].
 * Returns 0, or -1 with MIG_E_NOT_FOUND when the set cannot fit.
 */
int mig_place_gis(const struct mig_gpu *gpu, const struct mig_gi_profile *const *profiles, size_t n,
		  struct mig_placement *out, struct mig_error *err);

/* Can a GI of this profile go at this (listed) placement now, by the same rules? */
int mig_place_gi_at(const struct mig_gpu *gpu, const struct mig_gi_profile *profile, struct mig_placement at,
		    struct mig_error *err);

/* ---- declarative configs (mig-parted's v1 format) ---------------------------------- */

/* Where something was written, for errors ("file:line:column"). */
struct mig_where {
	unsigned int line;
	unsigned int column;
};

struct mig_device_filter {
	unsigned int device_id;    /* 0xDDDDVVVV: (device << 16) | vendor */
	unsigned int subsystem_id; /* 0xSSSSVVVV, when has_subsystem */
	bool has_subsystem;
};

struct mig_config_profile {
	char name[MIG_PROFILE_MAX]; /* as written */
	struct mig_profile_name parsed;
	unsigned int count;
	unsigned int *starts; /* extension "placements": pinned start of each instance, or NULL */
	size_t nstarts;
	struct mig_where where;
};

struct mig_config_entry {
	bool all_devices;     /* devices: all */
	unsigned int *indices; /* devices: [0, 1] */
	size_t nindices;
	char **ids; /* extension: GPU UUIDs or PCI bus ids in devices: [...] */
	size_t nids;
	struct mig_device_filter *filters;
	size_t nfilters;
	bool mig_enabled;
	struct mig_config_profile *profiles; /* mig-devices */
	size_t nprofiles;
	struct mig_where where;
};

struct mig_config_set {
	char *name;
	struct mig_config_entry *entries;
	size_t nentries;
	struct mig_where where;
};

struct mig_config {
	char *file; /* as named in errors; "<stdin>" for -f - */
	struct mig_config_set *sets;
	size_t nsets;
};

/* Parse a v1 config. Errors say file:line:column, what is wrong and what is accepted. */
int mig_config_parse(const char *text, size_t len, const char *file, struct mig_config **out,
		     struct mig_error *err);
/* Read and parse a file; "-" reads standard input. */
int mig_config_load(const char *path, struct mig_config **out, struct mig_error *err);
/* The same from an open file (read from its current offset, left open), named name in errors:
 * for callers that checked the file they opened (its owner, its mode) before reading it. */
int mig_config_load_fd(int fd, const char *name, struct mig_config **out, struct mig_error *err);
void mig_config_free(struct mig_config *config);
/* The named set, or the only one when name is NULL. */
const struct mig_config_set *mig_config_find(const struct mig_config *config, const char *name,
					     struct mig_error *err);

/* ---- planning (pure: no NVML) ---------------------------------------------------------------- */

/* A compute instance a target asks for: its size, or the GPU instance's default (full) one. */
struct mig_target_ci {
	unsigned int slices;
	bool full;
};

struct mig_target_gi {
	unsigned int profile_id; /* GPU instance profile (driver id) */
	char profile[MIG_PROFILE_MAX];
	struct mig_target_ci cis[8];
	size_t ncis;
	bool pinned; /* placement fixed by the config */
	struct mig_placement at;
	/* built from compute-instance keys ("1c.3g.20gb"): mig-parted's format counts those
	 * compute instances, so how they are grouped into GPU instances of this profile is free */
	bool pooled;
};

/* What one GPU should become. */
struct mig_gpu_target {
	bool selected; /* some config entry names this GPU */
	bool mig_enabled;
	struct mig_target_gi gis[8];
	size_t ngis;
	struct mig_where where; /* the entry that chose it */
};

/* Resolve a config set against the node: targets[i] for GPU i (node->ngpus entries). Profiles
 * are resolved on each GPU's own table; GPU-level names ("2g.10gb") ask for one GPU instance
 * with its full compute instance each, compute-level names ("1c.2g.10gb") are packed into as
 * few GPU instances of that profile as hold them. */
int mig_config_targets(const struct mig_config *config, const struct mig_config_set *set, const struct mig_node *node,
		       struct mig_gpu_target *targets, struct mig_error *err);

enum mig_op_kind {
	MIG_OP_DESTROY_CI,
	MIG_OP_DESTROY_GI,
	MIG_OP_DISABLE_MIG,
	MIG_OP_ENABLE_MIG,
	MIG_OP_CREATE_GI,
	MIG_OP_CREATE_CI,
};

struct mig_op {
	enum mig_op_kind kind;
	unsigned int gpu;
	unsigned int gi_id;      /* destroy ops, and CREATE_CI into an existing GI */
	int new_gi;              /* CREATE_CI into a GI this plan creates: index of its CREATE_GI op; else -1 */
	unsigned int ci_id;      /* DESTROY_CI */
	unsigned int profile_id; /* CREATE_GI: GI profile id; DESTROY_CI: its CI profile id */
	struct mig_target_ci ci; /* CREATE_CI */
	struct mig_placement ci_at; /* CREATE_CI, DESTROY_CI: the compute instance's placement in its GI */
	unsigned int gi_slices;  /* CREATE_CI: the GI's compute slices (finds its full profile) */
	char profile[MIG_PROFILE_MAX];
	struct mig_placement at; /* CREATE_GI, and the GI of destroy ops */
};

struct mig_gpu_plan {
	unsigned int gpu;
	bool changes;
	size_t kept_gis, kept_cis, destroyed_gis, destroyed_cis, created_gis, created_cis;
	/* the layout after the plan: placement and profile of every GPU instance */
	struct mig_placement after[8];
	char after_profile[8][MIG_PROFILE_MAX];
	int after_id[8]; /* the GI id when kept, -1 for new ones */
	size_t nafter;
};

struct mig_plan {
	struct mig_op *ops;
	size_t nops;
	/* ops[0, nmode_ops) are the MIG mode phase, on every GPU before any other change: the
	 * instances a GPU leaving MIG mode must lose, then the mode changes. The rest (the
	 * instance phase) follows: destroys before creates, GPU by GPU. */
	size_t nmode_ops;
	struct mig_gpu_plan *gpus; /* one per selected GPU */
	size_t ngpus;
};

/*
 * Plan the changes that bring each selected GPU to its target: keep every GPU and compute
 * instance the target still contains, destroy only what must go (compute instances before
 * GPU instances), create only what is missing, at placements from the exact solver. Among
 * layouts that fit, it keeps the most existing GPU instances, then leaves the largest free
 * block. Instances with processes are never destroyed unless force; when the target cannot
 * be reached without destroying one, the error names it. Nothing is planned unless every
 * selected GPU can reach its target.
 */
int mig_plan_make(const struct mig_node *node, const struct mig_gpu_target *targets, bool force,
		  struct mig_plan **out, struct mig_error *err);
void mig_plan_free(struct mig_plan *plan);

/* One operation in words, as plan prints it ("GPU 0: create GPU instance 3g.20gb (profile ID
 * 9) at placement 4:4"); the length it needed, as snprintf. */
int mig_op_format(const struct mig_op *op, char *buf, size_t len);

/* What mig_plan_apply tells its caller as it goes; every member may be NULL. */
struct mig_apply_events {
	/* after each operation that succeeded */
	void (*progress)(const struct mig_op *op, size_t index, void *arg);
	/* once, before the first operation of the instance phase; non-zero (with err set) stops
	 * the apply there */
	int (*before_instances)(void *arg, struct mig_error *err);
	void *arg;
};

/* Carry out a plan's operations in order. *done counts the operations completed (also on
 * failure). A GPU whose MIG mode change stays pending (in use, reset required) has its
 * remaining operations skipped while the other GPUs go on; pending[gpu] is set for it (when
 * pending is given) and the call then fails with MIG_E_PENDING. An interrupted apply is
 * finished by planning again from the node as it is: kept instances stay kept. */
int mig_plan_apply(struct mig_ctx *ctx, const struct mig_plan *plan, size_t *done, bool *pending,
		   const struct mig_apply_events *events, struct mig_error *err);

/* GPU selectors: "all", an index ("0"), a comma list ("0,2"), a GPU UUID or a PCI bus id
 * (any of "00000000:07:00.0", "0000:07:00.0", "07:00.0"). selected[i] is set for GPU i. */
int mig_select_gpus(const struct mig_node *node, const char *selector, bool *selected, struct mig_error *err);

/* A GPU-instance profile of this GPU by name (any spelling) or driver id ("19"). On failure
 * the message names the GPU's profiles and the nearest one. */
const struct mig_gi_profile *mig_gpu_find_profile(const struct mig_gpu *gpu, const char *text,
						  struct mig_error *err);

/* ---- mig-parted compatibility (issue 15) ---------------------------------------------- */

enum mig_targets_flags {
	/* a set that selects no GPU of the node is not an error (mig-parted fails there; a fleet
	 * sharing one file may want it). mig_config_targets is strict. */
	MIG_TARGETS_ALLOW_NO_MATCH = 1u << 0,
};

/* mig_config_targets with flags (enum mig_targets_flags). Without MIG_TARGETS_ALLOW_NO_MATCH a
 * set whose entries match no GPU fails with MIG_E_NOT_FOUND, naming the filters and the GPUs
 * present with their PCI device ids. */
int mig_config_targets_flags(const struct mig_config *config, const struct mig_config_set *set,
			     const struct mig_node *node, unsigned int flags, struct mig_gpu_target *targets,
			     struct mig_error *err);

/* The possible placements (compute slices inside the GPU instance) of a compute instance
 * profile (NVML_COMPUTE_INSTANCE_PROFILE_*) in GPU instance gi_id of GPU gpu: at most max into
 * out, *n set (nvidia-smi mig -lcipp). */
int mig_gi_ci_placements(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, unsigned int ci_profile_id,
			 struct mig_placement *out, size_t max, size_t *n, struct mig_error *err);

/* Why the GPU instance profiles want[0..n) cannot be placed together on g beside its GPU
 * instances, in the words of the rule they break: a profile's instance limit ("1g.10gb: 8
 * asked, at most 7 fit"), +me.all's media engines, or how many of one profile fit. Writes ""
 * (and returns 0) when no single rule explains it. */
size_t mig_explain_unfit(const struct mig_gpu *g, const struct mig_gi_profile *const *want, size_t n, char *buf,
			 size_t len);
/* "8 x 1g.10gb, 3g.40gb": a list of profiles with repeats counted. */
size_t mig_format_profile_list(const struct mig_gi_profile *const *want, size_t n, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
