/* SPDX-License-Identifier: MIT */
/*
 * The placement solver against an independent brute force: for every modelled GPU and every
 * multiset of its GPU-instance profiles (up to the GPU's compute slices), mig_place_gis must
 * find placements exactly when the simulator's engine (a different implementation of the
 * driver's rules) can create the set in some order at some placements, and every placement
 * it returns must be accepted by that engine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../include/mig.h"
#include "fake_gpu.h"


static struct sim_gpu empty_sim_gpu(const struct sim_model *m)
{
	struct sim_gpu g;
	memset(&g, 0, sizeof(g));
	g.model = m;
	g.mig_current = g.mig_pending = NVML_DEVICE_MIG_ENABLE;
	return g;
}

/* Brute force with the simulator's rules: any order is fine since they are symmetric,
 * so try every placement of each item in turn. */
static bool brute_fits(struct sim_gpu *g, const unsigned int *ids, size_t n)
{
	if (n == 0)
		return true;
	const struct sim_gi_profile *p = sim_gpu_gi_profile(g, ids[0]);
	for (unsigned int k = 0; k < p->nplacements; k++) {
		struct sim_gpu copy = *g;
		if (sim_gi_create(&copy, ids[0], &p->placements[k], NULL) == NVML_SUCCESS && brute_fits(&copy, ids + 1, n - 1))
			return true;
	}
	return false;
}

struct counts {
	size_t sets, fit, unfit;
};

static void check_multiset(const struct sim_model *m, const struct mig_gpu *g, const unsigned int *idx, size_t n,
			   struct counts *c)
{
	const struct mig_gi_profile *want[8];
	unsigned int ids[8] = {0};
	struct mig_placement out[8];
	struct mig_error err;

	for (size_t i = 0; i < n; i++) {
		want[i] = &g->profiles[idx[i]];
		ids[i] = want[i]->id;
	}
	struct sim_gpu sg = empty_sim_gpu(m);
	bool expect = brute_fits(&sg, ids, n);
	int got = mig_place_gis(g, want, n, out, &err);
	c->sets++;
	if (expect != (got == 0)) {
		char list[256] = "";
		for (size_t i = 0; i < n; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s ", want[i]->name);
		fail_msg("%s: {%s}: brute force says %s, solver says %s", m->key, list, expect ? "fits" : "does not fit",
			 got == 0 ? "fits" : err.msg);
	}
	if (got != 0) {
		c->unfit++;
		return;
	}
	c->fit++;
	/* every placement the solver chose is accepted by the engine, in the solver's order */
	struct sim_gpu check = empty_sim_gpu(m);
	for (size_t i = 0; i < n; i++) {
		struct sim_placement at = {out[i].start, out[i].size};
		if (sim_gi_create(&check, ids[i], &at, NULL) != NVML_SUCCESS)
			fail_msg("%s: solver placed %s at %u:%u, which the engine refuses", m->key, want[i]->name,
				 out[i].start, out[i].size);
	}
}

/* Every multiset (non-decreasing index sequence) of 1..max items. */
static void each_multiset(const struct sim_model *m, const struct mig_gpu *g, unsigned int *idx, size_t depth,
			  size_t max, unsigned int from, struct counts *c)
{
	if (depth > 0)
		check_multiset(m, g, idx, depth, c);
	if (depth == max)
		return;
	for (unsigned int i = from; i < g->nprofiles; i++) {
		idx[depth] = i;
		each_multiset(m, g, idx, depth + 1, max, i, c);
	}
}

static void test_solver_matches_brute_force_on_every_model(void **unused)
{
	(void)unused;
	for (size_t mi = 0; mi < sim_nmodels; mi++) {
		const struct sim_model *m = &sim_models[mi];
		struct mig_gpu g;
		struct mig_gi_profile profiles[SIM_MAX_GI_PROFILES];
		struct mig_placement pl[SIM_MAX_GI_PROFILES][SIM_MAX_PLACEMENTS];
		unsigned int idx[8];
		struct counts c = {0, 0, 0};
		if (m->nprofiles == 0)
			continue; /* a GPU without MIG has nothing to place */
		gpu_from_model(m, &g, profiles, pl);
		each_multiset(m, &g, idx, 0, m->compute_slices + 1, 0, &c);
		printf("# %-16s %6zu profile sets: %zu fit, %zu do not\n", m->key, c.sets, c.fit, c.unfit);
		assert_true(c.fit > 0 && c.unfit > 0);
	}
}

static void test_fits_what_driver_order_does_not(void **unused)
{
	(void)unused;
	const struct sim_model *m = sim_model_find("A100-SXM4-40GB");
	struct mig_gpu g;
	struct mig_gi_profile profiles[SIM_MAX_GI_PROFILES];
	struct mig_placement pl[SIM_MAX_GI_PROFILES][SIM_MAX_PLACEMENTS], out[4];
	struct mig_error err;
	gpu_from_model(m, &g, profiles, pl);
	const struct mig_gi_profile *one = NULL, *two = NULL, *three = NULL;
	for (size_t i = 0; i < g.nprofiles; i++) {
		if (profiles[i].id == 19)
			one = &profiles[i];
		if (profiles[i].id == 14)
			two = &profiles[i];
		if (profiles[i].id == 9)
			three = &profiles[i];
	}
	/* nvidia-smi -cgi 19,19,14,9 fails; the solver puts the 3g on one half and the rest on the other */
	const struct mig_gi_profile *want[4] = {one, one, two, three};
	assert_int_equal(mig_place_gis(&g, want, 4, out, &err), 0);
	assert_int_equal(out[3].size, 4);
	uint64_t used = 0;
	for (int i = 0; i < 4; i++) {
		uint64_t m4 = ((1ull << out[i].size) - 1) << out[i].start;
		assert_int_equal(used & m4, 0);
		used |= m4;
	}
	/* beside existing instances: a 3g at 0:4 leaves room for one more 3g only at 4 */
	struct mig_gi existing = {.id = 1, .profile_id = 9, .placement = {0, 4}};
	g.gis = &existing;
	g.ngis = 1;
	const struct mig_gi_profile *w1[1] = {three};
	assert_int_equal(mig_place_gis(&g, w1, 1, out, &err), 0);
	assert_int_equal(out[0].start, 4);
	const struct mig_gi_profile *w2[2] = {three, one};
	assert_int_equal(mig_place_gis(&g, w2, 2, out, &err), -1);
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	/* with room to spare, the largest free block is kept: two 1g go to one end */
	g.ngis = 0;
	const struct mig_gi_profile *w3[2] = {one, one};
	assert_int_equal(mig_place_gis(&g, w3, 2, out, &err), 0);
	assert_true((out[0].start >= 4 && out[1].start >= 4) || (out[0].start < 4 && out[1].start < 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_solver_matches_brute_force_on_every_model),
		cmocka_unit_test(test_fits_what_driver_order_does_not),
	};
	return cmocka_run_group_tests_name("placement solver", tests, NULL, NULL);
}
