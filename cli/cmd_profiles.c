/* SPDX-License-Identifier: MIT */
/* profiles, placements and ci-profiles: what can be created, where, and how much is free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static bool placement_free(const struct mig_gpu *g, struct mig_placement p)
{
	if (g->mode_current != MIG_MODE_ENABLED)
		return true;
	for (size_t i = 0; i < g->ngis; i++) {
		struct mig_placement o = g->gis[i].placement;
		if (o.start < p.start + p.size && p.start < o.start + o.size)
			return false;
	}
	return true;
}

static json_t *profile_json(const struct mig_gpu *g, const struct mig_gi_profile *p)
{
	json_t *pl = json_array();
	for (size_t k = 0; k < p->nplacements; k++) {
		json_t *o = cli_placement_json(p->placements[k]);
		json_object_set_new(o, "free", json_boolean(placement_free(g, p->placements[k])));
		json_array_append_new(pl, o);
	}
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:{s:o, s:I}, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "name",
			      p->name, "id", (json_int_t)p->id, "index", (json_int_t)p->index, "slices",
			      (json_int_t)p->slices, "instances", "free",
			      g->mode_current == MIG_MODE_ENABLED ? json_integer(p->remaining) : json_null(), "total",
			      (json_int_t)p->instance_count, "memory_mib", (json_int_t)p->memory_mib, "sms",
			      (json_int_t)p->sms, "copy_engines", (json_int_t)p->ce, "decoders", (json_int_t)p->dec,
			      "encoders", (json_int_t)p->enc, "jpeg", (json_int_t)p->jpeg, "ofa", (json_int_t)p->ofa,
			      "placements", pl);
	return o;
}

/* --profile ID[,ID...] (nvidia-smi mig -gip / -cip): only those profile ids; none given: all. */
struct profile_filter {
	unsigned int ids[16];
	size_t n;
};

static bool wanted(const struct profile_filter *f, unsigned int id)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->ids[i] == id)
			return true;
	return f->n == 0;
}

/* Takes "--profile LIST" from argv into f; returns -1 to go on, or the exit code (printed). */
static int parse_filter(const char *cmd, int argc, char **argv, int *i, struct profile_filter *f)
{
	if (strcmp(argv[*i], "--profile") != 0 || *i + 1 >= argc)
		return cli_usage("%s: unexpected argument '%s'", cmd, argv[*i]);
	if (cli_parse_id_list(argv[++*i], f->ids, 16, &f->n))
		return cli_usage("%s: --profile takes profile IDs, e.g. --profile 19 or --profile 9,14 (got '%s')", cmd,
				 argv[*i]);
	return -1;
}

static int profiles_doc(struct cli *c, bool placements_view, const struct profile_filter *only)
{
	json_t *gpus = json_array();
	size_t shown = 0;
	for (size_t i = 0; i < c->node->ngpus; i++) {
		const struct mig_gpu *g = &c->node->gpus[i];
		if (!c->selected[i])
			continue;
		json_t *profiles = json_array();
		for (size_t k = 0; k < g->nprofiles; k++)
			if (wanted(only, g->profiles[k].id)) {
				json_array_append_new(profiles, profile_json(g, &g->profiles[k]));
				shown++;
			}
		json_t *o = cli_gpu_json(g, false);
		json_object_set_new(o, "profiles", profiles);
		json_array_append_new(gpus, o);
	}
	json_t *doc = json_pack("{s:o}", "gpus", gpus);
	if (only->n && !shown) {
		json_decref(doc);
		return cli_fail(c, "the selected GPUs have no GPU instance profile with the ID%s given; see 'migctl profiles'",
				only->n > 1 ? "s" : "");
	}
	if (c->json) {
		cli_print_json(doc);
		json_decref(doc);
		return EXIT_OK;
	}
	json_decref(doc);
	for (size_t i = 0; i < c->node->ngpus; i++) {
		const struct mig_gpu *g = &c->node->gpus[i];
		if (!c->selected[i])
			continue;
		printf("GPU %u: %s (MIG %s)\n", g->index, g->name, cli_mode_name(g->mode_current));
		if (g->nprofiles == 0) {
			printf("  no MIG profiles\n");
			continue;
		}
		if (!placements_view)
			printf("  %-18s %3s  %-10s %10s %4s %3s %4s %4s %5s %4s\n", "Profile", "ID", "Free/Total", "Memory",
			       "SMs", "CE", "DEC", "ENC", "JPEG", "OFA");
		for (size_t k = 0; k < g->nprofiles; k++) {
			const struct mig_gi_profile *p = &g->profiles[k];
			if (!wanted(only, p->id))
				continue;
			if (placements_view) {
				printf("  %-18s ID %3u  Placements: {", p->name, p->id);
				for (size_t j = 0; j < p->nplacements; j++)
					printf("%s%u", j ? "," : "", p->placements[j].start);
				printf("}:%u", p->nplacements ? p->placements[0].size : 0);
				if (g->mode_current == MIG_MODE_ENABLED) {
					printf("  free: {");
					bool any = false;
					for (size_t j = 0; j < p->nplacements; j++)
						if (placement_free(g, p->placements[j])) {
							printf("%s%u", any ? "," : "", p->placements[j].start);
							any = true;
						}
					printf("}");
				}
				printf("\n");
				continue;
			}
			char free_total[24], mem[24];
			if (g->mode_current == MIG_MODE_ENABLED)
				snprintf(free_total, sizeof(free_total), "%u/%u", p->remaining, p->instance_count);
			else
				snprintf(free_total, sizeof(free_total), "-/%u", p->instance_count);
			snprintf(mem, sizeof(mem), "%.2f GiB", (double)p->memory_mib / 1024.0);
			printf("  %-18s %3u  %-10s %10s %4u %3u %4u %4u %5u %4u\n", p->name, p->id, free_total, mem, p->sms,
			       p->ce, p->dec, p->enc, p->jpeg, p->ofa);
		}
		if (g->mode_current != MIG_MODE_ENABLED)
			printf("  (free counts appear once MIG mode is enabled: migctl mode enable -i %u)\n", g->index);
	}
	return EXIT_OK;
}

/* profiles and placements: the same filters and read, one table or the other */
static int profiles_or_placements(struct cli *c, int argc, char **argv, bool placements)
{
	struct profile_filter only = {{0}, 0};
	for (int i = 1; i < argc; i++) {
		int r = parse_filter(placements ? "placements" : "profiles", argc, argv, &i, &only);
		if (r >= 0)
			return r;
	}
	c->read_flags |= MIG_READ_CAPACITY;
	c->read_selected_only = true; /* GPUs are named by .index only */
	if (cli_load(c))
		return EXIT_FAIL;
	return profiles_doc(c, placements, &only);
}

int cmd_profiles(struct cli *c, int argc, char **argv)
{
	return profiles_or_placements(c, argc, argv, false);
}

int cmd_placements(struct cli *c, int argc, char **argv)
{
	return profiles_or_placements(c, argc, argv, true);
}

int cmd_ci_profiles(struct cli *c, int argc, char **argv)
{
	unsigned int only[8];
	size_t nonly = 0;
	struct profile_filter cip = {{0}, 0};
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--gi") == 0 || strcmp(argv[i], "-gi") == 0) && i + 1 < argc) {
			if (cli_parse_id_list(argv[++i], only, 8, &nonly))
				return cli_usage("ci-profiles: --gi takes GPU instance ids, e.g. --gi 1 or --gi 1,2 (got '%s')",
						 argv[i]);
		} else {
			int r = parse_filter("ci-profiles", argc, argv, &i, &cip);
			if (r >= 0)
				return r;
		}
	}
	c->read_flags |= MIG_READ_CAPACITY;
	c->read_selected_only = true; /* GPUs are named by .index only */
	if (cli_load(c))
		return EXIT_FAIL;
	json_t *gpus = json_array();
	size_t shown = 0;
	for (size_t i = 0; i < c->node->ngpus; i++) {
		const struct mig_gpu *g = &c->node->gpus[i];
		if (!c->selected[i])
			continue;
		json_t *gis = json_array();
		for (size_t k = 0; k < g->ngis; k++) {
			const struct mig_gi *gi = &g->gis[k];
			bool want = nonly == 0;
			for (size_t j = 0; j < nonly; j++)
				want |= only[j] == gi->id;
			if (!want)
				continue;
			shown++;
			json_t *cps = json_array();
			if (!c->json)
				printf("GPU %u GPU instance %u (%s)\n  %-20s %3s  %-10s %4s %3s %4s %4s %5s %4s\n", g->index,
				       gi->id, gi->profile, "Profile", "ID", "Free/Total", "SMs", "CE", "DEC", "ENC", "JPEG",
				       "OFA");
			for (size_t j = 0; j < gi->nci_profiles; j++) {
				const struct mig_ci_profile *p = &gi->ci_profiles[j];
				if (!wanted(&cip, p->id))
					continue;
				json_array_append_new(
					cps, json_pack("{s:s, s:I, s:b, s:I, s:{s:I, s:I}, s:I, s:I, s:I, s:I, s:I, s:I}", "name",
						       p->name, "id", (json_int_t)p->id, "default", p->is_default, "slices",
						       (json_int_t)p->slices, "instances", "free", (json_int_t)p->remaining,
						       "total", (json_int_t)p->instance_count, "sms", (json_int_t)p->sms,
						       "copy_engines", (json_int_t)p->ce, "decoders", (json_int_t)p->dec,
						       "encoders", (json_int_t)p->enc, "jpeg", (json_int_t)p->jpeg, "ofa",
						       (json_int_t)p->ofa));
				if (!c->json) {
					char id[8], ft[16];
					snprintf(id, sizeof(id), "%u%s", p->id, p->is_default ? "*" : "");
					snprintf(ft, sizeof(ft), "%u/%u", p->remaining, p->instance_count);
					printf("  %-20s %3s  %-10s %4u %3u %4u %4u %5u %4u\n", p->name, id, ft, p->sms, p->ce, p->dec,
					       p->enc, p->jpeg, p->ofa);
				}
			}
			json_array_append_new(gis, json_pack("{s:I, s:s, s:I, s:o}", "id", (json_int_t)gi->id, "profile",
							     gi->profile, "profile_id", (json_int_t)gi->profile_id,
							     "compute_instance_profiles", cps));
		}
		json_array_append_new(gpus, json_pack("{s:I, s:s, s:o}", "index", (json_int_t)g->index, "uuid", g->uuid,
						      "gpu_instances", gis));
	}
	if (shown == 0) {
		json_decref(gpus);
		return cli_fail(c, nonly ? "no such GPU instance on the selected GPUs; see 'migctl status'"
					 : "no GPU instances on the selected GPUs: compute instance profiles are listed per "
					   "GPU instance; create one first (migctl create PROFILE)");
	}
	if (c->json) {
		json_t *doc = json_pack("{s:o}", "gpus", gpus);
		cli_print_json(doc);
		json_decref(doc);
	} else {
		json_decref(gpus);
		printf("(* marks the default profile, the one 'create -C' uses)\n");
	}
	return EXIT_OK;
}
