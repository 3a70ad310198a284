/* SPDX-License-Identifier: MIT */
/*
 * The placement policy (issue 12): one new GPU instance at a time, on one GPU (mig_place_gis
 * with one profile, what `migctl create` and apply use) and across a node (mig_place_one).
 * Sequences of creations are replayed on the simulator's engine, which also stands for the
 * driver: created without a placement, it uses the driver's default placement (the model in
 * the hardware facts).
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

struct model_gpu {
	const struct sim_model *m;
	struct mig_gpu g;
	struct mig_gi_profile profiles[SIM_MAX_GI_PROFILES];
	struct mig_placement pl[SIM_MAX_GI_PROFILES][SIM_MAX_PLACEMENTS];
	struct mig_gi gis[SIM_MAX_GIS];
};

static void model_gpu(struct model_gpu *mg, const char *key)
{
	mg->m = sim_model_find(key);
	assert_non_null(mg->m);
	gpu_from_model(mg->m, &mg->g, mg->profiles, mg->pl);
	mg->g.gis = mg->gis;
}

static struct sim_gpu empty_sim_gpu(const struct sim_model *m)
{
	struct sim_gpu g;
	memset(&g, 0, sizeof(g));
	g.model = m;
	g.mig_current = g.mig_pending = NVML_DEVICE_MIG_ENABLE;
	return g;
}

/* The libmig view of the simulated GPU's instances. */
static void sync_view(struct model_gpu *mg, const struct sim_gpu *sg)
{
	mg->g.ngis = sg->ngi;
	for (unsigned int i = 0; i < sg->ngi; i++) {
		memset(&mg->gis[i], 0, sizeof(mg->gis[i]));
		mg->gis[i].id = sg->gi[i].id;
		mg->gis[i].profile_id = sg->gi[i].profile_id;
		mg->gis[i].placement = (struct mig_placement){sg->gi[i].placement.start, sg->gi[i].placement.size};
	}
}

static const struct mig_gi_profile *profile_named(struct model_gpu *mg, const char *name)
{
	const struct mig_gi_profile *p = mig_gpu_find_profile(&mg->g, name, NULL);
	assert_non_null(p);
	return p;
}

enum rule { DRIVER, LOWEST, POLICY };

/* Create one instance of profile p on sg by the rule; false when it does not go on. */
static bool create_by(enum rule r, struct model_gpu *mg, struct sim_gpu *sg, const struct mig_gi_profile *p)
{
	switch (r) {
	case DRIVER:
		return sim_gi_create(sg, p->id, NULL, NULL) == NVML_SUCCESS;
	case LOWEST:
		for (size_t k = 0; k < p->nplacements; k++) {
			struct sim_placement at = {p->placements[k].start, p->placements[k].size};
			if (sim_gi_create(sg, p->id, &at, NULL) == NVML_SUCCESS)
				return true;
		}
		return false;
	case POLICY: {
		struct mig_placement out;
		struct mig_error err;
		const struct mig_gi_profile *want[1] = {p};
		sync_view(mg, sg);
		if (mig_place_gis(&mg->g, want, 1, &out, &err))
			return false;
		struct sim_placement at = {out.start, out.size};
		/* the engine must accept what the policy chose */
		assert_int_equal(sim_gi_create(sg, p->id, &at, NULL), NVML_SUCCESS);
		return true;
	}
	}
	return false;
}

static void test_2g_then_4g_on_empty_a100(void **unused)
{
	(void)unused;
	struct model_gpu mg;
	model_gpu(&mg, "A100-SXM4-40GB");
	struct sim_gpu sg = empty_sim_gpu(mg.m);
	assert_true(create_by(POLICY, &mg, &sg, profile_named(&mg, "2g.10gb")));
	assert_true(create_by(POLICY, &mg, &sg, profile_named(&mg, "4g.20gb")));
	/* first-fit puts the 2g at 0, where the 4g's only placement is */
	struct sim_gpu ff = empty_sim_gpu(mg.m);
	assert_true(create_by(LOWEST, &mg, &ff, profile_named(&mg, "2g.10gb")));
	assert_false(create_by(LOWEST, &mg, &ff, profile_named(&mg, "4g.20gb")));
}

struct seq_counts {
	unsigned long sequences, driver, lowest, policy, driver_not_policy;
};

/* Every sequence of 1..max creations of the plain profiles (no media suffix). */
static void each_sequence(struct model_gpu *mg, const size_t *plain, size_t nplain, size_t *seq, size_t depth,
			  size_t max, struct seq_counts *c)
{
	if (depth > 0) {
		bool done[3];
		for (int r = DRIVER; r <= POLICY; r++) {
			struct sim_gpu sg = empty_sim_gpu(mg->m);
			done[r] = true;
			for (size_t i = 0; i < depth && done[r]; i++)
				done[r] = create_by((enum rule)r, mg, &sg, &mg->profiles[plain[seq[i]]]);
		}
		c->sequences++;
		c->driver += done[DRIVER];
		c->lowest += done[LOWEST];
		c->policy += done[POLICY];
		if (done[DRIVER] && !done[POLICY]) {
			if (c->driver_not_policy++ == 0) {
				char list[256] = "";
				for (size_t i = 0; i < depth; i++)
					snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s ",
						 mg->profiles[plain[seq[i]]].name);
				print_message("# %s: the driver completes %s, the policy does not\n", mg->m->key, list);
			}
		}
	}
	if (depth == max)
		return;
	for (size_t i = 0; i < nplain; i++) {
		seq[depth] = i;
		each_sequence(mg, plain, nplain, seq, depth + 1, max, c);
	}
}

static struct seq_counts sequences_on(const char *key)
{
	struct model_gpu mg;
	size_t plain[SIM_MAX_GI_PROFILES], nplain = 0, seq[4];
	struct seq_counts c = {0, 0, 0, 0, 0};
	model_gpu(&mg, key);
	for (size_t i = 0; i < mg.g.nprofiles; i++)
		if (mg.profiles[i].parsed.media == MIG_MEDIA_DEFAULT)
			plain[nplain++] = i;
	each_sequence(&mg, plain, nplain, seq, 0, 4, &c);
	printf("# %-15s %4lu sequences of up to 4 creations: driver completes %lu, lowest start %lu, policy %lu\n",
	       key, c.sequences, c.driver, c.lowest, c.policy);
	assert_int_equal(c.driver_not_policy, 0);
	assert_true(c.policy >= c.driver);
	return c;
}

static void test_sequences_a100(void **unused)
{
	(void)unused;
	struct seq_counts c = sequences_on("A100-SXM4-40GB");
	/* the counts the hardware facts give for the driver's rule and for lowest start */
	assert_int_equal(c.sequences, 1554);
	assert_int_equal(c.driver, 207);
	assert_int_equal(c.lowest, 171);
}

static void test_sequences_h100(void **unused)
{
	(void)unused;
	sequences_on("H100-SXM5-80GB");
}

static void test_sequences_a30(void **unused)
{
	(void)unused;
	sequences_on("A30");
}

/* ---- across a node: mig_place_one ---------------------------------------------------- */

struct test_node {
	struct model_gpu gpus[3];
	struct mig_gpu view[3];
	struct mig_node node;
};

static void node_of(struct test_node *tn, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		model_gpu(&tn->gpus[i], key);
		tn->gpus[i].g.index = (unsigned int)i;
	}
	tn->node.ngpus = n;
	tn->node.gpus = tn->view;
}

static void add_gi(struct test_node *tn, size_t gpu, unsigned int profile_id, unsigned int start, unsigned int size)
{
	struct model_gpu *mg = &tn->gpus[gpu];
	mg->gis[mg->g.ngis] = (struct mig_gi){.id = (unsigned int)mg->g.ngis + 1, .profile_id = profile_id,
					      .placement = {start, size}};
	mg->g.ngis++;
}

/* the node sees copies: refresh them after every change */
static struct mig_node *view(struct test_node *tn)
{
	for (size_t i = 0; i < tn->node.ngpus; i++)
		tn->view[i] = tn->gpus[i].g;
	return &tn->node;
}

static void test_one_keeps_room_and_fills_fullest(void **unused)
{
	(void)unused;
	struct test_node tn;
	struct mig_place_choice c;
	struct mig_error err;
	node_of(&tn, 2, "A100-SXM4-40GB");
	/* an empty GPU: a 2g goes where it costs the 4g nothing */
	assert_int_equal(mig_place_one(view(&tn), NULL, "2g.10gb", NULL, &c, &err), 0);
	assert_int_equal(c.gpu, 0);
	assert_int_equal(c.at.start, 4);
	assert_string_equal(c.profile->name, "2g.10gb");
	/* GPU 1 holds a 4g at 0:4: a 1g beside it costs less there than on the empty GPU 0,
	 * which keeps its 7g */
	add_gi(&tn, 1, 5, 0, 4);
	assert_int_equal(mig_place_one(view(&tn), NULL, "1g.5gb", NULL, &c, &err), 0);
	assert_int_equal(c.gpu, 1);
	assert_true(c.at.start >= 4);
	/* leaving GPU 1 out sends it to GPU 0 */
	bool eligible[2] = {true, false};
	assert_int_equal(mig_place_one(view(&tn), eligible, "1g.5gb", NULL, &c, &err), 0);
	assert_int_equal(c.gpu, 0);
	/* by driver id too */
	assert_int_equal(mig_place_one(view(&tn), NULL, "5", NULL, &c, &err), 0);
	assert_string_equal(c.profile->name, "4g.20gb");
}

/* The worth's two corrections: a small instance keeps off a free waste-free placement (3g at
 * 4:4 covers three compute slices; at 0:4 it covers four and strands one), and filling a GPU
 * whose room is stranded (the slices for a profile, no placement) costs nothing. */
static void test_one_keeps_waste_free_place(void **unused)
{
	(void)unused;
	struct test_node tn;
	struct mig_place_choice c;
	struct mig_error err;
	node_of(&tn, 2, "A100-SXM4-40GB");
	/* on an empty GPU a 1g goes to 6 (the driver's choice too) and costs 1g, 3g, 7g and the
	 * 3g's waste-free place: 1 + 1 + 1 + 1.5 */
	assert_int_equal(mig_place_one(view(&tn), NULL, "1g.5gb", NULL, &c, &err), 0);
	assert_int_equal(c.gpu, 0);
	assert_int_equal(c.at.start, 6);
	assert_true(c.loss > 4.5 - 1e-9 && c.loss < 4.5 + 1e-9);
	/* GPU 1 holds a 3g at 4:4: a 1g beside it costs 1g, 2g, the 3g at 0:4 and the 4g (4),
	 * less than opening the empty GPU 0's waste-free 3g place (4.5) */
	add_gi(&tn, 1, 9, 4, 4);
	assert_int_equal(mig_place_one(view(&tn), NULL, "1g.5gb", NULL, &c, &err), 0);
	assert_int_equal(c.gpu, 1);
	assert_true(c.at.start < 4);
	assert_true(c.loss > 4 - 1e-9 && c.loss < 4 + 1e-9);
	/* two GPUs with a 4g at 0:4; GPU 1 also a 1g at 4, so its 2g room (two slices, three
	 * units) has no placement: a 1g there costs a 1g and ends the stranded 2g, 0 in all,
	 * where GPU 0's free 4:4 would cost 1g, 3g and its waste-free place (3.5) */
	node_of(&tn, 2, "A100-SXM4-40GB");
	add_gi(&tn, 0, 5, 0, 4);
	add_gi(&tn, 1, 5, 0, 4);
	add_gi(&tn, 1, 19, 4, 1);
	assert_int_equal(mig_place_one(view(&tn), NULL, "1g.5gb", NULL, &c, &err), 0);
	assert_int_equal(c.gpu, 1);
	assert_true(c.loss > -1e-9 && c.loss < 1e-9);
	bool only0[2] = {true, false};
	assert_int_equal(mig_place_one(view(&tn), only0, "1g.5gb", NULL, &c, &err), 0);
	assert_int_equal(c.at.start, 6);
	assert_true(c.loss > 3.5 - 1e-9 && c.loss < 3.5 + 1e-9);
}

static void test_one_fragmented_or_full(void **unused)
{
	(void)unused;
	struct test_node tn;
	struct mig_place_choice c;
	struct mig_error err;
	node_of(&tn, 1, "A100-SXM4-40GB");
	/* 1g at 0 and at 4: 5 compute slices and 6 units free, but no half is whole for a 3g */
	add_gi(&tn, 0, 19, 0, 1);
	add_gi(&tn, 0, 19, 4, 1);
	assert_int_equal(mig_place_one(view(&tn), NULL, "3g.20gb", NULL, &c, &err), -1);
	assert_int_equal(err.status, MIG_E_FRAGMENTED);
	assert_non_null(strstr(err.msg, "3g.20gb"));
	assert_non_null(strstr(err.msg, "GPU 0 has the free slices"));
	/* a 4g and a 3g: every compute slice is taken */
	node_of(&tn, 1, "A100-SXM4-40GB");
	tn.gpus[0].g.ngis = 0;
	add_gi(&tn, 0, 5, 0, 4);
	add_gi(&tn, 0, 9, 4, 4);
	assert_int_equal(mig_place_one(view(&tn), NULL, "1g.5gb", NULL, &c, &err), -1);
	assert_int_equal(err.status, MIG_E_NO_CAPACITY);
	assert_non_null(strstr(err.msg, "no GPU has the free slices for 1g.5gb"));
	/* the mix steers: told only 4g will come, a 1g avoids the 4g's half */
	node_of(&tn, 1, "A100-SXM4-40GB");
	tn.gpus[0].g.ngis = 0;
	const char *names[1] = {"4g.20gb"};
	const double weights[1] = {1};
	struct mig_place_mix mix = {.profiles = names, .weights = weights, .n = 1};
	assert_int_equal(mig_place_one(view(&tn), NULL, "1g.5gb", &mix, &c, &err), 0);
	assert_true(c.at.start >= 4);
	/* a mix with a reserved word set comes from a newer <mig.h>: refused, not half-read */
	mix.mig_reserved_[1] = 7;
	assert_int_equal(mig_place_one(view(&tn), NULL, "1g.5gb", &mix, &c, &err), -1);
	assert_int_equal(err.status, MIG_E_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "struct mig_place_mix"));
	assert_non_null(strstr(err.msg, "newer <mig.h>"));
}

static void test_one_bad_requests(void **unused)
{
	(void)unused;
	struct test_node tn;
	struct mig_place_choice c;
	struct mig_error err;
	node_of(&tn, 2, "A100-SXM4-40GB");
	assert_int_equal(mig_place_one(view(&tn), NULL, "2g.20gb", NULL, &c, &err), -1);
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	assert_non_null(strstr(err.msg, "2g.20gb"));
	assert_int_equal(mig_place_one(view(&tn), NULL, "banana", NULL, &c, &err), -1);
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	assert_int_equal(mig_place_one(view(&tn), NULL, NULL, NULL, &c, &err), -1);
	assert_int_equal(err.status, MIG_E_INVALID);
	/* GPUs without MIG enabled are never chosen */
	tn.gpus[0].g.mode_current = MIG_MODE_DISABLED;
	tn.gpus[1].g.mode_current = MIG_MODE_DISABLED;
	assert_int_equal(mig_place_one(view(&tn), NULL, "1g.5gb", NULL, &c, &err), -1);
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	tn.gpus[1].g.mode_current = MIG_MODE_ENABLED;
	assert_int_equal(mig_place_one(view(&tn), NULL, "1g.5gb", NULL, &c, &err), 0);
	assert_int_equal(c.gpu, 1);
	/* a node read without MIG_READ_CAPACITY has no placements to choose from */
	tn.gpus[1].profiles[0].nplacements = 0;
	assert_int_equal(mig_place_one(view(&tn), NULL, "1g.5gb", NULL, &c, &err), -1);
	assert_int_equal(err.status, MIG_E_INVALID);
	assert_non_null(strstr(err.msg, "MIG_READ_CAPACITY"));
	/* a NULL error is fine */
	bool none[2] = {false, false};
	assert_int_equal(mig_place_one(view(&tn), none, "1g.5gb", NULL, &c, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_2g_then_4g_on_empty_a100),
		cmocka_unit_test(test_sequences_a100),
		cmocka_unit_test(test_sequences_h100),
		cmocka_unit_test(test_sequences_a30),
		cmocka_unit_test(test_one_keeps_room_and_fills_fullest),
		cmocka_unit_test(test_one_keeps_waste_free_place),
		cmocka_unit_test(test_one_fragmented_or_full),
		cmocka_unit_test(test_one_bad_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
