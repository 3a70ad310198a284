/* SPDX-License-Identifier: MIT */
/* Parsing and printing MIG profile names ("1c.3g.20gb", "1g.24gb+me.all", ...). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

static const struct {
	const char *suffix;
	enum mig_media media;
} suffixes[] = {
	/* longest first, so "+me.all" is not read as "+me" */
	{"+me.all", MIG_MEDIA_ME_ALL},
	{"+me", MIG_MEDIA_ME},
	{"-me", MIG_MEDIA_NO_ME},
	{"+gfx", MIG_MEDIA_GFX},
};

/* Reads a decimal count of 1 to 999 followed by `unit`; advances *p past both. */
static bool read_count(const char **p, const char *unit, unsigned int *out)
{
	const char *s = *p;
	unsigned int v = 0;
	size_t digits = 0;

	while (digits < 4 && isdigit((unsigned char)s[digits]))
		v = v * 10 + (unsigned int)(s[digits++] - '0');
	if (digits == 0 || digits > 3 || v == 0 || s[0] == '0')
		return false;
	size_t ulen = strlen(unit);
	if (strncasecmp(s + digits, unit, ulen) != 0)
		return false;
	*out = v;
	*p = s + digits + ulen;
	return true;
}

int mig_profile_name_parse(const char *text, struct mig_profile_name *out, struct mig_error *err)
{
	struct mig_profile_name p = {.media = MIG_MEDIA_DEFAULT};
	const char *s = text;

	if (!text || !*text)
		return mig_error_set(err, MIG_E_INVALID, "empty profile name; expected e.g. 1g.10gb or 1c.3g.20gb");
	if (strncasecmp(s, "MIG ", 4) == 0)
		s += 4;

	const char *after_c = s;
	if (read_count(&after_c, "c.", &p.compute_slices))
		s = after_c;
	if (!read_count(&s, "g.", &p.gi_slices) || !read_count(&s, "gb", &p.memory_gb))
		return mig_error_set(err, MIG_E_INVALID,
				     "'%s' is not a MIG profile name; expected [<c>c.]<g>g.<mem>gb[+me|+me.all|-me|+gfx], "
				     "e.g. 1g.10gb, 1g.10gb+me or 1c.3g.20gb",
				     text);
	if (*s) {
		bool known = false;
		for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]) && !known; i++) {
			if (strcasecmp(s, suffixes[i].suffix) == 0) {
				p.media = suffixes[i].media;
				known = true;
			}
		}
		if (!known)
			return mig_error_set(err, MIG_E_INVALID,
					     "'%s' has an unknown suffix '%s'; accepted: +me, +me.all, -me, +gfx", text, s);
	}
	if (p.compute_slices > p.gi_slices)
		return mig_error_set(err, MIG_E_INVALID,
				     "'%s' asks for a %uc compute instance inside a %ug GPU instance; a compute "
				     "instance cannot be larger than its GPU instance",
				     text, p.compute_slices, p.gi_slices);
	if (p.compute_slices == p.gi_slices)
		p.compute_slices = 0; /* "3c.3g.20gb" is the full compute instance: same as "3g.20gb" */
	if (out)
		*out = p;
	return 0;
}

int mig_profile_name_format(const struct mig_profile_name *p, char *buf, size_t len)
{
	const char *suffix = "";
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (suffixes[i].media == p->media)
			suffix = suffixes[i].suffix;
	if (p->compute_slices && p->compute_slices != p->gi_slices)
		return snprintf(buf, len, "%uc.%ug.%ugb%s", p->compute_slices, p->gi_slices, p->memory_gb, suffix);
	return snprintf(buf, len, "%ug.%ugb%s", p->gi_slices, p->memory_gb, suffix);
}

bool mig_profile_name_same_gi(const struct mig_profile_name *a, const struct mig_profile_name *b)
{
	return a->gi_slices == b->gi_slices && a->memory_gb == b->memory_gb && a->media == b->media;
}

bool mig_profile_name_is_compute(const char *text)
{
	/* in any case, as mig_profile_name_parse reads names */
	if (strncasecmp(text, "MIG ", 4) == 0)
		text += 4;
	if (*text < '0' || *text > '9')
		return false;
	while (*text >= '0' && *text <= '9')
		text++;
	return (text[0] == 'c' || text[0] == 'C') && text[1] == '.';
}
