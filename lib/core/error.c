/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void mig_error_reset(struct mig_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

int mig_error_set(struct mig_error *err, enum mig_status status, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->status = status;
	err->nvml = 0;
	err->change = false;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

const char *mig_status_name(enum mig_status status)
{
	static const char *const names[] = {
		[MIG_OK] = "ok",
		[MIG_E_NVML] = "nvml",
		[MIG_E_LIBRARY] = "library",
		[MIG_E_INVALID] = "invalid",
		[MIG_E_NOT_FOUND] = "not_found",
		[MIG_E_NOMEM] = "no_memory",
		[MIG_E_PENDING] = "pending",
		[MIG_E_PERMISSION] = "permission",
		[MIG_E_BUSY] = "busy",
		[MIG_E_LOCKED] = "locked",
		[MIG_E_CHANGED] = "changed",
		[MIG_E_NO_CAPACITY] = "no_capacity",
		[MIG_E_FRAGMENTED] = "fragmented",
		[MIG_E_UNSUPPORTED] = "unsupported",
		[MIG_E_HOOK] = "hook",
		[MIG_E_IO] = "io",
	};
	if ((unsigned int)status < sizeof(names) / sizeof(names[0]) && names[status])
		return names[status];
	return "unknown";
}

int mig_check_reserved(const uint64_t *words, size_t n, const char *what, struct mig_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (words[i])
			return mig_error_set(err, MIG_E_UNSUPPORTED,
					     "%s sets a field this libmig %s does not know (reserved word %zu is not "
					     "zero): the program was built against a newer <mig.h>, or did not "
					     "zero-initialise the struct",
					     what, mig_version(), i);
	return 0;
}
