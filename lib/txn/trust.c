/* SPDX-License-Identifier: MIT */
/* Files that decide what root does (configs, hooks) must be root's own when root reads them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

int mig_check_trusted_fd(const char *kind, const char *why, const char *path, int fd, struct mig_error *err)
{
	struct stat sb;
	mig_error_reset(err);
	if (fstat(fd, &sb) != 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot inspect %s %.300s: %s", kind, path, strerror(errno));
		err->status = MIG_E_INVALID;
		return -1;
	}
	if (geteuid() == 0 && (sb.st_uid != 0 || (sb.st_mode & 022))) {
		snprintf(err->msg, sizeof(err->msg),
			 "refusing %s %.100s: running as root, it must be owned by root and writable by no one else, "
			 "as %s (it is owned by uid %u, mode %03o); fix with: chown root %.100s && chmod go-w %.100s",
			 kind, path, why, (unsigned int)sb.st_uid, (unsigned int)(sb.st_mode & 0777), path, path);
		err->status = MIG_E_PERMISSION;
		return -1;
	}
	return 0;
}
