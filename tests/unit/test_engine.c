/* SPDX-License-Identifier: MIT */
/* Unit tests of the simulator's pure parts: model tables, GI id rule, MIG engine rules,
 * the GPU-list parser and the state file's strict JSON reader. No NVML, no files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../sim/state.h"

static struct sim_state st;

static int fresh_a100(void **unused)
{
	(void)unused;
	char err[256];
	assert_int_equal(sim_state_init(&st, "A100-SXM4-40GB", err, sizeof(err)), 0);
	st.gpus[0].mig_current = st.gpus[0].mig_pending = NVML_DEVICE_MIG_ENABLE;
	return 0;
}

static unsigned int create(unsigned int gpu, unsigned int profile_id, nvmlReturn_t want)
{
	unsigned int id = 99;
	assert_int_equal(sim_gi_create(&st.gpus[gpu], profile_id, NULL, &id), want);
	return id;
}

static struct sim_placement placement_of(unsigned int gpu, unsigned int gi_id)
{
	struct sim_gi *gi = sim_gpu_find_gi(&st.gpus[gpu], gi_id);
	assert_non_null(gi);
	return gi->placement;
}

/* ---- tables ---------------------------------------------------------------- */

static void test_every_model_table_is_self_consistent(void **unused)
{
	(void)unused;
	size_t without_mig = 0;
	assert_int_equal(sim_nmodels, 18);
	for (size_t i = 0; i < sim_nmodels; i++) {
		const struct sim_model *m = &sim_models[i];
		assert_ptr_equal(sim_model_find(m->key), m);
		assert_true(m->nprofiles <= SIM_MAX_GI_PROFILES);
		if (m->nprofiles == 0) { /* a GPU without MIG: nothing MIG about it */
			without_mig++;
			assert_int_equal(m->grid, 0);
			assert_int_equal(m->max_gpu_instances, 0);
			assert_int_equal(m->max_mig_devices, 0);
			continue;
		}
		for (unsigned int k = 0; k < m->nprofiles; k++) {
			const struct sim_gi_profile *p = &m->profiles[k];
			assert_ptr_equal(sim_model_gi_by_id(m, p->id), p);
			assert_ptr_equal(sim_model_gi_by_index(m, p->index), p);
			assert_true(p->nplacements > 0 && p->instance_count <= p->nplacements);
			assert_true(p->memory_mib > 0 && p->memory_mib <= m->memory_mib);
			for (unsigned int j = 0; j < p->nplacements; j++) {
				/* every placement maps to its own swizzId, in both board layouts */
				assert_true(sim_model_gi_id(m, p->placements[j], false) >= 0);
				assert_true(sim_model_gi_id(m, p->placements[j], true) >= 0);
				assert_true(p->placements[j].start + p->placements[j].size <= m->grid);
			}
			unsigned int defaults = 0;
			for (unsigned int c = 0; c < p->nci; c++) {
				defaults += p->ci[c].is_default;
				assert_true(p->ci[c].slices <= p->slices);
				assert_true(p->ci[c].sms > 0);
			}
			assert_int_equal(defaults, 1); /* exactly one profile for "-C" */
		}
	}
	assert_int_equal(without_mig, 1);
}

static void test_model_lookup_accepts_aliases_in_any_case(void **unused)
{
	(void)unused;
	assert_string_equal(sim_model_find("a100")->key, "A100-SXM4-40GB");
	assert_string_equal(sim_model_find("h100-sxm5-80gb")->key, "H100-SXM5-80GB");
	assert_string_equal(sim_model_find("RTX-PRO-6000-Blackwell")->key, "RTX-PRO-6000");
	assert_null(sim_model_find("V100"));
}

static void test_gi_id_rule(void **unused)
{
	(void)unused;
	const struct sim_model *a100 = sim_model_find("A100-SXM4-40GB");
	const struct sim_model *a30 = sim_model_find("A30");
	const struct sim_model *rtx = sim_model_find("RTX-PRO-6000");
	struct {
		const struct sim_model *m;
		unsigned int start, size;
		bool swapped;
		int id;
	} cases[] = {
		{a100, 0, 8, false, 0}, {a100, 0, 4, false, 1}, {a100, 4, 4, false, 2}, {a100, 0, 2, false, 3},
		{a100, 6, 2, false, 6}, {a100, 0, 1, false, 7}, {a100, 6, 1, false, 13}, {a100, 4, 4, true, 1},
		{a100, 0, 1, true, 11}, {a100, 2, 2, true, 6}, {a100, 0, 4, true, 2}, {a100, 0, 8, true, 0},
		{a30, 0, 4, false, 0}, {a30, 2, 2, false, 2}, {a30, 3, 1, false, 6}, {rtx, 0, 12, false, 0},
		{rtx, 6, 6, false, 2}, {rtx, 9, 3, false, 6}, {a100, 1, 2, false, -1}, {a100, 0, 3, false, -1},
		{a100, 7, 2, false, -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sim_placement p = {cases[i].start, cases[i].size};
		assert_int_equal(sim_model_gi_id(cases[i].m, p, cases[i].swapped), cases[i].id);
	}
}

/* ---- GPU instances ---------------------------------------------------------------- */

static void test_default_1g_placements_follow_the_driver(void **unused)
{
	(void)unused;
	const unsigned int want[] = {6, 4, 5, 0, 1, 2, 3};
	for (size_t i = 0; i < 7; i++) {
		unsigned int id = create(0, 19, NVML_SUCCESS);
		assert_int_equal(placement_of(0, id).start, want[i]);
		assert_int_equal(id, 7 + want[i]);
	}
	create(0, 19, NVML_ERROR_INSUFFICIENT_RESOURCES);
}

static void test_nvidia_order_example(void **unused)
{
	(void)unused;
	/* 1g, 1g, 2g then 3g fails ... */
	create(0, 19, NVML_SUCCESS);
	create(0, 19, NVML_SUCCESS);
	assert_int_equal(placement_of(0, create(0, 14, NVML_SUCCESS)).start, 0);
	create(0, 9, NVML_ERROR_INSUFFICIENT_RESOURCES);
	/* ... while 3g, 1g, 2g, 1g fits */
	fresh_a100(NULL);
	assert_int_equal(placement_of(0, create(0, 9, NVML_SUCCESS)).start, 4);
	create(0, 19, NVML_SUCCESS);
	assert_int_equal(placement_of(0, create(0, 14, NVML_SUCCESS)).start, 2);
	create(0, 19, NVML_SUCCESS);
}

static void test_remaining_capacity_example(void **unused)
{
	(void)unused;
	struct sim_placement at = {4, 4};
	struct sim_gpu *g = &st.gpus[0];
	const unsigned int ids[] = {19, 20, 15, 14, 9, 5, 0};
	const unsigned int empty[] = {7, 1, 4, 3, 2, 1, 1};
	const unsigned int after[] = {4, 1, 2, 2, 1, 1, 0};
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(sim_gi_remaining(g, sim_gpu_gi_profile(g, ids[i])), empty[i]);
	assert_int_equal(sim_gi_create(g, 9, &at, NULL), NVML_SUCCESS);
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(sim_gi_remaining(g, sim_gpu_gi_profile(g, ids[i])), after[i]);
}

static void test_explicit_placements(void **unused)
{
	(void)unused;
	struct sim_gpu *g = &st.gpus[0];
	struct sim_placement three_at_0 = {0, 4}, three_at_2 = {2, 4}, one_at_7 = {7, 1}, one_at_1 = {1, 1};
	assert_int_equal(sim_gi_create(g, 9, &three_at_2, NULL), NVML_ERROR_INVALID_ARGUMENT);
	assert_int_equal(sim_gi_create(g, 19, &one_at_7, NULL), NVML_ERROR_INVALID_ARGUMENT);
	assert_int_equal(sim_gi_create(g, 9, &three_at_0, NULL), NVML_SUCCESS);
	assert_int_equal(sim_gi_create(g, 19, &one_at_1, NULL), NVML_ERROR_INSUFFICIENT_RESOURCES);
	assert_int_equal(sim_gi_create(g, 9, &three_at_0, NULL), NVML_ERROR_INSUFFICIENT_RESOURCES);
	assert_int_equal(sim_gi_create(g, 77, NULL, NULL), NVML_ERROR_INVALID_ARGUMENT);
}

static void test_same_span_gives_same_id_again(void **unused)
{
	(void)unused;
	unsigned int first = create(0, 14, NVML_SUCCESS);
	assert_int_equal(sim_gi_destroy(&st, 0, first), NVML_SUCCESS);
	create(0, 19, NVML_SUCCESS); /* 1g goes to 6, leaving 4:2 free for the 2g again */
	unsigned int again = create(0, 14, NVML_SUCCESS);
	assert_int_equal(again, first);
}

static void test_only_one_plus_me_instance(void **unused)
{
	(void)unused;
	create(0, 20, NVML_SUCCESS);
	create(0, 20, NVML_ERROR_INSUFFICIENT_RESOURCES);
	assert_int_equal(sim_gi_remaining(&st.gpus[0], sim_gpu_gi_profile(&st.gpus[0], 20)), 0);
	create(0, 19, NVML_SUCCESS);
}

static void test_me_all_blocks_all_but_no_me(void **unused)
{
	(void)unused;
	char err[256];
	assert_int_equal(sim_state_init(&st, "RTX-PRO-6000", err, sizeof(err)), 0);
	st.gpus[0].mig_current = NVML_DEVICE_MIG_ENABLE;
	create(0, 65, NVML_SUCCESS); /* 1g.24gb+me.all */
	create(0, 14, NVML_ERROR_INSUFFICIENT_RESOURCES);
	create(0, 21, NVML_ERROR_INSUFFICIENT_RESOURCES);
	create(0, 47, NVML_ERROR_INSUFFICIENT_RESOURCES);
	assert_int_equal(sim_gi_remaining(&st.gpus[0], sim_gpu_gi_profile(&st.gpus[0], 14)), 0);
	create(0, 67, NVML_SUCCESS); /* 1g.24gb-me */
	create(0, 66, NVML_SUCCESS); /* 2g.48gb-me */
	/* and the other way round: +me.all does not fit beside a plain instance */
	assert_int_equal(sim_state_init(&st, "RTX-PRO-6000", err, sizeof(err)), 0);
	st.gpus[0].mig_current = NVML_DEVICE_MIG_ENABLE;
	create(0, 14, NVML_SUCCESS);
	create(0, 65, NVML_ERROR_INSUFFICIENT_RESOURCES);
	create(0, 64, NVML_ERROR_INSUFFICIENT_RESOURCES);
}

static void test_rtx_pro_lowest_free_and_ids(void **unused)
{
	(void)unused;
	char err[256];
	assert_int_equal(sim_state_init(&st, "RTX-PRO-6000", err, sizeof(err)), 0);
	st.gpus[0].mig_current = NVML_DEVICE_MIG_ENABLE;
	for (unsigned int i = 0; i < 4; i++) {
		unsigned int id = create(0, 14, NVML_SUCCESS);
		assert_int_equal(id, 3 + i);
		assert_int_equal(placement_of(0, id).start, 3 * i);
	}
}

static void test_mig_disabled_refuses_instances(void **unused)
{
	(void)unused;
	st.gpus[0].mig_current = NVML_DEVICE_MIG_DISABLE;
	create(0, 19, NVML_ERROR_NOT_SUPPORTED);
	assert_int_equal(sim_gi_remaining(&st.gpus[0], sim_gpu_gi_profile(&st.gpus[0], 19)), 0);
}

/* ---- compute instances ---------------------------------------------------------------- */

static void test_ci_ids_and_placements(void **unused)
{
	(void)unused;
	struct sim_gpu *g = &st.gpus[0];
	unsigned int gi_id = create(0, 9, NVML_SUCCESS), ci = 9;
	struct sim_gi *gi = sim_gpu_find_gi(g, gi_id);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(sim_ci_create(g, gi, 0, NULL, &ci), NVML_SUCCESS);
		assert_int_equal(ci, i);
		assert_int_equal(sim_gi_find_ci(gi, ci)->placement.start, i);
	}
	assert_int_equal(sim_ci_create(g, gi, 0, NULL, &ci), NVML_ERROR_INSUFFICIENT_RESOURCES);
	assert_int_equal(sim_ci_destroy(&st, 0, gi_id, 1), NVML_SUCCESS);
	assert_int_equal(sim_ci_create(g, gi, 0, NULL, &ci), NVML_SUCCESS);
	assert_int_equal(ci, 1); /* lowest free id */
	assert_int_equal(sim_ci_create(g, gi, 6, NULL, &ci), NVML_ERROR_NOT_SUPPORTED);
	assert_int_equal(sim_ci_create(g, gi, 9, NULL, &ci), NVML_ERROR_INVALID_ARGUMENT);
	assert_int_equal(sim_gi_destroy(&st, 0, gi_id), NVML_ERROR_IN_USE);
}

static void test_ci_remaining_and_overlap(void **unused)
{
	(void)unused;
	struct sim_gpu *g = &st.gpus[0];
	struct sim_gi *gi = sim_gpu_find_gi(g, create(0, 0, NVML_SUCCESS)); /* 7g */
	const struct sim_gi_profile *p = sim_gpu_gi_profile(g, 0);
	struct sim_placement three_at_4 = {4, 3}, one_at_5 = {5, 1};
	assert_int_equal(sim_ci_remaining(g, gi, sim_gi_ci_by_id(p, 2)), 2);
	assert_int_equal(sim_ci_create(g, gi, 2, &three_at_4, NULL), NVML_SUCCESS);
	assert_int_equal(sim_ci_remaining(g, gi, sim_gi_ci_by_id(p, 2)), 1);
	assert_int_equal(sim_ci_remaining(g, gi, sim_gi_ci_by_id(p, 0)), 4);
	assert_int_equal(sim_ci_remaining(g, gi, sim_gi_ci_by_id(p, 4)), 0);
	assert_int_equal(sim_ci_create(g, gi, 0, &one_at_5, NULL), NVML_ERROR_INSUFFICIENT_RESOURCES);
}

/* ---- MIG mode, processes, reset ---------------------------------------------------------------- */

static void test_mig_mode_activation(void **unused)
{
	(void)unused;
	char err[256];
	nvmlReturn_t act;
	unsigned int pid;
	assert_int_equal(sim_state_init(&st, "A100-SXM4-40GB,H100-SXM5-80GB:reset-required", err, sizeof(err)), 0);

	assert_int_equal(sim_proc_start(&st, 0, SIM_NO_ID, SIM_NO_ID, 100, "train", &pid), NVML_SUCCESS);
	assert_int_equal(sim_set_mig_mode(&st, 0, 1, &act), NVML_SUCCESS);
	assert_int_equal(act, NVML_ERROR_IN_USE);
	assert_int_equal(st.gpus[0].mig_current, 0);
	assert_int_equal(st.gpus[0].mig_pending, 1);
	assert_int_equal(sim_proc_stop(&st, pid), NVML_SUCCESS);
	assert_int_equal(sim_proc_stop(&st, pid), NVML_ERROR_NOT_FOUND);
	assert_int_equal(sim_set_mig_mode(&st, 0, 1, &act), NVML_SUCCESS);
	assert_int_equal(act, NVML_SUCCESS);
	assert_int_equal(st.gpus[0].mig_current, 1);

	assert_int_equal(sim_set_mig_mode(&st, 1, 1, &act), NVML_SUCCESS);
	assert_int_equal(act, NVML_ERROR_RESET_REQUIRED);
	assert_int_equal(st.gpus[1].mig_current, 0);
	assert_int_equal(sim_gpu_reset(&st, 1, false), NVML_SUCCESS);
	assert_int_equal(st.gpus[1].mig_current, 1);

	assert_int_equal(sim_set_mig_mode(&st, 0, 2, &act), NVML_ERROR_INVALID_ARGUMENT);
	create(0, 19, NVML_SUCCESS);
	assert_int_equal(sim_set_mig_mode(&st, 0, 0, &act), NVML_ERROR_IN_USE);
	assert_int_equal(st.gpus[0].mig_pending, 1);
}

static void test_processes_block_destroy_and_reset(void **unused)
{
	(void)unused;
	struct sim_gpu *g = &st.gpus[0];
	unsigned int gi_id = create(0, 14, NVML_SUCCESS), ci, pid;
	assert_int_equal(sim_ci_create(g, sim_gpu_find_gi(g, gi_id), 1, NULL, &ci), NVML_SUCCESS);
	assert_int_equal(sim_proc_start(&st, 0, SIM_NO_ID, SIM_NO_ID, 1, NULL, &pid), NVML_ERROR_NOT_SUPPORTED);
	assert_int_equal(sim_proc_start(&st, 0, (int)gi_id, 5, 1, NULL, &pid), NVML_ERROR_NOT_FOUND);
	assert_int_equal(sim_proc_start(&st, 0, (int)gi_id, (int)ci, 1, NULL, &pid), NVML_SUCCESS);
	assert_int_equal(sim_ci_destroy(&st, 0, gi_id, ci), NVML_ERROR_IN_USE);
	assert_int_equal(sim_gpu_reset(&st, 0, false), NVML_ERROR_IN_USE);
	assert_int_equal(sim_gpu_reset(&st, 0, true), NVML_SUCCESS);
	assert_int_equal(st.nprocs, 0);
	assert_int_equal(g->ngi, 0);
}

static void test_reboot_forgets_hopper_mig_mode(void **unused)
{
	(void)unused;
	char err[256];
	nvmlReturn_t act;
	assert_int_equal(sim_state_init(&st, "A100-SXM4-40GB,H100-SXM5-80GB", err, sizeof(err)), 0);
	assert_int_equal(sim_set_mig_mode(&st, 0, 1, &act), NVML_SUCCESS);
	assert_int_equal(sim_set_mig_mode(&st, 1, 1, &act), NVML_SUCCESS);
	create(1, 19, NVML_SUCCESS);
	sim_reboot(&st);
	assert_int_equal(st.gpus[0].mig_current, 1);
	assert_int_equal(st.gpus[1].mig_current, 0);
	assert_int_equal(st.gpus[1].ngi, 0);
}

static void test_mig_devices_order_and_uuids(void **unused)
{
	(void)unused;
	struct sim_gpu *g = &st.gpus[0];
	struct sim_mig_ref refs[SIM_MAX_GIS * SIM_MAX_CIS];
	char a[SIM_UUID_LEN + 1], b[SIM_UUID_LEN + 1];
	unsigned int ids[3];
	for (int i = 0; i < 3; i++) {
		ids[i] = create(0, 19, NVML_SUCCESS); /* ids 13, 11, 12 */
		assert_int_equal(sim_ci_create(g, sim_gpu_find_gi(g, ids[i]), 0, NULL, NULL), NVML_SUCCESS);
	}
	assert_int_equal(sim_gpu_mig_devices(g, refs), 3);
	assert_int_equal(refs[0].gi_id, 11);
	assert_int_equal(refs[1].gi_id, 12);
	assert_int_equal(refs[2].gi_id, 13);
	sim_mig_uuid(g, 11, 0, a);
	sim_mig_uuid(g, 11, 0, b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), SIM_UUID_LEN);
	assert_int_equal(a[18], '5'); /* name-based v5 */
	sim_mig_uuid(g, 12, 0, b);
	assert_string_not_equal(a, b);
}

/* ---- GPU list and state file ---------------------------------------------------------------- */

static void test_gpu_list_parser(void **unused)
{
	(void)unused;
	char err[512];
	assert_int_equal(sim_state_init(&st, "8xA100-SXM4-40GB", err, sizeof(err)), 0);
	assert_int_equal(st.ngpus, 8);
	assert_string_not_equal(st.gpus[0].uuid, st.gpus[1].uuid);
	assert_int_equal(sim_state_init(&st, " 2xH100-SXM5-80GB , a30:swapped ", err, sizeof(err)), 0);
	assert_int_equal(st.ngpus, 3);
	assert_string_equal(st.gpus[2].model->key, "A30");
	assert_true(st.gpus[2].swapped_halves);

	const struct {
		const char *list, *msg;
	} bad[] = {
		{"V100", "unknown GPU model 'V100'; known models: A100-SXM4-40GB"},
		{"A30,,A30", "empty GPU name"},
		{"0xA30", "asks for no GPUs"},
		{"A30:", "unknown option ':' after"},
		{"17xA30", "too many GPUs"},
		{"9xA30,8xA30", "too many GPUs"},
		{"A30:turbo", "unknown option ':turbo'"},
		{"", "no GPUs"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sim_state_init(&st, bad[i].list, err, sizeof(err)), -1);
		if (!strstr(err, bad[i].msg))
			fail_msg("'%s' gave '%s', expected '%s'", bad[i].list, err, bad[i].msg);
	}
}

static void test_state_json_round_trip(void **unused)
{
	(void)unused;
	char err[512];
	struct sim_state back;
	unsigned int pid;
	assert_int_equal(sim_state_init(&st, "A100-SXM4-40GB:swapped,A30", err, sizeof(err)), 0);
	st.gpus[0].mig_current = st.gpus[0].mig_pending = 1;
	unsigned int gi = create(0, 9, NVML_SUCCESS);
	assert_int_equal(sim_ci_create(&st.gpus[0], sim_gpu_find_gi(&st.gpus[0], gi), 0, NULL, NULL), NVML_SUCCESS);
	assert_int_equal(sim_proc_start(&st, 0, (int)gi, 0, 512, "bert", &pid), NVML_SUCCESS);
	st.nfaults = 1;
	st.faults[0] = (struct sim_fault){"nvmlGpuInstanceDestroy", 2, 1, NVML_ERROR_GPU_IS_LOST, true};
	st.nlatencies = 1;
	st.latencies[0] = (struct sim_latency){"gi-create", 200};

	char *text = sim_state_to_json(&st);
	assert_non_null(text);
	assert_int_equal(sim_state_from_json(&back, text, strlen(text), err, sizeof(err)), 0);
	char *again = sim_state_to_json(&back);
	assert_string_equal(text, again);
	assert_int_equal(back.gpus[0].gi[0].id, gi);
	assert_true(back.gpus[0].swapped_halves);
	assert_int_equal(back.faults[0].error, NVML_ERROR_GPU_IS_LOST);
	free(text);
	free(again);
}

static void test_state_reader_rejects_bad_files(void **unused)
{
	(void)unused;
	char err[512];
	struct sim_state back;
	assert_int_equal(sim_state_init(&st, "A100-SXM4-40GB", err, sizeof(err)), 0);
	st.gpus[0].mig_current = st.gpus[0].mig_pending = 1;
	create(0, 9, NVML_SUCCESS); /* 3g at 4:4, id 2 */
	char *good = sim_state_to_json(&st);

	struct {
		const char *from, *to, *msg;
	} edits[] = {
		{"\"format\": \"migsim-state\"", "\"format\": \"other\"", "not a migsim state file"},
		{"\"version\": 1", "\"version\": 7", "version 7 is not supported"},
		{"\"next_pid\"", "\"bogus\": 1, \"next_pid\"", "unknown key 'bogus'"},
		{"\"pci_bus\": 7", "\"pci_bus\": \"7\"", "'pci_bus' must be an integer"},
		{"\"model\": \"A100-SXM4-40GB\"", "\"model\": \"Z9\"", "unknown GPU model 'Z9'"},
		{"\"start\": 4", "\"start\": 2", "does not match placement"},
		{"\"id\": 2", "\"id\": 1", "does not match placement"},
		{"\"profile_id\": 9", "\"profile_id\": 99", "no GPU instance profile id 99"},
		{"\"mig_current\": 1", "\"mig_current\": 0", "while MIG is disabled"},
		{"\"generation\"", "\"generation\": 1, \"generation\"", "line"},
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *p = strstr(good, edits[i].from);
		assert_non_null(p);
		size_t len = strlen(good) - strlen(edits[i].from) + strlen(edits[i].to);
		char *bad = malloc(len + 1);
		snprintf(bad, len + 1, "%.*s%s%s", (int)(p - good), good, edits[i].to, p + strlen(edits[i].from));
		assert_int_equal(sim_state_from_json(&back, bad, strlen(bad), err, sizeof(err)), -1);
		if (!strstr(err, edits[i].msg))
			fail_msg("edit %zu gave '%s', expected '%s'", i, err, edits[i].msg);
		free(bad);
	}
	/* two instances, each valid alone, sharing slices 0-1: a 3g at 0:4 (id 1), a 2g at 0:2 (id 3) */
	st.gpus[0].ngi = 2;
	st.gpus[0].gi[0] = (struct sim_gi){.id = 1, .profile_id = 9, .placement = {0, 4}};
	st.gpus[0].gi[1] = (struct sim_gi){.id = 3, .profile_id = 14, .placement = {0, 2}};
	char *overlap = sim_state_to_json(&st);
	assert_int_equal(sim_state_from_json(&back, overlap, strlen(overlap), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "gpus[0].gpu_instances[1]"));
	assert_int_equal(sim_state_from_json(&back, "{", 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 1"));
	free(overlap);
	free(good);
}

static void test_return_code_names(void **unused)
{
	(void)unused;
	nvmlReturn_t r;
	assert_int_equal(sim_return_parse("NVML_ERROR_IN_USE", &r), 0);
	assert_int_equal(r, NVML_ERROR_IN_USE);
	assert_int_equal(sim_return_parse("insufficient_resources", &r), 0);
	assert_int_equal(r, NVML_ERROR_INSUFFICIENT_RESOURCES);
	assert_int_equal(sim_return_parse("ERROR_GPU_IS_LOST", &r), 0);
	assert_int_equal(r, NVML_ERROR_GPU_IS_LOST);
	assert_int_equal(sim_return_parse("999", &r), 0);
	assert_int_equal(r, NVML_ERROR_UNKNOWN);
	assert_int_equal(sim_return_parse("31", &r), -1);
	assert_int_equal(sim_return_parse("BROKEN", &r), -1);
	assert_string_equal(sim_error_string(NVML_ERROR_INSUFFICIENT_RESOURCES), "Insufficient Resources");
	assert_string_equal(sim_error_string(NVML_ERROR_NOT_FOUND), "Not Found");
	assert_string_equal(sim_return_name(NVML_ERROR_TIMEOUT), "NVML_ERROR_TIMEOUT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_model_table_is_self_consistent),
		cmocka_unit_test(test_model_lookup_accepts_aliases_in_any_case),
		cmocka_unit_test(test_gi_id_rule),
		cmocka_unit_test_setup(test_default_1g_placements_follow_the_driver, fresh_a100),
		cmocka_unit_test_setup(test_nvidia_order_example, fresh_a100),
		cmocka_unit_test_setup(test_remaining_capacity_example, fresh_a100),
		cmocka_unit_test_setup(test_explicit_placements, fresh_a100),
		cmocka_unit_test_setup(test_same_span_gives_same_id_again, fresh_a100),
		cmocka_unit_test_setup(test_only_one_plus_me_instance, fresh_a100),
		cmocka_unit_test(test_me_all_blocks_all_but_no_me),
		cmocka_unit_test(test_rtx_pro_lowest_free_and_ids),
		cmocka_unit_test_setup(test_mig_disabled_refuses_instances, fresh_a100),
		cmocka_unit_test_setup(test_ci_ids_and_placements, fresh_a100),
		cmocka_unit_test_setup(test_ci_remaining_and_overlap, fresh_a100),
		cmocka_unit_test(test_mig_mode_activation),
		cmocka_unit_test_setup(test_processes_block_destroy_and_reset, fresh_a100),
		cmocka_unit_test(test_reboot_forgets_hopper_mig_mode),
		cmocka_unit_test_setup(test_mig_devices_order_and_uuids, fresh_a100),
		cmocka_unit_test(test_gpu_list_parser),
		cmocka_unit_test(test_state_json_round_trip),
		cmocka_unit_test(test_state_reader_rejects_bad_files),
		cmocka_unit_test(test_return_code_names),
	};
	return cmocka_run_group_tests_name("simulator engine", tests, NULL, NULL);
}
