/* SPDX-License-Identifier: MIT */
/*
 * "migctl mig": nvidia-smi mig's flags and wording, for people's habits and scripts.
 * Each action maps onto the migctl command that does the same thing.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

enum action { NONE, LGIP, LGIPP, LCIP, LGI, LCI, CGI, CCI, DCI, DGI };

static const struct {
	const char *short_name, *long_name;
	enum action action;
} actions[] = {
	{"-lgip", "--list-gpu-instance-profiles", LGIP},
	{"-lgipp", "--list-gpu-instance-possible-placements", LGIPP},
	{"-lcip", "--list-compute-instance-profiles", LCIP},
	{"-lgi", "--list-gpu-instances", LGI},
	{"-lci", "--list-compute-instances", LCI},
	{"-cgi", "--create-gpu-instance", CGI},
	{"-cci", "--create-compute-instance", CCI},
	{"-dci", "--destroy-compute-instance", DCI},
	{"-dgi", "--destroy-gpu-instance", DGI},
};

static int list_instances(struct cli *c, bool cis, const unsigned int *gi_ids, size_t ngi, const unsigned int *ci_ids,
			  size_t nci)
{
	if (cli_load(c))
		return EXIT_FAIL;
	json_t *rows = json_array();
	for (size_t k = 0; k < c->node->ngpus; k++) {
		const struct mig_gpu *g = &c->node->gpus[k];
		if (!c->selected[k])
			continue;
		for (size_t i = 0; i < g->ngis; i++) {
			const struct mig_gi *gi = &g->gis[i];
			bool want = ngi == 0;
			for (size_t j = 0; j < ngi; j++)
				want |= gi_ids[j] == gi->id;
			if (!want)
				continue;
			if (!cis) {
				json_array_append_new(rows, json_pack("{s:I, s:s, s:I, s:I, s:o}", "gpu", (json_int_t)g->index,
								      "profile", gi->profile, "profile_id",
								      (json_int_t)gi->profile_id, "id", (json_int_t)gi->id,
								      "placement", cli_placement_json(gi->placement)));
				continue;
			}
			for (size_t j = 0; j < gi->ncis; j++) {
				const struct mig_ci *ci = &gi->cis[j];
				bool ci_wanted = nci == 0;
				for (size_t x = 0; x < nci; x++)
					ci_wanted |= ci_ids[x] == ci->id;
				if (!ci_wanted)
					continue;
				json_array_append_new(rows, json_pack("{s:I, s:I, s:s, s:I, s:I, s:o, s:s}", "gpu",
								      (json_int_t)g->index, "gpu_instance", (json_int_t)gi->id,
								      "profile", ci->profile, "profile_id",
								      (json_int_t)ci->profile_id, "id", (json_int_t)ci->id,
								      "placement", cli_placement_json(ci->placement), "uuid",
								      ci->uuid));
			}
		}
	}
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		return cli_fail(c, cis ? "No compute instances found: Not Found" : "No GPU instances found: Not Found");
	}
	if (c->json) {
		json_t *doc = json_pack("{s:o}", cis ? "compute_instances" : "gpu_instances", rows);
		cli_print_json(doc);
		json_decref(doc);
		return EXIT_OK;
	}
	const char *rule = "+---------------------------------------------------------------------+";
	printf("%s\n| %-67s |\n", rule, cis ? "Compute instances:" : "GPU instances:");
	if (cis)
		printf("| %-4s %-8s %-24s %-8s %-8s %-10s |\n| %-4s %-8s %-24s %-8s %-8s %-10s |\n", "GPU", "GPU", "Name",
		       "Profile", "Instance", "Placement", "", "Instance", "", "ID", "ID", "Start:Size");
	else
		printf("| %-4s %-33s %-8s %-8s %-10s |\n| %-4s %-33s %-8s %-8s %-10s |\n", "GPU", "Name", "Profile", "Instance",
		       "Placement", "", "", "ID", "ID", "Start:Size");
	printf("|=====================================================================|\n");
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *r = json_array_get(rows, i), *pl = json_object_get(r, "placement");
		char name[64], place[16];
		snprintf(name, sizeof(name), "MIG %s", json_string_value(json_object_get(r, "profile")));
		snprintf(place, sizeof(place), "%lld:%lld", json_integer_value(json_object_get(pl, "start")),
			 json_integer_value(json_object_get(pl, "size")));
		if (cis)
			printf("| %4lld %8lld %-24s %8lld %8lld %10s |\n", json_integer_value(json_object_get(r, "gpu")),
			       json_integer_value(json_object_get(r, "gpu_instance")), name,
			       json_integer_value(json_object_get(r, "profile_id")), json_integer_value(json_object_get(r, "id")),
			       place);
		else
			printf("| %4lld %-33s %8lld %8lld %10s |\n", json_integer_value(json_object_get(r, "gpu")), name,
			       json_integer_value(json_object_get(r, "profile_id")), json_integer_value(json_object_get(r, "id")),
			       place);
	}
	printf("%s\n", rule);
	json_decref(rows);
	return EXIT_OK;
}

int cmd_mig(struct cli *c, int argc, char **argv)
{
	enum action action = NONE;
	const char *list = NULL;
	unsigned int gis[16], cis[16];
	size_t ngi = 0, nci = 0;
	bool default_ci = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		enum action found = NONE;
		for (size_t k = 0; k < sizeof(actions) / sizeof(actions[0]); k++)
			if (strcmp(a, actions[k].short_name) == 0 || strcmp(a, actions[k].long_name) == 0)
				found = actions[k].action;
		if (found != NONE) {
			if (action != NONE)
				return cli_usage("mig: one action at a time ('%s' after another)", a);
			action = found;
			/* -cgi takes a list; -cci may take one */
			if ((found == CGI || found == CCI) && i + 1 < argc && argv[i + 1][0] != '-')
				list = argv[++i];
			else if (found == CGI)
				return cli_usage("mig: %s needs a list of profiles, e.g. -cgi 9,14 or -cgi 3g.20gb", a);
		} else if (strcmp(a, "-C") == 0 || strcmp(a, "--default-compute-instance") == 0) {
			default_ci = true;
		} else if ((strcmp(a, "-gi") == 0 || strcmp(a, "--gpu-instance-id") == 0) && i + 1 < argc) {
			if (cli_parse_id_list(argv[++i], gis, 16, &ngi))
				return cli_usage("mig: %s takes GPU instance ids, e.g. -gi 1 or -gi 1,2 (got '%s')", a, argv[i]);
		} else if ((strcmp(a, "-ci") == 0 || strcmp(a, "--compute-instance-id") == 0) && i + 1 < argc) {
			if (cli_parse_id_list(argv[++i], cis, 16, &nci))
				return cli_usage("mig: %s takes compute instance ids, e.g. -ci 0 (got '%s')", a, argv[i]);
		} else {
			return cli_usage("mig: unknown or incomplete argument '%s'", a);
		}
	}
	if (default_ci && action != CGI)
		return cli_usage("mig: -C goes with -cgi");
	if (ngi && (action == LGIP || action == LGIPP || action == CGI))
		return cli_usage("mig: -gi does not apply to this action");
	if (nci && action != DCI && action != LCI)
		return cli_usage("mig: -ci applies to -dci and -lci only");
	switch (action) {
	case LGIP:
		return cmd_profiles(c, 1, argv);
	case LGIPP:
		return cmd_placements(c, 1, argv);
	case LCIP: {
		char gi_list[64] = "";
		size_t used = 0;
		for (size_t i = 0; i < ngi; i++)
			used += (size_t)snprintf(gi_list + used, sizeof(gi_list) - used, "%s%u", i ? "," : "", gis[i]);
		char *args[] = {argv[0], (char *)"--gi", gi_list};
		return cmd_ci_profiles(c, ngi ? 3 : 1, args);
	}
	case LGI:
		return list_instances(c, false, gis, ngi, NULL, 0);
	case LCI:
		return list_instances(c, true, gis, ngi, cis, nci);
	case CGI:
		return cli_create_gis(c, list, NULL, default_ci, true);
	case CCI:
		if (ngi != 1)
			return cli_usage("mig: -cci needs one GPU instance: -gi ID");
		return cli_create_cis(c, gis[0], list, true);
	case DCI:
		return cli_destroy(c, DESTROY_CIS, gis, ngi, cis, nci, false, true);
	case DGI:
		if (nci)
			return cli_usage("mig: -dgi takes -gi, not -ci");
		return cli_destroy(c, DESTROY_GIS, gis, ngi, NULL, 0, false, true);
	case NONE:
		break;
	}
	return cli_usage("mig: which action? -lgip, -lgipp, -lcip, -lgi, -lci, -cgi, -cci, -dci or -dgi");
}
