/* SPDX-License-Identifier: MIT */
/*
 * What the benchmarks share: a clock, a way to stop, and the node they measure (GPUs of
 * A100-SXM4-40GB, MIG on, 7 x 1g.5gb each with its full compute instance: 56 MIG devices on 8
 * GPUs), written straight into the simulator's state file. Header only: each benchmark is one
 * program. BENCH_NAME names the program in messages.
 */
#ifndef MIGCTL_BENCH_NODE_H
#define MIGCTL_BENCH_NODE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <jansson.h>

#include "../nvml/nvml_abi.h"
#include "../sim/store.h"

#define PER_GPU 7

static inline double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void die(const char *what, const char *why)
{
	fprintf(stderr, "%s: %s: %s\n", BENCH_NAME, what, why);
	exit(1);
}

/* ngpus A100s, MIG on, PER_GPU x 1g.5gb (profile 19) each with its full compute instance. */
static inline void build_node(const char *state, unsigned int ngpus)
{
	char spec[32];
	snprintf(spec, sizeof(spec), "%ux%s", ngpus, "A100-SXM4-40GB");
	struct sim_store s;
	char err[512];
	if (sim_store_open(&s, state, err, sizeof(err)) || sim_store_lock(&s, err, sizeof(err)) ||
	    sim_state_init(&s.st, spec, err, sizeof(err)))
		die("state", err);
	for (unsigned int g = 0; g < ngpus; g++) {
		struct sim_gpu *gpu = &s.st.gpus[g];
		gpu->mig_current = gpu->mig_pending = NVML_DEVICE_MIG_ENABLE;
		for (unsigned int k = 0; k < PER_GPU; k++) {
			unsigned int gi_id;
			if (sim_gi_create(gpu, 19, NULL, &gi_id) != NVML_SUCCESS ||
			    sim_ci_create(gpu, sim_gpu_find_gi(gpu, gi_id), 0, NULL, NULL) != NVML_SUCCESS)
				die("state", "cannot lay out the node");
		}
	}
	if (sim_store_save(&s, err, sizeof(err))) /* also writes the simulated /proc */
		die("state", err);
	sim_store_unlock(&s);
	sim_store_close(&s);
}

/* Change the simulator's state directly: a fresh node of spec ("8xA100-SXM4-40GB", MIG on when
 * mig_on) or, with spec NULL, the node as it is; and the latency of every GI and CI create and
 * destroy (ms). */
static inline void sim_edit(const char *state, const char *spec, bool mig_on, unsigned int latency_ms)
{
	struct sim_store s;
	char err[512];
	if (sim_store_open(&s, state, err, sizeof(err)) || sim_store_lock(&s, err, sizeof(err)))
		die("state", err);
	if (spec) {
		if (sim_state_init(&s.st, spec, err, sizeof(err)))
			die("state", err);
		for (unsigned int g = 0; mig_on && g < s.st.ngpus; g++)
			s.st.gpus[g].mig_current = s.st.gpus[g].mig_pending = NVML_DEVICE_MIG_ENABLE;
	} else if (sim_store_load(&s, err, sizeof(err))) {
		die("state", err);
	}
	const char *ops[] = {"gi-create", "gi-destroy", "ci-create", "ci-destroy"};
	s.st.nlatencies = 4;
	for (int i = 0; i < 4; i++) {
		snprintf(s.st.latencies[i].op, sizeof(s.st.latencies[i].op), "%s", ops[i]);
		s.st.latencies[i].ms = latency_ms;
	}
	if (sim_store_save(&s, err, sizeof(err)))
		die("state", err);
	sim_store_unlock(&s);
	sim_store_close(&s);
}

/* A lease document ({"lease": {...}}, as `migctl lease --json` and POST /v1/leases answer):
 * the string of key into out ("" when absent), and whether "reused" is true. Dies on text that
 * is not such a document. */
static inline bool lease_field(const char *text, const char *key, char *out, size_t cap)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	json_t *l = json_object_get(doc, "lease");
	if (!json_is_object(l))
		die("not a lease document", text);
	const char *v = json_string_value(json_object_get(l, key));
	snprintf(out, cap, "%s", v ? v : "");
	bool reused = json_is_true(json_object_get(l, "reused"));
	json_decref(doc);
	return reused;
}
#endif
