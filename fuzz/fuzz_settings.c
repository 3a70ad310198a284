/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: migctl.conf (lib/notify/settings.c). An accepted input gives settings whose
 * strings are terminated, paths absolute and CDI kind valid; a rejected one says why, with
 * file:line:column, and leaves the output untouched.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mig.h"

static int has_position(const char *msg)
{
	unsigned int line, col;
	int used = 0;
	return sscanf(msg, "<fuzz>:%u:%u: %n", &line, &col, &used) == 2 && used > 0 && msg[used] && line > 0 && col > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mig_settings s, before;
	struct mig_error err;
	memset(&s, 0x5a, sizeof(s));
	before = s;
	mig_error_reset(&err);
	if (mig_settings_parse((const char *)data, size, "<fuzz>", &s, &err)) {
		if (err.status != MIG_E_INVALID || !has_position(err.msg)) {
			fprintf(stderr, "settings error without file:line:column: %s\n", err.msg);
			abort();
		}
		if (memcmp(&s, &before, sizeof(s)) != 0)
			abort();
		return 0;
	}
	if (!memchr(s.cdi_output, '\0', sizeof(s.cdi_output)) || s.cdi_output[0] != '/' ||
	    !memchr(s.nvidia_ctk_path, '\0', sizeof(s.nvidia_ctk_path)) || s.nvidia_ctk_path[0] != '/' ||
	    !memchr(s.cdi_driver_root, '\0', sizeof(s.cdi_driver_root)) ||
	    (s.cdi_driver_root[0] && s.cdi_driver_root[0] != '/') || mig_cdi_check_kind(s.cdi_vendor, s.cdi_class, NULL))
		abort();
	return 0;
}
