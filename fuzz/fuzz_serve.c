/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the request bodies of migctl serve (cli/serve_request.c). The input is a body
 * of POST /v1/leases and of POST /v1/leases/{id}/renew, and (its first line) the part of a
 * path after /v1/leases/. An accepted lease body gives terminated strings, a profile or a need
 * (never both, never neither), a TTL in range and a name only with a TTL; a rejected one says
 * why and leaves the output untouched. The messages are what the service sends back: they
 * must be non-empty and end inside the buffer.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/serve.h"

static void check_msg(const char *msg, size_t len)
{
	if (!msg[0] || !memchr(msg, '\0', len)) {
		fprintf(stderr, "a rejection without a message\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct serve_lease_body b, before;
	char msg[256];
	const char *body = (const char *)data;
	memset(&b, 0x5a, sizeof(b));
	before = b;
	if (serve_parse_lease(body, size, &b, msg, sizeof(msg))) {
		check_msg(msg, sizeof(msg));
		if (memcmp(&b, &before, sizeof(b)) != 0)
			abort();
	} else {
		if (!memchr(b.profile, '\0', sizeof(b.profile)) || !memchr(b.gpus, '\0', sizeof(b.gpus)) ||
		    !memchr(b.model, '\0', sizeof(b.model)) || !memchr(b.name, '\0', sizeof(b.name)))
			abort();
		bool need = b.memory_mib || b.slices || b.media;
		if ((b.profile[0] != '\0') == need)
			abort();
		if (!(b.ttl >= 0) || b.ttl > SERVE_TTL_MAX || !isfinite(b.ttl) || (b.name[0] && b.ttl <= 0))
			abort();
		if (b.slices > 64 || b.memory_mib > (1ULL << 40))
			abort();
		struct mig_lease_request r;
		serve_lease_request(&b, &r);
		if (r.size != sizeof(r) || (r.profile == NULL) != (b.profile[0] == '\0') || r.ttl != b.ttl)
			abort();
	}
	double ttl = -1;
	if (serve_parse_renew(body, size, &ttl, msg, 8)) { /* a small buffer: cut, still terminated */
		check_msg(msg, 8);
		if (ttl != -1)
			abort();
	} else if (!(ttl >= 0) || ttl > SERVE_TTL_MAX) {
		abort();
	}
	const char *nl = memchr(body, '\n', size);
	size_t idlen = nl ? (size_t)(nl - body) : size;
	if (serve_valid_lease_id(body, idlen) && (idlen == 0 || idlen >= MIG_LEASE_ID_MAX || memchr(body, '/', idlen)))
		abort();
	return 0;
}
