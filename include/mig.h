/* SPDX-License-Identifier: MIT */
/*
 * libmig: NVIDIA MIG management over NVML.
 *
 * Conventions: every fallible function takes a `struct mig_error *` (which may be NULL)
 * and returns 0 on success or -1 on failure with the error filled in. The library never
 * prints and never exits.
 */
#ifndef MIG_H
#define MIG_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MIG_VERSION_MAJOR 0
#define MIG_VERSION_MINOR 1

/* ---- errors ---------------------------------------------------------------- */

enum mig_status {
	MIG_OK = 0,
	MIG_E_NVML,      /* an NVML call failed; mig_error.nvml holds its nvmlReturn_t */
	MIG_E_LIBRARY,   /* libnvidia-ml.so.1 could not be loaded */
	MIG_E_INVALID,   /* bad input: a profile name, a selector, an argument */
	MIG_E_NOT_FOUND, /* nothing matches (a GPU selector, a profile on this GPU) */
	MIG_E_NOMEM,
};

#define MIG_ERROR_MSG_MAX 512

struct mig_error {
	enum mig_status status;
	int nvml; /* the NVML return code when status is MIG_E_NVML, else 0 */
	char msg[MIG_ERROR_MSG_MAX];
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
};

int mig_profile_name_parse(const char *text, struct mig_profile_name *out, struct mig_error *err);

/* Canonical spelling ("1c.3g.20gb", never the "MIG " prefix); the length it needed, as snprintf. */
int mig_profile_name_format(const struct mig_profile_name *p, char *buf, size_t len);

/* Same GPU-instance profile (compute part ignored)? */
bool mig_profile_name_same_gi(const struct mig_profile_name *a, const struct mig_profile_name *b);

#ifdef __cplusplus
}
#endif
#endif
