/* SPDX-License-Identifier: MIT */
#include "internal.h"

#define MIG_STR_(x) #x
#define MIG_STR(x) MIG_STR_(x)

const char *mig_version(void)
{
	return MIG_STR(MIG_VERSION_MAJOR) "." MIG_STR(MIG_VERSION_MINOR) "." MIG_STR(MIG_VERSION_PATCH);
}
