/* SPDX-License-Identifier: MIT */
/* libmig against the simulator: reading the node, selectors, profile lookup, changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../include/mig.h"
#include "../../lib/internal.h" /* the executor and its operations */
#include "../../sim/store.h"
#include "sim_node.h"

static char state_path[256];

/* A fresh simulated node written straight into the state file. */
static void machine(const char *gpus)
{
	sim_node_init(state_path, gpus);
}

static struct mig_ctx *open_ctx(void)
{
	return sim_ctx();
}

static struct mig_node *read_node(struct mig_ctx *ctx)
{
	struct mig_node *node = NULL;
	struct mig_error err;
	if (mig_node_read(ctx, &node, MIG_READ_CAPACITY, &err))
		fail_msg("mig_node_read: %s", err.msg);
	return node;
}

static void enable(struct mig_ctx *ctx, unsigned int gpu)
{
	struct mig_mode_result res;
	struct mig_error err;
	assert_int_equal(mig_gpu_set_mig_mode(ctx, gpu, true, &res, &err), 0);
	assert_int_equal(res.current, MIG_MODE_ENABLED);
	assert_int_equal(res.activation, 0);
}

static void test_reads_gpus_profiles_and_instances(void **unused)
{
	(void)unused;
	struct mig_error err;
	unsigned int gi_id, ci_id;
	struct mig_placement placed;

	machine("A100-SXM4-40GB,A30");
	struct mig_ctx *ctx = open_ctx();
	struct mig_node *node = read_node(ctx);
	assert_int_equal(node->ngpus, 2);
	assert_string_equal(node->gpus[0].name, "NVIDIA A100-SXM4-40GB");
	assert_string_equal(node->gpus[0].pci_bus_id, "00000000:07:00.0");
	assert_int_equal(node->gpus[0].mode_current, MIG_MODE_DISABLED);
	assert_int_equal(node->gpus[0].nprofiles, 7); /* profiles answer with MIG off */
	assert_int_equal(node->gpus[0].grid, 8);
	assert_int_equal(node->gpus[1].grid, 4);
	assert_int_equal(node->gpus[0].ngis, 0);
	mig_node_free(node);

	enable(ctx, 0);
	assert_int_equal(mig_gi_create(ctx, 0, 9, NULL, &gi_id, &placed, &err), 0);
	assert_int_equal(gi_id, 2);
	assert_int_equal(placed.start, 4);
	assert_int_equal(mig_ci_create(ctx, 0, gi_id, 2, NULL, &ci_id, &err), 0);
	struct mig_placement at = {0, 2};
	assert_int_equal(mig_gi_create(ctx, 0, 14, &at, &gi_id, &placed, &err), 0);
	assert_int_equal(gi_id, 3);

	node = read_node(ctx);
	struct mig_gpu *g = &node->gpus[0];
	assert_int_equal(g->ngis, 2);
	assert_int_equal(g->gis[0].id, 2);
	assert_string_equal(g->gis[0].profile, "3g.20gb");
	assert_int_equal(g->gis[0].ncis, 1);
	assert_string_equal(g->gis[0].cis[0].profile, "3g.20gb");
	assert_int_equal(g->gis[0].cis[0].sms, 42);
	assert_int_equal(g->gis[0].cis[0].mig_index, 0);
	assert_memory_equal(g->gis[0].cis[0].uuid, "MIG-", 4);
	assert_int_equal(g->gis[0].nci_profiles, 3);
	assert_true(g->gis[0].ci_profiles[2].is_default);
	assert_false(g->gis[0].ci_profiles[0].is_default);
	assert_int_equal(g->gis[1].ncis, 0);
	for (size_t i = 0; i < g->nprofiles; i++)
		if (g->profiles[i].id == 19)
			assert_int_equal(g->profiles[i].remaining, 2); /* 1g fits at 2 and 3 only */
	mig_node_free(node);

	/* errors keep the NVML code and say what was attempted */
	assert_int_equal(mig_gi_create(ctx, 1, 14, NULL, NULL, NULL, &err), -1);
	assert_int_equal(err.status, MIG_E_NVML);
	assert_int_equal(err.nvml, 3);
	assert_string_equal(err.msg, "Unable to create a GPU instance on GPU 1 using profile 14: Not Supported");
	assert_int_equal(mig_gi_destroy(ctx, 0, 2, &err), -1);
	assert_int_equal(err.nvml, 19);
	assert_int_equal(mig_gi_destroy(ctx, 0, 9, &err), -1);
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	assert_int_equal(mig_ci_destroy(ctx, 0, 2, 5, &err), -1);
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	assert_int_equal(mig_ci_destroy(ctx, 0, 2, 0, &err), 0);
	assert_int_equal(mig_gi_destroy(ctx, 0, 2, &err), 0);
	mig_ctx_free(ctx);
}

/* mig_node_read_gpus: only the named GPUs, once each, in index order, with their NVML index;
 * every selector form; the errors of mig_select_gpus, leaving nothing allocated. */
/* GPUs and MIG devices by UUID, in a node built by hand (the lookups read nothing else) */
static void test_find_by_uuid(void **unused)
{
	(void)unused;
	struct mig_ci cis[2] = {{.id = 0}, {.id = 1}};
	snprintf(cis[0].uuid, sizeof(cis[0].uuid), "MIG-aaaa");
	snprintf(cis[1].uuid, sizeof(cis[1].uuid), "MIG-bbbb");
	struct mig_gi gis[2] = {{.id = 7}, {.id = 9, .cis = cis, .ncis = 2}};
	struct mig_gpu gpus[2] = {{.index = 0}, {.index = 1, .gis = gis, .ngis = 2}};
	snprintf(gpus[0].uuid, sizeof(gpus[0].uuid), "GPU-0000");
	snprintf(gpus[1].uuid, sizeof(gpus[1].uuid), "GPU-1111");
	struct mig_node node = {.gpus = gpus, .ngpus = 2};

	assert_ptr_equal(mig_node_find_gpu(&node, "GPU-1111"), &gpus[1]);
	assert_ptr_equal(mig_node_find_gpu(&node, "GPU-0000"), &gpus[0]);
	assert_null(mig_node_find_gpu(&node, "GPU-2222"));
	assert_null(mig_node_find_gpu(&node, "MIG-aaaa"));
	assert_null(mig_node_find_gpu(&node, NULL));
	assert_null(mig_node_find_gpu(NULL, "GPU-0000"));

	const struct mig_gpu *g = NULL;
	const struct mig_gi *gi = NULL;
	assert_ptr_equal(mig_node_find_device(&node, "MIG-bbbb", &g, &gi), &cis[1]);
	assert_ptr_equal(g, &gpus[1]);
	assert_ptr_equal(gi, &gis[1]);
	assert_ptr_equal(mig_node_find_device(&node, "MIG-aaaa", NULL, NULL), &cis[0]);
	g = NULL;
	assert_null(mig_node_find_device(&node, "MIG-cccc", &g, NULL));
	assert_null(g); /* left alone when nothing matches */
	assert_null(mig_node_find_device(&node, "GPU-1111", NULL, NULL));
	assert_null(mig_node_find_device(&node, NULL, NULL, NULL));
	assert_null(mig_node_find_device(NULL, "MIG-aaaa", NULL, NULL));
}

static void test_read_selected_gpus(void **unused)
{
	(void)unused;
	struct mig_error err;
	machine("2xA100-SXM4-40GB,A30");
	struct mig_ctx *ctx = open_ctx();
	struct mig_node *whole = read_node(ctx), *node = NULL;
	char sel[256];

	snprintf(sel, sizeof(sel), "2,%s,0000:0F:00.0,2", whole->gpus[2].uuid);
	assert_int_equal(mig_node_read_gpus(ctx, sel, MIG_READ_CAPACITY, &node, &err), 0);
	assert_int_equal(node->ngpus, 2);
	assert_int_equal(node->gpus[0].index, 1);
	assert_int_equal(node->gpus[1].index, 2);
	assert_string_equal(node->gpus[0].uuid, whole->gpus[1].uuid);
	assert_string_equal(node->gpus[1].name, "NVIDIA A30");
	assert_int_equal(node->gpus[1].nprofiles, whole->gpus[2].nprofiles);
	assert_int_equal(node->gpus[1].profiles[0].nplacements, whole->gpus[2].profiles[0].nplacements);
	mig_node_free(node);

	/* one GPU costs what it costs on a node of its own, whichever GPU of the node it is */
	unsigned long c0 = mig_ctx_nvml_calls(ctx);
	assert_int_equal(mig_node_read_gpus(ctx, "0", MIG_READ_BASIC, &node, &err), 0);
	unsigned long first = mig_ctx_nvml_calls(ctx) - c0;
	mig_node_free(node);
	c0 = mig_ctx_nvml_calls(ctx);
	assert_int_equal(mig_node_read_gpus(ctx, "1", MIG_READ_BASIC, &node, &err), 0);
	assert_int_equal(mig_ctx_nvml_calls(ctx) - c0, first);
	assert_int_equal(node->ngpus, 1);
	assert_int_equal(node->gpus[0].index, 1);
	mig_node_free(node);

	assert_int_equal(mig_node_read_gpus(ctx, "all", MIG_READ_BASIC, &node, &err), 0);
	assert_int_equal(node->ngpus, 3);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(node->gpus[i].index, i);
	mig_node_free(node);

	const struct {
		const char *sel;
		enum mig_status status;
		const char *msg;
	} bad[] = {
		{"3", MIG_E_NOT_FOUND, "no GPU 3: this node has 3 GPUs (0-2)"},
		{"0,3", MIG_E_NOT_FOUND, "no GPU 3: this node has 3 GPUs (0-2)"},
		{"GPU-00000000-0000-0000-0000-000000000000", MIG_E_NOT_FOUND, "no GPU has UUID GPU-00000000-0000-0000-0000-000000000000"},
		{"MIG-00000000-0000-0000-0000-000000000000", MIG_E_NOT_FOUND, "no GPU has UUID MIG-00000000-0000-0000-0000-000000000000"},
		{"00000000:99:00.0", MIG_E_NOT_FOUND, "no GPU at PCI bus id 00000000:99:00.0"},
		{"0,,1", MIG_E_INVALID, "empty item in GPU selector '0,,1'"},
		{"", MIG_E_INVALID, "empty GPU selector"},
		{"gpu0", MIG_E_INVALID, NULL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		node = NULL;
		assert_int_equal(mig_node_read_gpus(ctx, bad[i].sel, MIG_READ_BASIC, &node, &err), -1);
		assert_null(node);
		assert_int_equal(err.status, bad[i].status);
		if (bad[i].msg)
			assert_string_equal(err.msg, bad[i].msg);
		/* the same words as selecting from a whole read */
		bool picked[3];
		struct mig_error whole_err;
		assert_int_equal(mig_select_gpus(whole, bad[i].sel, picked, &whole_err), -1);
		assert_string_equal(err.msg, whole_err.msg);
	}
	assert_int_equal(mig_node_read_gpus(ctx, NULL, MIG_READ_BASIC, &node, NULL), -1);
	mig_node_free(whole);
	mig_ctx_free(ctx);
}

static void test_selectors(void **unused)
{
	(void)unused;
	bool sel[4];
	struct mig_error err;
	machine("2xA100-SXM4-40GB,A30");
	struct mig_ctx *ctx = open_ctx();
	struct mig_node *node = read_node(ctx);

	const struct {
		const char *sel;
		bool want[3];
	} good[] = {
		{"all", {true, true, true}},      {"1", {false, true, false}},          {"0,2", {true, false, true}},
		{"00000000:0F:00.0", {false, true, false}}, {"0000:47:00.0", {false, false, true}},
		{"07:00.0", {true, false, false}},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(mig_select_gpus(node, good[i].sel, sel, &err), 0);
		for (int k = 0; k < 3; k++)
			assert_int_equal(sel[k], good[i].want[k]);
	}
	assert_int_equal(mig_select_gpus(node, node->gpus[2].uuid, sel, &err), 0);
	assert_true(sel[2] && !sel[0] && !sel[1]);

	const struct {
		const char *sel, *msg;
		enum mig_status status;
	} bad[] = {
		{"3", "no GPU 3: this node has 3 GPUs (0-2)", MIG_E_NOT_FOUND},
		{"0,,1", "empty item", MIG_E_INVALID},
		{"", "empty GPU selector", MIG_E_INVALID},
		{"GPU-00000000-0000-0000-0000-000000000000", "no GPU has UUID", MIG_E_NOT_FOUND},
		{"00000000:99:00.0", "no GPU at PCI bus id", MIG_E_NOT_FOUND},
		{"first", "is not a GPU selector", MIG_E_INVALID},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mig_select_gpus(node, bad[i].sel, sel, &err), -1);
		assert_int_equal(err.status, bad[i].status);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("'%s' gave '%s', expected '%s'", bad[i].sel, err.msg, bad[i].msg);
	}
	mig_node_free(node);
	mig_ctx_free(ctx);
}

static void test_profile_lookup(void **unused)
{
	(void)unused;
	struct mig_error err;
	machine("A100-SXM4-40GB");
	struct mig_ctx *ctx = open_ctx();
	struct mig_node *node = read_node(ctx);
	const struct mig_gpu *g = &node->gpus[0];

	assert_int_equal(mig_gpu_find_profile(g, "3g.20gb", &err)->id, 9);
	assert_int_equal(mig_gpu_find_profile(g, "MIG 1g.5gb+me", &err)->id, 20);
	assert_int_equal(mig_gpu_find_profile(g, "1G.10GB", &err)->id, 15);
	assert_int_equal(mig_gpu_find_profile(g, "0", &err)->id, 0);
	assert_string_equal(mig_gpu_find_profile(g, "14", &err)->name, "2g.10gb");

	/* the walkthrough's profiles, which no A100 has */
	assert_null(mig_gpu_find_profile(g, "2g.5gb", &err));
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	assert_non_null(strstr(err.msg, "has no profile '2g.5gb'; did you mean 2g.10gb?"));
	assert_non_null(strstr(err.msg, "1g.5gb (19), 2g.10gb (14), 3g.20gb (9)"));
	assert_null(mig_gpu_find_profile(g, "3g.10gb", &err));
	assert_non_null(strstr(err.msg, "did you mean 3g.20gb?"));
	assert_null(mig_gpu_find_profile(g, "42", &err));
	assert_non_null(strstr(err.msg, "no profile with ID 42"));
	assert_null(mig_gpu_find_profile(g, "1c.3g.20gb", &err));
	assert_non_null(strstr(err.msg, "names a compute instance profile"));
	assert_null(mig_gpu_find_profile(g, "big", &err));
	assert_int_equal(err.status, MIG_E_INVALID);
	assert_non_null(strstr(err.msg, "the profiles of GPU 0"));
	mig_node_free(node);
	mig_ctx_free(ctx);
}

/* err may be NULL: a failed operation (a GPU instance that is not there) is still told by the
 * return value, and *done counts none (this used to dereference the NULL err) */
static void test_plan_apply_without_err(void **unused)
{
	(void)unused;
	machine("A100-SXM4-40GB");
	struct mig_ctx *ctx = open_ctx();
	enable(ctx, 0);
	struct mig_op op = {.kind = MIG_OP_DESTROY_GI, .gpu = 0, .gi_id = 99, .new_gi = -1};
	struct mig_plan plan = {.ops = &op, .nops = 1};
	size_t done = 1;
	assert_int_equal(mig_plan_apply(ctx, &plan, &done, NULL, NULL, NULL), -1);
	assert_int_equal(done, 0);
	mig_ctx_free(ctx);
}

static void test_bad_state_fails_init_with_the_reason(void **unused)
{
	(void)unused;
	struct mig_ctx *ctx = NULL;
	struct mig_error err;
	FILE *f = fopen(state_path, "w");
	assert_non_null(f);
	fputs("{\"format\": \"something-else\"}", f);
	fclose(f);
	assert_int_equal(mig_ctx_new(&ctx, getenv("MIGSIM_LIB"), &err), -1);
	assert_int_equal(err.status, MIG_E_NVML);
	assert_non_null(strstr(err.msg, "initialising NVML"));
}

int main(void)
{
	/* these tests enable MIG and create instances: only ever on the simulator */
	char dir[] = "/tmp/libmig-test-XXXXXX";
	if (sim_test_begin("test_libmig", dir, state_path, sizeof(state_path)))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_gpus_profiles_and_instances),
		cmocka_unit_test(test_selectors),
		cmocka_unit_test(test_find_by_uuid),
		cmocka_unit_test(test_read_selected_gpus),
		cmocka_unit_test(test_profile_lookup),
		cmocka_unit_test(test_plan_apply_without_err),
		cmocka_unit_test(test_bad_state_fails_init_with_the_reason),
	};
	int rc = cmocka_run_group_tests_name("libmig", tests, NULL, NULL);
	return sim_test_end(rc, dir);
}
