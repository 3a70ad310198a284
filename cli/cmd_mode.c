/* SPDX-License-Identifier: MIT */
/* mode enable|disable: change MIG mode and say whether it is active or what it waits for. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../nvml/nvml_abi.h"
#include "cli.h"

static void pids_text(const struct mig_gpu *g, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < g->nprocs && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%u", i ? ", " : "", g->procs[i].pid);
}

int cmd_mode(struct cli *c, int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "enable") != 0 && strcmp(argv[1], "disable") != 0))
		return cli_usage("mode: say 'enable' or 'disable'%s", argc > 2 ? " (one word)" : "");
	bool enable = strcmp(argv[1], "enable") == 0;
	if (cli_require_admin(c, MIG_ADMIN_MODE) || cli_load(c))
		return EXIT_FAIL;

	/* Check every selected GPU before changing any. */
	for (size_t i = 0; i < c->node->ngpus; i++) {
		const struct mig_gpu *g = &c->node->gpus[i];
		if (!c->selected[i])
			continue;
		if (g->mode_current == MIG_MODE_UNSUPPORTED) {
			bool named = c->gpu_selector && strcasecmp(c->gpu_selector, "all") != 0;
			if (named)
				return cli_fail(c, "%s does not support MIG; nothing was changed", cli_gpu_label(g));
			if (!c->json)
				printf("Skipping %s: it does not support MIG\n", cli_gpu_label(g));
			c->selected[i] = false; /* "all" means all MIG-capable GPUs */
			continue;
		}
		if (!enable && g->ngis > 0)
			return cli_fail(c,
					"%s still has %zu GPU instance%s; destroy them first (migctl destroy --all -i %u); "
					"nothing was changed",
					cli_gpu_label(g), g->ngis, g->ngis == 1 ? "" : "s", g->index);
	}

	bool any = false;
	for (size_t i = 0; i < c->node->ngpus; i++)
		any |= c->selected[i];
	if (!any)
		return cli_fail(c, "none of the selected GPUs supports MIG; nothing was changed");
	json_t *arr = json_array();
	int ret = EXIT_OK;
	size_t changed = 0;
	for (size_t i = 0; i < c->node->ngpus; i++) {
		const struct mig_gpu *g = &c->node->gpus[i];
		struct mig_mode_result res = {0};
		struct mig_error err;
		const char *result, *reason = NULL;
		char pids[256], why[512];

		if (!c->selected[i])
			continue;
		enum mig_mode want = enable ? MIG_MODE_ENABLED : MIG_MODE_DISABLED;
		if (g->mode_current == want && g->mode_pending == want) {
			result = "unchanged";
			res.current = res.pending = want;
			if (!c->json)
				printf("MIG mode is already %s for GPU %s\n", enable ? "enabled" : "disabled", g->pci_bus_id);
		} else if (mig_gpu_set_mig_mode(c->ctx, g->index, enable, &res, &err)) {
			json_decref(arr);
			if (changed)
				fprintf(stderr, "migctl: %zu GPU(s) before GPU %u were changed; see 'migctl status'\n", changed,
					g->index);
			return cli_fail_err(c, &err);
		} else if (res.activation == NVML_SUCCESS && res.current == want) {
			changed++;
			result = "active";
			if (!c->json)
				printf("%s MIG Mode for GPU %s\n", enable ? "Enabled" : "Disabled", g->pci_bus_id);
		} else {
			changed++;
			result = "pending";
			ret = EXIT_PENDING;
			pids_text(g, pids, sizeof(pids));
			if (res.activation == NVML_ERROR_IN_USE) {
				snprintf(why, sizeof(why),
					 "the GPU is in use%s%s: stop %s, then run 'migctl mode %s -i %u' again, or reset the GPU",
					 *pids ? " by processes " : "", pids, *pids ? "them" : "its clients (nvidia-persistenced, DCGM, ...)",
					 argv[1], g->index);
				reason = "in use";
			} else if (res.activation == NVML_ERROR_RESET_REQUIRED) {
				snprintf(why, sizeof(why),
					 "the GPU needs a reset: run 'nvidia-smi --gpu-reset -i %u' (or reboot the node)", g->index);
				reason = "reset required";
			} else {
				snprintf(why, sizeof(why), "activation answered %d; reboot the node to apply it", res.activation);
				reason = "reboot required";
			}
			if (!c->json)
				printf("Warning: MIG mode is in pending %s state for GPU %s: %s\n", enable ? "enable" : "disable",
				       g->pci_bus_id, why);
		}
		json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:{s:s, s:s}, s:s}", "index", (json_int_t)g->index, "uuid",
				      g->uuid, "pci_bus_id", g->pci_bus_id, "requested", enable ? "enabled" : "disabled",
				      "mig_mode", "current", cli_mode_name(res.current), "pending", cli_mode_name(res.pending),
				      "result", result);
		if (reason) {
			json_object_set_new(o, "reason", json_string(reason));
			json_object_set_new(o, "next_step", json_string(why));
		}
		json_array_append_new(arr, o);
	}
	if (c->json) {
		json_t *doc = json_pack("{s:o}", "gpus", arr);
		cli_print_json(doc);
		json_decref(doc);
	} else {
		json_decref(arr);
		if (ret == EXIT_OK)
			printf("All done.\n");
	}
	return ret;
}
