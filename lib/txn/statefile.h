/* SPDX-License-Identifier: MIT */
/* The node lock and the journal's file (txn/statefile.c). */
#ifndef MIG_TXN_STATEFILE_H
#define MIG_TXN_STATEFILE_H

#include <limits.h>

#include "internal.h"

struct mig_kept_file {
	char path[PATH_MAX]; /* as shown in messages */
	int dirfd;
	char name[NAME_MAX + 1];
};

/* Open the directory of a kept file: explicit_path when given, else state_dir/name. noun names
 * it in errors ("the journal"). */
int mig_kept_open(struct mig_kept_file *k, const char *explicit_path, const char *state_dir, const char *name,
		  const char *noun, struct mig_error *err);
void mig_kept_close(struct mig_kept_file *k);
/* A file found at the name (fd open on it, or -1 to look by name) must be a plain file of
 * this user with one link; a missing one is fine when looked up by name. */
int mig_kept_check_file(const struct mig_kept_file *k, int fd, const char *noun, struct mig_error *err);
/* Replace the file atomically (temporary file in the same directory, then rename), mode 0600;
 * -1 with errno. */
int mig_kept_replace(const struct mig_kept_file *k, const char *text, size_t len);
/* The whole file, NUL-terminated (caller frees), or NULL. */
char *mig_kept_read(const struct mig_kept_file *k);

/* Take the node lock, waiting up to timeout seconds; waiting() is told once who holds it. */
int mig_lock_take(const char *path_opt, const char *state_dir, double timeout,
		  void (*waiting)(long holder_pid, void *arg), void *arg, int *fd_out, struct mig_error *err);
void mig_lock_release(int fd);

#endif
