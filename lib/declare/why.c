/* SPDX-License-Identifier: MIT */
/*
 * Why GPU instances do not fit on a GPU, in the words of the rule they break: a profile's
 * instance limit ("8 asked, at most 7 fit"), the media-engine rules of +me.all, or the room
 * left for one profile. Pure: reads the GPU and the profiles, no NVML.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static void add(char *buf, size_t len, size_t *used, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	if (*used >= len)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n;
	if (*used >= len)
		*used = len - 1;
}

static const struct mig_gi_profile *profile_of(const struct mig_gpu *g, unsigned int id)
{
	for (size_t k = 0; k < g->nprofiles; k++)
		if (g->profiles[k].id == id)
			return &g->profiles[k];
	return NULL;
}

size_t mig_format_profile_list(const struct mig_gi_profile *const *want, size_t n, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		size_t count = 0;
		for (size_t j = 0; j < n; j++) {
			seen |= j < i && want[j]->id == want[i]->id;
			count += want[j]->id == want[i]->id;
		}
		if (seen)
			continue;
		if (count > 1)
			add(buf, len, &used, "%s%zu x %s", used ? ", " : "", count, want[i]->name);
		else
			add(buf, len, &used, "%s%s", used ? ", " : "", want[i]->name);
	}
	return used;
}

size_t mig_explain_unfit(const struct mig_gpu *g, const struct mig_gi_profile *const *want, size_t n, char *buf,
			 size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	if (len == 0)
		return 0;
	/* 1. a profile's own limit: instance_count per GPU, counting those already there */
	for (size_t i = 0; i < n; i++) {
		const struct mig_gi_profile *p = want[i];
		size_t asked = 0, have = 0;
		bool seen = false;
		for (size_t j = 0; j < n; j++) {
			seen |= j < i && want[j]->id == p->id;
			asked += want[j]->id == p->id;
		}
		for (size_t k = 0; k < g->ngis; k++)
			have += g->gis[k].profile_id == p->id;
		if (seen || asked + have <= p->instance_count)
			continue;
		size_t room = have >= p->instance_count ? 0 : p->instance_count - have;
		add(buf, len, &used, "%s%s: %zu asked", used ? "; " : "", p->name, asked);
		if (have)
			add(buf, len, &used, " beside the %zu already there", have);
		add(buf, len, &used, ", at most %zu fit%s (a GPU holds at most %u %s instance%s)", room,
		    room == 1 ? "s" : "", p->instance_count, p->name, p->instance_count == 1 ? "" : "s");
	}
	if (used)
		return used;
	/* 2. +me.all takes every media engine: beside it only -me profiles */
	const char *all = NULL, *other = NULL;
	for (size_t i = 0; i < n + g->ngis; i++) {
		const struct mig_gi_profile *p = i < n ? want[i] : profile_of(g, g->gis[i - n].profile_id);
		if (!p)
			continue;
		if (p->parsed.media == MIG_MEDIA_ME_ALL && !all)
			all = p->name;
		else if (p->parsed.media != MIG_MEDIA_NO_ME && !other)
			other = p->name;
	}
	if (all && other) {
		char nome[160] = "";
		size_t nu = 0;
		for (size_t k = 0; k < g->nprofiles; k++)
			if (g->profiles[k].parsed.media == MIG_MEDIA_NO_ME)
				add(nome, sizeof(nome), &nu, "%s%s", nu ? ", " : "", g->profiles[k].name);
		add(buf, len, &used,
		    "%s takes every media engine of the GPU, so beside it only profiles without media engines (-me) fit%s%s%s; "
		    "%s has media engines",
		    all, nu ? " (" : "", nome, nu ? ")" : "", other);
		return used;
	}
	/* 3. many of one profile: how many fit beside what is there */
	bool one_profile = n > 1;
	for (size_t i = 1; i < n && one_profile; i++)
		one_profile = want[i]->id == want[0]->id;
	if (one_profile) {
		struct mig_placement at[16];
		size_t fit = 0;
		for (size_t k = n - 1; k > 0 && k <= 16 && !fit; k--)
			if (mig_place_gis(g, want, k, at, NULL) == 0)
				fit = k;
		add(buf, len, &used, "%s: %zu asked, at most %zu fit%s%s", want[0]->name, n, fit, fit == 1 ? "s" : "",
		    g->ngis ? " beside the GPU instances already there" : " (the GPU's memory slices)");
	}
	return used;
}
