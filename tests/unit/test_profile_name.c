/* SPDX-License-Identifier: MIT */
/* Profile names as NVIDIA tools write them: parse, print canonically, round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../include/mig.h"

static void test_round_trips(void **unused)
{
	(void)unused;
	const char *names[] = {"1g.5gb", "1g.10gb", "1g.10gb+me", "1g.24gb-me", "1g.24gb+me.all", "1g.24gb+gfx",
			       "2g.48gb+gfx", "2g.48gb-me", "1c.3g.20gb", "2c.7g.80gb", "4g.96gb+gfx",
			       "7g.180gb", "1c.2g.12gb+me", "3g.141gb"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct mig_profile_name p;
		struct mig_error err;
		char out[64];
		assert_int_equal(mig_profile_name_parse(names[i], &p, &err), 0);
		assert_int_equal(mig_profile_name_format(&p, out, sizeof(out)), (int)strlen(names[i]));
		assert_string_equal(out, names[i]);
	}
}

static void test_fields_and_spellings(void **unused)
{
	(void)unused;
	struct mig_profile_name p;
	char out[64];
	assert_int_equal(mig_profile_name_parse("1c.3g.20gb", &p, NULL), 0);
	assert_int_equal(p.compute_slices, 1);
	assert_int_equal(p.gi_slices, 3);
	assert_int_equal(p.memory_gb, 20);
	assert_int_equal(p.media, MIG_MEDIA_DEFAULT);
	assert_int_equal(mig_profile_name_parse("MIG 1g.24gb+me.all", &p, NULL), 0); /* NVML's own spelling */
	assert_int_equal(p.media, MIG_MEDIA_ME_ALL);
	assert_int_equal(mig_profile_name_parse("3c.3g.20gb", &p, NULL), 0); /* full CI == the GI's name */
	assert_int_equal(p.compute_slices, 0);
	mig_profile_name_format(&p, out, sizeof(out));
	assert_string_equal(out, "3g.20gb");
	assert_int_equal(mig_profile_name_parse("1G.10GB+ME", &p, NULL), 0);
	mig_profile_name_format(&p, out, sizeof(out));
	assert_string_equal(out, "1g.10gb+me");

	struct mig_profile_name a, b;
	mig_profile_name_parse("1c.2g.10gb", &a, NULL);
	mig_profile_name_parse("2g.10gb", &b, NULL);
	assert_true(mig_profile_name_same_gi(&a, &b));
	mig_profile_name_parse("2g.10gb+me", &b, NULL);
	assert_false(mig_profile_name_same_gi(&a, &b));
}

static void test_rejects_with_a_reason(void **unused)
{
	(void)unused;
	const struct {
		const char *text, *msg;
	} bad[] = {
		{"", "empty profile name"},
		{"3g", "not a MIG profile name"},
		{"3g.20", "not a MIG profile name"},
		{"g.20gb", "not a MIG profile name"},
		{"0g.5gb", "not a MIG profile name"},
		{"01g.5gb", "not a MIG profile name"},
		{"1g.5gb+mee", "unknown suffix '+mee'"},
		{"1g.5gb ", "unknown suffix ' '"},
		{"4c.3g.20gb", "cannot be larger than its GPU instance"},
		{"1000g.5gb", "not a MIG profile name"},
		{"1c.", "not a MIG profile name"},
		{"19", "not a MIG profile name"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mig_error err;
		mig_error_reset(&err);
		assert_int_equal(mig_profile_name_parse(bad[i].text, NULL, &err), -1);
		assert_int_equal(err.status, MIG_E_INVALID);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("'%s' gave '%s', expected '%s'", bad[i].text, err.msg, bad[i].msg);
	}
	assert_int_equal(mig_profile_name_parse(NULL, NULL, NULL), -1); /* a NULL error is allowed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_fields_and_spellings),
		cmocka_unit_test(test_rejects_with_a_reason),
	};
	return cmocka_run_group_tests_name("profile names", tests, NULL, NULL);
}
