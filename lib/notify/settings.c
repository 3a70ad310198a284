/* SPDX-License-Identifier: MIT */
/*
 * migctl.conf: which consumers migctl keeps current. Lines "key = value"; '#' starts a
 * comment (at the start of a line or after blanks); blank lines are ignored; a key may
 * appear once. The grammar and every key are in migctl.conf(5).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void mig_settings_init(struct mig_settings *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->cdi_output, sizeof(s->cdi_output), "/var/run/cdi");
	snprintf(s->cdi_vendor, sizeof(s->cdi_vendor), "nvidia.com");
	snprintf(s->cdi_class, sizeof(s->cdi_class), "mig");
	s->cdi_format = MIG_CDI_YAML;
	snprintf(s->nvidia_ctk_path, sizeof(s->nvidia_ctk_path), "/usr/bin/nvidia-ctk");
	snprintf(s->nvidia_ctk_output, sizeof(s->nvidia_ctk_output), "/var/run/cdi/nvidia.yaml");
}

enum kind { K_BOOL, K_PATH, K_NAME, K_FORMAT, K_UINT, K_SECONDS, K_LIST };

struct key {
	const char *name;
	enum kind kind;
	size_t off;
	size_t size;
};

#define KEY(n, k, field) {n, k, offsetof(struct mig_settings, field), sizeof(((struct mig_settings *)0)->field)}
static const struct key keys[] = {
	KEY("cdi", K_BOOL, cdi),
	KEY("cdi-output", K_PATH, cdi_output),
	KEY("cdi-vendor", K_NAME, cdi_vendor),
	KEY("cdi-class", K_NAME, cdi_class),
	KEY("cdi-format", K_FORMAT, cdi_format),
	KEY("cdi-driver-root", K_PATH, cdi_driver_root),
	KEY("cdi-mknod", K_BOOL, cdi_mknod),
	KEY("nvidia-ctk", K_BOOL, nvidia_ctk),
	KEY("nvidia-ctk-path", K_PATH, nvidia_ctk_path),
	KEY("nvidia-ctk-output", K_PATH, nvidia_ctk_output),
	KEY("slurm-gres", K_PATH, slurm_gres),
	KEY("lease-max-per-user", K_UINT, lease_max_per_user),
	KEY("lease-pool", K_LIST, lease_pool),
	KEY("lease-pool-max", K_UINT, lease_pool_max),
	KEY("lease-pool-ttl", K_SECONDS, lease_pool_ttl),
	KEY("lease-enable-mig", K_BOOL, lease_enable_mig),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *key_list(void)
{
	return "cdi, cdi-output, cdi-vendor, cdi-class, cdi-format, cdi-driver-root, cdi-mknod, nvidia-ctk, "
	       "nvidia-ctk-path, nvidia-ctk-output, slurm-gres, lease-max-per-user, lease-pool, lease-pool-max, lease-pool-ttl, "
	       "lease-enable-mig";
}

int mig_settings_parse(const char *text, size_t len, const char *file, struct mig_settings *out,
		       struct mig_error *err)
{
	struct mig_settings s;
	bool seen[NKEYS] = {false};
	unsigned int line = 0;
	size_t pos = 0;

	mig_settings_init(&s);
	if (!file)
		file = "migctl.conf";
	while (pos < len) {
		line++;
		size_t start = pos;
		while (pos < len && text[pos] != '\n')
			pos++;
		size_t end = pos;
		if (pos < len)
			pos++;
		const char *nul = memchr(text + start, '\0', end - start);
		if (nul)
			return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: a NUL byte; the file must be text", file, line,
					     (unsigned int)(nul - (text + start) + 1));
		size_t i = start;
		while (i < end && (text[i] == ' ' || text[i] == '\t'))
			i++;
		if (i == end || text[i] == '#' || (text[i] == '\r' && i + 1 == end))
			continue;
		size_t kstart = i;
		while (i < end && (isalnum((unsigned char)text[i]) || text[i] == '-' || text[i] == '_'))
			i++;
		size_t klen = i - kstart;
		unsigned int kcol = (unsigned int)(kstart - start + 1);
		while (i < end && (text[i] == ' ' || text[i] == '\t'))
			i++;
		if (klen == 0 || i == end || text[i] != '=')
			return mig_error_set(err, MIG_E_INVALID,
					     "%s:%u:%u: expected 'key = value' (keys: %s); '#' starts a comment", file, line,
					     (unsigned int)(i - start + 1), key_list());
		i++;
		while (i < end && (text[i] == ' ' || text[i] == '\t'))
			i++;
		size_t vstart = i, vend = end;
		/* a comment after the value needs a blank before '#' */
		for (size_t k = vstart; k < end; k++)
			if (text[k] == '#' && k > vstart && (text[k - 1] == ' ' || text[k - 1] == '\t')) {
				vend = k;
				break;
			}
		while (vend > vstart && isspace((unsigned char)text[vend - 1]))
			vend--;
		unsigned int vcol = (unsigned int)(vstart - start + 1);
		char value[4096];
		if (vend - vstart >= sizeof(value))
			return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: value too long (at most %zu bytes)", file, line,
					     vcol, sizeof(value) - 1);
		memcpy(value, text + vstart, vend - vstart);
		value[vend - vstart] = '\0';

		const struct key *k = NULL;
		size_t ki = 0;
		for (; ki < NKEYS; ki++)
			if (strlen(keys[ki].name) == klen && strncmp(keys[ki].name, text + kstart, klen) == 0) {
				k = &keys[ki];
				break;
			}
		if (!k)
			return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: unknown key '%.*s'; the keys are: %s", file, line,
					     kcol, (int)klen, text + kstart, key_list());
		if (seen[ki])
			return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: '%s' is set twice; keep one line", file, line,
					     kcol, k->name);
		seen[ki] = true;
		char *field = (char *)&s + k->off;
		switch (k->kind) {
		case K_BOOL:
			if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0)
				*(bool *)field = true;
			else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
				*(bool *)field = false;
			else
				return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: %s = '%s': expected yes or no", file, line,
						     vcol, k->name, value);
			break;
		case K_FORMAT:
			if (strcmp(value, "yaml") == 0)
				s.cdi_format = MIG_CDI_YAML;
			else if (strcmp(value, "json") == 0)
				s.cdi_format = MIG_CDI_JSON;
			else
				return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: cdi-format = '%s': expected yaml or json",
						     file, line, vcol, value);
			break;
		case K_UINT:
		case K_SECONDS: {
			char *vend_p;
			errno = 0;
			double v = strtod(value, &vend_p);
			if (errno || vend_p == value || *vend_p || !(v >= 0) || v > 1e9 ||
			    (k->kind == K_UINT && (v != (double)(unsigned int)v)))
				return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: %s = '%s': expected %s", file, line, vcol,
						     k->name, value,
						     k->kind == K_UINT ? "a whole number (0: no limit)" : "seconds (0: none)");
			if (k->kind == K_UINT)
				*(unsigned int *)(void *)field = (unsigned int)v;
			else
				*(double *)(void *)field = v;
			break;
		}
		case K_LIST:
			if (strlen(value) >= k->size)
				return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: %s is too long (at most %zu bytes)", file,
						     line, vcol, k->name, k->size - 1);
			for (const char *q = value; *q; q++)
				if (!isalnum((unsigned char)*q) && !strchr(".,+-", *q))
					return mig_error_set(err, MIG_E_INVALID,
							     "%s:%u:%u: %s = '%s': expected profiles separated by commas "
							     "(1g.10gb,2g.20gb), all or none",
							     file, line, vcol, k->name, value);
			snprintf(field, k->size, "%s", strcmp(value, "none") == 0 ? "" : value);
			break;
		case K_PATH:
		case K_NAME:
			if (k->kind == K_PATH && value[0] != '/' && value[0] != '\0')
				return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: %s = '%s': expected an absolute path", file,
						     line, vcol, k->name, value);
			if (value[0] == '\0')
				return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: %s has no value", file, line, vcol, k->name);
			if (strlen(value) >= k->size)
				return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: %s is too long (at most %zu bytes)", file,
						     line, vcol, k->name, k->size - 1);
			snprintf(field, k->size, "%s", value);
			break;
		}
		if (strcmp(k->name, "cdi-vendor") == 0 || strcmp(k->name, "cdi-class") == 0) {
			struct mig_error e;
			mig_error_reset(&e);
			if (mig_cdi_check_kind(strcmp(k->name, "cdi-vendor") == 0 ? value : NULL,
					       strcmp(k->name, "cdi-class") == 0 ? value : NULL, &e))
				return mig_error_set(err, MIG_E_INVALID, "%s:%u:%u: %s", file, line, vcol, e.msg);
		}
	}
	*out = s;
	return 0;
}
