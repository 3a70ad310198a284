/* SPDX-License-Identifier: MIT */
/*
 * mig-parted's v1 config format, read with libyaml's document API so that every node keeps
 * its line and column. As strict as mig-parted: unknown keys, wrong types, a missing or
 * unknown version, empty configs are errors; unlike it, a malformed device filter or profile
 * name is an error too, never silently ignored.
 *
 *   version: v1
 *   mig-configs:
 *     NAME:
 *       - devices: all | [0, 1, ...]          (extension: GPU UUIDs and PCI bus ids too)
 *         device-filter: "0x20B010DE" | [...]  (optionally ":0xSSSSVVVV")
 *         mig-enabled: true | false
 *         mig-devices: {"1g.10gb": 2, "1c.3g.20gb": 1, ...}
 *         placements: {"3g.20gb": [4]}         (extension: pin instances' start slices)
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "internal.h"

/* Entries, devices, filters, profiles and placements a config may hold, counted each time a
 * YAML alias repeats them: a few kilobytes of nested aliases would otherwise ask for
 * gigabytes. Without aliases a config needs over 400 KB to come near it. */
#define MAX_ITEMS 200000

struct parse {
	yaml_document_t doc;
	const char *file;
	struct mig_error *err;
	size_t budget; /* items left of MAX_ITEMS */
};

static int bad(struct parse *p, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(struct parse *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return mig_error_set(p->err, MIG_E_INVALID, "%s:%zu:%zu: %s", p->file, n->start_mark.line + 1,
			     n->start_mark.column + 1, msg);
}

/* Count n more items against MAX_ITEMS. */
static int spend(struct parse *p, const yaml_node_t *n, size_t items)
{
	if (items <= p->budget) {
		p->budget -= items;
		return 0;
	}
	return bad(p, n, "this config holds more than %d entries, devices and profiles once its YAML aliases are "
			 "expanded; write it with fewer aliases",
		   MAX_ITEMS);
}

static struct mig_where where_of(const yaml_node_t *n)
{
	return (struct mig_where){(unsigned int)n->start_mark.line + 1, (unsigned int)n->start_mark.column + 1};
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A plain (unquoted) scalar, where YAML reads types from the text. */
static bool plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static yaml_node_t *node(struct parse *p, int id)
{
	return yaml_document_get_node(&p->doc, id);
}

static int parse_uint(struct parse *p, const yaml_node_t *n, const char *what, unsigned long max, unsigned int *out)
{
	const char *s = scalar(n);
	char *end;
	if (!s || !plain(n) || !*s || *s == '-' || *s == '+')
		return bad(p, n, "%s must be a whole number from 0 to %lu", what, max);
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return bad(p, n, "%s must be a whole number from 0 to %lu, not '%s'", what, max, s);
	*out = (unsigned int)v;
	return 0;
}

/* YAML 1.1's booleans, as go-yaml (mig-parted) reads them: true/false, yes/no, on/off, y/n. */
static int parse_bool(struct parse *p, const yaml_node_t *n, const char *what, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"};
	const char *s = scalar(n);
	for (size_t i = 0; s && plain(n) && i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return bad(p, n, "%s must be true or false", what);
}

/* A YAML null: "~", "null", or nothing at all ("mig-devices:"). */
static bool is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);
	return s && plain(n) && (!*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
				 strcmp(s, "NULL") == 0);
}

/* "0x20B010DE" or "0x20B010DE:0x145F10DE" */
static int parse_filter(struct parse *p, const yaml_node_t *n, struct mig_device_filter *f)
{
	const char *s = scalar(n);
	char *end;
	if (!s)
		return bad(p, n, "a device-filter is a string such as \"0x20B010DE\" or \"0x20B010DE:0x145F10DE\"");
	errno = 0;
	unsigned long dev = strtoul(s, &end, 16);
	if (strncasecmp(s, "0x", 2) != 0 || errno || end == s + 2 || dev > 0xFFFFFFFFul || (*end && *end != ':'))
		goto fail;
	f->device_id = (unsigned int)dev;
	f->has_subsystem = false;
	if (*end == ':') {
		const char *sub = end + 1;
		unsigned long v = strtoul(sub, &end, 16);
		if (strncasecmp(sub, "0x", 2) != 0 || errno || end == sub + 2 || v > 0xFFFFFFFFul || *end)
			goto fail;
		f->subsystem_id = (unsigned int)v;
		f->has_subsystem = true;
	}
	return 0;
fail:
	return bad(p, n, "'%s' is not a device filter; write the PCI ids as \"0xDDDDVVVV\" (device, vendor), "
			 "optionally \":0xSSSSVVVV\" (subsystem), e.g. \"0x20B010DE\"",
		   s);
}

/* "00000000:07:00.0", "0000:07:00.0" or "07:00.0" */
static bool looks_like_bus_id(const char *s)
{
	unsigned int a, b, d, f;
	char tail;
	return sscanf(s, "%x:%x:%x.%x%c", &a, &b, &d, &f, &tail) == 4 || sscanf(s, "%x:%x.%x%c", &b, &d, &f, &tail) == 3;
}

static int parse_devices(struct parse *p, const yaml_node_t *n, struct mig_config_entry *e)
{
	const char *s = scalar(n);
	if (s) {
		if (strcmp(s, "all") == 0) {
			e->all_devices = true;
			return 0;
		}
		return bad(p, n, "devices must be \"all\" or a list of GPU indices (or GPU UUIDs or PCI bus ids), not '%s'",
			   s);
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return bad(p, n, "devices must be \"all\" or a list such as [0, 1]");
	size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count == 0)
		return bad(p, n, "devices is an empty list; name at least one GPU, or write \"all\"");
	if (spend(p, n, count))
		return -1;
	e->indices = calloc(count, sizeof(*e->indices));
	e->ids = calloc(count, sizeof(*e->ids));
	if (!e->indices || !e->ids)
		return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = node(p, *it);
		const char *v = scalar(item);
		if (!v)
			return bad(p, item, "each device is a GPU index, a GPU UUID or a PCI bus id");
		if (plain(item) && v[0] >= '0' && v[0] <= '9' && !strchr(v, ':')) {
			if (parse_uint(p, item, "a GPU index", 255, &e->indices[e->nindices]))
				return -1;
			e->nindices++;
		} else if ((strncasecmp(v, "GPU-", 4) == 0 && strlen(v) == 40) || looks_like_bus_id(v)) {
			e->ids[e->nids] = strdup(v);
			if (!e->ids[e->nids++])
				return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
		} else {
			return bad(p, item, "'%s' is not a GPU index, GPU UUID (GPU-...) or PCI bus id (00000000:07:00.0)", v);
		}
	}
	return 0;
}

static int parse_profiles(struct parse *p, const yaml_node_t *n, struct mig_config_entry *e)
{
	if (n->type != YAML_MAPPING_NODE)
		return bad(p, n, "mig-devices must be a mapping of profile name to count, e.g. {\"1g.10gb\": 7}");
	size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (spend(p, n, count))
		return -1;
	e->profiles = calloc(count ? count : 1, sizeof(*e->profiles));
	if (!e->profiles)
		return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
	bool any = false;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
		const char *name = scalar(k);
		struct mig_config_profile *cp = &e->profiles[e->nprofiles];
		struct mig_error perr;
		if (!name || mig_profile_name_parse(name, &cp->parsed, &perr))
			return bad(p, k, "%s", name ? perr.msg : "a profile name must be a string such as \"1g.10gb\"");
		for (size_t i = 0; i < e->nprofiles; i++) {
			/* the same canonical name (compared without formatting: aliases repeat this loop) */
			if (e->profiles[i].parsed.compute_slices == cp->parsed.compute_slices &&
			    mig_profile_name_same_gi(&e->profiles[i].parsed, &cp->parsed) &&
			    mig_profile_name_is_compute(name) == mig_profile_name_is_compute(e->profiles[i].name))
				return bad(p, k, "'%s' is the same profile as '%s' above; give it once", name, e->profiles[i].name);
		}
		snprintf(cp->name, sizeof(cp->name), "%s", name);
		cp->where = where_of(k);
		if (parse_uint(p, v, "a profile count", 64, &cp->count))
			return -1;
		any |= cp->count > 0;
		e->nprofiles++;
	}
	if (e->nprofiles > 0 && !any)
		return bad(p, n, "every count in mig-devices is 0; write mig-devices: {} for no instances");
	return 0;
}

static int parse_placements(struct parse *p, const yaml_node_t *n, struct mig_config_entry *e)
{
	if (n->type != YAML_MAPPING_NODE)
		return bad(p, n, "placements must map profile names to lists of start slices, e.g. {\"3g.20gb\": [4]}");
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
		const char *name = scalar(k);
		struct mig_profile_name want;
		struct mig_config_profile *cp = NULL;
		if (!name || mig_profile_name_parse(name, &want, NULL))
			return bad(p, k, "placements: '%s' is not a profile name", name ? name : "");
		for (size_t i = 0; i < e->nprofiles && !cp; i++)
			if (e->profiles[i].parsed.compute_slices == want.compute_slices &&
			    mig_profile_name_is_compute(e->profiles[i].name) == mig_profile_name_is_compute(name) &&
			    mig_profile_name_same_gi(&e->profiles[i].parsed, &want))
				cp = &e->profiles[i];
		if (!cp)
			return bad(p, k, "placements names '%s', which mig-devices does not ask for", name);
		if (mig_profile_name_is_compute(name))
			return bad(p, k, "placements pin GPU instances; '%s' names compute instances", name);
		if (cp->starts)
			return bad(p, k, "the placements of '%s' are given twice", name);
		if (v->type != YAML_SEQUENCE_NODE)
			return bad(p, v, "the placements of '%s' are a list of start slices, e.g. [0, 4]", name);
		size_t count = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
		if (spend(p, v, count + 1))
			return -1;
		if (count != cp->count)
			return bad(p, v, "'%s' has %u instance%s in mig-devices but %zu placement%s here; give one start per "
					 "instance",
				   name, cp->count, cp->count == 1 ? "" : "s", count, count == 1 ? "" : "s");
		cp->starts = calloc(count ? count : 1, sizeof(*cp->starts));
		if (!cp->starts)
			return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++)
			if (parse_uint(p, node(p, *it), "a placement start", 64, &cp->starts[cp->nstarts++]))
				return -1;
	}
	return 0;
}

static int parse_entry(struct parse *p, const yaml_node_t *n, struct mig_config_entry *e)
{
	const yaml_node_t *devices = NULL, *enabled = NULL, *profiles = NULL, *filters = NULL, *placements = NULL;
	if (n->type != YAML_MAPPING_NODE)
		return bad(p, n, "each entry is a mapping with devices, mig-enabled and mig-devices");
	e->where = where_of(n);
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
		const char *key = scalar(k);
		const yaml_node_t **slot = NULL;
		if (key && strcmp(key, "devices") == 0)
			slot = &devices;
		else if (key && strcmp(key, "mig-enabled") == 0)
			slot = &enabled;
		else if (key && strcmp(key, "mig-devices") == 0)
			slot = &profiles;
		else if (key && strcmp(key, "device-filter") == 0)
			slot = &filters;
		else if (key && strcmp(key, "placements") == 0)
			slot = &placements;
		else
			return bad(p, k, "unexpected field '%s'; an entry has devices, device-filter, mig-enabled, mig-devices "
					 "(and the extension placements)",
				   key ? key : "?");
		if (*slot)
			return bad(p, k, "'%s' is given twice", key);
		*slot = v;
	}
	if (!devices)
		return bad(p, n, "this entry has no 'devices' (all, or a list of GPU indices)");
	if (!enabled)
		return bad(p, n, "this entry has no 'mig-enabled' (true or false)");
	if (parse_devices(p, devices, e) || parse_bool(p, enabled, "mig-enabled", &e->mig_enabled))
		return -1;
	if (filters) {
		size_t count = filters->type == YAML_SEQUENCE_NODE
				       ? (size_t)(filters->data.sequence.items.top - filters->data.sequence.items.start)
				       : 1;
		if (spend(p, filters, count))
			return -1;
		e->filters = calloc(count ? count : 1, sizeof(*e->filters));
		if (!e->filters)
			return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
		if (filters->type == YAML_SEQUENCE_NODE) {
			if (count == 0)
				return bad(p, filters, "device-filter is an empty list; drop it or name a device id");
			for (yaml_node_item_t *it = filters->data.sequence.items.start; it < filters->data.sequence.items.top;
			     it++)
				if (parse_filter(p, node(p, *it), &e->filters[e->nfilters++]))
					return -1;
		} else if (parse_filter(p, filters, &e->filters[e->nfilters++])) {
			return -1;
		}
	}
	if (e->mig_enabled) {
		if (!profiles)
			return bad(p, n, "mig-enabled is true, so 'mig-devices' is required ({} for no instances)");
		if (parse_profiles(p, profiles, e))
			return -1;
	} else if (profiles && !is_null(profiles)) { /* null is absent, as in mig-parted */
		if (profiles->type != YAML_MAPPING_NODE || profiles->data.mapping.pairs.top != profiles->data.mapping.pairs.start)
			return bad(p, profiles, "mig-enabled is false, so mig-devices must be absent or {}");
	}
	if (placements) {
		if (!e->mig_enabled)
			return bad(p, placements, "placements need mig-enabled: true");
		if (parse_placements(p, placements, e))
			return -1;
	}
	return 0;
}

/* ---- YAML merge keys, as go-yaml (which mig-parted reads its files with) takes them ---------
 *
 * "<<: *anchor" (or "<<: [*a, *b]") in a mapping adds the pairs of the named mappings whose
 * keys the mapping does not give itself; among several, the first named wins. The document is
 * rewritten in place before it is read, so every later check sees the merged mapping. */

enum merge_state { MERGE_TODO, MERGE_BUSY, MERGE_DONE };

static bool is_merge_key(const yaml_node_t *k)
{
	return k && plain(k) && strcmp((const char *)k->data.scalar.value, "<<") == 0;
}

static bool has_key(struct parse *p, const yaml_node_t *m, const char *key)
{
	for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
		const char *k = scalar(node(p, pr->key));
		if (k && strcmp(k, key) == 0 && !is_merge_key(node(p, pr->key)))
			return true;
	}
	return false;
}

static int expand_merges(struct parse *p, int id, unsigned char *state);

/* Add to mapping id the pairs of mapping src that it lacks. */
static int merge_from(struct parse *p, int id, int src, unsigned char *state, const yaml_node_t *at)
{
	yaml_node_t *from = node(p, src);
	if (!from || from->type != YAML_MAPPING_NODE)
		return bad(p, at, "a merge key (<<) takes a mapping, usually an alias such as *defaults, or a list of them");
	if (expand_merges(p, src, state))
		return -1;
	from = node(p, src); /* appending pairs may have moved the node table */
	size_t n = (size_t)(from->data.mapping.pairs.top - from->data.mapping.pairs.start);
	if (spend(p, at, n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		yaml_node_pair_t pair = node(p, src)->data.mapping.pairs.start[i];
		const char *key = scalar(node(p, pair.key));
		if (key && has_key(p, node(p, id), key))
			continue;
		if (!yaml_document_append_mapping_pair(&p->doc, id, pair.key, pair.value))
			return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
	}
	return 0;
}

static int expand_merges(struct parse *p, int id, unsigned char *state)
{
	yaml_node_t *n = node(p, id);
	if (!n || state[id] == MERGE_DONE)
		return 0;
	if (state[id] == MERGE_BUSY)
		return bad(p, n, "this mapping merges itself (<< refers to a mapping that contains it)");
	state[id] = MERGE_BUSY;
	if (n->type == YAML_SEQUENCE_NODE) {
		size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
		for (size_t i = 0; i < count; i++)
			if (expand_merges(p, node(p, id)->data.sequence.items.start[i], state))
				return -1;
	} else if (n->type == YAML_MAPPING_NODE) {
		/* take the merge pairs out first: explicit keys, wherever they stand, win */
		int merges[16];
		size_t nmerges = 0, kept = 0;
		size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
		for (size_t i = 0; i < count; i++) {
			yaml_node_pair_t pr = n->data.mapping.pairs.start[i];
			if (!is_merge_key(node(p, pr.key))) {
				n->data.mapping.pairs.start[kept++] = pr;
				continue;
			}
			if (nmerges == sizeof(merges) / sizeof(merges[0]))
				return bad(p, node(p, pr.key), "more than 16 merge keys (<<) in one mapping");
			merges[nmerges++] = pr.value;
		}
		n->data.mapping.pairs.top = n->data.mapping.pairs.start + kept;
		for (size_t i = 0; i < kept; i++)
			if (expand_merges(p, node(p, id)->data.mapping.pairs.start[i].value, state))
				return -1;
		for (size_t m = 0; m < nmerges; m++) {
			yaml_node_t *v = node(p, merges[m]);
			if (v && v->type == YAML_SEQUENCE_NODE) {
				size_t items = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
				for (size_t i = 0; i < items; i++) {
					int src = node(p, merges[m])->data.sequence.items.start[i];
					if (merge_from(p, id, src, state, node(p, merges[m])))
						return -1;
				}
			} else if (merge_from(p, id, merges[m], state, v ? v : n)) {
				return -1;
			}
		}
	}
	state[id] = MERGE_DONE;
	return 0;
}

static int resolve_merges(struct parse *p)
{
	size_t nnodes = (size_t)(p->doc.nodes.top - p->doc.nodes.start);
	if (!yaml_document_get_root_node(&p->doc))
		return 0;
	unsigned char *state = calloc(nnodes + 1, 1);
	if (!state)
		return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
	int r = expand_merges(p, 1, state);
	free(state);
	return r;
}

static int parse_root(struct parse *p, struct mig_config *c)
{
	yaml_node_t *root = yaml_document_get_root_node(&p->doc);
	const yaml_node_t *version = NULL, *configs = NULL;

	if (!root)
		return mig_error_set(p->err, MIG_E_INVALID, "%s: the file is empty; it needs 'version: v1' and 'mig-configs'",
				     p->file);
	if (root->type != YAML_MAPPING_NODE)
		return bad(p, root, "the top level must be a mapping with version and mig-configs");
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
		const char *key = scalar(k);
		if (key && ((strcmp(key, "version") == 0 && version) || (strcmp(key, "mig-configs") == 0 && configs)))
			return bad(p, k, "'%s' is given twice", key);
		if (key && strcmp(key, "version") == 0)
			version = v;
		else if (key && strcmp(key, "mig-configs") == 0)
			configs = v;
		else
			return bad(p, k, "unexpected field '%s' at the top level; expected version and mig-configs",
				   key ? key : "?");
	}
	if (!version)
		return bad(p, root, "missing 'version: v1'");
	if (!scalar(version) || strcmp(scalar(version), "v1") != 0)
		return bad(p, version, "unknown version '%s'; this tool reads version v1",
			   scalar(version) ? scalar(version) : "?");
	if (!configs)
		return bad(p, root, "missing 'mig-configs' (a mapping of config names to lists of entries)");
	if (configs->type != YAML_MAPPING_NODE)
		return bad(p, configs, "mig-configs must be a mapping of config names to lists of entries");
	size_t n = (size_t)(configs->data.mapping.pairs.top - configs->data.mapping.pairs.start);
	if (n == 0)
		return bad(p, configs, "mig-configs is empty; define at least one config");
	c->sets = calloc(n, sizeof(*c->sets));
	if (!c->sets)
		return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
	for (yaml_node_pair_t *pr = configs->data.mapping.pairs.start; pr < configs->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
		struct mig_config_set *set = &c->sets[c->nsets];
		if (!scalar(k) || !*scalar(k))
			return bad(p, k, "a config name must be a non-empty string");
		for (size_t i = 0; i < c->nsets; i++)
			if (strcmp(c->sets[i].name, scalar(k)) == 0)
				return bad(p, k, "config '%s' is defined twice", scalar(k));
		set->name = strdup(scalar(k));
		if (!set->name)
			return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
		set->where = where_of(k);
		c->nsets++;
		if (v->type != YAML_SEQUENCE_NODE)
			return bad(p, v, "config '%s' must be a list of entries", set->name);
		size_t m = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
		if (m == 0)
			return bad(p, v, "config '%s' has no entries", set->name);
		if (spend(p, v, m))
			return -1;
		set->entries = calloc(m, sizeof(*set->entries));
		if (!set->entries)
			return mig_error_set(p->err, MIG_E_NOMEM, "out of memory");
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			if (parse_entry(p, node(p, *it), &set->entries[set->nentries++]))
				return -1;
		}
	}
	return 0;
}

int mig_config_parse(const char *text, size_t len, const char *file, struct mig_config **out, struct mig_error *err)
{
	yaml_parser_t parser;
	struct parse p = {.file = file ? file : "<config>", .err = err, .budget = MAX_ITEMS};
	struct mig_config *c = calloc(1, sizeof(*c));
	int ret = -1;

	if (!c)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	c->file = strdup(p.file);
	if (!c->file || !yaml_parser_initialize(&parser)) {
		mig_config_free(c);
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &p.doc)) {
		mig_error_set(err, MIG_E_INVALID, "%s:%zu:%zu: %s%s%s", p.file, parser.problem_mark.line + 1,
			      parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML syntax error",
			      parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		mig_config_free(c);
		return -1;
	}
	ret = resolve_merges(&p);
	if (ret == 0)
		ret = parse_root(&p, c);
	if (ret == 0) {
		yaml_document_t next;
		if (!yaml_parser_load(&parser, &next)) {
			ret = mig_error_set(err, MIG_E_INVALID, "%s:%zu:%zu: %s", p.file, parser.problem_mark.line + 1,
					    parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML syntax error");
		} else {
			yaml_node_t *extra = yaml_document_get_root_node(&next);
			if (extra)
				ret = mig_error_set(err, MIG_E_INVALID,
						    "%s:%zu:%zu: a second YAML document; a config file holds one (merge them "
						    "under one mig-configs)",
						    p.file, extra->start_mark.line + 1, extra->start_mark.column + 1);
			yaml_document_delete(&next);
		}
	}
	yaml_document_delete(&p.doc);
	yaml_parser_delete(&parser);
	if (ret) {
		mig_config_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

static int load_stream(FILE *f, bool stdin_, const char *path, struct mig_config **out, struct mig_error *err);

int mig_config_load(const char *path, struct mig_config **out, struct mig_error *err)
{
	bool stdin_ = strcmp(path, "-") == 0;
	FILE *f = stdin_ ? stdin : fopen(path, "r");
	if (!f)
		return mig_error_set(err, MIG_E_NOT_FOUND, "cannot open config file %s: %s", path, strerror(errno));
	return load_stream(f, stdin_, path, out, err);
}

int mig_config_load_fd(int fd, const char *name, struct mig_config **out, struct mig_error *err)
{
	int mine = dup(fd);
	FILE *f = mine >= 0 ? fdopen(mine, "r") : NULL;
	if (!f) {
		if (mine >= 0)
			close(mine);
		return mig_error_set(err, MIG_E_NOT_FOUND, "cannot read config file %s: %s", name, strerror(errno));
	}
	return load_stream(f, false, name, out, err);
}

/* Read f to the end (closing it unless it is standard input) and parse it. */
static int load_stream(FILE *f, bool stdin_, const char *path, struct mig_config **out, struct mig_error *err)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
		if (len == cap) {
			if (cap >= (16u << 20)) {
				free(buf);
				if (!stdin_)
					fclose(f);
				return mig_error_set(err, MIG_E_INVALID, "config file %s is larger than 16 MiB", path);
			}
			char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	bool failed = ferror(f);
	if (!stdin_)
		fclose(f);
	if (!buf)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	if (failed) {
		free(buf);
		return mig_error_set(err, MIG_E_INVALID, "cannot read config file %s", path);
	}
	int r = mig_config_parse(buf, len, stdin_ ? "<stdin>" : path, out, err);
	free(buf);
	return r;
}

void mig_config_free(struct mig_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nsets; i++) {
		struct mig_config_set *s = &c->sets[i];
		for (size_t k = 0; k < s->nentries; k++) {
			struct mig_config_entry *e = &s->entries[k];
			free(e->indices);
			for (size_t j = 0; j < e->nids; j++)
				free(e->ids[j]);
			free(e->ids);
			free(e->filters);
			for (size_t j = 0; j < e->nprofiles; j++)
				free(e->profiles[j].starts);
			free(e->profiles);
		}
		free(s->entries);
		free(s->name);
	}
	free(c->sets);
	free(c->file);
	free(c);
}

const struct mig_config_set *mig_config_find(const struct mig_config *c, const char *name, struct mig_error *err)
{
	char list[512] = "";
	size_t used = 0;
	for (size_t i = 0; i < c->nsets; i++) {
		if (name && strcmp(c->sets[i].name, name) == 0)
			return &c->sets[i];
		if (used < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", c->sets[i].name);
	}
	if (!name && c->nsets == 1)
		return &c->sets[0];
	if (!name)
		mig_error_set(err, MIG_E_INVALID, "%s defines %zu configs; choose one with -c: %s", c->file, c->nsets, list);
	else
		mig_error_set(err, MIG_E_NOT_FOUND, "%s has no config '%s'; it defines: %s", c->file, name, list);
	return NULL;
}
