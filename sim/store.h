/* SPDX-License-Identifier: MIT */
/*
 * The state file every process using the simulator shares.
 *
 * Readers take no lock: a writer never changes the file in place but writes a new one
 * and renames it over the old, so a reader sees one whole state or the next. Writers
 * serialise on an exclusive flock of "<state>.lock" around read-modify-write. A process
 * killed at any instant leaves either the old or the new file, never a torn one.
 */
#ifndef MIGSIM_STORE_H
#define MIGSIM_STORE_H

#include <limits.h>
#include <stdbool.h>

#include "state.h"

struct sim_store {
	char path[PATH_MAX];
	char lock_path[PATH_MAX];
	char root[PATH_MAX]; /* the simulated /proc and /dev: $MIGSIM_ROOT, else "<path>.root" */
	int lock_fd;        /* -1 until first needed */
	bool locked;
	bool loaded;
	char *text;         /* the file as last read or written, to skip re-parsing */
	size_t text_len;
	struct sim_state st;
};

/* The state path: $MIGSIM_STATE, else $XDG_RUNTIME_DIR/migsim/state.json, else
 * /tmp/migsim-<uid>/state.json. The directory is created private (0700) and refused if
 * it is a symlink, not ours, or writable by others. */
int sim_store_default_path(char *out, size_t len, char *err, size_t errlen);

int sim_store_open(struct sim_store *s, const char *path, char *err, size_t errlen);
void sim_store_close(struct sim_store *s);

/* Bring s->st up to date with the file. A missing file is created from $MIGSIM_GPUS
 * (default SIM_DEFAULT_GPUS); a corrupt or foreign one is an error, never reset. */
int sim_store_load(struct sim_store *s, char *err, size_t errlen);

/* Exclusive lock for read-modify-write; load after locking. */
int sim_store_lock(struct sim_store *s, char *err, size_t errlen);
void sim_store_unlock(struct sim_store *s);

/* Write s->st (generation bumped) atomically. Needs the lock. */
int sim_store_save(struct sim_store *s, char *err, size_t errlen);

bool sim_store_exists(const struct sim_store *s);

/* Write the simulated /proc files under s->root from s->st (sim/procfs.h). sim_store_save
 * does it after every save; sim_store_load does it when the root has no mig-minors yet. */
int sim_store_sync_root(const struct sim_store *s, char *err, size_t errlen);

#endif
