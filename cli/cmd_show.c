/* SPDX-License-Identifier: MIT */
/* list and status: the node's GPUs, MIG mode, instances and MIG devices. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int no_args(const char *cmd, int argc, char **argv)
{
	if (argc > 1)
		return cli_usage("%s: unexpected argument '%s'", cmd, argv[1]);
	return 0;
}

json_t *cli_node_json(struct cli *c)
{
	json_t *gpus = json_array();
	for (size_t i = 0; i < c->node->ngpus; i++)
		if (c->selected[i]) {
			const struct mig_gpu *g = &c->node->gpus[i];
			json_t *go = cli_gpu_json(g, true);
			/* issue 11: the device minor and each MIG device's nodes */
			json_object_set_new(go, "minor", g->minor_known ? json_integer(g->minor) : json_null());
			json_t *gis = json_object_get(go, "gpu_instances");
			for (size_t k = 0; k < g->ngis && k < json_array_size(gis); k++) {
				json_t *cis = json_object_get(json_array_get(gis, k), "compute_instances");
				for (size_t j = 0; j < g->gis[k].ncis && j < json_array_size(cis); j++)
					json_object_set_new(json_array_get(cis, j), "device_nodes",
							    cli_ci_devnodes_json(&g->gis[k].cis[j]));
			}
			json_array_append_new(gpus, go);
		}
	return json_pack("{s:s, s:o, s:o}", "driver_version", mig_ctx_driver_version(c->ctx), "gpus", gpus,
			 "device_nodes", cli_node_devnodes_json(c->node));
}

/* MIG devices in NVML's index order. */
static const struct mig_ci *mig_device(const struct mig_gpu *g, int index, const struct mig_gi **gi_out)
{
	for (size_t i = 0; i < g->ngis; i++)
		for (size_t k = 0; k < g->gis[i].ncis; k++)
			if (g->gis[i].cis[k].mig_index == index) {
				*gi_out = &g->gis[i];
				return &g->gis[i].cis[k];
			}
	return NULL;
}

/* What list and status share: no arguments, the node, and one JSON document for both.
 * Returns an exit code, or -1 when the caller prints text. */
static int load_or_print_json(struct cli *c, const char *cmd, int argc, char **argv)
{
	int r = no_args(cmd, argc, argv);
	if (r)
		return r;
	c->read_selected_only = true; /* both name GPUs by .index */
	c->read_flags |= MIG_READ_DEVNODES; /* issue 11 */
	if (cli_load(c))
		return EXIT_FAIL;
	if (!c->json)
		return -1;
	json_t *doc = cli_node_json(c);
	cli_print_json(doc);
	json_decref(doc);
	return EXIT_OK;
}

int cmd_list(struct cli *c, int argc, char **argv)
{
	int r = load_or_print_json(c, "list", argc, argv);
	if (r >= 0)
		return r;
	for (size_t i = 0; i < c->node->ngpus; i++) {
		const struct mig_gpu *g = &c->node->gpus[i];
		if (!c->selected[i])
			continue;
		printf("GPU %u: %s (UUID: %s)\n", g->index, g->name, g->uuid);
		for (int d = 0; d < 64; d++) {
			const struct mig_gi *gi;
			const struct mig_ci *ci = mig_device(g, d, &gi);
			if (ci)
				printf("  MIG %-12sDevice %2d: (UUID: %s)\n", ci->profile, d, ci->uuid);
		}
	}
	return EXIT_OK;
}

static void print_mode(const struct mig_gpu *g)
{
	if (g->mode_current == MIG_MODE_UNSUPPORTED) {
		printf("  MIG: not supported by this GPU\n");
		return;
	}
	printf("  MIG mode: %s", cli_mode_name(g->mode_current));
	const char *change = g->mode_pending == MIG_MODE_ENABLED ? "enable" : "disable";
	if (g->mode_pending != g->mode_current && g->nprocs) {
		printf(" (%s pending: the GPU runs process%s", change, g->nprocs == 1 ? "" : "es");
		for (size_t k = 0; k < g->nprocs && k < 8; k++)
			printf("%s %u", k ? "," : "", g->procs[k].pid);
		printf("%s; stop %s, then run 'migctl mode %s -i %u' again, or reset the GPU)", g->nprocs > 8 ? ", ..." : "",
		       g->nprocs == 1 ? "it" : "them", change, g->index);
	} else if (g->mode_pending != g->mode_current) {
		/* nothing of ours runs on it: the driver waits for a reset (or a client we cannot see,
		 * such as nvidia-persistenced or DCGM, holds it) */
		printf(" (%s pending: the GPU needs a reset: run 'nvidia-smi --gpu-reset -i %u' (or reboot the node); "
		       "if the reset says the GPU is in use, stop nvidia-persistenced, DCGM or other clients first)",
		       change, g->index);
	}
	printf("\n");
}

static void print_processes(const struct mig_process *p, size_t n, const char *indent)
{
	if (n == 0)
		return;
	printf("%sprocesses:", indent);
	for (size_t i = 0; i < n; i++)
		printf(" %u (%llu MiB)", p[i].pid, p[i].used_mib);
	printf("\n");
}

int cmd_status(struct cli *c, int argc, char **argv)
{
	int r = load_or_print_json(c, "status", argc, argv);
	if (r >= 0)
		return r;
	bool first = true;
	if (c->node->devnodes && !c->node->devnodes->known) /* issue 11 */
		printf("device nodes unknown: %s\n\n", c->node->devnodes->error);
	for (size_t i = 0; i < c->node->ngpus; i++) {
		const struct mig_gpu *g = &c->node->gpus[i];
		if (!c->selected[i])
			continue;
		printf("%sGPU %u: %s  %s  %llu MiB  UUID %s  device id 0x%08X\n", first ? "" : "\n", g->index, g->name,
		       g->pci_bus_id, g->memory_mib, g->uuid, g->pci_device_id);
		first = false;
		print_mode(g);
		if (g->mode_current != MIG_MODE_ENABLED) {
			for (size_t k = 0; k < g->nprocs; k++)
				printf("  process %u (%llu MiB)\n", g->procs[k].pid, g->procs[k].used_mib);
			continue;
		}
		cli_print_slices(g, "  ");
		if (g->ngis == 0) {
			printf("  no GPU instances (create some: migctl create PROFILE -C -i %u)\n", g->index);
			continue;
		}
		printf("  %-3s %-16s %3s %-9s  %-3s %-18s %3s %-9s %4s %10s  %s\n", "GI", "Profile", "ID", "Placement",
		       "CI", "Profile", "ID", "Placement", "SMs", "Memory", "MIG device UUID");
		for (size_t k = 0; k < g->ngis; k++) {
			const struct mig_gi *gi = &g->gis[k];
			char gpl[16];
			snprintf(gpl, sizeof(gpl), "%u:%u", gi->placement.start, gi->placement.size);
			if (gi->ncis == 0)
				printf("  %-3u %-16s %3u %-9s  (no compute instance: migctl create-ci --gi %u -i %u)\n", gi->id,
				       gi->profile, gi->profile_id, gpl, gi->id, g->index);
			for (size_t j = 0; j < gi->ncis; j++) {
				const struct mig_ci *ci = &gi->cis[j];
				char cpl[16], mem[24];
				snprintf(cpl, sizeof(cpl), "%u:%u", ci->placement.start, ci->placement.size);
				snprintf(mem, sizeof(mem), "%llu MiB", ci->memory_mib);
				if (j == 0)
					printf("  %-3u %-16s %3u %-9s  ", gi->id, gi->profile, gi->profile_id, gpl);
				else
					printf("  %-3s %-16s %3s %-9s  ", "", "", "", "");
				printf("%-3u %-18s %3u %-9s %4u %10s  %s\n", ci->id, ci->profile, ci->profile_id, cpl, ci->sms,
				       mem, ci->uuid);
				if (ci->devnodes) /* issue 11 */
					printf("        device nodes: %s (%u:%u), %s (%u:%u), %s (%u:%u)\n", ci->devnodes->gpu.path,
					       ci->devnodes->gpu.major, ci->devnodes->gpu.minor, ci->devnodes->gi_cap.path,
					       ci->devnodes->gi_cap.major, ci->devnodes->gi_cap.minor, ci->devnodes->ci_cap.path,
					       ci->devnodes->ci_cap.major, ci->devnodes->ci_cap.minor);
				print_processes(ci->procs, ci->nprocs, "        ");
			}
		}
	}
	return EXIT_OK;
}
