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
