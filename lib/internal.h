/* SPDX-License-Identifier: MIT */
/* libmig internals shared between its source files; not installed. */
#ifndef MIG_INTERNAL_H
#define MIG_INTERNAL_H

#include <stdatomic.h>

#include "../include/mig.h"
#include "../nvml/nvml_abi.h"

/* NVML, loaded with dlopen. A symbol the driver lacks is NULL (after the fallbacks in
 * nvml.c); callers report it as "not supported by this driver". */
struct mig_nvml {
	void *dl;
	char path[4096];
#define MIG_NVML_FIELD(name, params) name##_fn *name;
	MIG_NVML_FUNCTIONS(MIG_NVML_FIELD)
#undef MIG_NVML_FIELD
	nvmlErrorString_fn *nvmlErrorString;
	/* the simulator's explanation of its own failures (not in NVIDIA's library) */
	nvmlReturn_t (*migsimGetLastError)(char *buf, unsigned int len);
	/* the simulator's own answer to "may this caller change MIG configuration?" (1 yes, 0 no) */
	nvmlReturn_t (*migsimCallerIsPrivileged)(unsigned int *privileged);
};

/* A context is not for concurrent use from several threads (libmig(3)); its call counter is
 * atomic all the same, so that a reader in another thread (a progress display) sees a whole
 * value and concurrent callers that break the rule do not lose counts. */
struct mig_ctx {
	struct mig_nvml *nvml;
	atomic_ulong calls;
	char driver_version[96];
	struct {
		mig_change_fn fn;
		void *arg;
	} on_change[8]; /* after-change callbacks (txn/txn.c) */
	size_t non_change;
	char *root; /* issue 11: mig_ctx_set_root (lib/node/devnodes.c); NULL: "/" or the simulator's */
};

/* Call NVML function fn through ctx, counting it; a symbol the driver lacks answers
 * NVML_ERROR_FUNCTION_NOT_FOUND. */
#define NVML_CALL(ctx, fn, ...) \
	(atomic_fetch_add_explicit(&(ctx)->calls, 1, memory_order_relaxed), \
	 (ctx)->nvml->fn ? (ctx)->nvml->fn(__VA_ARGS__) : NVML_ERROR_FUNCTION_NOT_FOUND)

/* path: NULL or "" means "libnvidia-ml.so.1" (found by dlopen's search). */
int mig_nvml_open(struct mig_nvml **out, const char *path, struct mig_error *err);
void mig_nvml_close(struct mig_nvml *nvml);

/* Fill err from an NVML failure: status MIG_E_NVML, the code, "<what>: <nvmlErrorString>". */
int mig_nvml_error(struct mig_error *err, const struct mig_nvml *nvml, nvmlReturn_t rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A struct a program filled for the library has its reserved words zero (mig.h, ABI): a
 * word set means a field this library is too old to know, refused rather than ignored.
 * 0, or -1 with MIG_E_UNSUPPORTED naming the struct. */
#define MIG_CHECK_RESERVED(s, what, err) \
	mig_check_reserved((s)->mig_reserved_, sizeof((s)->mig_reserved_) / sizeof(uint64_t), what, err)
int mig_check_reserved(const uint64_t *words, size_t n, const char *what, struct mig_error *err);

/* Write all of buf (EINTR retried): 0, or -1 with errno (core/io.c). */
int mig_write_all(int fd, const void *buf, size_t len);
/* Read fd to its end into a malloc'd, NUL-terminated buffer of at most max bytes: 0, or -1
 * with errno (EFBIG past max). len may be NULL. fd stays open. */
int mig_read_all(int fd, size_t max, char **text, size_t *len);

/* Fill err (if any) and return -1, so callers can `return mig_error_set(...)`. */
int mig_error_set(struct mig_error *err, enum mig_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- the operations the executor runs (exec/ops.c): GPUs by NVML index ---- */

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
/* The default ("-C") compute instance profile of a GPU instance whose profile has gi_slices
 * compute slices: the full-size one with the most SMs. */
int mig_gi_default_ci_profile(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, unsigned int gi_slices,
			      unsigned int *ci_profile_id, struct mig_error *err);
int mig_ci_destroy(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, unsigned int ci_id,
		   struct mig_error *err);
/* How many compute instances GPU instance gi_id of GPU gpu has now. */
int mig_gi_count_cis(struct mig_ctx *ctx, unsigned int gpu, unsigned int gi_id, unsigned int *count,
		     struct mig_error *err);


/* ---- the executor (exec/exec.c) ---- */
/* What mig_plan_apply tells its caller as it goes; every member may be NULL. */
struct mig_apply_events {
	/* after each operation that succeeded */
	void (*progress)(const struct mig_op *op, size_t index, unsigned int new_id, void *arg);
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
int mig_plan_apply(struct mig_ctx *ctx, const struct mig_plan *plan, size_t *done, enum mig_pending *pending,
		   const struct mig_apply_events *events, struct mig_error *err);


/* After operation failed of plan failed (or a run stopped there), leave no GPU instance
 * without compute instances: ok[i] says operation i was done, ids[i] the id it created. A
 * note says what was undone. */
void mig_exec_roll_back(struct mig_ctx *ctx, const struct mig_plan *plan, size_t failed, const bool *ok,
			const unsigned int *ids, char *note, size_t len);

/* All or nothing: destroy what operations before failed created, newest first. */
void mig_exec_undo_creates(struct mig_ctx *ctx, const struct mig_plan *plan, size_t failed, bool *ok,
			   const unsigned int *ids, char *note, size_t len);

/* ---- the transaction's insides, for the stages built on it (lib/lease) ---- */
/* The node read under the lock, to mark (mig_ci.leased) before planning; replaced by execute. */
struct mig_node *mig_txn_node_mut(struct mig_txn *t);
/* The context the transaction reads the node through (for mig_node_read_devnodes on it). */
struct mig_ctx *mig_txn_ctx(struct mig_txn *t);
/* Run fn once, in the next mig_txn_execute that succeeds, after the node was re-read and checked
 * and before the journal is dropped: what fn records (a lease) is then never lost while the
 * change stands. fn failing fails the execute and keeps the journal, so the next
 * mig_txn_begin undoes an all-or-nothing plan. */
void mig_txn_on_commit(struct mig_txn *t, int (*fn)(struct mig_txn *t, void *arg, struct mig_error *err), void *arg);
/* The plan of the interrupted change whose journal mig_txn_begin found (after its repair), or
 * NULL: no change completed since it, so what it may have made is known by this plan. */
const struct mig_plan *mig_txn_interrupted_plan(const struct mig_txn *t);
/* The state directory the transaction keeps its lock and journal in (NULL: /run/migctl). */
const char *mig_txn_state_dir(const struct mig_txn *t);

/* ---- plans (plan/build.c, plan/plan_json.c) ---- */
/* The plan as a JSON value (jansson), for the journal. */
struct json_t;
struct json_t *mig_plan_json(const struct mig_plan *plan);
/* The GPU's layout in words, with instance ids: equal texts, unchanged GPU. */
void mig_gpu_layout_text(const struct mig_gpu *g, char *buf, size_t len);
/* Does GPU after look as plan's operations make GPU before? 0, or -1 with why. */
int mig_plan_check_result(const struct mig_plan *plan, const struct mig_gpu *before, const struct mig_gpu *after,
			  char *why, size_t len);
/* The plan's entry for g, added (with g's layout now) when new; NULL when out of memory. */
struct mig_gpu_plan *mig_plan_note_gpu(struct mig_plan *plan, const struct mig_gpu *g);
/* Append a zeroed operation on g (cap: the ops array's capacity); NULL when out of memory. */
struct mig_op *mig_plan_push(struct mig_plan *plan, size_t *cap, enum mig_op_kind kind, const struct mig_gpu *g);
/* The CI profile id of the default ("-C") compute instance of a GPU instance of profile p of g;
 * existing: such a GPU instance when there is one (its own table answers), else NULL. */
unsigned int mig_default_ci_profile(const struct mig_gpu *g, const struct mig_gi_profile *p, const struct mig_gi *existing);
/* A PCI bus id in any of NVML's spellings ("00000000:07:00.0", "0000:07:00.0", "07:00.0"). */
bool mig_parse_bus_id(const char *s, unsigned int *domain, unsigned int *bus, unsigned int *dev, unsigned int *fn);

/* NVML's compute-instance profile index of a compute instance of this many slices. */
unsigned int mig_ci_profile_for_slices(unsigned int slices);

#endif
