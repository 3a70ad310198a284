/* SPDX-License-Identifier: MIT */
/*
 * libmig: NVIDIA MIG management over NVML.
 *
 * Conventions: every fallible function takes a `struct mig_error *` (which may be NULL)
 * and returns 0 on success or -1 on failure with the error filled in. The library never
 * prints and never exits.
 *
 * ABI: libmig.so.0 grows without breaking programs built against an older header.
 *  - Opaque handles (mig_ctx, mig_txn, mig_change) are reached only through functions.
 *  - Every other public struct ends in MIG_RESERVED(n): n zeroed 64-bit words. A field added
 *    later goes into that union beside the array, so the struct's size and every offset stay
 *    as they were; its zero value means what the struct meant before the field existed.
 *    Structs the library fills (node reads, plans, configs, leases) have them zeroed; a
 *    program that fills one for the library (mig_cdi_options, mig_place_mix, a target)
 *    zero-initialises it ("= {0}" or memset) and never writes the reserved words.
 *  - Option structs a program passes in and that grow often begin with `size_t size`
 *    (sizeof as the program saw it): the library reads only the fields within it.
 *  - mig_placement and mig_where are frozen: a start and a size, a line and a column.
 *  - The fixed arrays of 8 follow the hardware: a GPU has at most 8 memory slices, so at
 *    most 8 GPU instances, and a GPU instance at most 8 compute slices.
 *  - Functions are only added. tests/shell/test_abi.sh compares the built library with the
 *    recorded ABI (abi/libmig.abi, libabigail) and fails on any other change.
 *
 * Threads: a mig_ctx and everything read or planned through it belong to one thread at a
 * time; only mig_ctx_nvml_calls may be read from another (libmig(3), "Thread safety").
 * Pure functions (profile names, config parsing, planning, placement) may run on any thread
 * with their own data. Ownership: what a _new, _read, _load, _parse or _make function
 * returns is the caller's to free with the matching _free; const pointers into it live as
 * long as it does.
 */
#ifndef MIG_H
#define MIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every function declared between this push and the pop at the end is exported from
 * libmig.so (the library is built with -fvisibility=hidden; lib/libmig.map lists mig_*);
 * what is declared elsewhere (lib/internal.h) stays inside the library. */
#pragma GCC visibility push(default)

/* The library's version: the one place it is written. The Makefile reads it from here for
 * the shared library's file name and SONAME (libmig.so.MAJOR) and for mig.pc. */
#define MIG_VERSION_MAJOR 0
#define MIG_VERSION_MINOR 2
#define MIG_VERSION_PATCH 0

/* The version of the library loaded at run time ("0.2.0"), which may be newer than the
 * header a program was compiled with (MIG_VERSION_*). */
const char *mig_version(void);

/* The tail of every public struct but two (see ABI above): room for later fields. */
#define MIG_RESERVED(words)                     \
	union {                                 \
		uint64_t mig_reserved_[words]; \
	}

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
	MIG_E_BUSY,       /* processes run on an instance the change would destroy */
	MIG_E_LOCKED,     /* another change holds the node lock (its pid is in the message) */
	MIG_E_CHANGED,    /* the node moved since the plan was made: nothing was changed */
	MIG_E_NO_CAPACITY, /* not enough free slices (or instances of that profile) for the request */
	MIG_E_FRAGMENTED, /* enough free slices, but no legal placement holds the request */
	MIG_E_UNSUPPORTED, /* the GPU or driver cannot do it (no MIG, a missing NVML function) */
	MIG_E_HOOK,       /* a hook command failed or could not run */
	MIG_E_IO,         /* a lock, journal or state file could not be read or written */
};

/* A stable lower-case name for a status ("busy", "locked", ...), for logs and JSON. */
const char *mig_status_name(enum mig_status status);

#define MIG_ERROR_MSG_MAX 512

struct mig_error {
	enum mig_status status;
	int nvml; /* the NVML return code when status is MIG_E_NVML, else 0 */
	bool change; /* NVML refused a change (MIG mode, create, destroy), not a read */
	char msg[MIG_ERROR_MSG_MAX];
	MIG_RESERVED(4);
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
	MIG_RESERVED(2);
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

/* nvml_path: the NVML library to dlopen, a path or a file name; NULL for the driver's
 * "libnvidia-ml.so.1". The library reads no environment variable ($MIGCTL_NVML_LIB is
 * migctl's). */
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
	MIG_RESERVED(4);
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
	MIG_RESERVED(4);
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
	/* issue 11: this MIG device's nodes (see "device nodes" at the end); NULL until read */
	struct mig_ci_devnodes *devnodes;
	/* issue 12: a lease holds it (mig_lease_mark_held); the planner never destroys it */
	bool leased;
	MIG_RESERVED(8);
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
	MIG_RESERVED(8);
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
	MIG_RESERVED(4);
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
	/* issue 11: nvmlDeviceGetMinorNumber (the N of /dev/nvidiaN, not the index); read with
	 * the device nodes (MIG_READ_DEVNODES), minor_known false until then */
	bool minor_known;
	unsigned int minor;
	MIG_RESERVED(8);
};

struct mig_node {
	struct mig_gpu *gpus;
	size_t ngpus;
	/* issue 11: the node's device nodes (see the end of this header); NULL until read */
	struct mig_node_devnodes *devnodes;
	MIG_RESERVED(8);
};

/* What to read beyond GPUs, MIG mode, instances, MIG devices and processes. */
enum mig_read_flags {
	MIG_READ_BASIC = 0,
	MIG_READ_CAPACITY = 1, /* profile placements, remaining capacity of GI and CI profiles */
	MIG_READ_DEVNODES = 2, /* device nodes, as mig_node_read_devnodes */
};

int mig_node_read(struct mig_ctx *ctx, struct mig_node **out, unsigned int flags, struct mig_error *err);
/*
 * Read only the GPUs a selector names (the grammar of mig_select_gpus: "all", an index, a
 * comma list, a GPU UUID, a PCI bus id), asking NVML for each by index, UUID or bus id and
 * never touching the others, so that its cost does not grow with the node. The node holds
 * the named GPUs once each, in index order; each mig_gpu's .index is its NVML index, NOT
 * its position in node->gpus (unlike a full read): use it for reads, and a full
 * mig_node_read for anything that selects or changes GPUs by position. "all" is
 * mig_node_read. Errors as mig_select_gpus.
 */
int mig_node_read_gpus(struct mig_ctx *ctx, const char *selector, unsigned int flags, struct mig_node **out,
		       struct mig_error *err);
void mig_node_free(struct mig_node *node);

/* The GPU of node with this UUID ("GPU-..."), or NULL. */
const struct mig_gpu *mig_node_find_gpu(const struct mig_node *node, const char *uuid);
/* The MIG device (compute instance) of node with this UUID ("MIG-..."), with its GPU and GPU
 * instance when gpu and gi are not NULL; NULL when the node holds none. */
const struct mig_ci *mig_node_find_device(const struct mig_node *node, const char *mig_uuid,
					  const struct mig_gpu **gpu, const struct mig_gi **gi);

/* The starts NVML offers a compute instance of ci_slices inside a GPU instance of gi_slices
 * compute slices (at most 8 written to starts); how many. */
size_t mig_ci_starts(unsigned int gi_slices, unsigned int ci_slices, unsigned int starts[8]);

/* ---- placement ---------------------------------------------------------------- */

/*
 * Find placements for new GPU instances of the n given profiles (pointers into
 * gpu->profiles, repeats allowed) beside the GPU's existing instances, whenever any exist:
 * the search is exhaustive. It honours placements, overlaps, each profile's instance
 * count, the GPU's compute slices and the media-engine rules (+me.all only beside -me).
 * Among the solutions it picks the one that keeps the GPU most open (the placement policy of
 * mig_place_one, with its default mix), then the one leaving the largest free block, then
 * the most free placements, then the lowest starts. out[i] is the placement for profiles[i].
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
	MIG_RESERVED(2);
};

struct mig_config_profile {
	char name[MIG_PROFILE_MAX]; /* as written */
	struct mig_profile_name parsed;
	unsigned int count;
	unsigned int *starts; /* extension "placements": pinned start of each instance, or NULL */
	size_t nstarts;
	struct mig_where where;
	MIG_RESERVED(4);
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
	MIG_RESERVED(4);
};

struct mig_config_set {
	char *name;
	struct mig_config_entry *entries;
	size_t nentries;
	struct mig_where where;
	MIG_RESERVED(4);
};

struct mig_config {
	char *file; /* as named in errors; "<stdin>" for -f - */
	struct mig_config_set *sets;
	size_t nsets;
	MIG_RESERVED(4);
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
	MIG_RESERVED(2);
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
	MIG_RESERVED(4);
};

/* What one GPU should become. */
struct mig_gpu_target {
	bool selected; /* some config entry names this GPU */
	bool mig_enabled;
	struct mig_target_gi gis[8];
	size_t ngis;
	struct mig_where where; /* the entry that chose it */
	MIG_RESERVED(4);
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
	unsigned int gpu;        /* the GPU's NVML index, for display; the plan names it by uuid */
	char gpu_uuid[MIG_UUID_MAX];
	unsigned int gi_id;      /* destroy ops, and CREATE_CI into an existing GI */
	int new_gi;              /* CREATE_CI into a GI this plan creates: index of its CREATE_GI op; else -1 */
	unsigned int ci_id;      /* DESTROY_CI */
	unsigned int profile_id; /* CREATE_GI: GI profile id; CREATE_CI, DESTROY_CI: CI profile id */
	struct mig_target_ci ci; /* CREATE_CI */
	struct mig_placement ci_at; /* CREATE_CI, DESTROY_CI: the compute instance's placement in its GI */
	unsigned int gi_slices;  /* CREATE_CI: the GI's compute slices (finds its full profile) */
	char profile[MIG_PROFILE_MAX];
	struct mig_placement at; /* CREATE_GI, and the GI of destroy ops */
	MIG_RESERVED(4);
};

struct mig_gpu_plan {
	unsigned int gpu;
	char uuid[MIG_UUID_MAX];
	/* the GPU's layout when the plan was made (mode, instances, ids, placements): a plan whose
	 * GPUs no longer look like this is refused with MIG_E_CHANGED */
	char before[2048];
	bool changes;
	size_t kept_gis, kept_cis, destroyed_gis, destroyed_cis, created_gis, created_cis;
	/* the layout after the plan: placement and profile of every GPU instance */
	struct mig_placement after[8];
	char after_profile[8][MIG_PROFILE_MAX];
	int after_id[8]; /* the GI id when kept, -1 for new ones */
	size_t nafter;
	MIG_RESERVED(4);
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
	/* all or nothing: a failure undoes every instance the plan created (plans built with
	 * mig_plan_new); else only what would leave a GPU instance without compute instances */
	bool atomic;
	MIG_RESERVED(8);
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


/* ---- plans as data ---------------------------------------------------------------- */

/* The plan as a JSON document (a string the caller frees), and back. A plan read back is
 * checked for shape; mig_txn_execute checks it against the node (MIG_E_CHANGED). */
char *mig_plan_to_json(const struct mig_plan *plan, struct mig_error *err);
int mig_plan_from_json(const char *text, struct mig_plan **out, struct mig_error *err);

/* An empty plan, for building one operation by operation (create, destroy, mode). */
int mig_plan_new(struct mig_plan **out, struct mig_error *err);
/* Append operations for GPU g of node (the plan records g's layout the first time):
 * a GPU instance of profile at placement, with its default compute instance when with_ci; a
 * compute instance of ci_profile_id at ci_at in GPU instance gi_id; destroying a compute or
 * GPU instance; enabling or disabling MIG mode. The profile and placement are taken as given:
 * the caller has checked them (mig_place_gis, mig_place_gi_at). */
int mig_plan_add_create_gi(struct mig_plan *plan, const struct mig_gpu *g, const struct mig_gi_profile *profile,
			   struct mig_placement at, bool with_ci, struct mig_error *err);
int mig_plan_add_create_ci(struct mig_plan *plan, const struct mig_gpu *g, const struct mig_gi *gi,
			   const struct mig_ci_profile *profile, struct mig_placement ci_at, struct mig_error *err);
int mig_plan_add_destroy_ci(struct mig_plan *plan, const struct mig_gpu *g, const struct mig_gi *gi,
			    const struct mig_ci *ci, struct mig_error *err);
int mig_plan_add_destroy_gi(struct mig_plan *plan, const struct mig_gpu *g, const struct mig_gi *gi,
			    struct mig_error *err);
int mig_plan_add_mode(struct mig_plan *plan, const struct mig_gpu *g, bool enable, struct mig_error *err);

/* ---- the transaction ----------------------------------------------------------------
 *
 * Every change to a node goes through one transaction: the admin check, the node lock (one
 * lock for every kind of change, so changes never interleave), the journal, the hooks, the
 * executor with its roll back of half-made instances, the check that the GPUs now look as
 * the plan said, and the after-change notification. A program does:
 *
 *	mig_txn_begin(ctx, &opts, &txn, &err);      admin check, lock, journal, node read
 *	plan = ... from mig_txn_node(txn) ...        pure planning on the locked node
 *	mig_txn_execute(txn, plan, &err);            as many times as it needs
 *	mig_txn_end(txn, ok, &err);                  apply-exit hook, unlock
 */
struct mig_txn;

/* Where the node lock and the journal live. A directory the library creates is mode 0700;
 * either directory is refused when it is a symbolic link or others can write it. */
struct mig_txn_options {
	size_t size;            /* sizeof(struct mig_txn_options): the struct may grow */
	unsigned int admin;     /* enum mig_admin bits checked before anything else */
	const char *state_dir;  /* default directory of the lock and journal (NULL: /run/migctl) */
	const char *lock_path;  /* the node lock, overriding state_dir/apply.lock */
	const char *journal_path; /* the journal, overriding state_dir/journal.json */
	double lock_timeout;    /* seconds to wait for another change to finish */
	const char *hooks_file; /* mig-parted hooks file, or NULL */
	const char *const *hook_env; /* "NAME=value" strings every hook gets, NULL-terminated */
	unsigned int read_flags; /* enum mig_read_flags for the node read under the lock */
	/* called once when the lock is held by another process (pid, 0 if unknown), before waiting */
	void (*waiting)(long holder_pid, void *arg);
	/* after each operation that succeeded */
	void (*progress)(const struct mig_op *op, size_t index, size_t total, void *arg);
	void *arg;
	/* "key=value" strings recorded in the journal (what is being applied), NULL-terminated */
	const char *const *journal_info;
};

/* Begin: check the caller may change MIG, load and check the hooks file, take the node lock
 * (MIG_E_LOCKED after lock_timeout), finish what an interrupted change left half-made (from
 * its journal), run the apply-start hooks, and read the node. */
int mig_txn_begin(struct mig_ctx *ctx, const struct mig_txn_options *opts, struct mig_txn **out,
		  struct mig_error *err);
/* The node as read under the lock (and after each execute). Owned by the transaction. */
const struct mig_node *mig_txn_node(const struct mig_txn *txn);
/* An interrupted change found at begin: its start time (UTC, ISO 8601), operations done and
 * planned. Returns false when there was none. */
bool mig_txn_interrupted(const struct mig_txn *txn, const char **started, size_t *done, size_t *total);
/* Execute a plan: refuse it with MIG_E_CHANGED unless every GPU it names still looks as it
 * did when the plan was made; check MIG mode privileges; journal it; run pre-apply-mode and
 * pre-apply-config hooks; carry out its operations; on failure undo what would leave a GPU
 * instance without compute instances; re-read the node; check it now matches the plan; tell
 * the after-change callbacks. A GPU whose MIG mode change stays pending has its later
 * operations skipped and the call fails with MIG_E_PENDING (mig_txn_pending names them). */
int mig_txn_execute(struct mig_txn *txn, const struct mig_plan *plan, struct mig_error *err);
/* Operations the last execute completed. */
size_t mig_txn_done(const struct mig_txn *txn);
/* Why a GPU's MIG mode change waits after the last execute (0: it does not). */
enum mig_pending {
	MIG_PENDING_NONE = 0,
	MIG_PENDING_IN_USE,  /* processes or clients hold the GPU */
	MIG_PENDING_RESET,   /* the GPU needs a reset */
	MIG_PENDING_REBOOT,  /* anything else the driver answered: a reboot applies it */
};
/* Is GPU (NVML index) waiting for its MIG mode change since the last execute, and why? */
enum mig_pending mig_txn_pending(const struct mig_txn *txn, unsigned int gpu);
/* Reset one GPU whose mode change is pending by running command (a shell command line with
 * "{index}" and "{pci}" replaced), then re-read the node. */
int mig_txn_reset_gpu(struct mig_txn *txn, unsigned int gpu, const char *command, struct mig_error *err);
/* The command mig_txn_reset_gpu runs for g: tmpl with "{index}" and "{pci}" replaced; -1 when
 * it does not fit in len. */
int mig_reset_command(const char *tmpl, const struct mig_gpu *g, char *buf, size_t len);
/* End: run the apply-exit hooks (told success or failure by ok), drop the journal of a change
 * that succeeded, release the lock, free. Returns -1 only when an apply-exit hook failed. */
int mig_txn_end(struct mig_txn *txn, bool ok, struct mig_error *err);

/* Read and check a mig-parted hooks file (file:line:column errors; as root, its owner and
 * mode) without running anything: what mig_txn_begin would refuse, it refuses. */
int mig_hooks_check(const char *path, struct mig_error *err);

/* ---- after-change events ---------------------------------------------------------------- */

/* What one execute changed: the GPUs whose layout or mode changed, and the MIG devices (by
 * UUID) that appeared and vanished. Valid during the callback only. */
struct mig_change;
bool mig_change_ok(const struct mig_change *c);
const char *const *mig_change_gpus(const struct mig_change *c, size_t *n);
const char *const *mig_change_added(const struct mig_change *c, size_t *n);
const char *const *mig_change_removed(const struct mig_change *c, size_t *n);

/* Called after every execute through ctx, successful or not, with the node as it is after. A
 * non-zero return (with err set) is reported as the execute's error, after the change. */
typedef int (*mig_change_fn)(struct mig_ctx *ctx, const struct mig_change *change, const struct mig_node *after,
			     void *arg, struct mig_error *err);
/* Register a callback (at most 8 per context); returns -1 when full. */
int mig_ctx_on_change(struct mig_ctx *ctx, mig_change_fn fn, void *arg, struct mig_error *err);

/* GPU selectors: "all", an index ("0"), a comma list ("0,2"), a GPU UUID or a PCI bus id
 * (any of "00000000:07:00.0", "0000:07:00.0", "07:00.0"). selected[i] is set for GPU i. */
int mig_select_gpus(const struct mig_node *node, const char *selector, bool *selected, struct mig_error *err);

/* A GPU-instance profile of this GPU by name (any spelling) or driver id ("19"). On failure
 * the message names the GPU's profiles and the nearest one. */
const struct mig_gi_profile *mig_gpu_find_profile(const struct mig_gpu *gpu, const char *text,
						  struct mig_error *err);

/* ---- placement policy (one new GPU instance across a node) ---------------------------- */

/* The profiles a node expects to be asked for, with a weight each (any positive scale). */
struct mig_place_mix {
	const char *const *profiles; /* profile names, as mig_gpu_find_profile takes them */
	const double *weights;
	size_t n;
	MIG_RESERVED(2);
};

struct mig_place_choice {
	size_t gpu;                           /* index into node->gpus */
	const struct mig_gi_profile *profile; /* points into node->gpus[gpu].profiles */
	struct mig_placement at;
	double loss; /* the mix-weighted future instances the choice costs (the policy's measure) */
	MIG_RESERVED(4);
};

/*
 * Where one new GPU instance of `profile` (a name or driver id, as mig_gpu_find_profile
 * takes it) should go on the node: the GPU and placement that cost the least of what the
 * GPUs could still take, for each profile of `mix` the most further instances that would fit
 * (disjoint free placements, capped by instance counts and compute slices), plus 1.5 while a
 * placement of it that wastes no compute slice is free (when it also has wasteful ones: 3g at
 * 4:4 on an A100/H100, not 0:4), minus 1 when a GPU has the slices for it but no placement
 * (fragmented), weighted by the mix; ties go to the fullest GPU, then the lowest GPU index
 * and start. mix NULL weighs one profile per compute size (the plain one with the least
 * memory) equally. eligible: NULL, or one flag per node GPU (false:
 * leave it alone). Only GPUs with MIG enabled are considered. Pure: reads only `node`, which
 * must have been read with MIG_READ_CAPACITY (the placements).
 * Returns 0 with *out filled, or -1 with MIG_E_NO_CAPACITY (no GPU has the free compute
 * slices, placement units and instance count for it), MIG_E_FRAGMENTED (one has, but no legal
 * placement is free; the message names such a GPU), MIG_E_NOT_FOUND (no eligible GPU with MIG
 * enabled has the profile) or MIG_E_INVALID (no profile or result, or no placements read).
 */
int mig_place_one(const struct mig_node *node, const bool *eligible, const char *profile,
		  const struct mig_place_mix *mix, struct mig_place_choice *out, struct mig_error *err);
/* ---- device nodes, CDI specs and the consumers kept current (issue 11) ------------------- */

/*
 * Every path below is as the host and its containers name it ("/dev/nvidia0"); the files are
 * read under the context's root (mig_ctx_set_root; "/" by default, or the simulator's own root
 * when the loaded NVML is the simulator and exports migsimGetRoot).
 */
#define MIG_DEVNODE_PATH_MAX 64

struct mig_devnode {
	char path[MIG_DEVNODE_PATH_MAX];
	unsigned int major;
	unsigned int minor;
	unsigned int mode; /* permission bits the driver gives (a capability's DeviceFileMode) */
	bool exists;       /* under the root, a character device with these numbers */
	MIG_RESERVED(2);
};

/* One MIG device: what a process needs to reach it. */
struct mig_ci_devnodes {
	struct mig_devnode gpu;    /* /dev/nvidia<minor> */
	struct mig_devnode gi_cap; /* /dev/nvidia-caps/nvidia-cap<G> */
	struct mig_devnode ci_cap; /* /dev/nvidia-caps/nvidia-cap<C> */
	MIG_RESERVED(2);
};

struct mig_node_devnodes {
	bool known; /* every GPU and MIG device has its nodes; else error says what was missing */
	char error[MIG_ERROR_MSG_MAX];
	char root[4096];
	unsigned int caps_major; /* "nvidia-caps" in /proc/devices */
	bool has_uvm;            /* "nvidia-uvm" in /proc/devices */
	unsigned int uvm_major;
	/* the control nodes: nvidiactl, nvidia-uvm, nvidia-uvm-tools (the last two with has_uvm) */
	struct mig_devnode control[3];
	size_t ncontrol;
	MIG_RESERVED(4);
};

/* Read device nodes under root instead of "/" (NULL or "" for "/"). The path is copied. */
int mig_ctx_set_root(struct mig_ctx *ctx, const char *root, struct mig_error *err);
/* The root device nodes are read under (never NULL). */
const char *mig_ctx_root(struct mig_ctx *ctx);
/* Is the loaded NVML migctl's simulator (it exports migsimGetRoot)? Callers use it to keep a
 * simulated node away from the real node's files (e.g. its CDI specs). */
bool mig_ctx_simulated(const struct mig_ctx *ctx);

enum mig_devnodes_flags {
	MIG_DEVNODES_CREATE = 1, /* mknod missing /dev/nvidia-caps/nvidia-cap<N>, as nvidia-modprobe */
};

/*
 * Fill node->devnodes, each GPU's minor and each MIG device's devnodes: minors from NVML and
 * from <root>/proc/driver/nvidia-caps/mig-minors, majors from <root>/proc/devices. What cannot
 * be read leaves node->devnodes->known false with the reason, and the call still succeeds
 * (only allocation failure fails it). With MIG_DEVNODES_CREATE, missing capability nodes are
 * made with the mode of their /proc/driver/nvidia/capabilities/.../access file; a refused
 * mknod fails the call (MIG_E_PERMISSION) after the nodes made so far. Read again, it
 * replaces what an earlier call filled.
 */
int mig_node_read_devnodes(struct mig_ctx *ctx, struct mig_node *node, unsigned int flags, struct mig_error *err);

/* ---- CDI specs ---- */

enum mig_cdi_format {
	MIG_CDI_YAML = 0,
	MIG_CDI_JSON = 1,
};

struct mig_cdi_options {
	const char *vendor;      /* NULL: "nvidia.com" */
	const char *class_name;  /* NULL: "mig" */
	const char *driver_root; /* NULL: no driver files; else mount its user-space files read-only */
	bool no_whole_gpus;      /* leave whole GPUs ("0", "GPU-<uuid>") out */
	enum mig_cdi_format format;
	MIG_RESERVED(4);
};

/* Is this a vendor / class CDI accepts? 0, or -1 with MIG_E_INVALID saying what is accepted. */
int mig_cdi_check_kind(const char *vendor, const char *class_name, struct mig_error *err);

/* The names a container can ask for ("0:1", "MIG-<uuid>", "0", "GPU-<uuid>", "all"), in
 * spec order; *names is one malloc'd array of pointers into itself (free it once). */
int mig_cdi_names(const struct mig_node *node, const struct mig_cdi_options *opt, char ***names, size_t *n,
		  struct mig_error *err);

/* The spec's text (malloc'd, NUL-terminated) for a node whose devnodes were read and known. */
int mig_cdi_spec(const struct mig_node *node, const struct mig_cdi_options *opt, char **text, size_t *len,
		 struct mig_error *err);

/* The lowest cdiVersion a spec with these device names needs ("0.3.0" or "0.5.0"). */
const char *mig_cdi_min_version(const char *const *names, size_t n);

/* Does an output path name the spec file itself (it ends in ".yaml" or ".json"), rather than
 * the directory to write "<vendor>-<class>.yaml" (".json") in? */
bool mig_cdi_path_is_file(const char *path);

/*
 * Write text atomically to path: a temporary file in the same directory, mode 0644, then
 * rename. A path that is not a file (mig_cdi_path_is_file) is a directory, and the file is
 * "<dir>/<vendor>-<class>.yaml" (".json"), with vendor and class from opt. A missing final
 * directory is created (0755).
 * Refused, with nothing written: a directory that is a symbolic link owned by another user
 * than the caller and root, a directory others can write without the sticky bit, a
 * directory the caller cannot write (MIG_E_PERMISSION). The path written goes to written
 * (when given).
 */
int mig_cdi_write(const char *path, const struct mig_cdi_options *opt, const char *text, size_t len, char *written,
		  size_t written_len, struct mig_error *err);

/* ---- the consumers kept current: /etc/migctl/migctl.conf ---- */

#define MIG_SETTINGS_PATH "/etc/migctl/migctl.conf"

struct mig_settings {
	bool cdi;                   /* cdi = yes: keep a CDI spec current */
	char cdi_output[4096];      /* cdi-output: file or directory; default /var/run/cdi */
	char cdi_vendor[128];       /* cdi-vendor; default nvidia.com */
	char cdi_class[128];        /* cdi-class; default mig */
	enum mig_cdi_format cdi_format; /* cdi-format = yaml | json */
	char cdi_driver_root[4096]; /* cdi-driver-root; empty: none */
	bool cdi_mknod;             /* cdi-mknod = yes: create missing capability nodes */
	bool nvidia_ctk;            /* nvidia-ctk = yes: also run nvidia-ctk cdi generate */
	char nvidia_ctk_path[4096]; /* nvidia-ctk-path; default /usr/bin/nvidia-ctk */
	char nvidia_ctk_output[4096]; /* nvidia-ctk-output; default /var/run/cdi/nvidia.yaml */
	/* issue 14: slurm-gres = PATH: keep Slurm's gres.conf at PATH current (migctl slurm gres);
	 * empty: not. The library only parses it; migctl writes the file. */
	char slurm_gres[4096];
	/* issue 12: leases (struct mig_lease_options takes them) */
	unsigned int lease_max_per_user; /* lease-max-per-user; 0 (default): no limit */
	char lease_pool[512];            /* lease-pool: profiles kept warm on release, "all"; "" (none) */
	unsigned int lease_pool_max;     /* lease-pool-max; 0: no limit */
	double lease_pool_ttl;           /* lease-pool-ttl (seconds); 0: until reclaimed */
	bool lease_enable_mig;           /* lease-enable-mig = yes: leases may enable MIG mode on idle GPUs */
	MIG_RESERVED(8);
};

/* Defaults: nothing kept current. */
void mig_settings_init(struct mig_settings *s);
/* Parse the configuration file's text (format in migctl.conf(5)); errors say
 * file:line:column, what was wrong and what is accepted (MIG_E_INVALID). */
int mig_settings_parse(const char *text, size_t len, const char *file, struct mig_settings *out,
		       struct mig_error *err);

/* What mig_consumers_refresh did. */
struct mig_refresh_result {
	bool cdi_written;   /* the spec changed and was rewritten */
	bool cdi_current;   /* the spec on disk was already current */
	char cdi_path[4096];
	bool ctk_ran;       /* nvidia-ctk cdi generate ran and succeeded */
	bool ctk_missing;   /* nvidia-ctk = yes but not installed: skipped */
	MIG_RESERVED(4);
};

/*
 * Bring every consumer the settings name up to date with the node (a snapshot read after a
 * change, or at start-up to repair what a crash left): the CDI spec (rewritten only when its
 * content changed; device nodes read into the node when it has none yet, created when
 * cdi-mknod) and, with nvidia-ctk = yes where it is installed, nvidia-ctk cdi generate.
 * Nothing configured: 0 and nothing done. res may be NULL.
 */
int mig_consumers_refresh(struct mig_ctx *ctx, struct mig_node *node, const struct mig_settings *settings,
			  struct mig_refresh_result *res, struct mig_error *err);
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

/* ---- leases (issue 12) ----------------------------------------------------------------
 *
 * A lease hands one MIG device (a GPU instance with its default compute instance, created for
 * the lease) to an owner until the owner releases it, dies or lets its TTL run out. The lease
 * table (state_dir/leases.json, replaced atomically) is read and written only inside a
 * transaction, under the node lock. Leases only ever destroy instances they created. Every
 * call below first reconciles the table with the node (mig_lease_reconcile).
 */
#define MIG_LEASE_ID_MAX 16
#define MIG_LEASE_NAME_MAX 64

enum mig_lease_state {
	MIG_LEASE_CREATING = 0, /* its instance is being created (found at reconcile: a crash) */
	MIG_LEASE_ACTIVE,       /* held by its owner */
	MIG_LEASE_POOLED,       /* released and kept warm for the next request of its profile */
	MIG_LEASE_DRAINING,     /* ended, but processes still run on it: destroyed once idle */
};

/* A stable lower-case name of a state ("active", "pooled", ...). */
const char *mig_lease_state_name(enum mig_lease_state s);

struct mig_lease {
	char id[MIG_LEASE_ID_MAX];
	enum mig_lease_state state;
	long owner_pid;                /* 0: none (a named lease with a TTL) */
	unsigned long long owner_start; /* the owner's start time, /proc/PID/stat field 22 */
	char name[MIG_LEASE_NAME_MAX]; /* "" unless named */
	double ttl;                    /* seconds; 0: none */
	unsigned int uid;              /* who asked */
	char mig_uuid[MIG_UUID_MAX];
	char gpu_uuid[MIG_UUID_MAX];
	unsigned int gpu; /* NVML index */
	unsigned int gi_id, ci_id;
	char profile[MIG_PROFILE_MAX];
	struct mig_placement at;
	double created, expires; /* seconds since the epoch; expires 0: never */
	char cdi[MIG_UUID_MAX + 16]; /* "nvidia.com/mig=MIG-..." */
	char env[MIG_UUID_MAX + 24]; /* "CUDA_VISIBLE_DEVICES=MIG-..." */
	bool reused;  /* acquire: served from the pool (or a renewal), nothing created */
	bool renewed; /* acquire: an existing lease of that name had its TTL renewed */
	bool destroyed; /* release: its instance was destroyed (else state says pooled or draining) */
	/* The device nodes a process opens to use the MIG device, as mig_node_read_devnodes reads
	 * them under the context's root (paths as the host names them). Filled by
	 * mig_lease_acquire, mig_lease_renew, mig_lease_list (every entry whose instance is on the
	 * node) and mig_lease_release (the nodes it had: revoke them); not kept in the table. */
	bool devnodes_known; /* false: devnodes is all zero and devnodes_error says why (no
			      * /proc/driver/nvidia-caps/mig-minors under the root, the GPU's minor
			      * number unknown, no nvidia-caps line in /proc/devices, ...) */
	char devnodes_error[MIG_ERROR_MSG_MAX];
	struct mig_ci_devnodes devnodes; /* /dev/nvidia<minor> and its GPU and compute instance
					  * capability nodes /dev/nvidia-caps/nvidia-cap<N> */
	/* The control nodes every CUDA process opens besides: /dev/nvidiactl, and with the
	 * nvidia-uvm module /dev/nvidia-uvm and /dev/nvidia-uvm-tools. Shared by every MIG device
	 * of the node (never revoke them on release); filled whenever devnodes is, known or not. */
	struct mig_devnode control[3];
	size_t ncontrol;
	MIG_RESERVED(8);
};

/* Policy the caller chooses (migctl reads it from migctl.conf). */
struct mig_lease_options {
	size_t size;            /* sizeof(struct mig_lease_options) */
	const char *path;       /* the lease table; NULL: the transaction's state_dir/leases.json */
	unsigned int max_per_user; /* live leases per uid (root too); 0: no limit */
	const char *pool;       /* profiles kept warm on release: a comma list, "all"; NULL or "": none */
	unsigned int pool_max;  /* pooled instances at most; 0: no limit */
	double pool_ttl;        /* seconds a pooled instance stays; 0: until reclaimed */
	double now;             /* the clock (seconds since the epoch); 0: the system clock */
	/* Let a lease enable MIG mode when no GPU with MIG enabled can take it: only on an idle
	 * GPU (no processes), in the lease's own plan; a change left pending (reset required, GPU
	 * in use) fails the lease with MIG_E_PENDING and nothing leased. Read only when size
	 * covers it; false: MIG mode is never changed. */
	bool enable_mig;
};

/* What to lease: a profile (as mig_gpu_find_profile takes it), or a need (the smallest
 * profile that has it, larger ones when it does not fit). */
struct mig_lease_request {
	size_t size;
	const char *profile;
	unsigned long long min_memory_mib;
	unsigned int min_slices;
	bool media;          /* needs a decoder (NVDEC) */
	const char *gpus;    /* a selector (mig_select_gpus) or NULL: every GPU */
	const char *model;   /* a part of the GPU's name ("A100"), or NULL */
	long owner_pid;      /* the owner process; 0 with a name and TTL */
	const char *name;    /* a named lease (renewed by asking again with the same name) */
	double ttl;          /* seconds; 0: none (an owner process is then needed) */
	unsigned int uid;    /* the requester */
};

/* What a reconcile found and did. */
struct mig_lease_report {
	size_t ended;     /* leases whose owner died or whose TTL ran out */
	size_t destroyed; /* instances destroyed */
	size_t pooled;    /* ended leases put in the pool */
	size_t orphans;   /* entries of requests killed before their instance was recorded: dropped
			   * (the transaction's journal undid their create at mig_txn_begin) */
	size_t vanished;  /* leases whose instance is gone (someone else destroyed it) */
	size_t draining;  /* ended, still in use: kept until idle */
	char vanished_ids[256]; /* their ids, comma-separated */
	MIG_RESERVED(4);
};

/* End the leases of dead owners and expired TTLs, destroy (or pool) their instances, drop the
 * entries of killed requests (whose half-made instances the transaction undid) and of leases
 * whose instance vanished. A corrupt table is
 * MIG_E_IO and nothing is destroyed. rep may be NULL. */
int mig_lease_reconcile(struct mig_txn *txn, const struct mig_lease_options *o, struct mig_lease_report *rep,
			struct mig_error *err);
/* Lease one MIG device (reconciles first). MIG_E_NO_CAPACITY / MIG_E_FRAGMENTED as
 * mig_place_one (after trying the pool), MIG_E_PERMISSION over the per-user limit,
 * MIG_E_NOT_FOUND when no GPU with MIG enabled has such a profile. MIG mode is changed only
 * with o->enable_mig, and then only on an idle GPU: MIG_E_BUSY when the GPUs with MIG
 * disabled have processes, MIG_E_PENDING when the enable waits for a reset (nothing leased). */
int mig_lease_acquire(struct mig_txn *txn, const struct mig_lease_options *o, const struct mig_lease_request *req,
		      struct mig_lease *out, struct mig_error *err);
/* Release lease id as user uid (root: any lease; others: their own, else MIG_E_PERMISSION).
 * Its instance is pooled, destroyed, or left draining while processes run (out says which). */
int mig_lease_release(struct mig_txn *txn, const struct mig_lease_options *o, const char *id, unsigned int uid,
		      struct mig_lease *out, struct mig_error *err);
/* Renew lease id as user uid (root: any lease; others: their own, else MIG_E_PERMISSION): it now
 * expires ttl seconds from now (ttl 0: its own TTL again). A lease with no TTL (owned by a
 * process) gets one when ttl > 0 (it then ends at the TTL or with its owner, whichever comes
 * first); with ttl 0 it is MIG_E_INVALID. MIG_E_NOT_FOUND when no live lease has that id. */
int mig_lease_renew(struct mig_txn *txn, const struct mig_lease_options *o, const char *id, unsigned int uid,
		    double ttl, struct mig_lease *out, struct mig_error *err);
/* Every entry of the table after a reconcile (leases, pooled and draining instances), malloc'd. */
int mig_lease_list(struct mig_txn *txn, const struct mig_lease_options *o, struct mig_lease **out, size_t *n,
		   struct mig_lease_report *rep, struct mig_error *err);
/* Mark the compute instances of live leases in the transaction's node (mig_ci.leased), so that
 * a plan made from it never destroys them. Reads the table only (no reconcile). */
int mig_lease_mark_held(struct mig_txn *txn, const struct mig_lease_options *o, struct mig_error *err);

struct mig_capacity {
	unsigned int gpu; /* NVML index */
	char profile[MIG_PROFILE_MAX];
	unsigned int now;       /* more instances of it that fit now */
	unsigned int reclaimed; /* that would fit with the pooled instances destroyed */
	MIG_RESERVED(4);
};
/* Per MIG-enabled GPU and profile (after a reconcile), malloc'd. */
int mig_lease_capacity(struct mig_txn *txn, const struct mig_lease_options *o, struct mig_capacity **out, size_t *n,
		       struct mig_error *err);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
