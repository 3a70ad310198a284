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

/* Under the node lock: check every selected GPU, then change those that need it in one plan. */
static int set_mode(struct cli *c, struct mig_txn *txn, bool enable, const char *word)
{
	struct mig_plan *plan = NULL;
	struct mig_error err;
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

	enum mig_mode want = enable ? MIG_MODE_ENABLED : MIG_MODE_DISABLED;
	bool *asked = calloc(c->node->ngpus ? c->node->ngpus : 1, sizeof(bool));
	size_t nasked = 0;
	if (!asked || mig_plan_new(&plan, &err)) {
		free(asked);
		return cli_fail(c, "out of memory");
	}
	for (size_t i = 0; i < c->node->ngpus; i++) {
		const struct mig_gpu *g = &c->node->gpus[i];
		if (!c->selected[i])
			continue;
		asked[nasked++] = !(g->mode_current == want && g->mode_pending == want);
		if (asked[nasked - 1] && mig_plan_add_mode(plan, g, enable, &err)) {
			free(asked);
			mig_plan_free(plan);
			return cli_fail_err(c, &err);
		}
	}
	int rc = cli_txn_execute(c, txn, plan, &err);
	if (rc && err.status != MIG_E_PENDING) {
		size_t done = mig_txn_done(txn);
		free(asked);
		if (done && done < plan->nops)
			fprintf(stderr, "migctl: %zu GPU(s) before GPU %u were changed; see 'migctl status'\n", done,
				plan->ops[done].gpu);
		mig_plan_free(plan);
		return cli_fail_err(c, &err);
	}
	mig_plan_free(plan);
	/* each GPU as it is now */
	json_t *arr = json_array();
	int ret = EXIT_OK;
	for (size_t i = 0, k = 0; i < c->node->ngpus; i++) {
		const struct mig_gpu *g = &c->node->gpus[i];
		const char *result, *reason = NULL;
		char pids[256], why[512];
		if (!c->selected[i])
			continue;
		bool changed = k < nasked && asked[k++];
		enum mig_pending pending = mig_txn_pending(txn, g->index);
		if (!changed) {
			result = "unchanged";
			if (!c->json)
				printf("MIG mode is already %s for GPU %s\n", enable ? "enabled" : "disabled", g->pci_bus_id);
		} else if (!pending) {
			result = "active";
			if (!c->json)
				printf("%s MIG Mode for GPU %s\n", enable ? "Enabled" : "Disabled", g->pci_bus_id);
		} else {
			result = "pending";
			ret = EXIT_PENDING;
			pids_text(g, pids, sizeof(pids));
			if (pending == MIG_PENDING_IN_USE) {
				snprintf(why, sizeof(why),
					 "the GPU is in use%s%s: stop %s, then run 'migctl mode %s -i %u' again, or reset the GPU",
					 *pids ? " by processes " : "", pids, *pids ? "them" : "its clients (nvidia-persistenced, DCGM, ...)",
					 word, g->index);
				reason = "in use";
			} else if (pending == MIG_PENDING_RESET) {
				snprintf(why, sizeof(why),
					 "the GPU needs a reset: run 'nvidia-smi --gpu-reset -i %u' (or reboot the node)", g->index);
				reason = "reset required";
			} else {
				snprintf(why, sizeof(why), "the driver did not activate it; reboot the node to apply it");
				reason = "reboot required";
			}
			if (!c->json)
				printf("Warning: MIG mode is in pending %s state for GPU %s: %s\n", enable ? "enable" : "disable",
				       g->pci_bus_id, why);
		}
		json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:{s:s, s:s}, s:s}", "index", (json_int_t)g->index, "uuid",
				      g->uuid, "pci_bus_id", g->pci_bus_id, "requested", enable ? "enabled" : "disabled",
				      "mig_mode", "current", cli_mode_name(g->mode_current), "pending",
				      cli_mode_name(g->mode_pending), "result", result);
		if (reason) {
			json_object_set_new(o, "reason", json_string(reason));
			json_object_set_new(o, "next_step", json_string(why));
		}
		json_array_append_new(arr, o);
	}
	free(asked);
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

int cmd_mode(struct cli *c, int argc, char **argv)
{
	struct mig_txn *txn;
	struct mig_error err;
	if (argc != 2 || (strcmp(argv[1], "enable") != 0 && strcmp(argv[1], "disable") != 0))
		return cli_usage("mode: say 'enable' or 'disable'%s", argc > 2 ? " (one word)" : "");
	if (cli_txn_begin(c, MIG_ADMIN_MODE, 60, NULL, NULL, &txn))
		return EXIT_FAIL;
	int ret = set_mode(c, txn, strcmp(argv[1], "enable") == 0, argv[1]);
	if (cli_txn_end(c, txn, ret == EXIT_OK, &err) && ret == EXIT_OK)
		ret = cli_fail_err(c, &err);
	return ret;
}
