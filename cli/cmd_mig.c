/* SPDX-License-Identifier: MIT */
/*
 * "migctl mig": nvidia-smi mig's flags and wording, for people's habits and scripts.
 * Each action maps onto the migctl command that does the same thing.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

enum action { NONE, LGIP, LGIPP, LCIP, LCIPP, LGI, LCI, CGI, CCI, DCI, DGI };

static const struct {
	const char *short_name, *long_name;
	enum action action;
} actions[] = {
	{"-lgip", "--list-gpu-instance-profiles", LGIP},
	{"-lgipp", "--list-gpu-instance-possible-placements", LGIPP},
	{"-lcip", "--list-compute-instance-profiles", LCIP},
	{"-lcipp", "--list-compute-instance-possible-placements", LCIPP},
	{"-lgi", "--list-gpu-instances", LGI},
	{"-lci", "--list-compute-instances", LCI},
	{"-cgi", "--create-gpu-instance", CGI},
	{"-cci", "--create-compute-instance", CCI},
	{"-dci", "--destroy-compute-instance", DCI},
	{"-dgi", "--destroy-gpu-instance", DGI},
};

/* nvidia-smi's words when no selected GPU has MIG enabled, with what to do. Returns 0 when
 * some selected GPU has MIG enabled, else the exit code (printed). */
static int need_mig_enabled(struct cli *c)
{
	const struct mig_gpu *off = NULL;
	for (size_t k = 0; k < c->node->ngpus; k++) {
		if (!c->selected[k])
			continue;
		if (c->node->gpus[k].mode_current == MIG_MODE_ENABLED)
			return 0;
		if (!off && c->node->gpus[k].mode_current != MIG_MODE_UNSUPPORTED)
			off = &c->node->gpus[k];
	}
	if (!off)
		return cli_fail(c, "No MIG-enabled devices found. The selected GPUs do not support MIG");
	if (off->mode_pending == MIG_MODE_ENABLED)
		return cli_fail(c,
				"No MIG-enabled devices found. MIG mode enable is pending on %s: stop its processes or "
				"reset the GPU (see 'migctl status')",
				cli_gpu_label(off));
	return cli_fail(c,
			"No MIG-enabled devices found. MIG mode is disabled on %s; enable it with 'migctl mode enable -i "
			"%u' (nvidia-smi -i %u -mig 1)",
			cli_gpu_label(off), off->index, off->index);
}

/* The GPU instances that have no compute instance, for the hint after "No compute instances
 * found": "GPU 0: GPU instance 1 (3g.20gb)". Empty when there are none. */
static size_t bare_gis(const struct cli *c, const unsigned int *gi_ids, size_t ngi, char *buf, size_t len,
		       unsigned int *first)
{
	size_t used = 0, count = 0;
	buf[0] = '\0';
	for (size_t k = 0; k < c->node->ngpus; k++) {
		const struct mig_gpu *g = &c->node->gpus[k];
		for (size_t i = 0; c->selected[k] && i < g->ngis && used < len; i++) {
			bool want = ngi == 0;
			for (size_t j = 0; j < ngi; j++)
				want |= gi_ids[j] == g->gis[i].id;
			if (want && g->gis[i].ncis == 0) {
				if (!count++)
					*first = g->gis[i].id;
				used += (size_t)snprintf(buf + used, len - used, "%sGPU %u GPU instance %u (%s)", used ? ", " : "",
							 g->index, g->gis[i].id, g->gis[i].profile);
			}
		}
	}
	return count;
}

/* "No compute instances found: Not Found", and when GPU instances are there without compute
 * instances (after -cgi without -C), which ones and how to create them. */
static int no_compute_instances(struct cli *c, const unsigned int *gi_ids, size_t ngi)
{
	char bare[256], id[16] = "ID";
	unsigned int first = 0;
	size_t n = bare_gis(c, gi_ids, ngi, bare, sizeof(bare), &first);
	if (!n)
		return cli_fail(c, "No compute instances found: Not Found");
	if (n == 1)
		snprintf(id, sizeof(id), "%u", first);
	return cli_fail(c,
			"No compute instances found: Not Found. %s %s no compute instance (created without -C); create "
			"the default one with 'migctl mig -cci -gi %s' (nvidia-smi mig -cci -gi %s)",
			bare, n > 1 ? "have" : "has", id, id);
}

static int list_instances(struct cli *c, bool cis, const unsigned int *gi_ids, size_t ngi, const unsigned int *ci_ids,
			  size_t nci)
{
	if (cli_load(c))
		return EXIT_FAIL;
	int off = need_mig_enabled(c);
	if (off)
		return off;
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
		if (cis && nci == 0)
			return no_compute_instances(c, gi_ids, ngi);
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

/* -lcipp: for each GPU instance, each compute instance profile's possible placements, in
 * nvidia-smi's "{0,1,2}:1" form (compute slices inside the GPU instance). */
static int list_ci_placements(struct cli *c, const unsigned int *gi_ids, size_t ngi, const unsigned int *cip, size_t ncip)
{
	struct mig_error err;
	if (cli_load(c))
		return EXIT_FAIL;
	int off = need_mig_enabled(c);
	if (off)
		return off;
	json_t *rows = json_array();
	for (size_t k = 0; k < c->node->ngpus; k++) {
		const struct mig_gpu *g = &c->node->gpus[k];
		for (size_t i = 0; c->selected[k] && i < g->ngis; i++) {
			const struct mig_gi *gi = &g->gis[i];
			bool want = ngi == 0;
			for (size_t j = 0; j < ngi; j++)
				want |= gi_ids[j] == gi->id;
			for (size_t j = 0; want && j < gi->nci_profiles; j++) {
				const struct mig_ci_profile *p = &gi->ci_profiles[j];
				struct mig_placement pl[16];
				size_t n;
				bool listed = ncip == 0;
				for (size_t x = 0; x < ncip; x++)
					listed |= cip[x] == p->id;
				if (!listed)
					continue;
				if (mig_gi_ci_placements(c->ctx, g->index, gi->id, p->id, pl, 16, &n, &err)) {
					json_decref(rows);
					return cli_fail_err(c, &err);
				}
				json_t *arr = json_array();
				for (size_t x = 0; x < n; x++)
					json_array_append_new(arr, cli_placement_json(pl[x]));
				json_array_append_new(rows, json_pack("{s:I, s:I, s:s, s:I, s:o}", "gpu", (json_int_t)g->index,
								      "gpu_instance", (json_int_t)gi->id, "profile", p->name,
								      "profile_id", (json_int_t)p->id, "placements", arr));
			}
		}
	}
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		return cli_fail(c, "No GPU instances found: Not Found");
	}
	if (c->json) {
		json_t *doc = json_pack("{s:o}", "compute_instance_placements", rows);
		cli_print_json(doc);
		json_decref(doc);
		return EXIT_OK;
	}
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *r = json_array_get(rows, i), *pl = json_object_get(r, "placements");
		printf("GPU %2lld GI %2lld Profile ID %2lld (%s) Placements: {", json_integer_value(json_object_get(r, "gpu")),
		       json_integer_value(json_object_get(r, "gpu_instance")),
		       json_integer_value(json_object_get(r, "profile_id")), json_string_value(json_object_get(r, "profile")));
		for (size_t x = 0; x < json_array_size(pl); x++)
			printf("%s%lld", x ? "," : "", json_integer_value(json_object_get(json_array_get(pl, x), "start")));
		printf("}:%lld\n",
		       json_array_size(pl) ? json_integer_value(json_object_get(json_array_get(pl, 0), "size")) : 0);
	}
	json_decref(rows);
	return EXIT_OK;
}

/* nvidia-smi mig -h, as far as migctl takes it (migctl(8) lists the rest). */
static int mig_help(void)
{
	printf("Usage: migctl [-i SELECTOR] [--json] mig ACTION [OPTIONS]\n\n"
	       "nvidia-smi mig's flags and wording. Actions (one at a time):\n"
	       "  -lgip,  --list-gpu-instance-profiles              GPU instance profiles\n"
	       "  -lgipp, --list-gpu-instance-possible-placements   their possible placements, {start,...}:size\n"
	       "  -lcip,  --list-compute-instance-profiles          compute instance profiles (-gi restricts)\n"
	       "  -lcipp, --list-compute-instance-possible-placements  their placements in each GPU instance\n"
	       "  -lgi,   --list-gpu-instances                      GPU instances (-gi restricts)\n"
	       "  -lci,   --list-compute-instances                  compute instances (-gi, -ci restrict)\n"
	       "  -cgi,   --create-gpu-instance LIST                profiles by name or ID, each with an optional\n"
	       "                                                    :START placement; -C adds the default compute instance\n"
	       "  -cci,   --create-compute-instance [LIST] -gi ID   compute instances (default: the full-size one)\n"
	       "  -dci,   --destroy-compute-instance [-gi ID] [-ci ID]\n"
	       "  -dgi,   --destroy-gpu-instance [-gi ID]\n"
	       "Options:\n"
	       "  -C,  --default-compute-instance   with -cgi\n"
	       "  -gi, --gpu-instance-id ID[,ID]\n"
	       "  -ci, --compute-instance-id ID[,ID]\n"
	       "  -gip, --gpu-instance-profile ID[,ID]      with -lgip/-lgipp: only those profiles\n"
	       "  -cip, --compute-instance-profile ID[,ID]  with -lcip/-lcipp: only those profiles\n"
	       "  --force                           with -dci/-dgi: also instances running processes (migctl's own)\n"
	       "  -h,  --help                       this text\n"
	       "GPUs: -i/--gpu/--id before or after 'mig' (an index, a list, all, a UUID or a PCI bus id).\n"
	       "See migctl(8), mig.\n");
	return EXIT_OK;
}

int cmd_mig(struct cli *c, int argc, char **argv)
{
	enum action action = NONE;
	const char *list = NULL;
	unsigned int gis[16], cis[16], gip[16], cip[16];
	size_t ngi = 0, nci = 0, ngip = 0, ncip = 0;
	const char *gip_text = NULL, *cip_text = NULL;
	bool default_ci = false, force = false;

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
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			return mig_help();
		} else if (strcmp(a, "--force") == 0 || strcmp(a, "-f") == 0) {
			force = true;
		} else if ((strcmp(a, "-gi") == 0 || strcmp(a, "--gpu-instance-id") == 0) && i + 1 < argc) {
			if (cli_parse_id_list(argv[++i], gis, 16, &ngi))
				return cli_usage("mig: %s takes GPU instance ids, e.g. -gi 1 or -gi 1,2 (got '%s')", a, argv[i]);
		} else if ((strcmp(a, "-gip") == 0 || strcmp(a, "--gpu-instance-profile") == 0) && i + 1 < argc) {
			gip_text = argv[++i];
			if (cli_parse_id_list(gip_text, gip, 16, &ngip))
				return cli_usage("mig: %s takes GPU instance profile IDs, e.g. -gip 19 or -gip 9,14 (got '%s')", a,
						 gip_text);
		} else if ((strcmp(a, "-cip") == 0 || strcmp(a, "--compute-instance-profile") == 0) && i + 1 < argc) {
			cip_text = argv[++i];
			if (cli_parse_id_list(cip_text, cip, 16, &ncip))
				return cli_usage("mig: %s takes compute instance profile IDs, e.g. -cip 0 (got '%s')", a, cip_text);
		} else if ((strcmp(a, "-ci") == 0 || strcmp(a, "--compute-instance-id") == 0) && i + 1 < argc) {
			if (cli_parse_id_list(argv[++i], cis, 16, &nci))
				return cli_usage("mig: %s takes compute instance ids, e.g. -ci 0 (got '%s')", a, argv[i]);
		} else {
			return cli_usage("mig: unknown or incomplete argument '%s'", a);
		}
	}
	if (default_ci && action != CGI)
		return cli_usage("mig: -C goes with -cgi");
	if (force && action != DCI && action != DGI)
		return cli_usage("mig: --force goes with -dci and -dgi");
	if (ngi && (action == LGIP || action == LGIPP || action == CGI || action == NONE))
		return cli_usage("mig: -gi does not apply to this action");
	if (nci && action != DCI && action != LCI)
		return cli_usage("mig: -ci applies to -dci and -lci only");
	if (ngip && action != LGIP && action != LGIPP)
		return cli_usage("mig: -gip applies to -lgip and -lgipp only");
	if (ncip && action != LCIP && action != LCIPP)
		return cli_usage("mig: -cip applies to -lcip and -lcipp only");
	char *args[6] = {argv[0]};
	int nargs = 1;
	if (gip_text || cip_text) {
		args[nargs++] = (char *)"--profile";
		args[nargs++] = (char *)(gip_text ? gip_text : cip_text);
	}
	switch (action) {
	case LGIP:
		return cmd_profiles(c, nargs, args);
	case LGIPP:
		return cmd_placements(c, nargs, args);
	case LCIP: {
		char gi_list[64] = "";
		size_t used = 0;
		for (size_t i = 0; i < ngi; i++)
			used += (size_t)snprintf(gi_list + used, sizeof(gi_list) - used, "%s%u", i ? "," : "", gis[i]);
		if (ngi) {
			args[nargs++] = (char *)"--gi";
			args[nargs++] = gi_list;
		}
		return cmd_ci_profiles(c, nargs, args);
	}
	case LCIPP:
		return list_ci_placements(c, gis, ngi, cip, ncip);
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
	case DGI: {
		if (action == DGI && nci)
			return cli_usage("mig: -dgi takes -gi, not -ci");
		/* nvidia-smi's words when there is nothing of the kind to destroy */
		if (cli_load(c))
			return EXIT_FAIL;
		int off = need_mig_enabled(c);
		if (off)
			return off;
		size_t have_gis = 0, have_cis = 0;
		for (size_t k = 0; k < c->node->ngpus; k++)
			for (size_t i = 0; c->selected[k] && i < c->node->gpus[k].ngis; i++) {
				bool want = ngi == 0;
				for (size_t j = 0; j < ngi; j++)
					want |= gis[j] == c->node->gpus[k].gis[i].id;
				have_gis += want;
				have_cis += want ? c->node->gpus[k].gis[i].ncis : 0;
			}
		if (!have_gis && !ngi)
			return cli_fail(c, "No GPU instances found: Not Found");
		if (action == DCI && have_gis && !have_cis && !nci)
			return no_compute_instances(c, gis, ngi);
		if (action == DCI)
			return cli_destroy(c, DESTROY_CIS, gis, ngi, cis, nci, force, true);
		return cli_destroy(c, DESTROY_GIS, gis, ngi, NULL, 0, force, true);
	}
	case NONE:
		break;
	}
	return cli_usage("mig: which action? -lgip, -lgipp, -lcip, -lcipp, -lgi, -lci, -cgi, -cci, -dci or -dgi (mig -h "
			 "lists them)");
}
