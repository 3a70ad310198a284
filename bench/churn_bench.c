/* SPDX-License-Identifier: MIT */
/*
 * churn_bench: the placement policy under churn (issue 12), against the placements others use.
 *
 * On 8 simulated GPUs of one model (A100-SXM4-40GB, then H100-SXM5-80GB; tables from the
 * simulator's model data), requests for one GPU instance arrive as a Poisson process and hold
 * it for an exponential time (mean 1). Each request is for one of the five plain profiles
 * (1g, 2g, 3g, 4g, 7g, the smallest memory of each), drawn from a mix: uniform, small-heavy or
 * large-heavy. The offered load is the arrival rate times the mean holding time times the mean
 * compute slices of a request, over the node's compute slices (8 x 7): 0.8, 1.0 and 1.2. A
 * request is placed at once or refused (no queue). Every policy replays the same traces:
 *
 *   policy       migctl's placement policy: mig_place_one (lib/place/policy.c), mix unknown
 *   policy+mix   the same, told the mix
 *   first-fit    the first GPU that can take it, lowest start (NVIDIA's DRA driver, instaslice)
 *   driver       the first GPU that can take it, the driver's default placement (the model in
 *                the hardware facts: fewest free placements newly blocked, then lowest start)
 *   hami         the first GPU that can take it, HAMi's fixed table: 1g and 3g at the highest
 *                start, other profiles at the lowest
 *   best-fit     the GPU with the fewest free compute slices that can take it, lowest start
 *   random       a random GPU that can take it, a random free placement
 *   capacity     a reference that ignores placement: a GPU takes a request when it has the
 *                compute slices, the placement units and the instance count (not a strict bound)
 *
 * A refusal is "fragmentation" when some GPU had the compute slices, placement units and
 * instance count for the request but no legal placement. Figures: the share of requests placed
 * at once, overall and per profile, and the share refused for fragmentation, overall and per
 * profile, summed over the seeds (requests in the first 10 time units, while the node fills
 * up, are not counted).
 *
 * Usage: churn_bench [seeds [time-units]]   (defaults 20 and 300)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/mig.h"
#include "../sim/models.h"

#define NGPUS 8
#define NPROF 5
#define MAX_INST 8
#define WARMUP 10.0

enum policy { P_POLICY, P_POLICY_MIX, P_FIRST_FIT, P_DRIVER, P_HAMI, P_BEST_FIT, P_RANDOM, P_CAPACITY, NPOL };
static const char *const policy_name[NPOL] = {"policy",  "policy+mix", "first-fit", "driver",
					      "hami",    "best-fit",   "random",    "capacity"};

struct mix {
	const char *name;
	double w[NPROF]; /* 1g, 2g, 3g, 4g, 7g */
};
static const struct mix mixes[] = {
	{"uniform", {1, 1, 1, 1, 1}},
	{"small-heavy", {0.35, 0.30, 0.20, 0.10, 0.05}},
	{"large-heavy", {0.05, 0.10, 0.20, 0.35, 0.30}},
};
#define NMIX (sizeof(mixes) / sizeof(mixes[0]))
static const double loads[] = {0.8, 1.0, 1.2};
#define NLOAD (sizeof(loads) / sizeof(loads[0]))
static const char *const model_keys[] = {"A100-SXM4-40GB", "H100-SXM5-80GB"};
#define NMODEL (sizeof(model_keys) / sizeof(model_keys[0]))

/* ---- random numbers: splitmix64, the same on every machine --------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) /* (0, 1] */
{
	return ((double)(rng_next(s) >> 11) + 1.0) / 9007199254740992.0;
}

/* ---- the GPU model --------------------------------------------------------------------- */

struct model {
	const struct sim_model *m;
	struct mig_gi_profile profiles[SIM_MAX_GI_PROFILES];
	struct mig_placement pl[SIM_MAX_GI_PROFILES][SIM_MAX_PLACEMENTS];
	size_t slot[NPROF]; /* the mix's profiles: slots in profiles[] */
	const char *names[NPROF];
};

static int model_load(struct model *md, const char *key)
{
	memset(md, 0, sizeof(*md));
	md->m = sim_model_find(key);
	if (!md->m)
		return -1;
	for (unsigned int i = 0; i < md->m->nprofiles; i++) {
		const struct sim_gi_profile *s = &md->m->profiles[i];
		struct mig_gi_profile *p = &md->profiles[i];
		p->id = s->id;
		p->index = s->index;
		snprintf(p->name, sizeof(p->name), "%s", s->name);
		if (mig_profile_name_parse(s->name, &p->parsed, NULL))
			return -1;
		p->slices = s->slices;
		p->instance_count = s->instance_count;
		p->memory_mib = s->memory_mib;
		for (unsigned int k = 0; k < s->nplacements; k++)
			md->pl[i][k] = (struct mig_placement){s->placements[k].start, s->placements[k].size};
		p->placements = md->pl[i];
		p->nplacements = s->nplacements;
	}
	/* the plain profile of each size with the least memory */
	static const unsigned int sizes[NPROF] = {1, 2, 3, 4, 7};
	for (size_t k = 0; k < NPROF; k++) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < md->m->nprofiles; i++) {
			const struct mig_gi_profile *p = &md->profiles[i];
			if (p->slices != sizes[k] || p->parsed.media != MIG_MEDIA_DEFAULT)
				continue;
			if (best == SIZE_MAX || p->memory_mib < md->profiles[best].memory_mib)
				best = i;
		}
		if (best == SIZE_MAX)
			return -1;
		md->slot[k] = best;
		md->names[k] = md->profiles[best].name;
	}
	return 0;
}

/* ---- a node under one policy ------------------------------------------------------------ */

struct inst {
	size_t slot;
	struct mig_placement at;
	double end;
};

struct gpu {
	struct inst inst[MAX_INST];
	size_t n;
	struct mig_gi gis[MAX_INST]; /* the library's view of inst[] */
	uint64_t used;
	unsigned int slices, units;
	unsigned int count[SIM_MAX_GI_PROFILES];
};

struct node {
	const struct model *md;
	struct gpu g[NGPUS];
	struct mig_gpu view[NGPUS];
	struct mig_node mn;
};

static uint64_t mask(struct mig_placement p)
{
	return ((1ull << p.size) - 1) << p.start;
}

static void node_init(struct node *n, const struct model *md)
{
	memset(n, 0, sizeof(*n));
	n->md = md;
	for (size_t i = 0; i < NGPUS; i++) {
		struct mig_gpu *v = &n->view[i];
		v->index = (unsigned int)i;
		snprintf(v->name, sizeof(v->name), "%s", md->m->name);
		v->mode_current = v->mode_pending = MIG_MODE_ENABLED;
		v->grid = md->m->grid;
		v->profiles = (struct mig_gi_profile *)md->profiles;
		v->nprofiles = md->m->nprofiles;
		v->gis = n->g[i].gis;
	}
	n->mn.gpus = n->view;
	n->mn.ngpus = NGPUS;
}

static unsigned int units_of(const struct model *md, size_t slot)
{
	return md->profiles[slot].placements[0].size;
}

/* Room by counts, compute slices and placement units alone (what the capacity reference uses). */
static bool has_room(const struct node *n, size_t gi, size_t slot)
{
	const struct gpu *g = &n->g[gi];
	const struct mig_gi_profile *p = &n->md->profiles[slot];
	return g->count[slot] < p->instance_count && g->n < MAX_INST && g->slices + p->slices <= n->md->m->compute_slices &&
	       g->units + units_of(n->md, slot) <= n->md->m->grid;
}

static bool fits_at(const struct node *n, size_t gi, size_t slot, size_t k)
{
	return has_room(n, gi, slot) && (mask(n->md->profiles[slot].placements[k]) & n->g[gi].used) == 0;
}

static void add(struct node *n, size_t gi, size_t slot, struct mig_placement at, double end)
{
	struct gpu *g = &n->g[gi];
	const struct mig_gi_profile *p = &n->md->profiles[slot];
	g->inst[g->n] = (struct inst){slot, at, end};
	g->gis[g->n] = (struct mig_gi){.id = (unsigned int)g->n, .profile_id = p->id, .placement = at};
	g->n++;
	g->used |= mask(at);
	g->slices += p->slices;
	g->units += at.size;
	g->count[slot]++;
	n->view[gi].ngis = g->n;
}

static void expire(struct node *n, double now)
{
	for (size_t gi = 0; gi < NGPUS; gi++) {
		struct gpu *g = &n->g[gi];
		for (size_t i = 0; i < g->n;) {
			if (g->inst[i].end > now) {
				i++;
				continue;
			}
			const struct mig_gi_profile *p = &n->md->profiles[g->inst[i].slot];
			g->used &= ~mask(g->inst[i].at);
			g->slices -= p->slices;
			g->units -= g->inst[i].at.size;
			g->count[g->inst[i].slot]--;
			g->n--;
			g->inst[i] = g->inst[g->n];
			g->gis[i] = g->gis[g->n];
		}
		n->view[gi].ngis = g->n;
	}
}

/* The driver's default placement on one GPU: the free placement that newly blocks the fewest
 * free placements of all the GPU's profiles, ties to the lowest start; -1 when none. */
static long driver_pick(const struct node *n, size_t gi, size_t slot)
{
	const struct model *md = n->md;
	const struct mig_gi_profile *p = &md->profiles[slot];
	long best = -1;
	unsigned int best_blocked = 0;
	for (size_t k = 0; k < p->nplacements; k++) {
		if (!fits_at(n, gi, slot, k))
			continue;
		unsigned int blocked = 0;
		uint64_t m = mask(p->placements[k]);
		for (size_t i = 0; i < md->m->nprofiles; i++)
			for (size_t j = 0; j < md->profiles[i].nplacements; j++) {
				uint64_t o = mask(md->profiles[i].placements[j]);
				blocked += (o & m) && !(o & n->g[gi].used);
			}
		if (best < 0 || blocked < best_blocked) {
			best = (long)k;
			best_blocked = blocked;
		}
	}
	return best;
}

static long lowest_pick(const struct node *n, size_t gi, size_t slot)
{
	for (size_t k = 0; k < n->md->profiles[slot].nplacements; k++)
		if (fits_at(n, gi, slot, k))
			return (long)k;
	return -1;
}

static long highest_pick(const struct node *n, size_t gi, size_t slot)
{
	for (size_t k = n->md->profiles[slot].nplacements; k-- > 0;)
		if (fits_at(n, gi, slot, k))
			return (long)k;
	return -1;
}

/* Choose a GPU and placement index; false when refused. */
static bool choose(struct node *n, enum policy pol, size_t mixi, size_t req, uint64_t *rng, size_t *gpu, long *k)
{
	const struct model *md = n->md;
	size_t slot = md->slot[req];
	switch (pol) {
	case P_POLICY:
	case P_POLICY_MIX: {
		struct mig_place_choice c;
		struct mig_place_mix mix = {.profiles = md->names, .weights = mixes[mixi].w, .n = NPROF};
		if (mig_place_one(&n->mn, NULL, md->names[req], pol == P_POLICY_MIX ? &mix : NULL, &c, NULL))
			return false;
		*gpu = c.gpu;
		for (size_t i = 0; i < c.profile->nplacements; i++)
			if (c.profile->placements[i].start == c.at.start)
				*k = (long)i;
		return true;
	}
	case P_FIRST_FIT:
	case P_DRIVER:
	case P_HAMI:
	case P_CAPACITY:
		for (size_t gi = 0; gi < NGPUS; gi++) {
			if (pol == P_CAPACITY) {
				if (has_room(n, gi, slot)) {
					*gpu = gi;
					*k = -1;
					return true;
				}
				continue;
			}
			bool hami_high = md->profiles[slot].slices == 1 || md->profiles[slot].slices == 3;
			*k = pol == P_DRIVER		  ? driver_pick(n, gi, slot)
			     : pol == P_HAMI && hami_high ? highest_pick(n, gi, slot)
							  : lowest_pick(n, gi, slot);
			if (*k >= 0) {
				*gpu = gi;
				return true;
			}
		}
		return false;
	case P_BEST_FIT: {
		bool found = false;
		for (size_t gi = 0; gi < NGPUS; gi++) {
			long at = lowest_pick(n, gi, slot);
			if (at >= 0 && (!found || n->g[gi].slices > n->g[*gpu].slices)) {
				found = true;
				*gpu = gi;
				*k = at;
			}
		}
		return found;
	}
	case P_RANDOM: {
		size_t cand_gpu[NGPUS * SIM_MAX_PLACEMENTS];
		long cand_k[NGPUS * SIM_MAX_PLACEMENTS];
		size_t nc = 0, ng = 0;
		size_t gpus[NGPUS];
		for (size_t gi = 0; gi < NGPUS; gi++)
			if (lowest_pick(n, gi, slot) >= 0)
				gpus[ng++] = gi;
		if (!ng)
			return false;
		size_t gi = gpus[rng_next(rng) % ng];
		for (size_t i = 0; i < md->profiles[slot].nplacements; i++)
			if (fits_at(n, gi, slot, i)) {
				cand_gpu[nc] = gi;
				cand_k[nc++] = (long)i;
			}
		size_t pick = rng_next(rng) % nc;
		*gpu = cand_gpu[pick];
		*k = cand_k[pick];
		return true;
	}
	case NPOL:
		break;
	}
	return false;
}

/* ---- traces and runs -------------------------------------------------------------------- */

struct req {
	double at, hold;
	size_t prof;
};

struct tally {
	unsigned long asked, placed, frag;
	unsigned long p_asked[NPROF], p_placed[NPROF], p_frag[NPROF];
};

static size_t make_trace(struct req *r, size_t max, size_t mixi, double load, double horizon, uint64_t seed,
			 const struct model *md)
{
	double wsum = 0, mean_slices = 0;
	for (size_t k = 0; k < NPROF; k++) {
		wsum += mixes[mixi].w[k];
		mean_slices += mixes[mixi].w[k] * md->profiles[md->slot[k]].slices;
	}
	mean_slices /= wsum;
	double rate = load * NGPUS * md->m->compute_slices / mean_slices;
	uint64_t s = seed;
	double t = 0;
	size_t n = 0;
	for (;;) {
		t += -log(rng_unit(&s)) / rate;
		if (t > horizon || n == max)
			break;
		double u = rng_unit(&s) * wsum;
		size_t prof = 0;
		while (prof + 1 < NPROF && u > mixes[mixi].w[prof]) {
			u -= mixes[mixi].w[prof];
			prof++;
		}
		r[n++] = (struct req){t, -log(rng_unit(&s)), prof};
	}
	return n;
}

static void run(const struct model *md, enum policy pol, size_t mixi, const struct req *r, size_t nr, uint64_t seed,
		struct tally *t)
{
	static struct node n;
	uint64_t rng = seed ^ 0x5DEECE66Dull;
	node_init(&n, md);
	for (size_t i = 0; i < nr; i++) {
		expire(&n, r[i].at);
		size_t gpu = 0;
		long k = -1;
		bool ok = choose(&n, pol, mixi, r[i].prof, &rng, &gpu, &k);
		size_t slot = md->slot[r[i].prof];
		if (ok) {
			struct mig_placement at = k >= 0 ? md->profiles[slot].placements[k]
							 : (struct mig_placement){0, units_of(md, slot)};
			add(&n, gpu, slot, at, r[i].at + r[i].hold);
			if (pol == P_CAPACITY) /* the reference keeps no placements */
				n.g[gpu].used = 0;
		}
		if (r[i].at < WARMUP)
			continue;
		t->asked++;
		t->p_asked[r[i].prof]++;
		if (ok) {
			t->placed++;
			t->p_placed[r[i].prof]++;
			continue;
		}
		for (size_t gi = 0; gi < NGPUS; gi++)
			if (has_room(&n, gi, slot)) {
				t->frag++;
				t->p_frag[r[i].prof]++;
				break;
			}
	}
}

static double pct(unsigned long a, unsigned long b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

int main(int argc, char **argv)
{
	unsigned long seeds = argc > 1 ? strtoul(argv[1], NULL, 10) : 20;
	double horizon = argc > 2 ? strtod(argv[2], NULL) : 300;
	static struct req trace[1 << 20];
	static struct tally tl[NMODEL][NMIX][NLOAD][NPOL];
	if (seeds == 0 || horizon <= WARMUP) {
		fprintf(stderr, "usage: churn_bench [seeds [time-units > %g]]\n", WARMUP);
		return 2;
	}

	printf("churn_bench: %d GPUs, Poisson arrivals, exponential holding (mean 1), %lu seeds of %g time units "
	       "(first %g not counted)\n",
	       NGPUS, seeds, horizon, WARMUP);
	for (size_t mi = 0; mi < NMODEL; mi++) {
		struct model md;
		if (model_load(&md, model_keys[mi])) {
			fprintf(stderr, "churn_bench: the simulator has no usable model %s\n", model_keys[mi]);
			return 1;
		}
		for (size_t x = 0; x < NMIX; x++)
			for (size_t l = 0; l < NLOAD; l++)
				for (unsigned long s = 0; s < seeds; s++) {
					uint64_t seed = 1000003ull * (s + 1) + 7919ull * x + 104729ull * l;
					size_t nr = make_trace(trace, sizeof(trace) / sizeof(trace[0]), x, loads[l], horizon,
							       seed, &md);
					for (int p = 0; p < NPOL; p++)
						run(&md, (enum policy)p, x, trace, nr, seed, &tl[mi][x][l][p]);
				}
		printf("\n%s: profiles %s %s %s %s %s; mixes (weights 1g..7g): ", md.m->key, md.names[0], md.names[1],
		       md.names[2], md.names[3], md.names[4]);
		for (size_t x = 0; x < NMIX; x++)
			printf("%s%s %g/%g/%g/%g/%g", x ? ", " : "", mixes[x].name, mixes[x].w[0], mixes[x].w[1],
			       mixes[x].w[2], mixes[x].w[3], mixes[x].w[4]);
		printf("\nplaced at once, %% of requests (fragmentation refusals, %% of requests)\n");
		printf("%-12s %4s", "mix", "load");
		for (int p = 0; p < NPOL; p++)
			printf(" %15s", policy_name[p]);
		printf("\n");
		for (size_t x = 0; x < NMIX; x++)
			for (size_t l = 0; l < NLOAD; l++) {
				printf("%-12s %4.1f", mixes[x].name, loads[l]);
				for (int p = 0; p < NPOL; p++) {
					const struct tally *t = &tl[mi][x][l][p];
					printf("    %5.1f (%4.1f)", pct(t->placed, t->asked), pct(t->frag, t->asked));
				}
				printf("\n");
			}
		printf("per profile, placed at once %% (1g/2g/3g/4g/7g)\n");
		for (size_t x = 0; x < NMIX; x++)
			for (size_t l = 0; l < NLOAD; l++) {
				printf("%-12s %4.1f", mixes[x].name, loads[l]);
				for (int p = 0; p < NPOL; p++) {
					const struct tally *t = &tl[mi][x][l][p];
					printf("  %s", p ? "| " : "");
					for (size_t k = 0; k < NPROF; k++)
						printf("%s%.0f", k ? "/" : "", pct(t->p_placed[k], t->p_asked[k]));
				}
				printf("\n");
			}
		printf("per profile, fragmentation refusals %% of the profile's requests (1g/2g/3g/4g/7g)\n");
		for (size_t x = 0; x < NMIX; x++)
			for (size_t l = 0; l < NLOAD; l++) {
				printf("%-12s %4.1f", mixes[x].name, loads[l]);
				for (int p = 0; p < NPOL; p++) {
					const struct tally *t = &tl[mi][x][l][p];
					printf("  %s", p ? "| " : "");
					for (size_t k = 0; k < NPROF; k++)
						printf("%s%.1f", k ? "/" : "", pct(t->p_frag[k], t->p_asked[k]));
				}
				printf("\n");
			}
	}

	/* The goals of issue 12, for the policy with the mix unknown. */
	printf("\ngoals (policy, mix unknown), per model, mix and load:\n");
	printf("%-15s %-12s %4s %8s %8s %9s %9s %12s\n", "model", "mix", "load", "gap-closed", "vs-best", "frag/ff",
	       "worst-prof", "worst-vs-ff");
	int failed = 0;
	for (size_t mi = 0; mi < NMODEL; mi++) {
		double closed_sum = 0;
		for (size_t x = 0; x < NMIX; x++)
			for (size_t l = 0; l < NLOAD; l++) {
				const struct tally *t = tl[mi][x][l];
				double ours = pct(t[P_POLICY].placed, t[P_POLICY].asked);
				double ff = pct(t[P_FIRST_FIT].placed, t[P_FIRST_FIT].asked);
				double cap = pct(t[P_CAPACITY].placed, t[P_CAPACITY].asked);
				double best_other = 0;
				for (int p = P_FIRST_FIT; p < P_CAPACITY; p++) {
					double a = pct(t[p].placed, t[p].asked);
					if (a > best_other)
						best_other = a;
				}
				double closed = cap - ff > 1e-9 ? (ours - ff) / (cap - ff) : 1.0;
				double worst = 1e9;
				size_t worst_k = 0;
				for (size_t k = 0; k < NPROF; k++) {
					double d = pct(t[P_POLICY].p_placed[k], t[P_POLICY].p_asked[k]) -
						   pct(t[P_FIRST_FIT].p_placed[k], t[P_FIRST_FIT].p_asked[k]);
					if (d < worst) {
						worst = d;
						worst_k = k;
					}
				}
				double fr = t[P_FIRST_FIT].frag ? (double)t[P_POLICY].frag / (double)t[P_FIRST_FIT].frag : 0;
				closed_sum += closed;
				bool ok = ours >= best_other - 1e-9 && worst >= -2.0 && closed >= 0.5 && fr <= 0.5;
				failed += !ok;
				printf("%-15s %-12s %4.1f %9.0f%% %+8.2f %9.2f %10s %+11.1f%s\n", model_keys[mi], mixes[x].name,
				       loads[l], 100 * closed, ours - best_other, fr, tl[mi][x][l][P_POLICY].p_asked[worst_k]
						? (const char *[]){"1g", "2g", "3g", "4g", "7g"}[worst_k] : "-",
				       worst, ok ? "" : "  <- goal missed");
			}
		printf("%-15s mean gap closed over mixes and loads: %.0f%%\n", model_keys[mi],
		       100 * closed_sum / (NMIX * NLOAD));
	}
	printf("%d of %zu cases miss a goal\n", failed, NMODEL * NMIX * NLOAD);
	return 0;
}
