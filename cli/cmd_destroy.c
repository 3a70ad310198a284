/* SPDX-License-Identifier: MIT */
/*
 * destroy: compute instances before GPU instances. Every target is checked first (it
 * exists; no process runs on it unless --force), so a refusal changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_TARGETS 512

struct target {
	unsigned int gpu, gi, ci;
	bool is_ci;
	char profile[MIG_PROFILE_MAX]; /* copies: the node is read again after the change */
	char uuid[MIG_UUID_MAX];
};

static struct target target_of(const struct mig_gpu *g, const struct mig_gi *gi, const struct mig_ci *ci)
{
	struct target t = {g->index, gi->id, ci ? ci->id : 0, ci != NULL, "", ""};
	snprintf(t.profile, sizeof(t.profile), "%s", ci ? ci->profile : gi->profile);
	snprintf(t.uuid, sizeof(t.uuid), "%s", ci ? ci->uuid : "");
	return t;
}

static bool listed(const unsigned int *ids, size_t n, unsigned int id)
{
	if (n == 0)
		return true; /* no list: any */
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static int busy_refusal(struct cli *c, const struct mig_gpu *g, const struct mig_gi *gi, const struct mig_ci *ci)
{
	char pids[256] = "";
	size_t used = 0;
	for (size_t i = 0; i < ci->nprocs; i++)
		used += (size_t)snprintf(pids + used, sizeof(pids) - used, "%s%u", i ? ", " : "", ci->procs[i].pid);
	return cli_fail(c,
			"GPU %u GPU instance %u compute instance %u (%s) runs process%s %s; stop %s first, or pass --force to "
			"ask the driver anyway; nothing was changed",
			g->index, gi->id, ci->id, ci->uuid, ci->nprocs == 1 ? "" : "es", pids,
			ci->nprocs == 1 ? "it" : "them");
}

int cli_destroy(struct cli *c, enum destroy_mode mode, const unsigned int *gi_ids, size_t ngi,
		const unsigned int *ci_ids, size_t nci, bool force, bool nvidia_smi_words)
{
	struct target *t = calloc(MAX_TARGETS, sizeof(*t));
	size_t n = 0;
	int ret = EXIT_FAIL;
	struct mig_error err;
	struct mig_txn *txn = NULL;
	struct mig_plan *plan = NULL;

	if (!t)
		return cli_fail(c, "out of memory");
	if (cli_txn_begin(c, MIG_ADMIN_INSTANCES, 60, NULL, NULL, &txn) || cli_mark_leased(c, txn))
		goto out;
	/* migctl destroy --gi/--ci: ids are per GPU, so one GPU; nvidia-smi's -dgi/-dci keep its
	 * every-GPU meaning */
	if (!nvidia_smi_words && mode != DESTROY_ALL && cli_single_gpu(c, "destroy") < 0)
		goto out;
	for (size_t x = 0; x < ngi + nci && mode != DESTROY_ALL; x++) {
		bool is_gi = x < ngi;
		unsigned int id = is_gi ? gi_ids[x] : ci_ids[x - ngi];
		bool found = false;
		for (size_t k = 0; k < c->node->ngpus && !found; k++) {
			const struct mig_gpu *g = &c->node->gpus[k];
			for (size_t i = 0; c->selected[k] && i < g->ngis && !found; i++) {
				if (is_gi)
					found = g->gis[i].id == id;
				else if (listed(gi_ids, ngi, g->gis[i].id))
					for (size_t j = 0; j < g->gis[i].ncis && !found; j++)
						found = g->gis[i].cis[j].id == id;
			}
		}
		if (!found) {
			ret = cli_fail(c, "no %s %u on the selected GPU%s; see 'migctl status'; nothing was changed",
				       is_gi ? "GPU instance" : "compute instance", id, c->gpu_selector ? "" : "s");
			goto out;
		}
	}
	for (size_t k = 0; k < c->node->ngpus; k++) {
		const struct mig_gpu *g = &c->node->gpus[k];
		if (!c->selected[k] || g->mode_current != MIG_MODE_ENABLED)
			continue;
		for (size_t i = 0; i < g->ngis; i++) {
			const struct mig_gi *gi = &g->gis[i];
			if (mode != DESTROY_ALL && !listed(gi_ids, ngi, gi->id))
				continue;
			if (mode == DESTROY_GIS && gi->ncis > 0) {
				ret = cli_fail(c,
					       "GPU %u GPU instance %u still has %zu compute instance%s; destroy them first "
					       "(migctl mig -dci -gi %u -i %u); nothing was changed",
					       g->index, gi->id, gi->ncis, gi->ncis == 1 ? "" : "s", gi->id, g->index);
				goto out;
			}
			for (size_t j = 0; j < gi->ncis && mode != DESTROY_GIS; j++) {
				const struct mig_ci *ci = &gi->cis[j];
				if (mode == DESTROY_CIS && !listed(ci_ids, nci, ci->id))
					continue;
				if (ci->leased) { /* issue 12: even with --force */
					ret = cli_fail(c,
						       "GPU %u GPU instance %u compute instance %u (%s) is leased; release its "
						       "lease first (migctl leases); nothing was changed",
						       g->index, gi->id, ci->id, ci->uuid);
					goto out;
				}
				if (ci->nprocs && !force) {
					ret = busy_refusal(c, g, gi, ci);
					goto out;
				}
				if (n < MAX_TARGETS)
					t[n++] = target_of(g, gi, ci);
			}
			if (mode != DESTROY_CIS && n < MAX_TARGETS)
				t[n++] = target_of(g, gi, NULL);
		}
	}
	if (n == 0) {
		if (mode == DESTROY_ALL || (ngi == 0 && nci == 0)) {
			if (c->json) {
				json_t *doc = json_pack("{s:{s:[], s:[]}}", "destroyed", "compute_instances", "gpu_instances");
				cli_print_json(doc);
				json_decref(doc);
			} else {
				printf("Nothing to destroy: the selected GPUs have no MIG instances\n");
			}
			ret = EXIT_OK;
		} else {
			ret = cli_fail(c, "no such %s on the selected GPUs; see 'migctl status'",
				       nci ? "compute instance" : "GPU instance");
		}
		goto out;
	}

	/* one plan, compute instances first, executed in the transaction */
	if (mig_plan_new(&plan, &err)) {
		ret = cli_fail_err(c, &err);
		goto out;
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			const struct target *x = &t[i];
			const struct mig_gpu *g = NULL;
			const struct mig_gi *gi = NULL;
			const struct mig_ci *ci = NULL;
			if (x->is_ci != (pass == 0))
				continue;
			for (size_t k = 0; k < c->node->ngpus; k++)
				if (c->node->gpus[k].index == x->gpu)
					g = &c->node->gpus[k];
			for (size_t k = 0; g && k < g->ngis; k++)
				if (g->gis[k].id == x->gi)
					gi = &g->gis[k];
			for (size_t k = 0; gi && x->is_ci && k < gi->ncis; k++)
				if (gi->cis[k].id == x->ci)
					ci = &gi->cis[k];
			if (!gi || (x->is_ci && !ci) ||
			    (x->is_ci ? mig_plan_add_destroy_ci(plan, g, gi, ci, &err) : mig_plan_add_destroy_gi(plan, g, gi, &err))) {
				ret = gi ? cli_fail_err(c, &err) : cli_fail(c, "GPU instance %u vanished", x->gi);
				goto out;
			}
		}
	bool failed = cli_txn_execute(c, txn, plan, &err) != 0;
	size_t done = mig_txn_done(txn), shown = 0;
	json_t *cis = json_array(), *gis = json_array();
	for (int pass = 0; pass < 2; pass++) { /* compute instances first, as planned */
		for (size_t i = 0; i < n; i++) {
			struct target *x = &t[i];
			if (x->is_ci != (pass == 0) || shown >= done)
				continue;
			shown++;
			if (x->is_ci) {
				json_array_append_new(cis, json_pack("{s:I, s:I, s:I, s:s, s:s}", "gpu", (json_int_t)x->gpu,
								     "gpu_instance", (json_int_t)x->gi, "id", (json_int_t)x->ci,
								     "profile", x->profile, "uuid", x->uuid));
				if (c->json)
					continue;
				if (nvidia_smi_words)
					printf("Successfully destroyed compute instance ID %2u from GPU %2u GPU instance ID %2u\n", x->ci,
					       x->gpu, x->gi);
				else
					printf("Destroyed compute instance %u (%s) in GPU instance %u on GPU %u (%s)\n", x->ci,
					       x->profile, x->gi, x->gpu, x->uuid);
			} else {
				json_array_append_new(gis, json_pack("{s:I, s:I, s:s}", "gpu", (json_int_t)x->gpu, "id",
								     (json_int_t)x->gi, "profile", x->profile));
				if (c->json)
					continue;
				if (nvidia_smi_words)
					printf("Successfully destroyed GPU instance ID %2u from GPU %2u\n", x->gi, x->gpu);
				else
					printf("Destroyed GPU instance %u (%s) on GPU %u\n", x->gi, x->profile, x->gpu);
			}
		}
	}
	if (failed) {
		json_decref(cis);
		json_decref(gis);
		ret = cli_fail_err(c, &err);
		if (done)
			fprintf(stderr, "migctl: %zu of %zu instances were destroyed before this; see 'migctl status'\n", done, n);
		goto out;
	}
	if (c->json) {
		json_t *doc = json_pack("{s:{s:o, s:o}}", "destroyed", "compute_instances", cis, "gpu_instances", gis);
		cli_print_json(doc);
		json_decref(doc);
	} else {
		json_decref(cis);
		json_decref(gis);
	}
	ret = EXIT_OK;
out:
	mig_plan_free(plan);
	if (txn && cli_txn_end(c, txn, ret == EXIT_OK, &err) && ret == EXIT_OK)
		ret = cli_fail_err(c, &err);
	free(t);
	return ret;
}

int cmd_destroy(struct cli *c, int argc, char **argv)
{
	unsigned int gis[16], cis[16];
	size_t ngi = 0, nci = 0;
	bool all = false, force = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0) {
			all = true;
		} else if (strcmp(argv[i], "--force") == 0) {
			force = true;
		} else if ((strcmp(argv[i], "--gi") == 0 || strcmp(argv[i], "-gi") == 0) && i + 1 < argc) {
			if (cli_parse_id_list(argv[++i], gis, 16, &ngi))
				return cli_usage("destroy: --gi takes GPU instance ids, e.g. --gi 1 or --gi 1,2 (got '%s')", argv[i]);
		} else if ((strcmp(argv[i], "--ci") == 0 || strcmp(argv[i], "-ci") == 0) && i + 1 < argc) {
			if (cli_parse_id_list(argv[++i], cis, 16, &nci))
				return cli_usage("destroy: --ci takes compute instance ids, e.g. --ci 0 (got '%s')", argv[i]);
		} else {
			return cli_usage("destroy: unknown or incomplete argument '%s'", argv[i]);
		}
	}
	if (!all && ngi == 0 && nci == 0)
		return cli_usage("destroy: say what: --gi ID, --ci ID (with or without --gi), or --all");
	if (all && (ngi || nci))
		return cli_usage("destroy: --all already means every instance; drop --gi/--ci");
	return cli_destroy(c, all ? DESTROY_ALL : nci ? DESTROY_CIS : DESTROY_GI_CASCADE, gis, ngi, cis, nci, force,
			   false);
}
