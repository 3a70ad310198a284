/* SPDX-License-Identifier: MIT */
/*
 * migctl serve: the request bodies of the node service (cli/serve_request.c), pure functions
 * of their bytes so that they can be fuzzed (fuzz/fuzz_serve.c), and the server
 * (cli/cmd_serve.c). The API is in docs/serve.md.
 */
#ifndef MIGCTL_SERVE_H
#define MIGCTL_SERVE_H

#include <stdbool.h>
#include <stddef.h>

#include "../include/mig.h"

/* The largest request body the service reads (413 beyond). */
#define SERVE_BODY_MAX (64 * 1024)
#define SERVE_TTL_MAX 1e9

/* POST /v1/leases: {"profile": "3g.20gb"} or a need {"memory_mib": N, "slices": N, "media":
 * bool}; optional "gpus" (a selector: "0,1", "all", a UUID; or a GPU index as a number),
 * "model", "name" (needs "ttl"), "ttl" (seconds). Strings are copied in. */
struct serve_lease_body {
	char profile[MIG_PROFILE_MAX];
	unsigned long long memory_mib; /* 0: not asked */
	unsigned int slices;           /* 0: not asked */
	bool media;
	char gpus[256];  /* "": every GPU */
	char model[128]; /* "": any */
	char name[MIG_LEASE_NAME_MAX];
	double ttl; /* seconds; 0: none (the lease belongs to the peer process) */
};

/* Parse a lease request. 0, or -1 with msg saying what is wrong and where ("field \"ttl\":
 * expected a number of seconds, got a string"); out is untouched on failure. */
int serve_parse_lease(const char *body, size_t len, struct serve_lease_body *out, char *msg, size_t msglen);
/* POST /v1/leases/{id}/renew: an empty body, {} or {"ttl": seconds}. ttl 0: the lease's own. */
int serve_parse_renew(const char *body, size_t len, double *ttl, char *msg, size_t msglen);
/* The library's request, pointing into b (strings that are "" become NULL). */
void serve_lease_request(const struct serve_lease_body *b, struct mig_lease_request *r);
/* Is s a lease id as the library makes them (what may follow /v1/leases/)? */
bool serve_valid_lease_id(const char *s, size_t len);

/* migctl serve (cli/cmd_serve.c) */
struct cli;
int cmd_serve(struct cli *c, int argc, char **argv);

#endif
