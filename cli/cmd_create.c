/* SPDX-License-Identifier: MIT */
/*
 * create and create-ci. Everything is checked on every selected GPU before anything is
 * created (profiles exist, MIG is on, the set fits), placements come from the solver, and
 * a failure half way is rolled back, so a command either does all it says or nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

#define MAX_ITEMS 8

struct planned {
	unsigned int gpu;
	struct mig_gi_profile profile; /* a copy: the node it came from is re-read before reporting */
	struct mig_placement at;
	unsigned int gi_id;
	bool gi_done;
	unsigned int ci_profile;
	struct mig_placement ci_at;
	unsigned int ci_id;
	bool ci_done;
};

/* The instance a created one became in the node read after the change: the GPU instance of
 * its profile at its placement, and its compute instance. */
static void find_created(const struct mig_node *node, struct planned *p, bool with_ci)
{
	for (size_t i = 0; i < node->ngpus; i++) {
		const struct mig_gpu *g = &node->gpus[i];
		for (size_t k = 0; g->index == p->gpu && k < g->ngis; k++)
			if (g->gis[k].profile_id == p->profile.id && g->gis[k].placement.start == p->at.start) {
				p->gi_id = g->gis[k].id;
				p->gi_done = true;
				p->ci_done = with_ci && g->gis[k].ncis > 0;
				p->ci_id = p->ci_done ? g->gis[k].cis[0].id : 0;
			}
	}
}

static int split_list(const char *list, char items[MAX_ITEMS][MIG_PROFILE_MAX], size_t *n)
{
	*n = 0;
	const char *s = list;
	while (true) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		if (len == 0 || len >= MIG_PROFILE_MAX || *n >= MAX_ITEMS)
			return -1;
		memcpy(items[*n], s, len);
		items[*n][len] = '\0';
		(*n)++;
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

static int mode_ready(struct cli *c, const struct mig_gpu *g)
{
	if (g->mode_current == MIG_MODE_UNSUPPORTED)
		return cli_fail(c, "%s does not support MIG; nothing was changed", cli_gpu_label(g));
	if (g->mode_current == MIG_MODE_DISABLED && g->mode_pending == MIG_MODE_ENABLED)
		return cli_fail(c,
				"MIG mode enable is pending on %s: stop its processes or reset the GPU, then run 'migctl mode "
				"enable -i %u'; nothing was changed",
				cli_gpu_label(g), g->index);
	if (g->mode_current != MIG_MODE_ENABLED)
		return cli_fail(c, "MIG mode is disabled on %s; enable it first: migctl mode enable -i %u; nothing was changed",
				cli_gpu_label(g), g->index);
	return 0;
}

static const struct mig_ci *find_ci(const struct mig_node *node, unsigned int gpu, unsigned int gi, unsigned int ci)
{
	const struct mig_gpu *g = &node->gpus[gpu];
	for (size_t i = 0; i < g->ngis; i++)
		for (size_t k = 0; g->gis[i].id == gi && k < g->gis[i].ncis; k++)
			if (g->gis[i].cis[k].id == ci)
				return &g->gis[i].cis[k];
	return NULL;
}

static json_t *ci_json(const struct mig_ci *ci)
{
	return json_pack("{s:I, s:s, s:I, s:o, s:s}", "id", (json_int_t)ci->id, "profile", ci->profile, "profile_id",
			 (json_int_t)ci->profile_id, "placement", cli_placement_json(ci->placement), "uuid", ci->uuid);
}

/* After success: report in JSON or in words from the node as read after the change. */
static int report_created(struct cli *c, struct planned *plan, size_t n, bool nvidia_smi_words, bool with_ci)
{
	for (size_t i = 0; i < n; i++)
		find_created(c->node, &plan[i], with_ci);
	json_t *arr = json_array();
	char devices[1024] = "";
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		const struct planned *p = &plan[i];
		const struct mig_ci *ci = p->ci_done ? find_ci(c->node, p->gpu, p->gi_id, p->ci_id) : NULL;
		json_t *o = json_pack("{s:I, s:{s:I, s:s, s:I, s:o}}", "gpu", (json_int_t)p->gpu, "gpu_instance", "id",
				      (json_int_t)p->gi_id, "profile", p->profile.name, "profile_id", (json_int_t)p->profile.id,
				      "placement", cli_placement_json(p->at));
		json_object_set_new(o, "compute_instance", ci ? ci_json(ci) : json_null());
		json_array_append_new(arr, o);
		if (c->json)
			continue;
		if (nvidia_smi_words) {
			printf("Successfully created GPU instance ID %2u on GPU %2u using profile MIG %s (ID %2u)\n", p->gi_id,
			       p->gpu, p->profile.name, p->profile.id);
		} else {
			printf("Created GPU instance %u (%s, profile ID %u) on GPU %u at placement %u:%u\n", p->gi_id,
			       p->profile.name, p->profile.id, p->gpu, p->at.start, p->at.size);
		}
	}
	for (size_t i = 0; i < n && !c->json; i++) {
		const struct planned *p = &plan[i];
		const struct mig_ci *ci = p->ci_done ? find_ci(c->node, p->gpu, p->gi_id, p->ci_id) : NULL;
		if (!ci)
			continue;
		if (nvidia_smi_words)
			printf("Successfully created compute instance ID %2u on GPU %2u GPU instance ID %2u using profile MIG %s "
			       "(ID %2u)\n",
			       ci->id, p->gpu, p->gi_id, ci->profile, ci->profile_id);
		else
			printf("Created compute instance %u (%s) in GPU instance %u on GPU %u: MIG device %s\n", ci->id,
			       ci->profile, p->gi_id, p->gpu, ci->uuid);
		if (used < sizeof(devices))
			used += (size_t)snprintf(devices + used, sizeof(devices) - used, "%s%s",
					 used ? "," : "", ci->uuid);
	}
	if (c->json) {
		json_t *doc = json_pack("{s:o}", "created", arr);
		cli_print_json(doc);
		json_decref(doc);
	} else {
		json_decref(arr);
		if (used && !nvidia_smi_words)
			printf("CUDA_VISIBLE_DEVICES=%s\n", devices);
	}
	return EXIT_OK;
}

static int create_gis(struct cli *c, struct mig_txn *txn, const char *profiles, char items[][MIG_PROFILE_MAX],
		      size_t nitems, const char *placement, unsigned long start, bool default_ci, bool nvidia_smi_words);

int cli_create_gis(struct cli *c, const char *profiles, const char *placement, bool default_ci, bool nvidia_smi_words)
{
	char items[MAX_ITEMS][MIG_PROFILE_MAX];
	size_t nitems;
	unsigned long start = 0;
	struct mig_txn *txn;
	struct mig_error err;

	if (split_list(profiles, items, &nitems))
		return cli_usage("'%s' is not a list of profiles: give up to %d, separated by commas (e.g. 3g.20gb,2g.10gb "
				 "or 9,14)",
				 profiles, MAX_ITEMS);
	if (placement) {
		char *end;
		start = strtoul(placement, &end, 10);
		if (!*placement || *end || start > 64)
			return cli_usage("--placement takes the start slice of a placement, e.g. --placement 4 (got '%s')",
					 placement);
		if (nitems != 1)
			return cli_usage("--placement applies to one profile; for several, migctl finds placements itself");
	}
	c->read_flags |= MIG_READ_CAPACITY; /* the solver needs every placement */
	if (cli_txn_begin(c, MIG_ADMIN_INSTANCES, 60, NULL, NULL, &txn))
		return EXIT_FAIL;
	int ret = create_gis(c, txn, profiles, items, nitems, placement, start, default_ci, nvidia_smi_words);
	if (cli_txn_end(c, txn, ret == EXIT_OK, &err))
		ret = cli_fail_err(c, &err);
	return ret;
}

/* Under the node lock: check everything on every selected GPU, plan, execute, report. */
static int create_gis(struct cli *c, struct mig_txn *txn, const char *profiles, char items[][MIG_PROFILE_MAX],
		      size_t nitems, const char *placement, unsigned long start, bool default_ci, bool nvidia_smi_words)
{
	struct planned plan[MAX_ITEMS * 16];
	size_t nplan = 0;
	struct mig_error err;
	struct mig_plan *ops = NULL;

	for (size_t gi = 0; gi < c->node->ngpus; gi++) {
		const struct mig_gpu *g = &c->node->gpus[gi];
		const struct mig_gi_profile *want[MAX_ITEMS];
		struct mig_placement at[MAX_ITEMS];
		if (!c->selected[gi])
			continue;
		if (mode_ready(c, g))
			return EXIT_FAIL;
		for (size_t k = 0; k < nitems; k++) {
			want[k] = mig_gpu_find_profile(g, items[k], &err);
			if (!want[k])
				return cli_fail_err(c, &err);
		}
		if (placement) {
			const struct mig_gi_profile *p = want[0];
			bool listed = false;
			char starts[128] = "";
			size_t used = 0;
			for (size_t k = 0; k < p->nplacements; k++) {
				if (p->placements[k].start == start) {
					at[0] = p->placements[k];
					listed = true;
				}
				used += (size_t)snprintf(starts + used, sizeof(starts) - used, "%s%u:%u", k ? ", " : "",
							 p->placements[k].start, p->placements[k].size);
			}
			if (!listed)
				return cli_fail(c, "%s has no placement starting at %lu on %s; its placements are %s", p->name,
						start, cli_gpu_label(g), starts);
			/* the solver checks the rest (overlap, counts, media rules) for this exact spot */
			if (mig_place_gi_at(g, p, at[0], &err)) {
				char why[1024];
				cli_explain_no_room(g, p, &at[0], why, sizeof(why));
				return cli_fail(c, "no room for %s at %u:%u on %s%s; nothing was changed", p->name, at[0].start,
						at[0].size, cli_gpu_label(g), why);
			}
		} else if (mig_place_gis(g, want, nitems, at, &err)) {
			char why[1024];
			if (nitems == 1) {
				cli_explain_no_room(g, want[0], NULL, why, sizeof(why));
				return cli_fail(c, "no room for %s on %s%s; nothing was changed", want[0]->name, cli_gpu_label(g),
						why);
			}
			size_t used = 0;
			why[0] = '\0';
			for (size_t k = 0; k < g->ngis; k++)
				used += (size_t)snprintf(why + used, sizeof(why) - used, "%s GI %u (%s) at %u:%u",
							 k ? "," : "; in use:", g->gis[k].id, g->gis[k].profile,
							 g->gis[k].placement.start, g->gis[k].placement.size);
			/* the fewest instances whose destruction would make room */
			struct mig_gpu view = *g;
			struct mig_gi rest[8];
			bool found = false;
			for (size_t drop = 1; drop <= g->ngis && drop <= 8 && !found; drop++)
				for (unsigned int mask = 1; mask < (1u << g->ngis) && !found; mask++) {
					if ((size_t)__builtin_popcount(mask) != drop)
						continue;
					view.ngis = 0;
					for (size_t j = 0; j < g->ngis; j++)
						if (!(mask & (1u << j)))
							rest[view.ngis++] = g->gis[j];
					view.gis = rest;
					if (mig_place_gis(&view, want, nitems, at, NULL) == 0) {
						found = true;
						used += (size_t)snprintf(why + used, sizeof(why) - used, "; they fit after destroying");
						for (size_t j = 0, n = 0; j < g->ngis; j++)
							if (mask & (1u << j))
								used += (size_t)snprintf(why + used, sizeof(why) - used, "%s GI %u",
											 n++ ? "," : "", g->gis[j].id);
					}
				}
			char rule[400]; /* issue 15: the rule they break, first (lib/declare/why.c) */
			mig_explain_unfit(g, want, nitems, rule, sizeof(rule));
			return cli_fail(c, "%s do not fit together on %s in any order or placement%s%s%s%s; nothing was changed",
					profiles, cli_gpu_label(g), rule[0] ? ": " : "", rule, why,
					found || !g->ngis ? "" : "; they do not fit even on an empty GPU");
		}
		for (size_t k = 0; k < nitems; k++)
			plan[nplan++] = (struct planned){.gpu = g->index, .profile = *want[k], .at = at[k]};
	}

	/* Everything checked: one plan, executed in the transaction (all or nothing) */
	if (mig_plan_new(&ops, &err))
		return cli_fail_err(c, &err);
	for (size_t i = 0; i < nplan; i++) {
		const struct mig_gpu *g = NULL;
		for (size_t k = 0; k < c->node->ngpus; k++)
			if (c->node->gpus[k].index == plan[i].gpu)
				g = &c->node->gpus[k];
		if (!g || mig_plan_add_create_gi(ops, g, &plan[i].profile, plan[i].at, default_ci, &err)) {
			mig_plan_free(ops);
			return g ? cli_fail_err(c, &err) : cli_fail(c, "GPU %u vanished", plan[i].gpu);
		}
	}
	int rc = cli_txn_execute(c, txn, ops, &err);
	mig_plan_free(ops);
	if (rc)
		return cli_fail_err(c, &err); /* it says what was rolled back */
	return report_created(c, plan, nplan, nvidia_smi_words, default_ci);
}

int cmd_create(struct cli *c, int argc, char **argv)
{
	const char *profiles = NULL, *placement = NULL;
	bool default_ci = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-C") == 0 || strcmp(argv[i], "--default-compute-instance") == 0)
			default_ci = true;
		else if (strcmp(argv[i], "--placement") == 0) {
			if (i + 1 >= argc)
				return cli_usage("create: --placement needs the start slice of a placement, e.g. --placement 4");
			placement = argv[++i];
		}
		else if (argv[i][0] == '-')
			return cli_usage("create: unknown option '%s'", argv[i]);
		else if (profiles)
			return cli_usage("create: give the profiles as one comma-separated list (got '%s' and '%s')", profiles,
					 argv[i]);
		else
			profiles = argv[i];
	}
	if (!profiles)
		return cli_usage("create: which profiles? e.g. migctl create 3g.20gb,2g.10gb -C (see migctl profiles)");
	return cli_create_gis(c, profiles, placement, default_ci, false);
}

/* A CI profile of this GI by name ("1c.3g.20gb", "MIG 3g.20gb") or id ("0"). */
static const struct mig_ci_profile *find_ci_profile(const struct mig_gi *gi, const char *text)
{
	char *end;
	unsigned long id = strtoul(text, &end, 10);
	bool numeric = *text >= '0' && *text <= '9' && *end == '\0';
	struct mig_profile_name want, have;
	bool parsed = !numeric && mig_profile_name_parse(text, &want, NULL) == 0;
	const char *bare = strncasecmp(text, "MIG ", 4) == 0 ? text + 4 : text;
	/* An exact name first: a 1g REV2 instance offers "1g.20gb" and "1c.1g.20gb", which
	 * parse alike. */
	for (size_t i = 0; i < gi->nci_profiles && !numeric; i++)
		if (strcasecmp(gi->ci_profiles[i].name, bare) == 0)
			return &gi->ci_profiles[i];
	for (size_t i = 0; i < gi->nci_profiles; i++) {
		const struct mig_ci_profile *p = &gi->ci_profiles[i];
		if (numeric && p->id == id)
			return p;
		if (parsed && mig_profile_name_parse(p->name, &have, NULL) == 0 && have.compute_slices == want.compute_slices &&
		    mig_profile_name_same_gi(&have, &want))
			return p;
	}
	return NULL;
}

static int create_cis(struct cli *c, struct mig_txn *txn, unsigned int gi_id, char items[][MIG_PROFILE_MAX],
		      size_t nitems, bool nvidia_smi_words);

int cli_create_cis(struct cli *c, unsigned int gi_id, const char *profiles, bool nvidia_smi_words)
{
	char items[MAX_ITEMS][MIG_PROFILE_MAX];
	size_t nitems = 0;
	struct mig_error err;

	if (profiles && split_list(profiles, items, &nitems))
		return cli_usage("'%s' is not a list of compute instance profiles (e.g. 1c.3g.20gb,2c.3g.20gb or 0,1)",
				 profiles);
	c->read_flags |= MIG_READ_CAPACITY; /* free compute instance slots */
	struct mig_txn *txn;
	if (cli_txn_begin(c, MIG_ADMIN_INSTANCES, 60, NULL, NULL, &txn))
		return EXIT_FAIL;
	int ret = create_cis(c, txn, gi_id, items, nitems, nvidia_smi_words);
	if (cli_txn_end(c, txn, ret == EXIT_OK, &err) && ret == EXIT_OK)
		ret = cli_fail_err(c, &err);
	return ret;
}

/* A free start for a compute instance of slices in gi (gi_slices compute slices), beside its
 * compute instances and those planned (used: a bit per compute slice). */
static bool free_start(unsigned int gi_slices, unsigned int slices, unsigned int *used, struct mig_placement *at)
{
	unsigned int starts[8];
	size_t n = mig_ci_starts(gi_slices, slices, starts);
	for (size_t i = 0; i < n; i++) {
		unsigned int bits = ((1u << slices) - 1) << starts[i];
		if (!(*used & bits)) {
			*used |= bits;
			*at = (struct mig_placement){starts[i], slices};
			return true;
		}
	}
	return false;
}

/* Under the node lock: check, plan with placements, execute, report. */
static int create_cis(struct cli *c, struct mig_txn *txn, unsigned int gi_id, char items[][MIG_PROFILE_MAX],
		      size_t nitems, bool nvidia_smi_words)
{
	struct mig_error err;
	struct planned plan[MAX_ITEMS];
	int gpu = cli_single_gpu(c, "create-ci");
	if (gpu < 0)
		return EXIT_FAIL;
	const struct mig_gpu *g = &c->node->gpus[gpu];
	if (mode_ready(c, g))
		return EXIT_FAIL;
	const struct mig_gi *gi = NULL;
	for (size_t i = 0; i < g->ngis; i++)
		if (g->gis[i].id == gi_id)
			gi = &g->gis[i];
	if (!gi)
		return cli_fail(c, "%s has no GPU instance %u; see 'migctl status -i %u'", cli_gpu_label(g), gi_id, g->index);

	if (nitems == 0) {
		for (size_t i = 0; i < gi->nci_profiles; i++)
			if (gi->ci_profiles[i].is_default)
				snprintf(items[nitems++], MIG_PROFILE_MAX, "%u", gi->ci_profiles[i].id);
	}
	for (size_t k = 0; k < nitems; k++) {
		const struct mig_ci_profile *p = find_ci_profile(gi, items[k]);
		if (!p) {
			char list[512] = "";
			size_t used = 0;
			for (size_t i = 0; i < gi->nci_profiles; i++)
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s (%u)", i ? ", " : "",
							 gi->ci_profiles[i].name, gi->ci_profiles[i].id);
			return cli_fail(c, "GPU instance %u (%s) on GPU %u offers no compute instance profile '%s'; it offers: %s",
					gi_id, gi->profile, g->index, items[k], list);
		}
		unsigned int asked = 0;
		for (size_t j = 0; j <= k; j++)
			asked += find_ci_profile(gi, items[j]) == p;
		if (asked > p->remaining) {
			char held[256] = "";
			size_t used = 0;
			for (size_t j = 0; j < gi->ncis; j++)
				used += (size_t)snprintf(held + used, sizeof(held) - used, "%s%u (%s at %u:%u)", j ? ", " : "",
							 gi->cis[j].id, gi->cis[j].profile, gi->cis[j].placement.start,
							 gi->cis[j].placement.size);
			char hint[128] = "";
			if (gi->ncis)
				snprintf(hint, sizeof(hint), "; destroy some first, e.g. migctl destroy --gi %u --ci %u -i %u",
					 gi_id, gi->cis[0].id, g->index);
			return cli_fail(c,
					"GPU instance %u (%s) on GPU %u has room for %u more %s compute instance%s, not %u%s%s%s; "
					"nothing was changed",
					gi_id, gi->profile, g->index, p->remaining, p->name, p->remaining == 1 ? "" : "s", asked,
					gi->ncis ? "; its compute instances: " : "", held, hint);
		}
		plan[k] = (struct planned){.gpu = g->index, .gi_id = gi_id, .ci_profile = p->id};
		plan[k].profile.slices = p->slices;
	}
	/* placements: the driver's starts, beside what the GPU instance holds and what is planned */
	unsigned int gi_slices = 0, used = 0;
	for (size_t i = 0; i < g->nprofiles; i++)
		if (g->profiles[i].id == gi->profile_id)
			gi_slices = g->profiles[i].slices;
	for (size_t j = 0; j < gi->ncis; j++)
		used |= ((1u << gi->cis[j].placement.size) - 1) << gi->cis[j].placement.start;
	struct mig_plan *ops = NULL;
	if (mig_plan_new(&ops, &err))
		return cli_fail_err(c, &err);
	for (size_t k = 0; k < nitems; k++) {
		const struct mig_ci_profile *p = find_ci_profile(gi, items[k]);
		if (!free_start(gi_slices, p->slices, &used, &plan[k].ci_at)) {
			mig_plan_free(ops);
			return cli_fail(c, "GPU instance %u (%s) on GPU %u has no free placement for %s beside its compute "
					   "instances; nothing was changed",
					gi_id, gi->profile, g->index, p->name);
		}
		if (mig_plan_add_create_ci(ops, g, gi, p, plan[k].ci_at, &err)) {
			mig_plan_free(ops);
			return cli_fail_err(c, &err);
		}
	}
	unsigned int gpu_index = g->index;
	int rc = cli_txn_execute(c, txn, ops, &err);
	mig_plan_free(ops);
	if (rc)
		return cli_fail_err(c, &err);
	/* look the GPU instance up again in the node read after the change */
	g = NULL;
	for (size_t i = 0; i < c->node->ngpus; i++)
		if (c->node->gpus[i].index == gpu_index)
			g = &c->node->gpus[i];
	if (!g)
		return cli_fail(c, "GPU %u vanished while compute instances were created on it", gpu_index);
	gi = NULL;
	for (size_t i = 0; i < g->ngis; i++)
		if (g->gis[i].id == gi_id)
			gi = &g->gis[i];
	if (!gi)
		return cli_fail(c, "GPU instance %u on GPU %d vanished while compute instances were created in it", gi_id, gpu);
	json_t *arr = json_array();
	for (size_t k = 0; k < nitems; k++) {
		const struct mig_ci *ci = NULL;
		for (size_t j = 0; j < gi->ncis; j++)
			if (gi->cis[j].placement.start == plan[k].ci_at.start && gi->cis[j].profile_id == plan[k].ci_profile)
				ci = &gi->cis[j];
		if (!ci)
			continue;
		json_array_append_new(arr, json_pack("{s:I, s:{s:I, s:s, s:I, s:o}, s:o}", "gpu", (json_int_t)plan[k].gpu,
						     "gpu_instance", "id", (json_int_t)gi_id, "profile", gi->profile,
						     "profile_id", (json_int_t)gi->profile_id, "placement",
						     cli_placement_json(gi->placement), "compute_instance", ci_json(ci)));
		if (c->json)
			continue;
		if (nvidia_smi_words)
			printf("Successfully created compute instance ID %2u on GPU %2u GPU instance ID %2u using profile MIG %s "
			       "(ID %2u)\n",
			       ci->id, plan[k].gpu, gi_id, ci->profile, ci->profile_id);
		else
			printf("Created compute instance %u (%s) in GPU instance %u on GPU %u: MIG device %s\n", ci->id,
			       ci->profile, gi_id, plan[k].gpu, ci->uuid);
	}
	if (c->json) {
		json_t *doc = json_pack("{s:o}", "created", arr);
		cli_print_json(doc);
		json_decref(doc);
	} else {
		json_decref(arr);
	}
	return EXIT_OK;
}

int cmd_create_ci(struct cli *c, int argc, char **argv)
{
	const char *profiles = NULL;
	long gi = -1;
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--gi") == 0 || strcmp(argv[i], "-gi") == 0) && i + 1 < argc) {
			char *end;
			gi = strtol(argv[++i], &end, 10);
			if (!*argv[i] || *end || gi < 0 || gi > 14)
				return cli_usage("create-ci: --gi takes a GPU instance id (0-14), got '%s'", argv[i]);
		} else if (argv[i][0] == '-') {
			return cli_usage("create-ci: unknown option '%s'", argv[i]);
		} else if (profiles) {
			return cli_usage("create-ci: give the profiles as one comma-separated list");
		} else {
			profiles = argv[i];
		}
	}
	if (gi < 0)
		return cli_usage("create-ci: which GPU instance? --gi ID (see migctl status)");
	return cli_create_cis(c, (unsigned int)gi, profiles, false);
}
