/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: profile names (lib/node/profile_name.c), every spelling. A name that parses must
 * format to a canonical name that parses to the same thing and formats the same again, and
 * parse the same in upper and lower case and with NVML's "MIG " prefix (and name a compute
 * instance, mig_profile_name_is_compute, in every case when it has a "<c>c." part); a name that does
 * not must say why. Each name is also looked up on a GPU of every simulated model
 * (lib/node/select.c), which must find it or say why.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_node.h"

static int same(const struct mig_profile_name *a, const struct mig_profile_name *b)
{
	return a->compute_slices == b->compute_slices && a->gi_slices == b->gi_slices &&
	       a->memory_gb == b->memory_gb && a->media == b->media;
}

static void check_parses_as(const char *text, const struct mig_profile_name *want)
{
	struct mig_profile_name again;
	if (mig_profile_name_parse(text, &again, NULL) || !same(&again, want)) {
		fprintf(stderr, "'%s' does not parse back to the same profile\n", text);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[256];
	struct mig_profile_name p;
	struct mig_error err;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fake_node();

	mig_error_reset(&err);
	if (mig_profile_name_parse(text, &p, &err)) {
		if (err.status != MIG_E_INVALID || !err.msg[0])
			abort();
	} else {
		char canon[MIG_PROFILE_MAX], canon2[MIG_PROFILE_MAX], buf[300];
		if (!p.gi_slices || !p.memory_gb || p.compute_slices >= p.gi_slices)
			abort();
		int n = mig_profile_name_format(&p, canon, sizeof(canon));
		if (n <= 0 || (size_t)n >= sizeof(canon) || strlen(canon) != (size_t)n)
			abort();
		check_parses_as(canon, &p);
		struct mig_profile_name q;
		mig_profile_name_parse(canon, &q, NULL);
		mig_profile_name_format(&q, canon2, sizeof(canon2));
		if (strcmp(canon, canon2) != 0 || !mig_profile_name_same_gi(&p, &q))
			abort();
		snprintf(buf, sizeof(buf), "MIG %s", canon);
		check_parses_as(buf, &p);
		/* a name with a compute part ("1c.") names a compute instance, whatever its case */
		bool compute = mig_profile_name_is_compute(text);
		if (p.compute_slices && !compute) {
			fprintf(stderr, "'%s' has a compute part but is not a compute instance name\n", text);
			abort();
		}
		for (size_t i = 0; i <= size; i++)
			buf[i] = (char)toupper((unsigned char)text[i]);
		check_parses_as(buf, &p);
		if (mig_profile_name_is_compute(buf) != compute) {
			fprintf(stderr, "'%s' and '%s' disagree on naming a compute instance\n", text, buf);
			abort();
		}
		for (size_t i = 0; i <= size; i++)
			buf[i] = (char)tolower((unsigned char)text[i]);
		check_parses_as(buf, &p);
		if (mig_profile_name_is_compute(buf) != compute) {
			fprintf(stderr, "'%s' and '%s' disagree on naming a compute instance\n", text, buf);
			abort();
		}
		/* too small a buffer: truncated, terminated, same length reported */
		char small[4];
		if (mig_profile_name_format(&p, small, sizeof(small)) != n || strlen(small) != sizeof(small) - 1 ||
		    strncmp(small, canon, sizeof(small) - 1) != 0)
			abort();
	}

	for (size_t i = 0; i < fake.node.ngpus; i++) {
		const struct mig_gpu *g = &fake.node.gpus[i];
		mig_error_reset(&err);
		const struct mig_gi_profile *found = mig_gpu_find_profile(g, text, &err);
		if (!found && !err.msg[0])
			abort();
		if (found && (found < g->profiles || found >= g->profiles + g->nprofiles))
			abort();
	}
	return 0;
}
