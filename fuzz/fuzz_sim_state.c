/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the simulator's state file reader (sim/state.c), strict by design. A state
 * it accepts must pass its own invariant check, and write out as JSON that reads back to
 * the same state and the same text; a state it refuses must say why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/state.h"

static struct sim_state first, second;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];

	err[0] = '\0';
	if (sim_state_from_json(&first, (const char *)data, size, err, sizeof(err))) {
		if (!err[0]) {
			fprintf(stderr, "state refused without a message\n");
			abort();
		}
		return 0;
	}
	if (sim_state_check(&first, err, sizeof(err))) {
		fprintf(stderr, "state accepted but fails its check: %s\n", err);
		abort();
	}
	char *text = sim_state_to_json(&first);
	if (!text)
		abort();
	if (sim_state_from_json(&second, text, strlen(text), err, sizeof(err))) {
		fprintf(stderr, "state written by sim_state_to_json does not read back: %s\n%s\n", err, text);
		abort();
	}
	char *again = sim_state_to_json(&second);
	if (!again || strcmp(text, again) != 0 || memcmp(&first, &second, sizeof(first)) != 0) {
		fprintf(stderr, "state changes on a round trip:\n%s\n---\n%s\n", text, again ? again : "(null)");
		abort();
	}
	free(again);
	free(text);
	return 0;
}
