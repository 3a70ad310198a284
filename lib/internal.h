/* SPDX-License-Identifier: MIT */
/* libmig internals shared between its source files; not installed. */
#ifndef MIG_INTERNAL_H
#define MIG_INTERNAL_H

#include "../include/mig.h"

/* Fill err (if any) and return -1, so callers can `return mig_error_set(...)`. */
int mig_error_set(struct mig_error *err, enum mig_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
