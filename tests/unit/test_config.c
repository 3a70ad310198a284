/* SPDX-License-Identifier: MIT */
/*
 * mig-parted's v1 config format (lib/declare/config.c) and what is built on it without NVML
 * (lib/declare/targets.c, lib/plan/plan.c): every bad config a user can write is refused with "file:line:column: what",
 * every good shape is read, configs resolve against fake nodes made from the simulator's
 * model tables, and the pure planner turns fake current states into ordered operations.
 *
 * The bad-config cases are a table; each row is its own test, named after the row.
 * Tests run from the repository root (they read the files in examples/).
 */
#include <dirent.h>
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
#include "../../sim/models.h"
#include "fake_gpu.h"

#define FILE_NAME "t.yaml"
/* the common start: the first entry's first key is at 4:7 */
#define HEAD "version: v1\nmig-configs:\n  c:\n"
/* an entry with MIG enabled and mig-devices on line 6 ('{' at column 20) */
#define ENABLED(devices_yaml) HEAD "    - devices: all\n      mig-enabled: true\n      mig-devices: " devices_yaml "\n"
/* fail_msg() where the code after it needs what was checked: cmocka longjmps out of the test,
 * and the abort() (never reached) says so to static analysis */
#define fail_now(...) do { fail_msg(__VA_ARGS__); abort(); } while (0)

/* ---- helpers: parsing ------------------------------------------------------------------ */

static struct mig_config *parse_text(const char *text, struct mig_error *err)
{
	struct mig_config *c = NULL;
	memset(err, 0, sizeof(*err));
	if (mig_config_parse(text, strlen(text), FILE_NAME, &c, err) != 0)
		return NULL;
	return c;
}

static struct mig_config *must_parse_(int line, const char *text)
{
	struct mig_error err;
	struct mig_config *c = parse_text(text, &err);
	if (!c)
		fail_now("line %d: a good config was refused: %s\n%s", line, err.msg, text);
	return c;
}
#define must_parse(text) must_parse_(__LINE__, text)

/* -1, MIG_E_INVALID, a message starting with prefix and containing every word. */
static void expect_bad_words(const char *label, const char *text, const char *prefix, const char *const *words,
			     size_t nwords)
{
	struct mig_config *c = NULL;
	struct mig_error err;
	memset(&err, 0, sizeof(err));
	int rc = mig_config_parse(text, strlen(text), FILE_NAME, &c, &err);
	if (rc == 0) {
		mig_config_free(c);
		fail_msg("%s: a bad config was accepted:\n%s", label, text);
	}
	assert_int_equal(rc, -1);
	assert_null(c);
	if (err.status != MIG_E_INVALID)
		fail_msg("%s: status %d, expected MIG_E_INVALID (%s)", label, (int)err.status, err.msg);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
		fail_msg("%s: the message does not start with '%s':\n  %s", label, prefix, err.msg);
	for (size_t i = 0; i < nwords; i++)
		if (!strstr(err.msg, words[i]))
			fail_msg("%s: the message does not say '%s':\n  %s", label, words[i], err.msg);
}

static void expect_bad_(int line, const char *text, const char *prefix, ...)
{
	const char *words[8];
	size_t n = 0;
	va_list ap;
	va_start(ap, prefix);
	for (const char *w = va_arg(ap, const char *); w && n < 8; w = va_arg(ap, const char *))
		words[n++] = w;
	va_end(ap);
	char label[32];
	snprintf(label, sizeof(label), "line %d", line);
	expect_bad_words(label, text, prefix, words, n);
}
#define expect_bad(...) expect_bad_(__LINE__, __VA_ARGS__, (const char *)NULL)

/* ---- the table of bad configs ------------------------------------------------------------ */

struct bad_case {
	const char *name;
	const char *text;
	const char *prefix; /* "t.yaml:LINE:COLUMN: " */
	const char *words[4];
};

static struct bad_case bad_cases[] = {
	/* YAML itself: line and column from libyaml */
	{"bad: YAML syntax (mapping value in a plain scalar)", "version: v1: x\nmig-configs: {}\n", FILE_NAME ":1:12: ",
	 {"mapping values are not allowed"}},
	{"bad: YAML syntax (unclosed flow mapping)",
	 HEAD "    - devices: all\n      mig-enabled: true\n      mig-devices: {\"1g.5gb\": 2\n", FILE_NAME ":7:1: ",
	 {"did not find expected ',' or '}'", "flow mapping"}},
	{"bad: YAML syntax (unclosed quote)", "version: \"v1\nmig-configs: {}\n", FILE_NAME ":3:1: ",
	 {"found unexpected end of stream", "quoted scalar"}},
	{"bad: YAML undefined alias", HEAD "    - devices: *nowhere\n      mig-enabled: false\n", FILE_NAME ":4:16: ",
	 {"undefined alias"}},

	/* the top level */
	{"bad: empty file", "", FILE_NAME ": ", {"empty", "version: v1", "mig-configs"}},
	{"bad: only comments", "# nothing here\n\n", FILE_NAME ": ", {"empty"}},
	{"bad: top level is a list", "- version: v1\n- mig-configs: {}\n", FILE_NAME ":1:1: ", {"top level", "mapping"}},
	{"bad: top level is a scalar", "v1\n", FILE_NAME ":1:1: ", {"top level", "mapping"}},
	{"bad: missing version", "mig-configs:\n  c:\n    - devices: all\n      mig-enabled: false\n", FILE_NAME ":1:1: ",
	 {"missing 'version: v1'"}},
	{"bad: version v2",
	 "version: v2\nmig-configs:\n  c:\n    - devices: all\n      mig-enabled: false\n", FILE_NAME ":1:10: ",
	 {"unknown version 'v2'", "v1"}},
	{"bad: version 1 (a number)",
	 "version: 1\nmig-configs:\n  c:\n    - devices: all\n      mig-enabled: false\n", FILE_NAME ":1:10: ",
	 {"unknown version '1'", "v1"}},
	{"bad: version is a list",
	 "version: [v1]\nmig-configs:\n  c:\n    - devices: all\n      mig-enabled: false\n", FILE_NAME ":1:10: ",
	 {"unknown version"}},
	{"bad: unknown top-level key (typo)",
	 "version: v1\nmig-config:\n  c:\n    - devices: all\n      mig-enabled: false\n", FILE_NAME ":2:1: ",
	 {"unexpected field 'mig-config'", "version", "mig-configs"}},
	{"bad: unknown top-level key after mig-configs",
	 "version: v1\nmig-configs:\n  c:\n    - devices: all\n      mig-enabled: false\nhooks: {}\n", FILE_NAME ":6:1: ",
	 {"unexpected field 'hooks'"}},
	{"bad: missing mig-configs", "version: v1\n", FILE_NAME ":1:1: ", {"missing 'mig-configs'"}},
	{"bad: mig-configs is a list", "version: v1\nmig-configs:\n  - devices: all\n    mig-enabled: false\n",
	 FILE_NAME ":3:3: ", {"mig-configs must be a mapping"}},
	{"bad: mig-configs is a scalar", "version: v1\nmig-configs: all\n", FILE_NAME ":2:14: ",
	 {"mig-configs must be a mapping"}},
	{"bad: mig-configs is empty", "version: v1\nmig-configs: {}\n", FILE_NAME ":2:14: ", {"mig-configs is empty"}},

	/* configs */
	{"bad: a config that is not a list", HEAD "    devices: all\n    mig-enabled: false\n", FILE_NAME ":4:5: ",
	 {"config 'c' must be a list of entries"}},
	{"bad: a config that is a scalar", "version: v1\nmig-configs:\n  c: all-disabled\n", FILE_NAME ":3:6: ",
	 {"config 'c' must be a list of entries"}},
	{"bad: a config with no entries", "version: v1\nmig-configs:\n  c: []\n", FILE_NAME ":3:6: ",
	 {"config 'c' has no entries"}},
	{"bad: an empty config name", "version: v1\nmig-configs:\n  \"\":\n    - devices: all\n      mig-enabled: false\n",
	 FILE_NAME ":3:3: ", {"config name", "non-empty"}},
	{"bad: a config defined twice",
	 "version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: false\n"
	 "  a:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {}\n",
	 FILE_NAME ":6:3: ", {"config 'a' is defined twice"}},

	/* entries */
	{"bad: an entry that is a scalar", HEAD "    - all\n", FILE_NAME ":4:7: ", {"each entry is a mapping"}},
	{"bad: an entry that is a list", HEAD "    - [devices, all]\n", FILE_NAME ":4:7: ", {"each entry is a mapping"}},
	{"bad: unknown entry key", HEAD "    - devices: all\n      mig-enable: true\n", FILE_NAME ":5:7: ",
	 {"unexpected field 'mig-enable'", "mig-enabled", "mig-devices"}},
	{"bad: duplicate entry key", HEAD "    - devices: all\n      mig-enabled: false\n      devices: [0]\n",
	 FILE_NAME ":6:7: ", {"'devices' is given twice"}},
	{"bad: duplicate mig-enabled", HEAD "    - devices: all\n      mig-enabled: false\n      mig-enabled: true\n",
	 FILE_NAME ":6:7: ", {"'mig-enabled' is given twice"}},
	{"bad: missing devices", HEAD "    - mig-enabled: false\n", FILE_NAME ":4:7: ", {"no 'devices'"}},
	{"bad: missing mig-enabled", HEAD "    - devices: all\n", FILE_NAME ":4:7: ", {"no 'mig-enabled'"}},
	{"bad: missing devices in the second entry",
	 HEAD "    - devices: [0]\n      mig-enabled: false\n    - mig-enabled: false\n", FILE_NAME ":6:7: ",
	 {"no 'devices'"}},

	/* devices */
	{"bad: devices \"some\"", HEAD "    - devices: some\n      mig-enabled: false\n", FILE_NAME ":4:16: ",
	 {"devices must be \"all\"", "'some'"}},
	{"bad: devices \"ALL\" (case)", HEAD "    - devices: ALL\n      mig-enabled: false\n", FILE_NAME ":4:16: ",
	 {"devices must be \"all\"", "'ALL'"}},
	{"bad: devices {}", HEAD "    - devices: {}\n      mig-enabled: false\n", FILE_NAME ":4:16: ",
	 {"devices must be \"all\" or a list"}},
	{"bad: devices []", HEAD "    - devices: []\n      mig-enabled: false\n", FILE_NAME ":4:16: ",
	 {"devices is an empty list"}},
	{"bad: devices [-1]", HEAD "    - devices: [-1]\n      mig-enabled: false\n", FILE_NAME ":4:17: ",
	 {"'-1'", "GPU index"}},
	{"bad: devices [1.5]", HEAD "    - devices: [1.5]\n      mig-enabled: false\n", FILE_NAME ":4:17: ",
	 {"GPU index", "whole number", "'1.5'"}},
	{"bad: devices [\"foo\"]", HEAD "    - devices: [\"foo\"]\n      mig-enabled: false\n", FILE_NAME ":4:17: ",
	 {"'foo' is not a GPU index"}},
	{"bad: devices [256]", HEAD "    - devices: [256]\n      mig-enabled: false\n", FILE_NAME ":4:17: ",
	 {"GPU index", "0 to 255", "'256'"}},
	{"bad: devices [0, x] (second item)", HEAD "    - devices: [0, x]\n      mig-enabled: false\n",
	 FILE_NAME ":4:20: ", {"'x' is not a GPU index"}},
	{"bad: devices [[0]]", HEAD "    - devices: [[0]]\n      mig-enabled: false\n", FILE_NAME ":4:17: ",
	 {"each device is a GPU index"}},
	{"bad: devices block list with a bad item", HEAD "    - devices:\n        - 0\n        - 1.5\n      mig-enabled: false\n",
	 FILE_NAME ":6:11: ", {"'1.5'"}},

	/* mig-enabled */
	{"bad: mig-enabled \"yes\" (quoted)", HEAD "    - devices: all\n      mig-enabled: \"yes\"\n", FILE_NAME ":5:20: ",
	 {"mig-enabled must be true or false"}},
	{"bad: mig-enabled \"true\" (quoted: a string)", HEAD "    - devices: all\n      mig-enabled: \"true\"\n",
	 FILE_NAME ":5:20: ", {"mig-enabled must be true or false"}},
	{"bad: mig-enabled 1", HEAD "    - devices: all\n      mig-enabled: 1\n", FILE_NAME ":5:20: ",
	 {"mig-enabled must be true or false"}},
	{"bad: mig-enabled []", HEAD "    - devices: all\n      mig-enabled: []\n", FILE_NAME ":5:20: ",
	 {"mig-enabled must be true or false"}},

	/* device-filter (on line 4: the value at column 22) */
	{"bad: device-filter without 0x",
	 HEAD "    - device-filter: \"20B010DE\"\n      devices: all\n      mig-enabled: false\n", FILE_NAME ":4:22: ",
	 {"'20B010DE' is not a device filter", "0x20B010DE"}},
	{"bad: device-filter 0xZZ", HEAD "    - device-filter: \"0xZZ\"\n      devices: all\n      mig-enabled: false\n",
	 FILE_NAME ":4:22: ", {"'0xZZ' is not a device filter"}},
	{"bad: device-filter with a decimal subsystem",
	 HEAD "    - device-filter: \"0x20B010DE:123\"\n      devices: all\n      mig-enabled: false\n",
	 FILE_NAME ":4:22: ", {"'0x20B010DE:123' is not a device filter", "0xSSSSVVVV"}},
	{"bad: device-filter with an empty subsystem",
	 HEAD "    - device-filter: \"0x20B010DE:\"\n      devices: all\n      mig-enabled: false\n",
	 FILE_NAME ":4:22: ", {"is not a device filter"}},
	{"bad: device-filter wider than 32 bits",
	 HEAD "    - device-filter: \"0x120B010DE\"\n      devices: all\n      mig-enabled: false\n",
	 FILE_NAME ":4:22: ", {"'0x120B010DE' is not a device filter"}},
	{"bad: device-filter with trailing text",
	 HEAD "    - device-filter: \"0x20B010DE \"\n      devices: all\n      mig-enabled: false\n",
	 FILE_NAME ":4:22: ", {"is not a device filter"}},
	{"bad: device-filter []", HEAD "    - device-filter: []\n      devices: all\n      mig-enabled: false\n",
	 FILE_NAME ":4:22: ", {"device-filter is an empty list"}},
	{"bad: device-filter {}", HEAD "    - device-filter: {}\n      devices: all\n      mig-enabled: false\n",
	 FILE_NAME ":4:22: ", {"device-filter is a string"}},
	{"bad: device-filter list with a bad second item",
	 HEAD "    - device-filter: [\"0x20B010DE\", \"bogus\"]\n      devices: all\n      mig-enabled: false\n",
	 FILE_NAME ":4:37: ", {"'bogus' is not a device filter"}},

	/* mig-devices */
	{"bad: mig-devices missing while enabled", HEAD "    - devices: all\n      mig-enabled: true\n", FILE_NAME ":4:7: ",
	 {"mig-enabled is true", "'mig-devices' is required"}},
	{"bad: mig-devices non-empty while disabled",
	 HEAD "    - devices: all\n      mig-enabled: false\n      mig-devices: {\"1g.5gb\": 1}\n", FILE_NAME ":6:20: ",
	 {"mig-enabled is false", "absent or {}"}},
	{"bad: mig-devices a list while disabled",
	 HEAD "    - devices: all\n      mig-enabled: false\n      mig-devices: []\n", FILE_NAME ":6:20: ",
	 {"mig-enabled is false", "absent or {}"}},
	{"bad: mig-devices is a list", ENABLED("[\"1g.5gb\"]"), FILE_NAME ":6:20: ", {"mig-devices must be a mapping"}},
	{"bad: mig-devices is a scalar", ENABLED("1g.5gb"), FILE_NAME ":6:20: ", {"mig-devices must be a mapping"}},
	{"bad: a bad profile name", ENABLED("{\"1x.5gb\": 1}"), FILE_NAME ":6:21: ",
	 {"'1x.5gb' is not a MIG profile name"}},
	{"bad: a profile name with an unknown suffix (block style)",
	 HEAD "    - devices: all\n      mig-enabled: true\n      mig-devices:\n        \"1g.5gb+foo\": 1\n",
	 FILE_NAME ":7:9: ", {"unknown suffix '+foo'"}},
	{"bad: a compute instance larger than its GPU instance", ENABLED("{\"4c.2g.10gb\": 1}"), FILE_NAME ":6:21: ",
	 {"cannot be larger"}},
	{"bad: a profile name that is a list", ENABLED("{[1g.5gb]: 1}"), FILE_NAME ":6:21: ", {"profile name"}},
	{"bad: count -1", ENABLED("{\"1g.5gb\": -1}"), FILE_NAME ":6:31: ",
	 {"profile count", "whole number from 0 to 64"}},
	{"bad: count \"2\" (quoted)", ENABLED("{\"1g.5gb\": \"2\"}"), FILE_NAME ":6:31: ",
	 {"profile count", "whole number from 0 to 64"}},
	{"bad: count 1.5", ENABLED("{\"1g.5gb\": 1.5}"), FILE_NAME ":6:31: ", {"profile count", "'1.5'"}},
	{"bad: count 65", ENABLED("{\"1g.5gb\": 65}"), FILE_NAME ":6:31: ", {"profile count", "0 to 64", "'65'"}},
	{"bad: count 0x2", ENABLED("{\"1g.5gb\": 0x2}"), FILE_NAME ":6:31: ", {"profile count", "'0x2'"}},
	{"bad: count is a list", ENABLED("{\"1g.5gb\": [1]}"), FILE_NAME ":6:31: ", {"profile count"}},
	{"bad: all counts 0", ENABLED("{\"1g.5gb\": 0, \"2g.10gb\": 0}"), FILE_NAME ":6:20: ",
	 {"every count in mig-devices is 0", "mig-devices: {}"}},
	{"bad: the same profile as \"MIG 1g.5gb\"", ENABLED("{\"1g.5gb\": 1, \"MIG 1g.5gb\": 2}"), FILE_NAME ":6:34: ",
	 {"'MIG 1g.5gb' is the same profile as '1g.5gb'"}},
	{"bad: the same profile as \"1G.5GB\"", ENABLED("{\"1g.5gb\": 1, \"1G.5GB\": 2}"), FILE_NAME ":6:34: ",
	 {"'1G.5GB' is the same profile as '1g.5gb'"}},
	{"bad: the same profile twice, same spelling", ENABLED("{\"1g.5gb\": 1, \"1g.5gb\": 2}"), FILE_NAME ":6:34: ",
	 {"same profile"}},
	{"bad: \"3c.3g.20gb\" twice", ENABLED("{\"3c.3g.20gb\": 1, \"MIG 3c.3g.20gb\": 1}"), FILE_NAME ":6:38: ",
	 {"'MIG 3c.3g.20gb' is the same profile as '3c.3g.20gb'"}},

	/* placements (line 7; the value at column 19) */
	{"bad: placements not a mapping", ENABLED("{\"3g.20gb\": 1}") "      placements: [4]\n", FILE_NAME ":7:19: ",
	 {"placements must map profile names"}},
	{"bad: placements for a profile not in mig-devices",
	 ENABLED("{\"3g.20gb\": 1}") "      placements: {\"2g.10gb\": [0]}\n", FILE_NAME ":7:20: ",
	 {"placements names '2g.10gb'", "mig-devices does not ask for"}},
	{"bad: placements with a name that is no profile",
	 ENABLED("{\"3g.20gb\": 1}") "      placements: {\"bogus\": [0]}\n", FILE_NAME ":7:20: ",
	 {"'bogus' is not a profile name"}},
	{"bad: placements with too many starts",
	 ENABLED("{\"3g.20gb\": 1}") "      placements: {\"3g.20gb\": [0, 4]}\n", FILE_NAME ":7:31: ",
	 {"1 instance in mig-devices but 2 placements"}},
	{"bad: placements with too few starts",
	 ENABLED("{\"2g.10gb\": 3}") "      placements: {\"2g.10gb\": [0]}\n", FILE_NAME ":7:31: ",
	 {"3 instances in mig-devices but 1 placement here"}},
	{"bad: placements start is not a number",
	 ENABLED("{\"3g.20gb\": 1}") "      placements: {\"3g.20gb\": [x]}\n", FILE_NAME ":7:32: ",
	 {"placement start", "whole number"}},
	{"bad: placements start is negative",
	 ENABLED("{\"3g.20gb\": 1}") "      placements: {\"3g.20gb\": [-4]}\n", FILE_NAME ":7:32: ",
	 {"placement start"}},
	{"bad: placements value not a list", ENABLED("{\"3g.20gb\": 1}") "      placements: {\"3g.20gb\": 4}\n",
	 FILE_NAME ":7:31: ", {"list of start slices"}},
	{"bad: placements with mig-enabled false",
	 HEAD "    - devices: all\n      mig-enabled: false\n      placements: {}\n", FILE_NAME ":6:19: ",
	 {"placements need mig-enabled: true"}},
	{"bad: placements on a compute-level name",
	 ENABLED("{\"1c.3g.20gb\": 1}") "      placements: {\"1c.3g.20gb\": [0]}\n", FILE_NAME ":7:20: ",
	 {"1c.3g.20gb", "compute instance"}},
};

static void test_bad_case(void **state)
{
	const struct bad_case *b = *state;
	size_t n = 0;
	while (n < 4 && b->words[n])
		n++;
	expect_bad_words(b->name, b->text, b->prefix, b->words, n);
}

/* ---- more bad configs that need more than a row ------------------------------------------- */

static void test_bad_version_given_twice(void **unused)
{
	(void)unused;
	/* a repeated top-level key must be called what it is, not "unexpected field 'version'
	 * ... expected version", which contradicts itself */
	expect_bad("version: v1\nversion: v1\nmig-configs:\n  c:\n    - devices: all\n      mig-enabled: false\n",
		   FILE_NAME ":2:1: ", "'version'", "twice");
	expect_bad("version: v1\nmig-configs:\n  c:\n    - devices: all\n      mig-enabled: false\n"
		   "mig-configs:\n  d:\n    - devices: all\n      mig-enabled: false\n",
		   FILE_NAME ":6:1: ", "'mig-configs'", "twice");
}

static void test_bad_device_id_that_is_no_bus_id(void **unused)
{
	(void)unused;
	/* the parser is strict about filters and profile names; a device that is neither an index,
	 * a GPU UUID nor a PCI bus id should be refused where it is written, not later by
	 * resolution with the entry's position */
	expect_bad(HEAD "    - devices: [\"x:y\"]\n      mig-enabled: false\n", FILE_NAME ":4:17: ", "'x:y'");
}

static void test_bad_error_in_a_later_config(void **unused)
{
	(void)unused;
	expect_bad("version: v1\nmig-configs:\n  good:\n    - devices: all\n      mig-enabled: false\n"
		   "  bad:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {\"1g.5gb\": 99}\n",
		   FILE_NAME ":9:31: ", "profile count");
}

static void test_bad_uses_the_given_file_name(void **unused)
{
	(void)unused;
	struct mig_config *c = NULL;
	struct mig_error err;
	const char *text = "version: v2\n";
	assert_int_equal(mig_config_parse(text, strlen(text), "/etc/migctl/x.yaml", &c, &err), -1);
	assert_int_equal(err.status, MIG_E_INVALID);
	assert_true(strncmp(err.msg, "/etc/migctl/x.yaml:1:10: ", 25) == 0);
	assert_int_equal(mig_config_parse(text, strlen(text), NULL, &c, &err), -1);
	assert_true(strncmp(err.msg, "<config>:1:10: ", 15) == 0);
	assert_null(c);
	/* a NULL err is allowed */
	assert_int_equal(mig_config_parse(text, strlen(text), NULL, &c, NULL), -1);
}

/* Duplicate placements of one profile (the same key twice, or two spellings) must be refused.
 * Runs last: it wrote past the starts array (see the report), which ends an ASan run. */
static void test_bad_placements_twice(void **unused)
{
	(void)unused;
	expect_bad(ENABLED("{\"3g.20gb\": 1}") "      placements: {\"3g.20gb\": [0], \"MIG 3g.20gb\": [4]}\n",
		   FILE_NAME ":7:36: ", "3g.20gb");
	expect_bad(ENABLED("{\"3g.20gb\": 1}") "      placements: {\"3g.20gb\": [0], \"3g.20gb\": [4]}\n",
		   FILE_NAME ":7:36: ", "3g.20gb");
}

/* ---- good configs ---------------------------------------------------------------- */

static const struct mig_config_set *set_named(const struct mig_config *c, const char *name)
{
	struct mig_error err;
	const struct mig_config_set *s = mig_config_find(c, name, &err);
	if (!s)
		fail_msg("no set %s: %s", name, err.msg);
	return s;
}

static const struct mig_config_profile *profile_named(const struct mig_config_entry *e, const char *name)
{
	for (size_t i = 0; i < e->nprofiles; i++)
		if (strcmp(e->profiles[i].name, name) == 0)
			return &e->profiles[i];
	static const struct mig_config_profile none;
	fail_msg("no profile %s in the entry", name);
	return &none;
}

static void test_good_minimal_and_fields(void **unused)
{
	(void)unused;
	struct mig_config *c = must_parse(HEAD "    - devices: all\n      mig-enabled: true\n      mig-devices:\n"
					       "        \"1g.5gb\": 2\n        \"2g.10gb\": 0\n        \"3g.20gb\": 1\n");
	assert_string_equal(c->file, FILE_NAME);
	assert_int_equal(c->nsets, 1);
	const struct mig_config_set *s = &c->sets[0];
	assert_string_equal(s->name, "c");
	assert_int_equal(s->where.line, 3);
	assert_int_equal(s->where.column, 3);
	assert_int_equal(s->nentries, 1);
	const struct mig_config_entry *e = &s->entries[0];
	assert_int_equal(e->where.line, 4);
	assert_int_equal(e->where.column, 7);
	assert_true(e->all_devices);
	assert_int_equal(e->nindices, 0);
	assert_int_equal(e->nids, 0);
	assert_int_equal(e->nfilters, 0);
	assert_true(e->mig_enabled);
	assert_int_equal(e->nprofiles, 3);
	assert_string_equal(e->profiles[0].name, "1g.5gb");
	assert_int_equal(e->profiles[0].count, 2);
	assert_int_equal(e->profiles[0].parsed.gi_slices, 1);
	assert_int_equal(e->profiles[0].parsed.memory_gb, 5);
	assert_int_equal(e->profiles[0].where.line, 7);
	assert_int_equal(e->profiles[0].where.column, 9);
	assert_null(e->profiles[0].starts);
	assert_int_equal(e->profiles[1].count, 0); /* a 0 beside a non-zero count is fine */
	assert_int_equal(e->profiles[2].count, 1);
	assert_int_equal(e->profiles[2].where.line, 9);
	mig_config_free(c);
	mig_config_free(NULL);
}

static void test_good_mig_parted_custom_config(void **unused)
{
	(void)unused;
	/* mig-parted's README example, verbatim */
	struct mig_config *c = must_parse("version: v1\nmig-configs:\n"
					  "  custom-config:\n"
					  "    - devices: [0,1,2,3]\n"
					  "      mig-enabled: false\n"
					  "    - devices: [7]\n"
					  "      mig-enabled: true\n"
					  "      mig-devices: {\"1g.5gb\": 2, \"2g.10gb\": 1, \"3g.20gb\": 1}\n");
	const struct mig_config_set *s = set_named(c, "custom-config");
	assert_int_equal(s->nentries, 2);
	const struct mig_config_entry *a = &s->entries[0], *b = &s->entries[1];
	assert_false(a->all_devices);
	assert_int_equal(a->nindices, 4);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(a->indices[i], i);
	assert_false(a->mig_enabled);
	assert_int_equal(a->nprofiles, 0);
	assert_int_equal(b->nindices, 1);
	assert_int_equal(b->indices[0], 7);
	assert_int_equal(b->where.line, 6);
	assert_int_equal(b->nprofiles, 3);
	assert_int_equal(profile_named(b, "1g.5gb")->count, 2);
	assert_int_equal(profile_named(b, "2g.10gb")->count, 1);
	assert_int_equal(profile_named(b, "3g.20gb")->count, 1);
	mig_config_free(c);
}

static void test_good_dgx_station_filters(void **unused)
{
	(void)unused;
	struct mig_config *c = must_parse("version: v1\nmig-configs:\n"
					  "  all-1g.10gb-dgx-station-80:\n"
					  "    - device-filter: \"0x20B210DE\"\n"
					  "      devices: all\n"
					  "      mig-enabled: true\n"
					  "      mig-devices: {\"1g.10gb\": 7}\n"
					  "    - device-filter: \"0x1FB010DE\"\n"
					  "      devices: all\n"
					  "      mig-enabled: false\n"
					  "      mig-devices: {}\n"
					  "  lists:\n"
					  "    - device-filter: [\"0x20B010DE\", 0x20F110de, \"0X20B210DE:0x147E10DE\"]\n"
					  "      devices: all\n"
					  "      mig-enabled: false\n");
	const struct mig_config_set *s = set_named(c, "all-1g.10gb-dgx-station-80");
	assert_int_equal(s->nentries, 2);
	assert_int_equal(s->entries[0].nfilters, 1);
	assert_int_equal(s->entries[0].filters[0].device_id, 0x20B210DE);
	assert_false(s->entries[0].filters[0].has_subsystem);
	assert_int_equal(s->entries[1].filters[0].device_id, 0x1FB010DE);
	assert_false(s->entries[1].mig_enabled);
	assert_int_equal(s->entries[1].nprofiles, 0);
	const struct mig_config_entry *e = &set_named(c, "lists")->entries[0];
	assert_int_equal(e->nfilters, 3);
	assert_int_equal(e->filters[0].device_id, 0x20B010DE);
	assert_int_equal(e->filters[1].device_id, 0x20F110DE); /* plain scalar, lower case */
	assert_int_equal(e->filters[2].device_id, 0x20B210DE);
	assert_true(e->filters[2].has_subsystem);
	assert_int_equal(e->filters[2].subsystem_id, 0x147E10DE);
	mig_config_free(c);
}

static void test_good_subsystem_filter(void **unused)
{
	(void)unused;
	struct mig_config *c = must_parse(HEAD "    - device-filter: \"0x20B210DE:0x147E10DE\"\n      devices: all\n"
					       "      mig-enabled: true\n      mig-devices: {\"1g.10gb\": 7}\n");
	const struct mig_config_entry *e = &c->sets[0].entries[0];
	assert_int_equal(e->nfilters, 1);
	assert_int_equal(e->filters[0].device_id, 0x20B210DE);
	assert_true(e->filters[0].has_subsystem);
	assert_int_equal(e->filters[0].subsystem_id, 0x147E10DE);
	mig_config_free(c);
}

static void test_good_enabled_empty_and_disabled_shapes(void **unused)
{
	(void)unused;
	struct mig_config *c = must_parse("version: \"v1\"\nmig-configs:\n"
					  "  all-enabled:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {}\n"
					  "  all-disabled:\n    - devices: all\n      mig-enabled: false\n"
					  "  disabled-with-empty:\n    - devices: all\n      mig-enabled: False\n      mig-devices: {}\n"
					  "  upper:\n    - devices: \"all\"\n      mig-enabled: TRUE\n      mig-devices: {}\n");
	assert_int_equal(c->nsets, 4);
	const struct mig_config_entry *e = &set_named(c, "all-enabled")->entries[0];
	assert_true(e->mig_enabled);
	assert_int_equal(e->nprofiles, 0);
	e = &set_named(c, "all-disabled")->entries[0];
	assert_false(e->mig_enabled);
	assert_int_equal(e->nprofiles, 0);
	e = &set_named(c, "disabled-with-empty")->entries[0];
	assert_false(e->mig_enabled);
	e = &set_named(c, "upper")->entries[0];
	assert_true(e->mig_enabled);
	assert_true(e->all_devices);
	mig_config_free(c);
}

static void test_good_attribute_and_compute_profiles(void **unused)
{
	(void)unused;
	struct mig_config *c = must_parse(HEAD "    - devices: all\n      mig-enabled: true\n      mig-devices:\n"
					       "        \"1g.24gb+gfx\": 4\n"
					       "        \"1g.24gb+me.all\": 1\n"
					       "        \"1g.24gb-me\": 4\n"
					       "        \"1g.5gb+me\": 1\n"
					       "        \"1c.2g.10gb\": 2\n"
					       "        \"MIG 3g.20gb\": 1\n"
					       "        1g.10gb: 1\n");
	const struct mig_config_entry *e = &c->sets[0].entries[0];
	assert_int_equal(e->nprofiles, 7);
	assert_int_equal(profile_named(e, "1g.24gb+gfx")->parsed.media, MIG_MEDIA_GFX);
	assert_int_equal(profile_named(e, "1g.24gb+me.all")->parsed.media, MIG_MEDIA_ME_ALL);
	assert_int_equal(profile_named(e, "1g.24gb-me")->parsed.media, MIG_MEDIA_NO_ME);
	assert_int_equal(profile_named(e, "1g.5gb+me")->parsed.media, MIG_MEDIA_ME);
	const struct mig_config_profile *cp = profile_named(e, "1c.2g.10gb");
	assert_int_equal(cp->parsed.compute_slices, 1);
	assert_int_equal(cp->parsed.gi_slices, 2);
	assert_int_equal(cp->parsed.memory_gb, 10);
	assert_int_equal(cp->count, 2);
	assert_int_equal(profile_named(e, "MIG 3g.20gb")->parsed.gi_slices, 3);
	assert_int_equal(profile_named(e, "1g.10gb")->count, 1);
	mig_config_free(c);
}

static void test_good_devices_forms(void **unused)
{
	(void)unused;
	struct mig_config *c = must_parse(HEAD "    - devices: [0, 2, \"GPU-12345678-1234-1234-1234-123456789abc\", "
					       "\"00000000:07:00.0\", \"07:00.0\", 255]\n      mig-enabled: false\n");
	const struct mig_config_entry *e = &c->sets[0].entries[0];
	assert_false(e->all_devices);
	assert_int_equal(e->nindices, 3);
	assert_int_equal(e->indices[0], 0);
	assert_int_equal(e->indices[1], 2);
	assert_int_equal(e->indices[2], 255);
	assert_int_equal(e->nids, 3);
	assert_string_equal(e->ids[0], "GPU-12345678-1234-1234-1234-123456789abc");
	assert_string_equal(e->ids[1], "00000000:07:00.0");
	assert_string_equal(e->ids[2], "07:00.0");
	mig_config_free(c);
}

static void test_good_placements(void **unused)
{
	(void)unused;
	struct mig_config *c = must_parse(ENABLED("{\"3g.20gb\": 1, \"2g.10gb\": 2, \"1g.5gb\": 0}")
					  "      placements: {\"MIG 3g.20gb\": [4], \"2g.10gb\": [0, 2], \"1g.5gb\": []}\n");
	const struct mig_config_entry *e = &c->sets[0].entries[0];
	const struct mig_config_profile *p3 = profile_named(e, "3g.20gb"), *p2 = profile_named(e, "2g.10gb");
	assert_int_equal(p3->nstarts, 1);
	assert_int_equal(p3->starts[0], 4);
	assert_int_equal(p2->nstarts, 2);
	assert_int_equal(p2->starts[0], 0);
	assert_int_equal(p2->starts[1], 2);
	assert_int_equal(profile_named(e, "1g.5gb")->nstarts, 0);
	mig_config_free(c);
}

/* Flow and block styles give the same config. */
static void test_good_flow_and_block_styles_agree(void **unused)
{
	(void)unused;
	struct mig_config *block = must_parse("version: v1\n"
					      "mig-configs:\n"
					      "  a:\n"
					      "    - device-filter:\n"
					      "        - \"0x20B010DE\"\n"
					      "        - \"0x20B210DE:0x147E10DE\"\n"
					      "      devices:\n"
					      "        - 0\n"
					      "        - 1\n"
					      "      mig-enabled: true\n"
					      "      mig-devices:\n"
					      "        \"1g.5gb\": 2\n"
					      "        \"1c.3g.20gb\": 3\n"
					      "      placements:\n"
					      "        \"1g.5gb\":\n"
					      "          - 0\n"
					      "          - 1\n"
					      "    - devices: all\n"
					      "      mig-enabled: false\n");
	struct mig_config *flow = must_parse("{version: v1, mig-configs: {a: [{device-filter: [\"0x20B010DE\", "
					     "\"0x20B210DE:0x147E10DE\"], devices: [0, 1], mig-enabled: true, mig-devices: "
					     "{\"1g.5gb\": 2, \"1c.3g.20gb\": 3}, placements: {\"1g.5gb\": [0, 1]}}, "
					     "{devices: all, mig-enabled: false}]}}");
	struct mig_config *cs[2] = {block, flow};
	for (int i = 0; i < 2; i++) {
		const struct mig_config *c = cs[i];
		assert_int_equal(c->nsets, 1);
		assert_string_equal(c->sets[0].name, "a");
		assert_int_equal(c->sets[0].nentries, 2);
		const struct mig_config_entry *e = &c->sets[0].entries[0];
		assert_int_equal(e->nfilters, 2);
		assert_int_equal(e->filters[0].device_id, 0x20B010DE);
		assert_int_equal(e->filters[1].subsystem_id, 0x147E10DE);
		assert_int_equal(e->nindices, 2);
		assert_int_equal(e->indices[1], 1);
		assert_true(e->mig_enabled);
		assert_int_equal(e->nprofiles, 2);
		assert_int_equal(e->profiles[0].count, 2);
		assert_int_equal(e->profiles[0].nstarts, 2);
		assert_int_equal(e->profiles[0].starts[1], 1);
		assert_int_equal(e->profiles[1].parsed.compute_slices, 1);
		assert_int_equal(e->profiles[1].count, 3);
		assert_true(c->sets[0].entries[1].all_devices);
		assert_false(c->sets[0].entries[1].mig_enabled);
	}
	/* positions follow the text */
	assert_int_equal(block->sets[0].entries[1].where.line, 18);
	assert_int_equal(flow->sets[0].entries[0].where.line, 1);
	mig_config_free(block);
	mig_config_free(flow);
}

/* The parser reads len bytes, not up to a NUL. */
static void test_good_honours_len(void **unused)
{
	(void)unused;
	const char *text = "version: v1\nmig-configs:\n  c:\n    - devices: all\n      mig-enabled: false\nGARBAGE: [";
	struct mig_config *c = NULL;
	struct mig_error err;
	size_t len = (size_t)(strstr(text, "GARBAGE") - text);
	assert_int_equal(mig_config_parse(text, len, FILE_NAME, &c, &err), 0);
	assert_int_equal(c->nsets, 1);
	mig_config_free(c);
}

static void test_good_anchors_and_aliases(void **unused)
{
	(void)unused;
	struct mig_config *c = must_parse("version: v1\nmig-configs:\n"
					  "  a:\n    - &off\n      devices: all\n      mig-enabled: false\n"
					  "  b:\n    - *off\n");
	assert_int_equal(c->nsets, 2);
	assert_false(set_named(c, "b")->entries[0].mig_enabled);
	mig_config_free(c);
}

/* go-yaml's merge keys (<<), which mig-parted's files may use: explicit keys win, and among
 * several merged mappings the first named wins. */
static void test_good_merge_keys(void **unused)
{
	(void)unused;
	struct mig_config *c = must_parse("version: v1\nmig-configs:\n"
					  "  base:\n    - devices: all\n      mig-enabled: true\n"
					  "      mig-devices: &small\n        \"1g.5gb\": 2\n"
					  "  merged:\n    - &entry\n      devices: all\n      mig-enabled: true\n"
					  "      mig-devices:\n        <<: [*small, {\"2g.10gb\": 1, \"1g.5gb\": 5}]\n"
					  "        \"3g.20gb\": 1\n"
					  "  over:\n    - <<: *entry\n      devices: [0]\n");
	const struct mig_config_entry *m = &set_named(c, "merged")->entries[0];
	assert_int_equal(m->nprofiles, 3);
	assert_int_equal(profile_named(m, "1g.5gb")->count, 2);
	assert_int_equal(profile_named(m, "2g.10gb")->count, 1);
	assert_int_equal(profile_named(m, "3g.20gb")->count, 1);
	const struct mig_config_entry *o = &set_named(c, "over")->entries[0];
	assert_false(o->all_devices);
	assert_int_equal(o->nindices, 1);
	assert_true(o->mig_enabled);
	assert_int_equal(o->nprofiles, 3);
	mig_config_free(c);
	/* a merge key inside mig-configs' own mapping, and one placed before explicit keys */
	c = must_parse("version: v1\nmig-configs:\n  a: &a\n    - devices: all\n      mig-enabled: false\n"
		       "  b:\n    - <<: {devices: all, mig-enabled: true, mig-devices: {}}\n      mig-enabled: false\n");
	assert_false(set_named(c, "b")->entries[0].mig_enabled);
	mig_config_free(c);
	expect_bad("version: v1\nmig-configs:\n  a:\n    - devices: all\n      <<: 3\n      mig-enabled: false\n",
		   FILE_NAME ":5:11: ", "merge key", "mapping");
	expect_bad("version: v1\nmig-configs:\n  a:\n    - devices: all\n      <<: [*x]\n", FILE_NAME ":5:");
}

/* YAML 1.1's words for booleans and nulls, as go-yaml reads them. */
static void test_good_yaml11_booleans_and_null(void **unused)
{
	(void)unused;
	struct mig_config *c = must_parse("version: v1\nmig-configs:\n"
					  "  a:\n    - devices: all\n      mig-enabled: yes\n      mig-devices: {}\n"
					  "  b:\n    - devices: all\n      mig-enabled: off\n      mig-devices:\n"
					  "  c:\n    - devices: all\n      mig-enabled: No\n      mig-devices: ~\n");
	assert_true(set_named(c, "a")->entries[0].mig_enabled);
	assert_false(set_named(c, "b")->entries[0].mig_enabled);
	assert_false(set_named(c, "c")->entries[0].mig_enabled);
	mig_config_free(c);
	expect_bad("version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: \"yes\"\n",
		   FILE_NAME ":5:20: ", "true or false");
}

/* ---- files: examples/, load, stdin, find ---------------------------------------------- */

static void test_examples_all_parse(void **unused)
{
	(void)unused;
	DIR *d = opendir("examples");
	if (!d)
		fail_now("cannot open examples/: run the tests from the repository root");
	size_t nfiles = 0;
	for (struct dirent *de = readdir(d); de; de = readdir(d)) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".yaml") != 0)
			continue;
		char path[512];
		snprintf(path, sizeof(path), "examples/%s", de->d_name);
		struct mig_config *c = NULL;
		struct mig_error err;
		if (mig_config_load(path, &c, &err) != 0)
			fail_msg("%s: %s", path, err.msg);
		assert_string_equal(c->file, path);
		assert_true(c->nsets > 0);
		for (size_t i = 0; i < c->nsets; i++)
			assert_true(c->sets[i].nentries > 0);
		mig_config_free(c);
		nfiles++;
	}
	closedir(d);
	assert_true(nfiles >= 7);
}

static void test_example_a100_contents(void **unused)
{
	(void)unused;
	struct mig_config *c = NULL;
	struct mig_error err;
	assert_int_equal(mig_config_load("examples/a100-40gb.yaml", &c, &err), 0);
	assert_int_equal(c->nsets, 9);
	const struct mig_config_set *s = set_named(c, "custom-config");
	assert_int_equal(s->nentries, 2);
	assert_int_equal(s->entries[1].indices[0], 7);
	const struct mig_config_entry *e = &set_named(c, "shared-4g")->entries[0];
	assert_int_equal(profile_named(e, "1c.4g.20gb")->count, 4);
	assert_int_equal(profile_named(e, "1c.4g.20gb")->parsed.compute_slices, 1);
	e = &set_named(c, "pinned")->entries[0];
	assert_int_equal(profile_named(e, "3g.20gb")->starts[0], 4);
	assert_int_equal(profile_named(e, "2g.10gb")->starts[1], 2);
	e = &set_named(c, "all-balanced")->entries[0];
	assert_int_equal(e->nfilters, 2);
	assert_int_equal(e->filters[1].device_id, 0x20F110DE);
	mig_config_free(c);
}

static void test_load_missing_file(void **unused)
{
	(void)unused;
	struct mig_config *c = NULL;
	struct mig_error err;
	assert_int_equal(mig_config_load("tests/fixtures/config/does-not-exist.yaml", &c, &err), -1);
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	assert_non_null(strstr(err.msg, "does-not-exist.yaml"));
	assert_null(c);
}

static char *write_temp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/test_config_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_load_errors_name_the_path(void **unused)
{
	(void)unused;
	char *path = write_temp(HEAD "    - devices: all\n      mig-enabled: maybe\n");
	struct mig_config *c = NULL;
	struct mig_error err;
	char prefix[128];
	assert_int_equal(mig_config_load(path, &c, &err), -1);
	snprintf(prefix, sizeof(prefix), "%s:5:20: ", path);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
		fail_msg("expected '%s...', got %s", prefix, err.msg);
	unlink(path);
}

/* A file larger than the first read buffer. */
static void test_load_large_file(void **unused)
{
	(void)unused;
	size_t cap = 200000, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	len += (size_t)snprintf(text, cap, "version: v1\nmig-configs:\n");
	for (int i = 0; i < 1500 && len + 200 < cap; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"  config-%04d:\n    - devices: all\n      mig-enabled: true\n"
					"      mig-devices: {\"1g.5gb\": %d}\n",
					i, i % 7 + 1);
	char *path = write_temp(text);
	struct mig_config *c = NULL;
	struct mig_error err;
	if (mig_config_load(path, &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(c->nsets, 1500);
	assert_string_equal(c->sets[1499].name, "config-1499");
	assert_int_equal(c->sets[1499].entries[0].profiles[0].count, 1499 % 7 + 1);
	/* find with no name lists the sets without overrunning its buffer */
	assert_null(mig_config_find(c, NULL, &err));
	assert_int_equal(err.status, MIG_E_INVALID);
	assert_non_null(strstr(err.msg, "defines 1500 configs"));
	assert_null(mig_config_find(c, "nope", &err));
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	mig_config_free(c);
	unlink(path);
	free(text);
}

static void test_load_stdin(void **unused)
{
	(void)unused;
	char *path = write_temp(HEAD "    - devices: [1]\n      mig-enabled: false\n");
	struct mig_config *c = NULL;
	struct mig_error err;
	assert_non_null(freopen(path, "r", stdin));
	assert_int_equal(mig_config_load("-", &c, &err), 0);
	assert_string_equal(c->file, "<stdin>");
	assert_int_equal(c->sets[0].entries[0].indices[0], 1);
	mig_config_free(c);
	unlink(path);

	/* errors from standard input name it */
	path = write_temp("version: v1\nmig-configs: []\n");
	assert_non_null(freopen(path, "r", stdin));
	assert_int_equal(mig_config_load("-", &c, &err), -1);
	assert_true(strncmp(err.msg, "<stdin>:2:14: ", 14) == 0);
	unlink(path);
	assert_non_null(freopen("/dev/null", "r", stdin));
}

static void test_find(void **unused)
{
	(void)unused;
	struct mig_error err;
	struct mig_config *one = must_parse(HEAD "    - devices: all\n      mig-enabled: false\n");
	const struct mig_config_set *s = mig_config_find(one, NULL, &err);
	assert_ptr_equal(s, &one->sets[0]);
	assert_ptr_equal(mig_config_find(one, "c", &err), &one->sets[0]);
	assert_null(mig_config_find(one, "d", &err));
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	assert_string_equal(err.msg, FILE_NAME " has no config 'd'; it defines: c");
	mig_config_free(one);

	struct mig_config *three = must_parse("version: v1\nmig-configs:\n"
					      "  all-disabled:\n    - devices: all\n      mig-enabled: false\n"
					      "  all-enabled:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {}\n"
					      "  all-1g.5gb:\n    - devices: all\n      mig-enabled: true\n"
					      "      mig-devices: {\"1g.5gb\": 7}\n");
	assert_null(mig_config_find(three, NULL, &err));
	assert_int_equal(err.status, MIG_E_INVALID);
	assert_string_equal(err.msg,
			    FILE_NAME " defines 3 configs; choose one with -c: all-disabled, all-enabled, all-1g.5gb");
	assert_null(mig_config_find(three, "all-1g.10gb", &err));
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	assert_string_equal(err.msg,
			    FILE_NAME " has no config 'all-1g.10gb'; it defines: all-disabled, all-enabled, all-1g.5gb");
	assert_ptr_equal(mig_config_find(three, "all-1g.5gb", &err), &three->sets[2]);
	assert_null(mig_config_find(three, "ALL-1G.5GB", NULL)); /* names are exact */
	mig_config_free(three);
}

/* ---- fake nodes made from the simulator's model tables ---------------------------------------- */

#define FAKE_GPUS 8

struct fake_store {
	const struct sim_model *model;
	struct mig_gi_profile profiles[SIM_MAX_GI_PROFILES];
	struct mig_placement pl[SIM_MAX_GI_PROFILES][SIM_MAX_PLACEMENTS];
	struct mig_gi gis[8];
	struct mig_ci cis[8][8];
	struct mig_ci_profile cip[8][SIM_MAX_CI_PROFILES];
	struct mig_process procs[8][8];
};

static struct {
	struct mig_node node;
	struct mig_gpu gpus[FAKE_GPUS];
	struct fake_store store[FAKE_GPUS];
} fake;

static void fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.node.gpus = fake.gpus;
}


/* model_key NULL: a GPU without MIG (a T4). */
static struct mig_gpu *fake_add_gpu(const char *model_key)
{
	assert_true(fake.node.ngpus < FAKE_GPUS);
	size_t i = fake.node.ngpus++;
	struct mig_gpu *g = &fake.gpus[i];
	struct fake_store *s = &fake.store[i];
	if (model_key) {
		s->model = sim_model_find(model_key);
		assert_non_null(s->model);
		gpu_from_model(s->model, g, s->profiles, s->pl);
	} else {
		memset(g, 0, sizeof(*g));
		snprintf(g->name, sizeof(g->name), "Tesla T4");
		g->pci_device_id = 0x1EB810DE;
		g->pci_subsystem_id = 0x12A210DE;
		g->mode_current = g->mode_pending = MIG_MODE_UNSUPPORTED;
	}
	g->index = (unsigned int)i;
	snprintf(g->uuid, sizeof(g->uuid), "GPU-00000000-1111-2222-3333-00000000000%zu", i);
	snprintf(g->pci_bus_id, sizeof(g->pci_bus_id), "00000000:%02zX:00.0", 0x10 * (i + 1));
	g->gis = s->gis;
	return g;
}

static void fake_set_mode(size_t gpu, enum mig_mode current, enum mig_mode pending)
{
	fake.gpus[gpu].mode_current = current;
	fake.gpus[gpu].mode_pending = pending;
}

/* A GPU instance of this profile at this start, with no compute instance yet. */
static struct mig_gi *fake_add_gi(size_t gpu, const char *profile, unsigned int start)
{
	struct mig_gpu *g = &fake.gpus[gpu];
	struct fake_store *s = &fake.store[gpu];
	const struct sim_gi_profile *sp = NULL;
	for (unsigned int i = 0; i < s->model->nprofiles && !sp; i++)
		if (strcmp(s->model->profiles[i].name, profile) == 0)
			sp = &s->model->profiles[i];
	if (!sp)
		fail_now("%s has no profile %s", s->model->key, profile);
	size_t j = g->ngis++;
	struct mig_gi *gi = &s->gis[j];
	memset(gi, 0, sizeof(*gi));
	gi->id = 10 + (unsigned int)j; /* ascending */
	gi->profile_id = sp->id;
	snprintf(gi->profile, sizeof(gi->profile), "%s", sp->name);
	bool found = false;
	for (unsigned int k = 0; k < sp->nplacements && !found; k++)
		if (sp->placements[k].start == start) {
			gi->placement = (struct mig_placement){start, sp->placements[k].size};
			found = true;
		}
	if (!found)
		fail_msg("%s has no placement at %u", profile, start);
	gi->cis = s->cis[j];
	gi->ci_profiles = s->cip[j];
	gi->nci_profiles = sp->nci;
	for (unsigned int k = 0; k < sp->nci; k++) {
		struct mig_ci_profile *cp = &s->cip[j][k];
		memset(cp, 0, sizeof(*cp));
		cp->id = sp->ci[k].id;
		snprintf(cp->name, sizeof(cp->name), "%s", sp->ci[k].name);
		cp->slices = sp->ci[k].slices;
		cp->instance_count = sp->ci[k].instance_count;
		cp->is_default = sp->ci[k].is_default;
	}
	return gi;
}

/* A compute instance of this CI profile name (NULL: the GI's default, full one). */
static struct mig_ci *fake_add_ci(struct mig_gi *gi, const char *ci_profile)
{
	const struct mig_ci_profile *cp = NULL;
	for (size_t k = 0; k < gi->nci_profiles && !cp; k++)
		if (ci_profile ? strcmp(gi->ci_profiles[k].name, ci_profile) == 0 : gi->ci_profiles[k].is_default)
			cp = &gi->ci_profiles[k];
	if (!cp)
		fail_now("GI %s has no CI profile %s", gi->profile, ci_profile ? ci_profile : "(default)");
	assert_true(gi->ncis < 8);
	struct mig_ci *ci = &gi->cis[gi->ncis];
	memset(ci, 0, sizeof(*ci));
	ci->id = (unsigned int)gi->ncis;
	ci->profile_id = cp->id;
	snprintf(ci->profile, sizeof(ci->profile), "%s", cp->name);
	/* the lowest free start, as the driver picks when given none */
	unsigned int gi_slices = 0, starts[8], used = 0;
	for (size_t k = 0; k < gi->nci_profiles; k++)
		if (gi->ci_profiles[k].slices > gi_slices)
			gi_slices = gi->ci_profiles[k].slices;
	for (size_t k = 0; k < gi->ncis; k++)
		used |= ((1u << gi->cis[k].placement.size) - 1) << gi->cis[k].placement.start;
	size_t nstarts = mig_ci_starts(gi_slices, cp->slices, starts), k = 0;
	while (k < nstarts && (used & (((1u << cp->slices) - 1) << starts[k])))
		k++;
	if (k == nstarts)
		fail_msg("no room for %s in GI %u", cp->name, gi->id);
	ci->placement = (struct mig_placement){starts[k], cp->slices};
	snprintf(ci->uuid, sizeof(ci->uuid), "MIG-%08u-0000-0000-0000-%012zu", gi->id, gi->ncis);
	ci->mig_index = -1;
	gi->ncis++;
	return ci;
}

static struct mig_gi *fake_add_full(size_t gpu, const char *profile, unsigned int start)
{
	struct mig_gi *gi = fake_add_gi(gpu, profile, start);
	fake_add_ci(gi, NULL);
	return gi;
}

/* Put a process on a compute instance (of GPU gpu). */
static void fake_busy(size_t gpu, struct mig_ci *ci, unsigned int pid)
{
	struct fake_store *s = &fake.store[gpu];
	size_t slot = 0;
	while (slot < 8 && s->procs[slot][0].pid)
		slot++;
	if (slot == 8)
		fail_now("GPU %zu: no free process slot", gpu);
	s->procs[slot][0] = (struct mig_process){.pid = pid, .used_mib = 1024};
	ci->procs = s->procs[slot];
	ci->nprocs = 1;
}

/* ---- config -> targets ---------------------------------------------------------------- */

/* Parse text and resolve its only set on the fake node. */
static int targets_of(const char *text, struct mig_gpu_target *t, struct mig_error *err)
{
	struct mig_config *c = must_parse(text);
	int rc = mig_config_targets(c, &c->sets[0], &fake.node, t, err);
	mig_config_free(c);
	return rc;
}

static void must_target(int line, const char *text, struct mig_gpu_target *t)
{
	struct mig_error err;
	if (targets_of(text, t, &err) != 0)
		fail_msg("line %d: %s", line, err.msg);
}
#define MUST_TARGET(text, t) must_target(__LINE__, text, t)

static void expect_target_error(int line, const char *text, enum mig_status status, const char *prefix,
				const char *word1, const char *word2)
{
	struct mig_gpu_target t[FAKE_GPUS];
	struct mig_error err;
	memset(&err, 0, sizeof(err));
	if (targets_of(text, t, &err) == 0)
		fail_msg("line %d: resolved, expected an error", line);
	if (err.status != status)
		fail_msg("line %d: status %d, expected %d: %s", line, (int)err.status, (int)status, err.msg);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
		fail_msg("line %d: the message does not start with '%s':\n  %s", line, prefix, err.msg);
	if (word1 && !strstr(err.msg, word1))
		fail_msg("line %d: the message does not say '%s':\n  %s", line, word1, err.msg);
	if (word2 && !strstr(err.msg, word2))
		fail_msg("line %d: the message does not say '%s':\n  %s", line, word2, err.msg);
}
#define EXPECT_TARGET_ERROR(text, status, prefix, w1, w2) expect_target_error(__LINE__, text, status, prefix, w1, w2)

/* A100-40GB, A100-40GB (another subsystem id), A30, H100-SXM5. */
static void mixed_node(void)
{
	fake_reset();
	fake_add_gpu("A100-SXM4-40GB");
	fake_add_gpu("A100-SXM4-40GB")->pci_subsystem_id = 0x147E10DE;
	fake_add_gpu("A30");
	fake_add_gpu("H100-SXM5-80GB");
}

static unsigned int selected_mask(const struct mig_gpu_target *t)
{
	unsigned int m = 0;
	for (size_t i = 0; i < fake.node.ngpus; i++)
		if (t[i].selected)
			m |= 1u << i;
	return m;
}

static void test_targets_device_selection(void **unused)
{
	(void)unused;
	struct mig_gpu_target t[FAKE_GPUS];
	mixed_node();
	MUST_TARGET(HEAD "    - devices: all\n      mig-enabled: false\n", t);
	assert_int_equal(selected_mask(t), 0xF);
	for (int i = 0; i < 4; i++) {
		assert_false(t[i].mig_enabled);
		assert_int_equal(t[i].ngis, 0);
		assert_int_equal(t[i].where.line, 4);
		assert_int_equal(t[i].where.column, 7);
	}
	MUST_TARGET(HEAD "    - devices: [1, 3]\n      mig-enabled: false\n", t);
	assert_int_equal(selected_mask(t), 0xA);
	MUST_TARGET(HEAD "    - devices: [\"GPU-00000000-1111-2222-3333-000000000002\"]\n      mig-enabled: false\n", t);
	assert_int_equal(selected_mask(t), 0x4);
	MUST_TARGET(HEAD "    - devices: [\"gpu-00000000-1111-2222-3333-000000000002\"]\n      mig-enabled: false\n", t);
	assert_int_equal(selected_mask(t), 0x4);
	MUST_TARGET(HEAD "    - devices: [\"00000000:20:00.0\"]\n      mig-enabled: false\n", t);
	assert_int_equal(selected_mask(t), 0x2);
	MUST_TARGET(HEAD "    - devices: [\"0000:40:00.0\", \"30:00.0\", 0]\n      mig-enabled: false\n", t);
	assert_int_equal(selected_mask(t), 0xD);
	/* two entries for different GPUs, with their own settings */
	MUST_TARGET(HEAD "    - devices: [0]\n      mig-enabled: false\n"
			 "    - devices: [1]\n      mig-enabled: true\n      mig-devices: {\"7g.40gb\": 1}\n",
		    t);
	assert_int_equal(selected_mask(t), 0x3);
	assert_false(t[0].mig_enabled);
	assert_true(t[1].mig_enabled);
	assert_int_equal(t[1].where.line, 6);
	assert_int_equal(t[1].ngis, 1);
}

static void test_targets_device_filter(void **unused)
{
	(void)unused;
	struct mig_gpu_target t[FAKE_GPUS];
	mixed_node();
	MUST_TARGET(HEAD "    - device-filter: \"0x20B010DE\"\n      devices: all\n      mig-enabled: false\n", t);
	assert_int_equal(selected_mask(t), 0x3);
	MUST_TARGET(HEAD "    - device-filter: \"0x20B010DE:0x145F10DE\"\n      devices: all\n      mig-enabled: false\n",
		    t);
	assert_int_equal(selected_mask(t), 0x1);
	MUST_TARGET(HEAD "    - device-filter: \"0x20B010DE:0x147E10DE\"\n      devices: all\n      mig-enabled: false\n",
		    t);
	assert_int_equal(selected_mask(t), 0x2);
	MUST_TARGET(HEAD "    - device-filter: [\"0x20B710DE\", \"0x233010DE\"]\n      devices: all\n"
			 "      mig-enabled: false\n",
		    t);
	assert_int_equal(selected_mask(t), 0xC);
	/* filter and devices must both match */
	MUST_TARGET(HEAD "    - device-filter: \"0x20B010DE\"\n      devices: [1, 2]\n      mig-enabled: false\n", t);
	assert_int_equal(selected_mask(t), 0x2);
	/* a set that selects nothing is an error naming the filter and the GPUs' device ids
	 * (mig-parted fails there), unless MIG_TARGETS_ALLOW_NO_MATCH */
	expect_target_error(__LINE__, HEAD "    - device-filter: \"0x1FB010DE\"\n      devices: all\n      mig-enabled: false\n",
			    MIG_E_NOT_FOUND, FILE_NAME ":", "device-filter 0x1FB010DE matches none",
			    "2 x NVIDIA A100-SXM4-40GB (device id 0x20B010DE)");
	{
		struct mig_error err;
		struct mig_config *c = must_parse(HEAD "    - device-filter: \"0x1FB010DE\"\n      devices: all\n"
							"      mig-enabled: false\n");
		assert_int_equal(mig_config_targets_flags(c, &c->sets[0], &fake.node, MIG_TARGETS_ALLOW_NO_MATCH, t, &err), 0);
		assert_int_equal(selected_mask(t), 0);
		mig_config_free(c);
	}
	/* one entry matching nothing is fine when another matches (a DGX Station file) */
	MUST_TARGET(HEAD "    - device-filter: \"0x1FB010DE\"\n      devices: all\n      mig-enabled: false\n"
			 "    - device-filter: \"0x20B710DE\"\n      devices: all\n      mig-enabled: false\n",
		    t);
	assert_int_equal(selected_mask(t), 0x4);
	/* mixed node: each model gets its entry, profiles resolved on its own table */
	MUST_TARGET(HEAD "    - device-filter: \"0x20B010DE\"\n      devices: all\n      mig-enabled: true\n"
			 "      mig-devices: {\"1g.5gb\": 2, \"2g.10gb\": 1, \"3g.20gb\": 1}\n"
			 "    - device-filter: \"0x20B710DE\"\n      devices: all\n      mig-enabled: true\n"
			 "      mig-devices: {\"1g.6gb\": 2, \"2g.12gb\": 1}\n"
			 "    - device-filter: \"0x233010DE\"\n      devices: all\n      mig-enabled: false\n",
		    t);
	assert_int_equal(selected_mask(t), 0xF);
	assert_int_equal(t[0].ngis, 4);
	assert_int_equal(t[1].ngis, 4);
	assert_int_equal(t[2].ngis, 3);
	assert_int_equal(t[2].gis[0].profile_id, 14); /* A30 1g.6gb */
	assert_int_equal(t[2].where.line, 8);
	assert_false(t[3].mig_enabled);
	assert_int_equal(t[3].where.line, 12);
}

static void test_targets_bad_device_names(void **unused)
{
	(void)unused;
	mixed_node();
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0]\n      mig-enabled: false\n    - devices: [7]\n      mig-enabled: false\n",
			    MIG_E_INVALID, FILE_NAME ":6:7: ", "GPU 7", "4 GPUs");
	EXPECT_TARGET_ERROR(HEAD "    - devices: [\"GPU-00000000-0000-5000-8000-00000000dead\"]\n      mig-enabled: false\n",
			    MIG_E_INVALID, FILE_NAME ":4:7: ", "GPU-00000000-0000-5000-8000-00000000dead", NULL);
	EXPECT_TARGET_ERROR(HEAD "    - devices: [\"00000000:99:00.0\"]\n      mig-enabled: false\n", MIG_E_INVALID,
			    FILE_NAME ":4:7: ", "00000000:99:00.0", NULL);
	/* a GPU chosen by two entries: the error names the other entry's line */
	EXPECT_TARGET_ERROR(HEAD "    - devices: all\n      mig-enabled: false\n    - devices: [1]\n"
				 "      mig-enabled: true\n      mig-devices: {}\n",
			    MIG_E_INVALID, FILE_NAME ":6:7: ", "GPU 1 is also chosen by the entry at line 4", NULL);
	EXPECT_TARGET_ERROR(HEAD "    - devices: [2]\n      mig-enabled: false\n"
				 "    - devices: [\"GPU-00000000-1111-2222-3333-000000000002\"]\n      mig-enabled: false\n",
			    MIG_E_INVALID, FILE_NAME ":6:7: ", "GPU 2", "line 4");
}

static void test_targets_unknown_profile(void **unused)
{
	(void)unused;
	mixed_node();
	/* the profile's own position, and the nearest profile of that GPU */
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"2g.10gb\": 1, \"1g.6gb\": 1}\n",
			    MIG_E_NOT_FOUND, FILE_NAME ":6:35: ", "no profile '1g.6gb'", "did you mean 1g.5gb");
	EXPECT_TARGET_ERROR(HEAD "    - devices: [2]\n      mig-enabled: true\n      mig-devices:\n        \"1g.5gb\": 1\n",
			    MIG_E_NOT_FOUND, FILE_NAME ":7:9: ", "GPU 2 (NVIDIA A30)", "did you mean 1g.6gb");
	/* fine on the A100s, not on the A30 that "all" also picks */
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0, 1, 2]\n      mig-enabled: true\n      mig-devices: {\"3g.20gb\": 1}\n",
			    MIG_E_NOT_FOUND, FILE_NAME ":6:21: ", "GPU 2", "3g.20gb");
	/* a media variant the GPU lacks */
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"1g.5gb+gfx\": 1}\n",
			    MIG_E_NOT_FOUND, FILE_NAME ":6:21: ", "1g.5gb+gfx", NULL);
}

static unsigned int ci_slices_sum(const struct mig_target_gi *gi)
{
	unsigned int s = 0;
	for (size_t i = 0; i < gi->ncis; i++)
		s += gi->cis[i].slices;
	return s;
}

static void test_targets_compute_level_packing(void **unused)
{
	(void)unused;
	struct mig_gpu_target t[FAKE_GPUS];
	mixed_node();
	MUST_TARGET(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"1c.4g.20gb\": 4}\n", t);
	assert_int_equal(t[0].ngis, 1);
	assert_int_equal(t[0].gis[0].profile_id, 5);
	assert_string_equal(t[0].gis[0].profile, "4g.20gb");
	assert_int_equal(t[0].gis[0].ncis, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(t[0].gis[0].cis[i].slices, 1);
		assert_false(t[0].gis[0].cis[i].full);
	}
	assert_false(t[0].gis[0].pinned);

	MUST_TARGET(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"1c.2g.10gb\": 3}\n", t);
	assert_int_equal(t[0].ngis, 2);
	assert_int_equal(t[0].gis[0].profile_id, 14);
	assert_int_equal(t[0].gis[1].profile_id, 14);
	assert_int_equal(t[0].gis[0].ncis + t[0].gis[1].ncis, 3);
	assert_int_equal(t[0].gis[0].ncis, 2);

	/* 1c + 2c fill one 3g; a GPU-level 3g.20gb is a GI of its own with its full CI */
	MUST_TARGET(HEAD "    - devices: [0]\n      mig-enabled: true\n"
			 "      mig-devices: {\"1c.3g.20gb\": 1, \"2c.3g.20gb\": 1}\n",
		    t);
	assert_int_equal(t[0].ngis, 1);
	assert_int_equal(t[0].gis[0].ncis, 2);
	assert_int_equal(ci_slices_sum(&t[0].gis[0]), 3);
	MUST_TARGET(HEAD "    - devices: [0]\n      mig-enabled: true\n"
			 "      mig-devices: {\"3g.20gb\": 1, \"1c.3g.20gb\": 2}\n",
		    t);
	assert_int_equal(t[0].ngis, 2);
	assert_int_equal(t[0].gis[0].ncis, 1);
	assert_true(t[0].gis[0].cis[0].full);
	assert_int_equal(t[0].gis[0].cis[0].slices, 3);
	assert_int_equal(t[0].gis[1].ncis, 2);
	/* seven 1c in one 7g */
	MUST_TARGET(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"1c.7g.40gb\": 7}\n", t);
	assert_int_equal(t[0].ngis, 1);
	assert_int_equal(t[0].gis[0].ncis, 7);
	/* GPU-level names: one GI each with its full CI */
	MUST_TARGET(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"1g.5gb\": 2, \"2g.10gb\": 1}\n",
		    t);
	assert_int_equal(t[0].ngis, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(t[0].gis[i].ncis, 1);
		assert_true(t[0].gis[i].cis[0].full);
	}
	assert_int_equal(t[0].gis[2].cis[0].slices, 2);
	/* counts of 0 ask for nothing */
	MUST_TARGET(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"1g.5gb\": 0, \"7g.40gb\": 1}\n",
		    t);
	assert_int_equal(t[0].ngis, 1);
	/* enabled with no instances */
	MUST_TARGET(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {}\n", t);
	assert_true(t[0].selected);
	assert_true(t[0].mig_enabled);
	assert_int_equal(t[0].ngis, 0);
}

static void test_targets_that_cannot_fit(void **unused)
{
	(void)unused;
	mixed_node();
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"3g.20gb\": 3}\n",
			    MIG_E_INVALID, FILE_NAME ":4:7: ", "3 x 3g.20gb cannot fit together on GPU 0",
			    "3g.20gb: 3 asked, at most 2 fit");
	/* the rule: 8 asked of a profile that allows 7 (issue 15: not "1g.5gb" eight times) */
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"1g.5gb\": 7, \"1g.5gb+me\": 1}\n",
			    MIG_E_INVALID, FILE_NAME ":4:7: ", "7 x 1g.5gb, 1g.5gb+me cannot fit", NULL);
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"4g.20gb\": 1, \"2g.10gb\": 2}\n",
			    MIG_E_INVALID, FILE_NAME ":4:7: ", "cannot fit", NULL);
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"1c.4g.20gb\": 5}\n",
			    MIG_E_INVALID, FILE_NAME ":4:7: ", "cannot fit", NULL);
	/* more than 8 GPU instances */
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"1g.5gb\": 9}\n",
			    MIG_E_INVALID, FILE_NAME ":4:7: ", "more than 8 GPU instances", NULL);
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"1c.2g.10gb\": 40}\n",
			    MIG_E_INVALID, FILE_NAME ":4:7: ", "more than 8", NULL);
}

static void test_targets_pinned(void **unused)
{
	(void)unused;
	struct mig_gpu_target t[FAKE_GPUS];
	mixed_node();
	MUST_TARGET(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"3g.20gb\": 1, \"2g.10gb\": 2}\n"
			 "      placements: {\"3g.20gb\": [4], \"2g.10gb\": [0, 2]}\n",
		    t);
	assert_int_equal(t[0].ngis, 3);
	assert_true(t[0].gis[0].pinned);
	assert_int_equal(t[0].gis[0].at.start, 4);
	assert_int_equal(t[0].gis[0].at.size, 4);
	assert_true(t[0].gis[1].pinned);
	assert_int_equal(t[0].gis[1].at.start, 0);
	assert_int_equal(t[0].gis[1].at.size, 2);
	assert_true(t[0].gis[2].pinned);
	assert_int_equal(t[0].gis[2].at.start, 2);
	/* pinned and free ones together: the free ones are placed around the pinned */
	MUST_TARGET(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"3g.20gb\": 1, \"1g.5gb\": 3}\n"
			 "      placements: {\"3g.20gb\": [0]}\n",
		    t);
	assert_true(t[0].gis[0].pinned);
	assert_int_equal(t[0].gis[0].at.start, 0);
	for (int i = 1; i < 4; i++)
		assert_false(t[0].gis[i].pinned);
	/* four 1g fit beside a 3g at 4 but not beside one pinned at 0 (it spans 0-3) */
	MUST_TARGET(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"3g.20gb\": 1, \"1g.5gb\": 4}\n", t);
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"3g.20gb\": 1, \"1g.5gb\": 4}\n"
				 "      placements: {\"3g.20gb\": [0]}\n",
			    MIG_E_INVALID, FILE_NAME ":4:7: ", "cannot fit", NULL);
	/* a start the profile does not have */
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"3g.20gb\": 1}\n"
				 "      placements: {\"3g.20gb\": [2]}\n",
			    MIG_E_INVALID, FILE_NAME ":6:21: ", "no placement starting at 2", "GPU 0");
	/* pinned instances that overlap */
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"2g.10gb\": 2}\n"
				 "      placements: {\"2g.10gb\": [0, 0]}\n",
			    MIG_E_INVALID, FILE_NAME ":4:7: ", "overlap", NULL);
	/* a pin that leaves no room for the rest */
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: {\"3g.20gb\": 1, \"4g.20gb\": 1}\n"
				 "      placements: {\"3g.20gb\": [0]}\n",
			    MIG_E_INVALID, FILE_NAME ":4:7: ", "cannot fit", NULL);
}

static void test_targets_non_mig_gpu(void **unused)
{
	(void)unused;
	struct mig_gpu_target t[FAKE_GPUS];
	fake_reset();
	fake_add_gpu("A100-SXM4-40GB");
	fake_add_gpu(NULL);
	fake_add_gpu("A100-SXM4-40GB");
	/* "all" means the MIG-capable GPUs */
	MUST_TARGET(HEAD "    - devices: all\n      mig-enabled: true\n      mig-devices: {\"1g.5gb\": 7}\n", t);
	assert_int_equal(selected_mask(t), 0x5);
	assert_int_equal(t[2].ngis, 7);
	MUST_TARGET(HEAD "    - devices: all\n      mig-enabled: false\n", t);
	assert_int_equal(selected_mask(t), 0x5);
	/* naming it to disable MIG is harmless */
	MUST_TARGET(HEAD "    - devices: [1]\n      mig-enabled: false\n", t);
	assert_int_equal(selected_mask(t), 0);
	/* naming it to enable MIG is an error */
	EXPECT_TARGET_ERROR(HEAD "    - devices: [0]\n      mig-enabled: false\n    - devices: [1]\n      mig-enabled: true\n"
				 "      mig-devices: {}\n",
			    MIG_E_INVALID, FILE_NAME ":6:7: ", "GPU 1 (Tesla T4) does not support MIG", NULL);
}

/* Every set of every example resolves on its GPU model and plans from an empty GPU. */
static void test_examples_resolve_and_plan(void **unused)
{
	(void)unused;
	static const struct {
		const char *file;
		const char *models[3];
	} files[] = {
		{"examples/a100-40gb.yaml", {"A100-SXM4-40GB"}},
		{"examples/a30.yaml", {"A30"}},
		{"examples/b200.yaml", {"B200"}},
		{"examples/h100-80gb.yaml", {"H100-SXM5-80GB"}},
		{"examples/h200.yaml", {"H200"}},
		{"examples/rtx-pro-6000.yaml", {"RTX-PRO-6000"}},
		{"examples/mixed-node.yaml", {"A100-SXM4-40GB", "A30", "H100-SXM5-80GB"}},
	};
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct mig_config *c = NULL;
		struct mig_error err;
		if (mig_config_load(files[f].file, &c, &err))
			fail_msg("%s", err.msg);
		fake_reset();
		if (files[f].models[1]) {
			for (int i = 0; i < 3; i++)
				fake_add_gpu(files[f].models[i]);
		} else {
			for (int i = 0; i < 8; i++)
				fake_add_gpu(files[f].models[0]);
		}
		for (size_t s = 0; s < c->nsets; s++) {
			struct mig_gpu_target t[FAKE_GPUS];
			struct mig_plan *plan = NULL;
			if (mig_config_targets(c, &c->sets[s], &fake.node, t, &err))
				fail_msg("%s: %s: %s", files[f].file, c->sets[s].name, err.msg);
			assert_true(selected_mask(t) != 0);
			if (mig_plan_make(&fake.node, t, false, &plan, &err))
				fail_msg("%s: %s: plan: %s", files[f].file, c->sets[s].name, err.msg);
			for (size_t g = 0; g < plan->ngpus; g++) {
				const struct mig_gpu_target *tg = &t[plan->gpus[g].gpu];
				assert_int_equal(plan->gpus[g].created_gis, tg->mig_enabled ? tg->ngis : 0);
				assert_int_equal(plan->gpus[g].destroyed_gis, 0);
			}
			mig_plan_free(plan);
		}
		mig_config_free(c);
	}
}

/* ---- the planner ---------------------------------------------------------------- */

static struct mig_plan *plan_for_(int line, const char *text, bool force)
{
	struct mig_gpu_target t[FAKE_GPUS];
	struct mig_plan *plan = NULL;
	struct mig_error err;
	must_target(line, text, t);
	if (mig_plan_make(&fake.node, t, force, &plan, &err))
		fail_msg("line %d: no plan: %s", line, err.msg);
	return plan;
}
#define plan_for(text, force) plan_for_(__LINE__, text, force)

static void expect_plan_error(int line, const char *text, bool force, const char *word1, const char *word2)
{
	struct mig_gpu_target t[FAKE_GPUS];
	struct mig_plan *plan = NULL;
	struct mig_error err;
	must_target(line, text, t);
	if (mig_plan_make(&fake.node, t, force, &plan, &err) == 0) {
		mig_plan_free(plan);
		fail_msg("line %d: planned, expected an error", line);
	}
	assert_null(plan);
	/* a process in the way is its own status, for programs to switch on */
	assert_int_equal(err.status, strstr(err.msg, "runs process") ? MIG_E_BUSY : MIG_E_INVALID);
	if (word1 && !strstr(err.msg, word1))
		fail_msg("line %d: the message does not say '%s':\n  %s", line, word1, err.msg);
	if (word2 && !strstr(err.msg, word2))
		fail_msg("line %d: the message does not say '%s':\n  %s", line, word2, err.msg);
}
#define EXPECT_PLAN_ERROR(text, force, w1, w2) expect_plan_error(__LINE__, text, force, w1, w2)

static size_t count_ops(const struct mig_plan *p, enum mig_op_kind kind)
{
	size_t n = 0;
	for (size_t i = 0; i < p->nops; i++)
		n += p->ops[i].kind == kind;
	return n;
}

/* Per GPU: destroy CIs, destroy GIs, the mode, create GIs, create CIs; CREATE_CI into a new GI
 * points at a CREATE_GI op before it. */
static bool is_mode(const struct mig_op *op)
{
	return op->kind == MIG_OP_ENABLE_MIG || op->kind == MIG_OP_DISABLE_MIG;
}

/* The mode phase first (mode changes, and destroys only on GPUs leaving MIG mode), then the
 * instance phase; in each, a GPU's operations in kind order. */
static void check_op_order(const struct mig_plan *p)
{
	for (size_t i = 0; i < p->nops; i++) {
		bool leaving = false;
		for (size_t k = 0; k < p->nops; k++)
			leaving |= p->ops[k].kind == MIG_OP_DISABLE_MIG && p->ops[k].gpu == p->ops[i].gpu;
		bool mode_phase = is_mode(&p->ops[i]) ||
				  (leaving && (p->ops[i].kind == MIG_OP_DESTROY_CI || p->ops[i].kind == MIG_OP_DESTROY_GI));
		if (mode_phase != (i < p->nmode_ops))
			fail_msg("op %zu (kind %d on GPU %u) is in the wrong phase (%zu mode operations)", i,
				 (int)p->ops[i].kind, p->ops[i].gpu, p->nmode_ops);
	}
	for (size_t i = 0; i < p->nops; i++) {
		const struct mig_op *op = &p->ops[i];
		for (size_t k = i + 1; k < p->nops; k++) {
			const struct mig_op *later = &p->ops[k];
			if ((i < p->nmode_ops) != (k < p->nmode_ops))
				continue;
			int a = op->kind == MIG_OP_ENABLE_MIG ? MIG_OP_DISABLE_MIG : (int)op->kind;
			int b = later->kind == MIG_OP_ENABLE_MIG ? MIG_OP_DISABLE_MIG : (int)later->kind;
			if (later->gpu == op->gpu && b < a)
				fail_msg("op %zu (kind %d) comes after op %zu (kind %d) on GPU %u", k, (int)later->kind, i,
					 (int)op->kind, op->gpu);
		}
		if (op->kind == MIG_OP_CREATE_CI && op->new_gi >= 0) {
			assert_true((size_t)op->new_gi < i);
			assert_int_equal(p->ops[op->new_gi].kind, MIG_OP_CREATE_GI);
			assert_int_equal(p->ops[op->new_gi].gpu, op->gpu);
		}
	}
}

/* The layout after the plan has no overlaps. */
static void check_after(const struct mig_gpu_plan *gp)
{
	for (size_t i = 0; i < gp->nafter; i++)
		for (size_t j = 0; j < i; j++) {
			struct mig_placement a = gp->after[i], b = gp->after[j];
			if (a.start < b.start + b.size && b.start < a.start + a.size)
				fail_msg("after the plan, %s at %u:%u overlaps %s at %u:%u", gp->after_profile[i], a.start, a.size,
					 gp->after_profile[j], b.start, b.size);
		}
}

static bool after_has_id(const struct mig_gpu_plan *gp, unsigned int id)
{
	for (size_t i = 0; i < gp->nafter; i++)
		if (gp->after_id[i] == (int)id)
			return true;
	return false;
}

static bool destroys_gi(const struct mig_plan *p, unsigned int id)
{
	for (size_t i = 0; i < p->nops; i++)
		if (p->ops[i].kind == MIG_OP_DESTROY_GI && p->ops[i].gi_id == id)
			return true;
	return false;
}

#define ONE_GPU_CONFIG(devices_yaml) HEAD "    - devices: [0]\n      mig-enabled: true\n      mig-devices: " devices_yaml "\n"

static void one_a100(void)
{
	fake_reset();
	fake_add_gpu("A100-SXM4-40GB");
}

static void test_plan_keeps_exact_matches(void **unused)
{
	(void)unused;
	one_a100();
	fake_add_full(0, "2g.10gb", 0);
	fake_add_full(0, "2g.10gb", 2);
	fake_add_full(0, "3g.20gb", 4);
	struct mig_plan *p = plan_for(ONE_GPU_CONFIG("{\"3g.20gb\": 1, \"2g.10gb\": 2}"), false);
	assert_int_equal(p->nops, 0);
	assert_int_equal(p->ngpus, 1);
	const struct mig_gpu_plan *gp = &p->gpus[0];
	assert_false(gp->changes);
	assert_int_equal(gp->kept_gis, 3);
	assert_int_equal(gp->kept_cis, 3);
	assert_int_equal(gp->destroyed_gis + gp->destroyed_cis + gp->created_gis + gp->created_cis, 0);
	assert_int_equal(gp->nafter, 3);
	for (unsigned int id = 10; id < 13; id++)
		assert_true(after_has_id(gp, id));
	mig_plan_free(p);

	/* a different spelling of the same layout is the same layout */
	p = plan_for(ONE_GPU_CONFIG("{\"MIG 2g.10gb\": 2, \"3c.3g.20gb\": 1}"), false);
	assert_int_equal(p->nops, 0);
	mig_plan_free(p);

	/* keep what matches, destroy what does not, create what is missing */
	one_a100();
	fake_add_full(0, "1g.5gb", 0);
	fake_add_full(0, "3g.20gb", 4);
	p = plan_for(ONE_GPU_CONFIG("{\"3g.20gb\": 1, \"2g.10gb\": 2}"), false);
	gp = &p->gpus[0];
	assert_true(gp->changes);
	assert_int_equal(gp->kept_gis, 1);
	assert_int_equal(gp->kept_cis, 1);
	assert_int_equal(gp->destroyed_gis, 1);
	assert_int_equal(gp->destroyed_cis, 1);
	assert_int_equal(gp->created_gis, 2);
	assert_int_equal(gp->created_cis, 2);
	assert_true(destroys_gi(p, 10));
	assert_false(destroys_gi(p, 11));
	assert_int_equal(count_ops(p, MIG_OP_ENABLE_MIG) + count_ops(p, MIG_OP_DISABLE_MIG), 0);
	check_op_order(p);
	check_after(gp);
	assert_true(after_has_id(gp, 11));
	mig_plan_free(p);
}

static void test_plan_ci_level_adjust(void **unused)
{
	(void)unused;
	one_a100();
	fake_add_full(0, "4g.20gb", 0);
	struct mig_plan *p = plan_for(ONE_GPU_CONFIG("{\"1c.4g.20gb\": 4}"), false);
	const struct mig_gpu_plan *gp = &p->gpus[0];
	assert_int_equal(gp->kept_gis, 1);
	assert_int_equal(gp->destroyed_gis, 0);
	assert_int_equal(gp->created_gis, 0);
	assert_int_equal(gp->destroyed_cis, 1);
	assert_int_equal(gp->created_cis, 4);
	assert_int_equal(gp->kept_cis, 0);
	assert_int_equal(p->nops, 5);
	assert_int_equal(p->ops[0].kind, MIG_OP_DESTROY_CI);
	assert_int_equal(p->ops[0].gi_id, 10);
	for (size_t i = 1; i < 5; i++) {
		assert_int_equal(p->ops[i].kind, MIG_OP_CREATE_CI);
		assert_int_equal(p->ops[i].gi_id, 10);
		assert_int_equal(p->ops[i].new_gi, -1);
		assert_int_equal(p->ops[i].ci.slices, 1);
		assert_false(p->ops[i].ci.full);
		assert_int_equal(p->ops[i].gi_slices, 4);
	}
	mig_plan_free(p);

	/* some compute instances kept, the missing one created, largest first */
	one_a100();
	struct mig_gi *gi = fake_add_gi(0, "4g.20gb", 0);
	fake_add_ci(gi, "2c.4g.20gb");
	fake_add_ci(gi, "1c.4g.20gb");
	p = plan_for(ONE_GPU_CONFIG("{\"1c.4g.20gb\": 2, \"2c.4g.20gb\": 1}"), false);
	gp = &p->gpus[0];
	assert_int_equal(gp->kept_gis, 1);
	assert_int_equal(gp->kept_cis, 2);
	assert_int_equal(gp->created_cis, 1);
	assert_int_equal(gp->destroyed_cis, 0);
	assert_int_equal(p->nops, 1);
	assert_int_equal(p->ops[0].ci.slices, 1);
	mig_plan_free(p);

	/* a whole new GI of compute instances: CIs created largest first, into the new GI */
	one_a100();
	p = plan_for(ONE_GPU_CONFIG("{\"1c.4g.20gb\": 2, \"2c.4g.20gb\": 1}"), false);
	assert_int_equal(p->nops, 4);
	assert_int_equal(p->ops[0].kind, MIG_OP_CREATE_GI);
	assert_int_equal(p->ops[1].ci.slices, 2);
	assert_int_equal(p->ops[2].ci.slices, 1);
	assert_int_equal(p->ops[1].new_gi, 0);
	check_op_order(p);
	mig_plan_free(p);

	/* the full CI of a kept 3g swaps for partial ones: the GI stays */
	one_a100();
	fake_add_full(0, "3g.20gb", 0);
	p = plan_for(ONE_GPU_CONFIG("{\"1c.3g.20gb\": 3}"), false);
	assert_int_equal(p->gpus[0].kept_gis, 1);
	assert_int_equal(p->gpus[0].destroyed_gis, 0);
	assert_int_equal(p->gpus[0].destroyed_cis, 1);
	assert_int_equal(p->gpus[0].created_cis, 3);
	mig_plan_free(p);
}

/* The compute instances a kept GPU instance keeps decide whether the new ones fit: the
 * planner chooses them by placement, and gives every compute instance it creates one. */
static void test_plan_ci_placements(void **unused)
{
	(void)unused;
	/* 4g with 1c at 1, 2 and 3 (the one at 0 gone): 2x1c + 2c keeps those at 2 and 3 and puts
	 * the 2c at 0:2, destroying the one at 1 (keeping 1 and 2 or 1 and 3 leaves no 2c span) */
	one_a100();
	struct mig_gi *gi = fake_add_gi(0, "4g.20gb", 0);
	for (int i = 0; i < 4; i++)
		fake_add_ci(gi, "1c.4g.20gb");
	memmove(&gi->cis[0], &gi->cis[1], 3 * sizeof(gi->cis[0]));
	gi->ncis = 3;
	struct mig_plan *p = plan_for(ONE_GPU_CONFIG("{\"1c.4g.20gb\": 2, \"2c.4g.20gb\": 1}"), false);
	assert_int_equal(p->nops, 2);
	assert_int_equal(p->ops[0].kind, MIG_OP_DESTROY_CI);
	assert_int_equal(p->ops[0].ci_id, 1);
	assert_int_equal(p->ops[1].kind, MIG_OP_CREATE_CI);
	assert_int_equal(p->ops[1].ci.slices, 2);
	assert_int_equal(p->ops[1].ci_at.start, 0);
	assert_int_equal(p->ops[1].ci_at.size, 2);
	assert_int_equal(p->gpus[0].kept_cis, 2);
	mig_plan_free(p);

	/* the same with the 1c at 1 and 3 busy: they must stay, and no 2c span is left */
	one_a100();
	gi = fake_add_gi(0, "4g.20gb", 0);
	for (int i = 0; i < 4; i++)
		fake_add_ci(gi, "1c.4g.20gb");
	memmove(&gi->cis[0], &gi->cis[1], 3 * sizeof(gi->cis[0]));
	gi->ncis = 3;
	fake_busy(0, &gi->cis[0], 4242);
	fake_busy(0, &gi->cis[2], 4243);
	expect_plan_error(__LINE__, ONE_GPU_CONFIG("{\"1c.4g.20gb\": 2, \"2c.4g.20gb\": 1}"), false, "process 4242",
			  "the target has no place for it");

	/* a new 7g with 3c, 3c and 1c: the 3c go to 0 and 4, the 1c to 3 (the driver's lowest
	 * free choice, 1c first, would leave no room for the second 3c) */
	one_a100();
	p = plan_for(ONE_GPU_CONFIG("{\"3c.7g.40gb\": 2, \"1c.7g.40gb\": 1}"), false);
	assert_int_equal(p->nops, 4);
	assert_int_equal(p->ops[1].ci_at.start, 0);
	assert_int_equal(p->ops[2].ci_at.start, 4);
	assert_int_equal(p->ops[3].ci_at.start, 3);
	assert_int_equal(p->ops[3].ci_at.size, 1);
	mig_plan_free(p);

	/* the placement rule against every compute-instance table of every model */
	for (size_t m = 0; m < sim_nmodels; m++)
		for (unsigned int i = 0; i < sim_models[m].nprofiles; i++) {
			const struct sim_gi_profile *gp = &sim_models[m].profiles[i];
			for (unsigned int c = 0; c < gp->nci; c++) {
				const struct sim_ci_profile *cp = &gp->ci[c];
				unsigned int starts[8];
				size_t n = mig_ci_starts(gp->slices, cp->slices, starts);
				assert_int_equal(n, cp->nplacements);
				for (size_t k = 0; k < n; k++) {
					assert_int_equal(starts[k], cp->placements[k].start);
					assert_int_equal(cp->slices, cp->placements[k].size);
				}
			}
		}
}

/* MIG modes are settled on every GPU before instances change on any (as mig-parted does):
 * GPU 0 changes instances, GPU 1 enables MIG, GPU 2 leaves MIG mode with instances on it. */
static void test_plan_mode_phase_first(void **unused)
{
	(void)unused;
	fake_reset();
	for (int i = 0; i < 3; i++)
		fake_add_gpu("A100-SXM4-40GB");
	fake_add_full(0, "7g.40gb", 0);
	fake_set_mode(1, MIG_MODE_DISABLED, MIG_MODE_DISABLED);
	fake_add_full(2, "3g.20gb", 4);
	struct mig_plan *p = plan_for(HEAD "    - devices: [0, 1]\n      mig-enabled: true\n      mig-devices: {\"3g.20gb\": 2}\n"
					   "    - devices: [2]\n      mig-enabled: false\n",
				      false);
	/* mode phase: enable GPU 1; destroy GPU 2's CI and GI, disable it */
	assert_int_equal(p->nmode_ops, 4);
	assert_int_equal(p->ops[0].kind, MIG_OP_ENABLE_MIG);
	assert_int_equal(p->ops[0].gpu, 1);
	assert_int_equal(p->ops[1].kind, MIG_OP_DESTROY_CI);
	assert_int_equal(p->ops[1].gpu, 2);
	assert_int_equal(p->ops[3].kind, MIG_OP_DISABLE_MIG);
	assert_int_equal(p->ops[3].gpu, 2);
	/* instance phase: GPU 0 (destroy the 7g, create two 3g), then GPU 1 (create two 3g) */
	assert_int_equal(p->nops, 4 + 6 + 4);
	assert_int_equal(p->ops[4].kind, MIG_OP_DESTROY_CI);
	assert_int_equal(p->ops[4].gpu, 0);
	assert_int_equal(p->ops[13].gpu, 1);
	check_op_order(p);
	mig_plan_free(p);
}

/* Compute-instance keys count compute instances; grouping them otherwise is not a change. */
static void test_plan_ci_grouping_is_free(void **unused)
{
	(void)unused;
	/* two 3g with two 1c each, against "1c.3g.20gb: 4" (packed as 3 + 1): nothing to do */
	one_a100();
	for (unsigned int start = 0; start < 8; start += 4) {
		struct mig_gi *gi = fake_add_gi(0, "3g.20gb", start);
		fake_add_ci(gi, "1c.3g.20gb");
		fake_add_ci(gi, "1c.3g.20gb");
	}
	struct mig_plan *p = plan_for(ONE_GPU_CONFIG("{\"1c.3g.20gb\": 4}"), false);
	assert_int_equal(p->nops, 0);
	mig_plan_free(p);
	/* five of them: one more beside the others, nothing moved */
	p = plan_for(ONE_GPU_CONFIG("{\"1c.3g.20gb\": 5}"), false);
	assert_int_equal(p->nops, 1);
	assert_int_equal(p->ops[0].kind, MIG_OP_CREATE_CI);
	assert_int_equal(p->ops[0].ci_at.start, 2);
	mig_plan_free(p);
	/* three: one goes, the rest stay where they are */
	p = plan_for(ONE_GPU_CONFIG("{\"1c.3g.20gb\": 3}"), false);
	assert_int_equal(p->nops, 1);
	assert_int_equal(p->ops[0].kind, MIG_OP_DESTROY_CI);
	mig_plan_free(p);
	/* 2c + 1c in one, 1c in the other, against "2c: 1, 1c: 2": nothing to do */
	one_a100();
	struct mig_gi *a = fake_add_gi(0, "3g.20gb", 0), *b = fake_add_gi(0, "3g.20gb", 4);
	fake_add_ci(a, "1c.3g.20gb");
	fake_add_ci(b, "2c.3g.20gb");
	fake_add_ci(b, "1c.3g.20gb");
	p = plan_for(ONE_GPU_CONFIG("{\"2c.3g.20gb\": 1, \"1c.3g.20gb\": 2}"), false);
	assert_int_equal(p->nops, 0);
	mig_plan_free(p);
	/* from an empty GPU the config's packing is used: 2c + 1c in one, 1c in another */
	one_a100();
	p = plan_for(ONE_GPU_CONFIG("{\"2c.3g.20gb\": 1, \"1c.3g.20gb\": 2}"), false);
	assert_int_equal(count_ops(p, MIG_OP_CREATE_GI), 2);
	assert_int_equal(count_ops(p, MIG_OP_CREATE_CI), 3);
	mig_plan_free(p);
}

/* An H100 1g.20gb GPU instance has two one-slice compute instances: 1g.20gb (its default)
 * and 1c.1g.20gb; configs name them apart and the planner keeps them apart. */
static void test_plan_h100_one_slice_compute_instance(void **unused)
{
	(void)unused;
	fake_reset();
	fake_add_gpu("H100-SXM5-80GB");
	struct mig_gi *gi = fake_add_gi(0, "1g.20gb", 0);
	fake_add_ci(gi, "1c.1g.20gb");
	fake_add_full(0, "1g.20gb", 2);
	struct mig_plan *p = plan_for(ONE_GPU_CONFIG("{\"1c.1g.20gb\": 1, \"1g.20gb\": 1}"), false);
	assert_int_equal(p->nops, 0);
	mig_plan_free(p);
	/* both as the default: the 1c.1g.20gb one is replaced inside its GPU instance */
	p = plan_for(ONE_GPU_CONFIG("{\"1g.20gb\": 2}"), false);
	assert_int_equal(p->nops, 2);
	assert_int_equal(p->ops[0].kind, MIG_OP_DESTROY_CI);
	assert_int_equal(p->ops[1].kind, MIG_OP_CREATE_CI);
	assert_true(p->ops[1].ci.full);
	assert_int_equal(p->gpus[0].kept_gis, 2);
	mig_plan_free(p);
	/* "3c.3g.40gb" is the 3g's default compute instance: a kept 3g needs nothing */
	fake_reset();
	fake_add_gpu("H100-SXM5-80GB");
	fake_add_full(0, "3g.40gb", 4);
	p = plan_for(ONE_GPU_CONFIG("{\"3c.3g.40gb\": 1}"), false);
	assert_int_equal(p->nops, 0);
	mig_plan_free(p);
}

static void test_plan_busy_instances(void **unused)
{
	(void)unused;
	/* a busy GI the target has no place for: refused, naming it, unless force */
	one_a100();
	struct mig_gi *busy = fake_add_full(0, "1g.5gb", 0);
	fake_busy(0, &busy->cis[0], 4242);
	const char *two_3g = ONE_GPU_CONFIG("{\"3g.20gb\": 2}");
	EXPECT_PLAN_ERROR(two_3g, false, "GPU instance 10 (1g.5gb at 0:1)", "process 4242");
	EXPECT_PLAN_ERROR(two_3g, false, "runs process", NULL);
	struct mig_plan *p = plan_for(two_3g, true);
	assert_true(destroys_gi(p, 10));
	assert_int_equal(p->gpus[0].created_gis, 2);
	check_op_order(p);
	mig_plan_free(p);

	/* kept when the target contains it: the busy one is kept, the idle twin goes */
	one_a100();
	fake_add_full(0, "3g.20gb", 0);
	busy = fake_add_full(0, "3g.20gb", 4);
	fake_busy(0, &busy->cis[0], 77);
	const char *three_two_two = ONE_GPU_CONFIG("{\"3g.20gb\": 1, \"2g.10gb\": 2}");
	p = plan_for(three_two_two, false);
	const struct mig_gpu_plan *gp = &p->gpus[0];
	assert_true(destroys_gi(p, 10));
	assert_false(destroys_gi(p, 11));
	assert_true(after_has_id(gp, 11));
	assert_int_equal(gp->kept_gis, 1);
	assert_int_equal(gp->kept_cis, 1);
	assert_int_equal(gp->created_gis, 2);
	check_after(gp);
	for (size_t i = 0; i < p->nops; i++)
		if (p->ops[i].kind == MIG_OP_DESTROY_CI)
			assert_int_equal(p->ops[i].gi_id, 10);
	mig_plan_free(p);

	/* the same profile, but where it is leaves no room for the two 2g (which only start at
	 * 0, 2 and 4): the busy 3g at 0 would have to move */
	one_a100();
	busy = fake_add_full(0, "3g.20gb", 0);
	fake_add_full(0, "3g.20gb", 4);
	fake_busy(0, &busy->cis[0], 78);
	EXPECT_PLAN_ERROR(three_two_two, false, "GPU instance 10 (3g.20gb at 0:4)", "process 78");
	p = plan_for(three_two_two, true);
	assert_int_equal(p->gpus[0].kept_gis, 1);
	assert_true(after_has_id(&p->gpus[0], 11));
	assert_true(destroys_gi(p, 10));
	check_after(&p->gpus[0]);
	mig_plan_free(p);

	/* disabling MIG with a busy instance: refused unless force */
	one_a100();
	busy = fake_add_full(0, "7g.40gb", 0);
	fake_busy(0, &busy->cis[0], 5);
	const char *off = HEAD "    - devices: [0]\n      mig-enabled: false\n";
	EXPECT_PLAN_ERROR(off, false, "disabling MIG would destroy it", "process 5");
	p = plan_for(off, true);
	assert_int_equal(count_ops(p, MIG_OP_DISABLE_MIG), 1);
	assert_true(destroys_gi(p, 10));
	mig_plan_free(p);

	/* a CI-level change that would destroy a busy compute instance */
	one_a100();
	busy = fake_add_full(0, "4g.20gb", 0);
	fake_busy(0, &busy->cis[0], 99);
	const char *split = ONE_GPU_CONFIG("{\"1c.4g.20gb\": 4}");
	EXPECT_PLAN_ERROR(split, false, "GPU instance 10", "process 99");
	p = plan_for(split, true);
	assert_int_equal(p->gpus[0].destroyed_cis, 1);
	assert_int_equal(p->gpus[0].created_cis, 4);
	mig_plan_free(p);

	/* nothing is planned unless every selected GPU can reach its target */
	fake_reset();
	fake_add_gpu("A100-SXM4-40GB");
	fake_add_gpu("A100-SXM4-40GB");
	busy = fake_add_full(1, "1g.5gb", 3);
	fake_busy(1, &busy->cis[0], 1234);
	EXPECT_PLAN_ERROR(HEAD "    - devices: all\n      mig-enabled: true\n      mig-devices: {\"7g.40gb\": 1}\n", false,
			  "GPU 1 GPU instance 10", "process 1234");
}

static void test_plan_drops_fewest_kept(void **unused)
{
	(void)unused;
	/* two idle 1g at 0 and 4 block every 3g placement: one of them is dropped and recreated */
	one_a100();
	fake_add_full(0, "1g.5gb", 0);
	fake_add_full(0, "1g.5gb", 4);
	struct mig_plan *p = plan_for(ONE_GPU_CONFIG("{\"1g.5gb\": 2, \"3g.20gb\": 1}"), false);
	const struct mig_gpu_plan *gp = &p->gpus[0];
	assert_int_equal(gp->kept_gis, 1);
	assert_int_equal(gp->destroyed_gis, 1);
	assert_int_equal(gp->created_gis, 2);
	assert_int_equal(gp->nafter, 3);
	check_after(gp);
	check_op_order(p);
	mig_plan_free(p);

	/* the busy one is the one kept */
	one_a100();
	struct mig_gi *busy = fake_add_full(0, "1g.5gb", 0);
	fake_add_full(0, "1g.5gb", 4);
	fake_busy(0, &busy->cis[0], 31);
	p = plan_for(ONE_GPU_CONFIG("{\"1g.5gb\": 2, \"3g.20gb\": 1}"), false);
	gp = &p->gpus[0];
	assert_false(destroys_gi(p, 10));
	assert_true(destroys_gi(p, 11));
	assert_true(after_has_id(gp, 10));
	assert_int_equal(gp->destroyed_gis, 1);
	check_after(gp);
	for (size_t i = 0; i < gp->nafter; i++)
		if (strcmp(gp->after_profile[i], "3g.20gb") == 0)
			assert_int_equal(gp->after[i].start, 4);
	mig_plan_free(p);

	/* of two 3g, the one kept is the exact match that leaves room, not the one whose compute
	 * instances could be swapped but which blocks the 2g pair */
	one_a100();
	struct mig_gi *split = fake_add_gi(0, "3g.20gb", 0);
	for (int i = 0; i < 3; i++)
		fake_add_ci(split, "1c.3g.20gb");
	fake_add_full(0, "3g.20gb", 4);
	p = plan_for(ONE_GPU_CONFIG("{\"3g.20gb\": 1, \"2g.10gb\": 2}"), false);
	gp = &p->gpus[0];
	assert_true(destroys_gi(p, 10));
	assert_false(destroys_gi(p, 11));
	assert_int_equal(gp->kept_gis, 1);
	assert_int_equal(gp->kept_cis, 1);
	assert_int_equal(gp->destroyed_cis, 3);
	assert_int_equal(gp->created_gis, 2);
	for (size_t i = 0; i < p->nops; i++)
		if (p->ops[i].kind == MIG_OP_DESTROY_CI)
			assert_int_equal(p->ops[i].gi_id, 10);
	check_after(gp);
	check_op_order(p);
	mig_plan_free(p);

	/* both busy: nothing can be dropped, and the error names a busy one */
	one_a100();
	busy = fake_add_full(0, "1g.5gb", 0);
	fake_busy(0, &busy->cis[0], 31);
	busy = fake_add_full(0, "1g.5gb", 4);
	fake_busy(0, &busy->cis[0], 32);
	EXPECT_PLAN_ERROR(ONE_GPU_CONFIG("{\"1g.5gb\": 2, \"3g.20gb\": 1}"), false, "does not fit beside it", "process 31");

	/* a pin moves an instance: a 3g at 0 is not the 3g pinned at 4 */
	one_a100();
	fake_add_full(0, "3g.20gb", 0);
	p = plan_for(ONE_GPU_CONFIG("{\"3g.20gb\": 1}") "      placements: {\"3g.20gb\": [4]}\n", false);
	assert_true(destroys_gi(p, 10));
	assert_int_equal(count_ops(p, MIG_OP_CREATE_GI), 1);
	for (size_t i = 0; i < p->nops; i++)
		if (p->ops[i].kind == MIG_OP_CREATE_GI) {
			assert_int_equal(p->ops[i].at.start, 4);
			assert_int_equal(p->ops[i].at.size, 4);
		}
	mig_plan_free(p);
	/* and a 3g already at the pinned start is kept */
	one_a100();
	fake_add_full(0, "3g.20gb", 4);
	p = plan_for(ONE_GPU_CONFIG("{\"3g.20gb\": 1}") "      placements: {\"3g.20gb\": [4]}\n", false);
	assert_int_equal(p->nops, 0);
	mig_plan_free(p);
}

static void test_plan_mig_mode(void **unused)
{
	(void)unused;
	/* disabled -> enabled: enable, then create */
	one_a100();
	fake_set_mode(0, MIG_MODE_DISABLED, MIG_MODE_DISABLED);
	struct mig_plan *p = plan_for(ONE_GPU_CONFIG("{\"1g.5gb\": 1, \"2g.10gb\": 1}"), false);
	assert_int_equal(p->nops, 5);
	assert_int_equal(p->ops[0].kind, MIG_OP_ENABLE_MIG);
	assert_int_equal(p->ops[1].kind, MIG_OP_CREATE_GI);
	assert_int_equal(p->ops[2].kind, MIG_OP_CREATE_GI);
	assert_int_equal(p->ops[3].kind, MIG_OP_CREATE_CI);
	assert_int_equal(p->ops[4].kind, MIG_OP_CREATE_CI);
	/* each into its own new GI (CIs go GI by GI, largest first within one) */
	assert_int_equal(p->ops[3].new_gi, 1);
	assert_true(p->ops[3].ci.full);
	assert_int_equal(p->ops[3].gi_slices, 1);
	assert_int_equal(p->ops[4].new_gi, 2);
	assert_int_equal(p->ops[4].gi_slices, 2);
	check_op_order(p);
	check_after(&p->gpus[0]);
	mig_plan_free(p);

	/* enabled with instances -> disabled: destroy all, then disable */
	one_a100();
	struct mig_gi *gi = fake_add_gi(0, "4g.20gb", 0);
	fake_add_ci(gi, "2c.4g.20gb");
	fake_add_ci(gi, "2c.4g.20gb");
	fake_add_full(0, "2g.10gb", 4);
	p = plan_for(HEAD "    - devices: [0]\n      mig-enabled: false\n", false);
	assert_int_equal(p->nops, 6);
	assert_int_equal(count_ops(p, MIG_OP_DESTROY_CI), 3);
	assert_int_equal(count_ops(p, MIG_OP_DESTROY_GI), 2);
	assert_int_equal(p->ops[5].kind, MIG_OP_DISABLE_MIG);
	assert_int_equal(p->gpus[0].destroyed_cis, 3);
	assert_int_equal(p->gpus[0].destroyed_gis, 2);
	assert_int_equal(p->gpus[0].nafter, 0);
	check_op_order(p);
	mig_plan_free(p);

	/* already disabled and meant to be: nothing */
	one_a100();
	fake_set_mode(0, MIG_MODE_DISABLED, MIG_MODE_DISABLED);
	p = plan_for(HEAD "    - devices: [0]\n      mig-enabled: false\n", false);
	assert_int_equal(p->nops, 0);
	assert_false(p->gpus[0].changes);
	mig_plan_free(p);

	/* enabled and meant to be, empty: nothing */
	one_a100();
	p = plan_for(ONE_GPU_CONFIG("{}"), false);
	assert_int_equal(p->nops, 0);
	mig_plan_free(p);

	/* a disable pending on an enabled GPU that should stay enabled: every kind, in order */
	one_a100();
	fake_set_mode(0, MIG_MODE_ENABLED, MIG_MODE_DISABLED);
	fake_add_full(0, "1g.5gb", 0);
	p = plan_for(ONE_GPU_CONFIG("{\"3g.20gb\": 2}"), false);
	assert_int_equal(p->nops, 7);
	assert_int_equal(p->nmode_ops, 1);
	assert_int_equal(p->ops[0].kind, MIG_OP_ENABLE_MIG);
	assert_int_equal(p->ops[1].kind, MIG_OP_DESTROY_CI);
	assert_int_equal(p->ops[2].kind, MIG_OP_DESTROY_GI);
	assert_int_equal(p->ops[3].kind, MIG_OP_CREATE_GI);
	assert_int_equal(p->ops[4].kind, MIG_OP_CREATE_GI);
	assert_int_equal(p->ops[5].kind, MIG_OP_CREATE_CI);
	assert_int_equal(p->ops[6].kind, MIG_OP_CREATE_CI);
	check_op_order(p);
	mig_plan_free(p);

	/* an enable pending on a disabled GPU that should stay disabled: disable again */
	one_a100();
	fake_set_mode(0, MIG_MODE_DISABLED, MIG_MODE_ENABLED);
	p = plan_for(HEAD "    - devices: [0]\n      mig-enabled: false\n", false);
	assert_int_equal(p->nops, 1);
	assert_int_equal(p->ops[0].kind, MIG_OP_DISABLE_MIG);
	mig_plan_free(p);
}

static void test_plan_several_gpus(void **unused)
{
	(void)unused;
	fake_reset();
	fake_add_gpu("A100-SXM4-40GB");
	fake_add_gpu("A30");
	fake_add_gpu("A100-SXM4-40GB");
	fake_add_full(0, "7g.40gb", 0);
	fake_add_full(1, "4g.24gb", 0);
	fake_set_mode(2, MIG_MODE_DISABLED, MIG_MODE_DISABLED);
	struct mig_plan *p = plan_for(HEAD "    - device-filter: \"0x20B010DE\"\n      devices: all\n      mig-enabled: true\n"
					   "      mig-devices: {\"7g.40gb\": 1}\n"
					   "    - devices: [1]\n      mig-enabled: false\n",
				      false);
	assert_int_equal(p->ngpus, 3);
	assert_int_equal(p->gpus[0].gpu, 0);
	assert_false(p->gpus[0].changes);
	assert_int_equal(p->gpus[1].gpu, 1);
	assert_true(p->gpus[1].changes);
	assert_int_equal(p->gpus[2].gpu, 2);
	assert_true(p->gpus[2].changes);
	check_op_order(p);
	for (size_t i = 0; i < p->nops; i++) {
		if (p->ops[i].gpu == 1)
			assert_true(p->ops[i].kind <= MIG_OP_DISABLE_MIG);
		else
			assert_int_equal(p->ops[i].gpu, 2);
	}
	assert_int_equal(count_ops(p, MIG_OP_ENABLE_MIG), 1);
	assert_int_equal(count_ops(p, MIG_OP_DISABLE_MIG), 1);
	mig_plan_free(p);

	/* unselected GPUs are left alone, and have no per-GPU plan */
	p = plan_for(HEAD "    - devices: [2]\n      mig-enabled: false\n", false);
	assert_int_equal(p->ngpus, 1);
	assert_int_equal(p->gpus[0].gpu, 2);
	assert_int_equal(p->nops, 0);
	mig_plan_free(p);
}

/* ---- main ---------------------------------------------------------------- */

#define NBAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

static const struct CMUnitTest named_tests[] = {
	cmocka_unit_test(test_bad_version_given_twice),
	cmocka_unit_test(test_bad_device_id_that_is_no_bus_id),
	cmocka_unit_test(test_bad_error_in_a_later_config),
	cmocka_unit_test(test_bad_uses_the_given_file_name),
	cmocka_unit_test(test_good_minimal_and_fields),
	cmocka_unit_test(test_good_mig_parted_custom_config),
	cmocka_unit_test(test_good_dgx_station_filters),
	cmocka_unit_test(test_good_subsystem_filter),
	cmocka_unit_test(test_good_enabled_empty_and_disabled_shapes),
	cmocka_unit_test(test_good_attribute_and_compute_profiles),
	cmocka_unit_test(test_good_devices_forms),
	cmocka_unit_test(test_good_placements),
	cmocka_unit_test(test_good_flow_and_block_styles_agree),
	cmocka_unit_test(test_good_honours_len),
	cmocka_unit_test(test_good_anchors_and_aliases),
	cmocka_unit_test(test_good_merge_keys),
	cmocka_unit_test(test_good_yaml11_booleans_and_null),
	cmocka_unit_test(test_examples_all_parse),
	cmocka_unit_test(test_example_a100_contents),
	cmocka_unit_test(test_load_missing_file),
	cmocka_unit_test(test_load_errors_name_the_path),
	cmocka_unit_test(test_load_large_file),
	cmocka_unit_test(test_load_stdin),
	cmocka_unit_test(test_find),
	cmocka_unit_test(test_targets_device_selection),
	cmocka_unit_test(test_targets_device_filter),
	cmocka_unit_test(test_targets_bad_device_names),
	cmocka_unit_test(test_targets_unknown_profile),
	cmocka_unit_test(test_targets_compute_level_packing),
	cmocka_unit_test(test_targets_that_cannot_fit),
	cmocka_unit_test(test_targets_pinned),
	cmocka_unit_test(test_targets_non_mig_gpu),
	cmocka_unit_test(test_examples_resolve_and_plan),
	cmocka_unit_test(test_plan_keeps_exact_matches),
	cmocka_unit_test(test_plan_ci_level_adjust),
	cmocka_unit_test(test_plan_ci_placements),
	cmocka_unit_test(test_plan_mode_phase_first),
	cmocka_unit_test(test_plan_ci_grouping_is_free),
	cmocka_unit_test(test_plan_h100_one_slice_compute_instance),
	cmocka_unit_test(test_plan_busy_instances),
	cmocka_unit_test(test_plan_drops_fewest_kept),
	cmocka_unit_test(test_plan_mig_mode),
	cmocka_unit_test(test_plan_several_gpus),
	/* last: before the fix it writes out of bounds, which stops an ASan run */
	cmocka_unit_test(test_bad_placements_twice),
};

#define NNAMED (sizeof(named_tests) / sizeof(named_tests[0]))

int main(void)
{
	static struct CMUnitTest tests[NBAD + NNAMED];
	for (size_t i = 0; i < NBAD; i++)
		tests[i] = (struct CMUnitTest){bad_cases[i].name, test_bad_case, NULL, NULL, &bad_cases[i]};
	for (size_t i = 0; i < NNAMED; i++)
		tests[NBAD + i] = named_tests[i];
	return _cmocka_run_group_tests("mig-parted configs", tests, NBAD + NNAMED, NULL, NULL);
}
