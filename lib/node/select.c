/* SPDX-License-Identifier: MIT */
/* Choosing GPUs by selector, and GPU-instance profiles by name or id. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* "00000000:07:00.0", "0000:07:00.0" and "07:00.0" name the same device. */
bool mig_parse_bus_id(const char *s, unsigned int *domain, unsigned int *bus, unsigned int *dev,
			 unsigned int *fn)
{
	char tail;
	if (sscanf(s, "%x:%x:%x.%x%c", domain, bus, dev, fn, &tail) == 4)
		return true;
	*domain = 0;
	return sscanf(s, "%x:%x.%x%c", bus, dev, fn, &tail) == 3;
}

static int select_one(const struct mig_node *node, const char *item, bool *selected, struct mig_error *err)
{
	char *end;
	unsigned long idx = strtoul(item, &end, 10);

	if (isdigit((unsigned char)item[0]) && *end == '\0') {
		if (idx >= node->ngpus)
			return mig_error_set(err, MIG_E_NOT_FOUND, "no GPU %s: this node has %zu GPU%s (0-%zu)", item,
					     node->ngpus, node->ngpus == 1 ? "" : "s", node->ngpus ? node->ngpus - 1 : 0);
		selected[idx] = true;
		return 0;
	}
	for (size_t i = 0; i < node->ngpus; i++) {
		if (strcasecmp(node->gpus[i].uuid, item) == 0) {
			selected[i] = true;
			return 0;
		}
	}
	unsigned int d, b, v, f;
	if (mig_parse_bus_id(item, &d, &b, &v, &f)) {
		for (size_t i = 0; i < node->ngpus; i++) {
			unsigned int gd, gb, gv, gf;
			if (mig_parse_bus_id(node->gpus[i].pci_bus_id, &gd, &gb, &gv, &gf) && gd == d && gb == b && gv == v &&
			    gf == f) {
				selected[i] = true;
				return 0;
			}
		}
		return mig_error_set(err, MIG_E_NOT_FOUND, "no GPU at PCI bus id %s", item);
	}
	if (strncasecmp(item, "GPU-", 4) == 0 || strncasecmp(item, "MIG-", 4) == 0)
		return mig_error_set(err, MIG_E_NOT_FOUND, "no GPU has UUID %s", item);
	return mig_error_set(err, MIG_E_INVALID,
			     "'%s' is not a GPU selector; use an index (0), a list (0,2), all, a GPU UUID or a PCI bus "
			     "id (00000000:07:00.0)",
			     item);
}

int mig_select_gpus(const struct mig_node *node, const char *selector, bool *selected, struct mig_error *err)
{
	memset(selected, 0, node->ngpus * sizeof(*selected));
	if (!selector || !*selector)
		return mig_error_set(err, MIG_E_INVALID, "empty GPU selector");
	if (strcasecmp(selector, "all") == 0) {
		for (size_t i = 0; i < node->ngpus; i++)
			selected[i] = true;
		return 0;
	}
	char *copy = strdup(selector), *rest = copy;
	if (!copy)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	int ret = 0;
	for (char *item = strsep(&rest, ","); item && ret == 0; item = strsep(&rest, ","))
		ret = *item ? select_one(node, item, selected, err)
			    : mig_error_set(err, MIG_E_INVALID, "empty item in GPU selector '%s'", selector);
	free(copy);
	return ret;
}

/* How far b is from what a asks for; lower is nearer. */
static unsigned int distance(const struct mig_profile_name *a, const struct mig_profile_name *b)
{
	unsigned int d = 0;
	d += 1000 * (a->gi_slices > b->gi_slices ? a->gi_slices - b->gi_slices : b->gi_slices - a->gi_slices);
	d += a->memory_gb > b->memory_gb ? a->memory_gb - b->memory_gb : b->memory_gb - a->memory_gb;
	d += a->media == b->media ? 0 : 500;
	return d;
}

const struct mig_gi_profile *mig_gpu_find_profile(const struct mig_gpu *gpu, const char *text, struct mig_error *err)
{
	struct mig_profile_name want;
	struct mig_error perr;
	char list[512] = "";
	size_t used = 0;

	if (gpu->nprofiles == 0) {
		mig_error_set(err, MIG_E_NOT_FOUND, "GPU %u (%s) has no MIG profiles%s", gpu->index, gpu->name,
			      gpu->mode_current == MIG_MODE_UNSUPPORTED ? ": it does not support MIG" : "");
		return NULL;
	}
	char *end;
	unsigned long id = strtoul(text, &end, 10);
	bool numeric = isdigit((unsigned char)text[0]) && *end == '\0';
	bool parsed = !numeric && mig_profile_name_parse(text, &want, &perr) == 0;

	const struct mig_gi_profile *nearest = NULL;
	for (size_t i = 0; i < gpu->nprofiles; i++) {
		const struct mig_gi_profile *p = &gpu->profiles[i];
		if (numeric && p->id == id)
			return p;
		if (parsed && want.compute_slices == 0 && mig_profile_name_same_gi(&p->parsed, &want))
			return p;
		if (parsed && (!nearest || distance(&want, &p->parsed) < distance(&want, &nearest->parsed)))
			nearest = p;
		if (used < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s (%u)", i ? ", " : "", p->name, p->id);
	}
	if (!numeric && !parsed) {
		mig_error_set(err, MIG_E_INVALID, "%s; the profiles of GPU %u (%s) are: %s", perr.msg, gpu->index,
			      gpu->name, list);
	} else if (parsed && want.compute_slices) {
		mig_error_set(err, MIG_E_INVALID,
			      "'%s' names a compute instance profile; give the GPU instance profile (%ug.%ugb) here",
			      text, want.gi_slices, want.memory_gb);
	} else if (nearest) {
		mig_error_set(err, MIG_E_NOT_FOUND,
			      "GPU %u (%s) has no profile '%s'; did you mean %s? Its profiles (ID): %s", gpu->index,
			      gpu->name, text, nearest->name, list);
	} else {
		mig_error_set(err, MIG_E_NOT_FOUND, "GPU %u (%s) has no profile with ID %s; its profiles (ID): %s",
			      gpu->index, gpu->name, text, list);
	}
	return NULL;
}
