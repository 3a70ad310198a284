/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: 20 layout transitions on a simulated node of 8 A100-SXM4-40GB GPUs, applied by
 * migctl's planner and by a baseline that does what mig-parted does: on every GPU whose
 * layout differs, destroy every instance, then create the target in distinct orders (largest
 * first) without placements until one order works.
 *
 * For each transition and each tool: MIG devices disturbed (compute instances present before
 * that the tool destroyed, even if it made them again: a process on one would have died), NVML
 * mutating calls (mode changes, creates, destroys, failed
 * ones included), and wall time with a simulated driver latency per GI or CI operation
 * (200 ms by default, as the issue asks; pass another value to run faster).
 *
 * Usage: apply_bench MIGSIM_LIB [LATENCY_MS]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../include/mig.h"
#include "../lib/internal.h" /* the operations mig-parted's algorithm runs */
#include "../nvml/nvml_abi.h"
#include "../sim/store.h"
#include "../tests/sim_guard.h"
#define BENCH_NAME "apply_bench"
#include "bench_node.h"

static const char *config_text =
	"version: v1\n"
	"mig-configs:\n"
	"  off:         [{devices: all, mig-enabled: false}]\n"
	"  all-1g:      [{devices: all, mig-enabled: true, mig-devices: {1g.5gb: 7}}]\n"
	"  six-1g:      [{devices: all, mig-enabled: true, mig-devices: {1g.5gb: 6}}]\n"
	"  all-2g:      [{devices: all, mig-enabled: true, mig-devices: {2g.10gb: 3, 1g.5gb: 1}}]\n"
	"  all-3g:      [{devices: all, mig-enabled: true, mig-devices: {3g.20gb: 2}}]\n"
	"  balanced:    [{devices: all, mig-enabled: true, mig-devices: {1g.5gb: 2, 2g.10gb: 1, 3g.20gb: 1}}]\n"
	"  four-three:  [{devices: all, mig-enabled: true, mig-devices: {4g.20gb: 1, 3g.20gb: 1}}]\n"
	"  full:        [{devices: all, mig-enabled: true, mig-devices: {7g.40gb: 1}}]\n"
	"  all-1g10:    [{devices: all, mig-enabled: true, mig-devices: {1g.10gb: 4}}]\n"
	"  mixed:       [{devices: all, mig-enabled: true, mig-devices: {3g.20gb: 1, 1g.10gb: 2}}]\n"
	"  shared-3g:   [{devices: all, mig-enabled: true, mig-devices: {1g.5gb: 2, 2g.10gb: 1, 1c.3g.20gb: 3}}]\n"
	"  half-1g:\n"
	"    - {devices: [0, 1, 2, 3], mig-enabled: true, mig-devices: {1g.5gb: 7}}\n"
	"    - {devices: [4, 5, 6, 7], mig-enabled: true, mig-devices: {1g.5gb: 2, 2g.10gb: 1, 3g.20gb: 1}}\n"
	"  half-off:\n"
	"    - {devices: [0, 1], mig-enabled: false}\n"
	"    - {devices: [2, 3, 4, 5, 6, 7], mig-enabled: true, mig-devices: {1g.5gb: 2, 2g.10gb: 1, 3g.20gb: 1}}\n";

static const char *transitions[][2] = {
	{"off", "all-1g"},        {"all-1g", "balanced"},    {"balanced", "all-1g"},   {"balanced", "all-3g"},
	{"all-3g", "balanced"},   {"all-1g", "all-2g"},      {"all-2g", "balanced"},   {"balanced", "four-three"},
	{"four-three", "full"},   {"full", "all-1g"},        {"all-1g", "all-1g10"},   {"all-1g10", "mixed"},
	{"mixed", "balanced"},    {"balanced", "half-1g"},   {"half-1g", "balanced"},  {"balanced", "shared-3g"},
	{"shared-3g", "balanced"}, {"all-1g", "six-1g"},     {"six-1g", "all-1g"},     {"balanced", "half-off"},
	{"half-off", "balanced"},
};

static struct mig_ctx *ctx;
static struct mig_config *config;
static char state_path[256];

static struct mig_node *read_node(void)
{
	struct mig_node *node;
	struct mig_error err;
	if (mig_node_read(ctx, &node, MIG_READ_CAPACITY, &err))
		die("read", err.msg);
	return node;
}

static struct mig_gpu_target *targets_for(const struct mig_node *node, const char *name)
{
	struct mig_error err;
	const struct mig_config_set *set = mig_config_find(config, name, &err);
	struct mig_gpu_target *t = calloc(node->ngpus, sizeof(*t));
	if (!set || !t || mig_config_targets(config, set, node, t, &err))
		die(name, err.msg);
	return t;
}

struct counter {
	size_t calls;
	size_t disturbed;
};

/* migctl: plan and apply. */
static struct counter apply_migctl(const char *name)
{
	struct counter n = {0, 0};
	struct mig_error err;
	struct mig_node *node = read_node();
	struct mig_gpu_target *t = targets_for(node, name);
	struct mig_plan *plan;
	size_t done = 0;
	if (mig_plan_make(node, t, false, &plan, &err) || mig_plan_apply(ctx, plan, &done, NULL, NULL, &err))
		die(name, err.msg);
	for (size_t i = 0; i < plan->nops; i++)
		n.disturbed += plan->ops[i].kind == MIG_OP_DESTROY_CI;
	n.calls = done;
	mig_plan_free(plan);
	free(t);
	mig_node_free(node);
	return n;
}

/* ---- the baseline: mig-parted's algorithm ---------------------------------------------------------------- */

static void clear_gpu(const struct mig_gpu *g, struct counter *n)
{
	struct mig_error err;
	for (size_t i = 0; i < g->ngis; i++) {
		for (size_t k = 0; k < g->gis[i].ncis; k++) {
			n->calls++;
			mig_ci_destroy(ctx, g->index, g->gis[i].id, g->gis[i].cis[k].id, &err);
		}
		n->calls++;
		mig_gi_destroy(ctx, g->index, g->gis[i].id, &err);
	}
}

static int cmp_target_gi(const void *a, const void *b)
{
	const struct mig_target_gi *x = a, *y = b;
	if (x->profile_id != y->profile_id)
		return (int)y->profile_id - (int)x->profile_id; /* any fixed order: ids group profiles */
	return 0;
}

/* Same multiset of (GI profile, CI count)? mig-parted compares profile-count maps. */
static bool same_layout(const struct mig_gpu *g, const struct mig_gpu_target *t)
{
	if ((g->mode_current == MIG_MODE_ENABLED) != t->mig_enabled)
		return false;
	if (g->ngis != t->ngis)
		return false;
	bool used[8] = {0};
	for (size_t i = 0; i < t->ngis; i++) {
		bool found = false;
		for (size_t k = 0; k < g->ngis && !found; k++)
			if (!used[k] && g->gis[k].profile_id == t->gis[i].profile_id && g->gis[k].ncis == t->gis[i].ncis)
				found = used[k] = true;
		if (!found)
			return false;
	}
	return true;
}

static bool next_permutation(struct mig_target_gi *a, size_t n)
{
	if (n < 2)
		return false;
	size_t i = n - 1;
	while (i > 0 && cmp_target_gi(&a[i - 1], &a[i]) >= 0)
		i--;
	if (i == 0)
		return false;
	size_t j = n - 1;
	while (cmp_target_gi(&a[j], &a[i - 1]) <= 0)
		j--;
	struct mig_target_gi t = a[i - 1];
	a[i - 1] = a[j];
	a[j] = t;
	for (size_t l = i, r = n - 1; l < r; l++, r--) {
		t = a[l];
		a[l] = a[r];
		a[r] = t;
	}
	return true;
}

static struct counter apply_baseline(const char *name)
{
	struct counter n = {0, 0};
	struct mig_error err;
	struct mig_node *node = read_node();
	struct mig_gpu_target *t = targets_for(node, name);

	for (size_t i = 0; i < node->ngpus; i++) {
		const struct mig_gpu *g = &node->gpus[i];
		if (!t[i].selected || same_layout(g, &t[i]))
			continue;
		for (size_t k = 0; k < g->ngis; k++)
			n.disturbed += g->gis[k].ncis; /* every instance on a changed GPU goes */
		/* mode: clear MIG devices, set the mode (mig-parted does this on every GPU whose mode differs) */
		if ((g->mode_current == MIG_MODE_ENABLED) != t[i].mig_enabled) {
			struct mig_mode_result res;
			clear_gpu(g, &n);
			n.calls++;
			if (mig_gpu_set_mig_mode(ctx, g->index, t[i].mig_enabled, &res, &err))
				die("baseline mode", err.msg);
			if (!t[i].mig_enabled)
				continue;
		}
		struct mig_target_gi order[8];
		memcpy(order, t[i].gis, t[i].ngis * sizeof(order[0]));
		qsort(order, t[i].ngis, sizeof(order[0]), cmp_target_gi);
		bool done = false;
		do {
			struct mig_node *cur = read_node();
			clear_gpu(&cur->gpus[i], &n);
			mig_node_free(cur);
			bool ok = true;
			for (size_t k = 0; k < t[i].ngis && ok; k++) {
				unsigned int gi_id, ci_profile;
				n.calls++;
				ok = mig_gi_create(ctx, g->index, order[k].profile_id, NULL, &gi_id, NULL, &err) == 0;
				for (size_t c = 0; ok && c < order[k].ncis; c++) {
					unsigned int slices = 0;
					for (size_t p = 0; p < g->nprofiles; p++)
						if (g->profiles[p].id == order[k].profile_id)
							slices = g->profiles[p].slices;
					ok = mig_gi_default_ci_profile(ctx, g->index, gi_id, slices, &ci_profile, &err) == 0;
					if (!order[k].cis[c].full)
						ci_profile = order[k].cis[c].slices - 1; /* 1c..4c: profiles 0..3 */
					n.calls++;
					ok = ok && mig_ci_create(ctx, g->index, gi_id, ci_profile, NULL, NULL, &err) == 0;
				}
			}
			done = ok;
		} while (!done && next_permutation(order, t[i].ngis));
		if (!done) {
			struct mig_node *cur = read_node();
			clear_gpu(&cur->gpus[i], &n);
			mig_node_free(cur);
			fprintf(stderr, "apply_bench: baseline: all orderings failed on GPU %zu for %s\n", i, name);
		}
	}
	free(t);
	mig_node_free(node);
	return n;
}

struct result {
	size_t disturbed, calls;
	double seconds;
};

static struct result run(const char *from, const char *to, bool baseline, unsigned int latency)
{
	struct result r;
	sim_edit(state_path, "8xA100-SXM4-40GB", false, 0);
	apply_migctl(from); /* the starting layout, without latency */
	sim_edit(state_path, NULL, false, latency);
	double t0 = now();
	struct counter n = baseline ? apply_baseline(to) : apply_migctl(to);
	r.seconds = now() - t0;
	r.calls = n.calls;
	r.disturbed = n.disturbed;
	sim_edit(state_path, NULL, false, 0);
	/* both must reach the target */
	struct mig_node *node = read_node();
	struct mig_gpu_target *t = targets_for(node, to);
	struct mig_plan *plan;
	struct mig_error err;
	if (mig_plan_make(node, t, true, &plan, &err))
		die("verify", err.msg);
	if (plan->nops)
		fprintf(stderr, "apply_bench: %s did not reach %s (%zu operations left)\n", baseline ? "baseline" : "migctl",
			to, plan->nops);
	mig_plan_free(plan);
	free(t);
	mig_node_free(node);
	return r;
}

int main(int argc, char **argv)
{
	struct mig_error err;
	if (argc < 2) {
		fprintf(stderr, "usage: apply_bench MIGSIM_LIB [LATENCY_MS]\n");
		return 2;
	}
	/* the bench applies configs: only ever on the simulator */
	if (sim_guard_path("apply_bench", argv[1]))
		return 1;
	unsigned int latency = argc > 2 ? (unsigned int)atoi(argv[2]) : 200;
	char dir[] = "/tmp/migctl-apply-bench-XXXXXX";
	if (!mkdtemp(dir))
		die("mkdtemp", "failed");
	snprintf(state_path, sizeof(state_path), "%s/state.json", dir);
	setenv("MIGSIM_STATE", state_path, 1);
	sim_edit(state_path, "8xA100-SXM4-40GB", false, 0);
	if (mig_config_parse(config_text, strlen(config_text), "bench", &config, &err))
		die("config", err.msg);
	if (mig_ctx_new(&ctx, argv[1], &err))
		die("mig_ctx_new", err.msg);

	printf("8 x A100-SXM4-40GB, simulated driver latency %u ms per GI/CI create or destroy\n\n", latency);
	printf("%-26s | %-25s | %-25s\n", "", "migctl", "baseline (mig-parted)");
	printf("%-26s | %9s %6s %8s | %9s %6s %8s\n", "transition", "disturbed", "calls", "seconds", "disturbed", "calls",
	       "seconds");
	struct result total_m = {0, 0, 0}, total_b = {0, 0, 0};
	size_t n = sizeof(transitions) / sizeof(transitions[0]);
	for (size_t i = 0; i < n; i++) {
		struct result m = run(transitions[i][0], transitions[i][1], false, latency);
		struct result b = run(transitions[i][0], transitions[i][1], true, latency);
		char label[64];
		snprintf(label, sizeof(label), "%s -> %s", transitions[i][0], transitions[i][1]);
		printf("%-26s | %9zu %6zu %8.2f | %9zu %6zu %8.2f\n", label, m.disturbed, m.calls, m.seconds, b.disturbed,
		       b.calls, b.seconds);
		total_m.disturbed += m.disturbed;
		total_m.calls += m.calls;
		total_m.seconds += m.seconds;
		total_b.disturbed += b.disturbed;
		total_b.calls += b.calls;
		total_b.seconds += b.seconds;
	}
	printf("%-26s | %9zu %6zu %8.2f | %9zu %6zu %8.2f\n", "total", total_m.disturbed, total_m.calls, total_m.seconds,
	       total_b.disturbed, total_b.calls, total_b.seconds);
	printf("\nbaseline / migctl: %.2fx instances disturbed, %.2fx mutating calls, %.2fx wall time\n",
	       total_m.disturbed ? (double)total_b.disturbed / (double)total_m.disturbed : 0.0,
	       (double)total_b.calls / (double)total_m.calls, total_b.seconds / total_m.seconds);
	mig_ctx_free(ctx);
	mig_config_free(config);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
