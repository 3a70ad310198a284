/* SPDX-License-Identifier: MIT */
/* Device nodes, CDI specs, migctl.conf and mig_consumers_refresh (issue 11), through libmig's
 * API against the simulator, and the simulator's /proc side (sim/procfs.c) directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../include/mig.h"
#include "../../sim/procfs.h"
#include "../../sim/store.h"
#include "sim_node.h"

static char dir[] = "/tmp/libmig-cdi-test-XXXXXX", state_path[256];

static bool exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool exists(const char *fmt, ...)
{
	char path[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	struct stat sb;
	return stat(path, &sb) == 0;
}

/* One or two A100s, MIG on, GPU 0 with a 3g.20gb and a 1g.5gb, each with its full CI. */
static void two_instances(struct sim_state *st)
{
	struct sim_gpu *g = &st->gpus[0];
	g->mig_current = g->mig_pending = NVML_DEVICE_MIG_ENABLE;
	unsigned int gi;
	assert_int_equal(sim_gi_create(g, 9, NULL, &gi), NVML_SUCCESS);
	assert_int_equal(sim_ci_create(g, sim_gpu_find_gi(g, gi), 2, NULL, NULL), NVML_SUCCESS);
	assert_int_equal(sim_gi_create(g, 19, NULL, &gi), NVML_SUCCESS);
	assert_int_equal(sim_ci_create(g, sim_gpu_find_gi(g, gi), 0, NULL, NULL), NVML_SUCCESS);
}

static void machine(const char *gpus)
{
	sim_node_edit(state_path, gpus, two_instances);
}

static void test_cap_minors_and_sync(void **unused)
{
	(void)unused;
	/* the facts' examples */
	assert_int_equal(sim_cap_minor(0, 2, -1), 21);
	assert_int_equal(sim_cap_minor(0, 2, 0), 22);
	assert_int_equal(sim_cap_minor(3, 3, 3), 439);
	struct sim_state st;
	char err[512], root[128];
	snprintf(root, sizeof(root), "%s/syncroot", dir);
	assert_int_equal(sim_state_init(&st, "A30", err, sizeof(err)), 0);
	struct sim_gpu *g = &st.gpus[0];
	g->mig_current = g->mig_pending = NVML_DEVICE_MIG_ENABLE;
	unsigned int gi, ci;
	assert_int_equal(sim_gi_create(g, 14, NULL, &gi), NVML_SUCCESS);
	assert_int_equal(sim_ci_create(g, sim_gpu_find_gi(g, gi), 0, NULL, &ci), NVML_SUCCESS);
	assert_int_equal(sim_procfs_sync(root, &st, err, sizeof(err)), 0);
	assert_true(exists("%s/proc/driver/nvidia/capabilities/gpu0/mig/gi%u/ci%u/access", root, gi, ci));
	assert_true(exists("%s/proc/driver/nvidia-caps/mig-minors", root));
	assert_int_equal(sim_ci_destroy(&st, 0, gi, ci), NVML_SUCCESS);
	assert_int_equal(sim_procfs_sync(root, &st, err, sizeof(err)), 0);
	assert_false(exists("%s/proc/driver/nvidia/capabilities/gpu0/mig/gi%u/ci%u", root, gi, ci));
	assert_true(exists("%s/proc/driver/nvidia/capabilities/gpu0/mig/gi%u/access", root, gi));
	assert_int_equal(sim_gi_destroy(&st, 0, gi), NVML_SUCCESS);
	assert_int_equal(sim_procfs_sync(root, &st, err, sizeof(err)), 0);
	assert_false(exists("%s/proc/driver/nvidia/capabilities/gpu0/mig/gi%u", root, gi));
	/* a root that cannot be made */
	char blocked[160];
	snprintf(blocked, sizeof(blocked), "%s/blockfile", dir);
	FILE *f = fopen(blocked, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(sim_procfs_sync(blocked, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot create"));
}

static void test_devnodes_read(void **unused)
{
	(void)unused;
	machine("2xA100-SXM4-40GB");
	struct mig_ctx *ctx = sim_ctx();
	struct mig_error err;
	char want[300];
	snprintf(want, sizeof(want), "%s.root", state_path);
	assert_string_equal(mig_ctx_root(ctx), want); /* the simulator's own */
	struct mig_node *node;
	assert_int_equal(mig_node_read(ctx, &node, MIG_READ_DEVNODES, &err), 0);
	assert_non_null(node->devnodes);
	assert_true(node->devnodes->known);
	assert_int_equal(node->devnodes->caps_major, 237);
	assert_int_equal(node->devnodes->ncontrol, 3);
	assert_string_equal(node->devnodes->control[0].path, "/dev/nvidiactl");
	assert_true(node->gpus[1].minor_known);
	assert_int_equal(node->gpus[1].minor, 1);
	const struct mig_ci *ci = &node->gpus[0].gis[0].cis[0];
	assert_non_null(ci->devnodes);
	assert_string_equal(ci->devnodes->gpu.path, "/dev/nvidia0");
	assert_int_equal(ci->devnodes->gi_cap.minor, sim_cap_minor(0, node->gpus[0].gis[0].id, -1));
	assert_int_equal(ci->devnodes->ci_cap.minor, sim_cap_minor(0, node->gpus[0].gis[0].id, 0));
	assert_false(ci->devnodes->ci_cap.exists);
	/* read again: replaced, not leaked */
	assert_int_equal(mig_node_read_devnodes(ctx, node, 0, &err), 0);
	/* another root without the driver's files: not known, with the reason; the read succeeds */
	char empty[128];
	snprintf(empty, sizeof(empty), "%s/empty-root/", dir);
	mkdir(empty, 0755);
	assert_int_equal(mig_ctx_set_root(ctx, empty, &err), 0);
	empty[strlen(empty) - 1] = '\0';
	assert_string_equal(mig_ctx_root(ctx), empty);
	assert_int_equal(mig_node_read_devnodes(ctx, node, 0, &err), 0);
	assert_false(node->devnodes->known);
	assert_non_null(strstr(node->devnodes->error, "/proc/devices"));
	assert_null(node->gpus[0].gis[0].cis[0].devnodes);
	char *text;
	size_t len;
	assert_int_equal(mig_cdi_spec(node, NULL, &text, &len, &err), -1);
	assert_int_equal(err.status, MIG_E_NOT_FOUND);
	mig_node_free(node);
	assert_int_equal(mig_ctx_set_root(ctx, NULL, &err), 0);
	assert_string_equal(mig_ctx_root(ctx), "/");
	mig_ctx_free(ctx);
}

static void test_cdi_spec_and_names(void **unused)
{
	(void)unused;
	machine("A100-SXM4-40GB");
	struct mig_ctx *ctx = sim_ctx();
	struct mig_error err;
	struct mig_node *node;
	assert_int_equal(mig_node_read(ctx, &node, MIG_READ_DEVNODES, &err), 0);
	struct mig_cdi_options opt = {.format = MIG_CDI_JSON, .vendor = "example.com", .class_name = "gpu"};
	char *text;
	size_t len;
	assert_int_equal(mig_cdi_spec(node, &opt, &text, &len, &err), 0);
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, 0, &jerr);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "example.com/gpu");
	assert_string_equal(json_string_value(json_object_get(doc, "cdiVersion")), "0.5.0");
	/* 0, GPU-uuid, 0:0, MIG-uuid, 0:1, MIG-uuid, all */
	assert_int_equal(json_array_size(json_object_get(doc, "devices")), 7);
	json_decref(doc);
	free(text);
	char **names;
	size_t n;
	opt.no_whole_gpus = true;
	assert_int_equal(mig_cdi_names(node, &opt, &names, &n, &err), 0);
	assert_int_equal(n, 5);
	assert_string_equal(names[0], "0:0");
	assert_string_equal(names[4], "all");
	assert_string_equal(mig_cdi_min_version((const char *const *)names, n), "0.5.0");
	assert_string_equal(mig_cdi_min_version((const char *const *)names + 1, 1), "0.3.0");
	free(names);
	opt.vendor = "-bad";
	assert_int_equal(mig_cdi_spec(node, &opt, &text, &len, &err), -1);
	assert_int_equal(err.status, MIG_E_INVALID);
	/* options from a newer <mig.h> (a reserved word set) are refused by every CDI call */
	opt.vendor = NULL;
	opt.mig_reserved_[0] = 1;
	assert_int_equal(mig_cdi_spec(node, &opt, &text, &len, &err), -1);
	assert_int_equal(err.status, MIG_E_UNSUPPORTED);
	assert_int_equal(mig_cdi_names(node, &opt, &names, &n, &err), -1);
	assert_int_equal(err.status, MIG_E_UNSUPPORTED);
	assert_int_equal(mig_cdi_write("/nonexistent/x.yaml", &opt, "", 0, NULL, 0, &err), -1);
	assert_int_equal(err.status, MIG_E_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "struct mig_cdi_options"));
	mig_node_free(node);
	mig_ctx_free(ctx);
}

static void test_kind_rules(void **unused)
{
	(void)unused;
	struct mig_error err;
	assert_int_equal(mig_cdi_check_kind("nvidia.com", "mig", &err), 0);
	assert_int_equal(mig_cdi_check_kind("a-b_c.d9", "gpu_2-x", &err), 0);
	assert_int_equal(mig_cdi_check_kind("", "mig", &err), -1);
	assert_non_null(strstr(err.msg, "is empty"));
	assert_int_equal(mig_cdi_check_kind("nvidia.com.", "mig", &err), -1);
	assert_non_null(strstr(err.msg, "does not end with a letter or digit"));
	assert_int_equal(mig_cdi_check_kind("nvidia.com", "m.g", &err), -1);
	assert_int_equal(mig_cdi_check_kind("nvidia.com", "1mig", NULL), -1);
}

static void test_settings_parse(void **unused)
{
	(void)unused;
	struct mig_settings s;
	struct mig_error err;
	const char *ok = "# comment\n\n  cdi = yes  # trailing\ncdi-output = /etc/cdi\ncdi-format=json\n"
			 "cdi-vendor = example.com\ncdi-class = gpu\ncdi-driver-root = /\ncdi-mknod = true\n"
			 "nvidia-ctk = no\nnvidia-ctk-path = /opt/ctk\nnvidia-ctk-output = /etc/cdi/nvidia.yaml\r\n"
			 "slurm-gres = /etc/slurm/gres.conf\n";
	assert_int_equal(mig_settings_parse(ok, strlen(ok), "t.conf", &s, &err), 0);
	assert_true(s.cdi);
	assert_true(s.cdi_mknod);
	assert_false(s.nvidia_ctk);
	assert_int_equal(s.cdi_format, MIG_CDI_JSON);
	assert_string_equal(s.cdi_output, "/etc/cdi");
	assert_string_equal(s.cdi_class, "gpu");
	assert_string_equal(s.nvidia_ctk_output, "/etc/cdi/nvidia.yaml");
	assert_string_equal(s.slurm_gres, "/etc/slurm/gres.conf");
	mig_settings_init(&s);
	assert_false(s.cdi);
	assert_string_equal(s.slurm_gres, "");
	assert_string_equal(s.cdi_output, "/var/run/cdi");
	static const struct {
		const char *text, *want;
	} bad[] = {
		{"cdi = yes\nfoo = 1\n", "t.conf:2:1: unknown key 'foo'"},
		{"cdi\n", "t.conf:1:4: expected 'key = value'"},
		{"cdi = 1\n", "t.conf:1:7: cdi = '1': expected yes or no"},
		{"cdi-format = xml\n", "expected yaml or json"},
		{"cdi-output = cdi\n", "expected an absolute path"},
		{"slurm-gres = gres.conf\n", "t.conf:1:14: slurm-gres = 'gres.conf': expected an absolute path"},
		{"cdi-vendor =\n", "cdi-vendor has no value"},
		{"cdi-class = a.b\n", "t.conf:1:13: CDI class 'a.b'"},
		{"cdi = yes\n cdi = no\n", "t.conf:2:2: 'cdi' is set twice"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.cdi = true;
		assert_int_equal(mig_settings_parse(bad[i].text, strlen(bad[i].text), "t.conf", &s, &err), -1);
		assert_int_equal(err.status, MIG_E_INVALID);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("'%s': got '%s', want '%s'", bad[i].text, err.msg, bad[i].want);
		assert_true(s.cdi); /* out untouched on failure */
	}
	assert_int_equal(mig_settings_parse("a\0b", 3, NULL, &s, &err), -1);
	assert_non_null(strstr(err.msg, "NUL"));
}

static void test_write_and_refresh(void **unused)
{
	(void)unused;
	machine("A100-SXM4-40GB");
	struct mig_ctx *ctx = sim_ctx();
	struct mig_error err;
	struct mig_node *node;
	assert_int_equal(mig_node_read(ctx, &node, 0, &err), 0);
	struct mig_settings s;
	mig_settings_init(&s);
	struct mig_refresh_result res;
	assert_int_equal(mig_consumers_refresh(ctx, node, &s, &res, &err), 0); /* nothing configured */
	assert_false(res.cdi_written);
	s.cdi = true;
	snprintf(s.cdi_output, sizeof(s.cdi_output), "%s/cdi-out", dir);
	assert_int_equal(mig_consumers_refresh(ctx, node, &s, &res, &err), 0);
	assert_true(res.cdi_written);
	char want[300];
	snprintf(want, sizeof(want), "%s/cdi-out/nvidia.com-mig.yaml", dir);
	assert_string_equal(res.cdi_path, want);
	struct stat sb;
	assert_int_equal(stat(want, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);
	assert_int_equal(mig_consumers_refresh(ctx, node, &s, &res, NULL), 0);
	assert_true(res.cdi_current);
	assert_false(res.cdi_written);
	/* nvidia-ctk asked for but absent: skipped, nothing fails */
	s.nvidia_ctk = true;
	snprintf(s.nvidia_ctk_path, sizeof(s.nvidia_ctk_path), "%s/no-such-ctk", dir);
	s.cdi = false;
	assert_int_equal(mig_consumers_refresh(ctx, node, &s, &res, &err), 0);
	assert_true(res.ctk_missing);
	/* a directory everyone may write: refused, nothing in it */
	char open_dir[160];
	snprintf(open_dir, sizeof(open_dir), "%s/open", dir);
	mkdir(open_dir, 0777);
	chmod(open_dir, 0777);
	assert_int_equal(mig_cdi_write(open_dir, NULL, "x", 1, NULL, 0, &err), -1);
	assert_int_equal(err.status, MIG_E_PERMISSION);
	assert_non_null(strstr(err.msg, "writable by everyone"));
	assert_false(exists("%s/nvidia.com-mig.yaml", open_dir));
	/* a file path: written as named */
	char file[200];
	snprintf(file, sizeof(file), "%s/one.json", dir);
	char written[300];
	assert_int_equal(mig_cdi_write(file, NULL, "{}\n", 3, written, sizeof(written), &err), 0);
	assert_string_equal(written, file);
	mig_node_free(node);
	mig_ctx_free(ctx);
}

int main(void)
{
	if (sim_test_begin("test_cdi", dir, state_path, sizeof(state_path)))
		return 1;
	unsetenv("MIGSIM_ROOT");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_minors_and_sync),   cmocka_unit_test(test_devnodes_read),
		cmocka_unit_test(test_cdi_spec_and_names),    cmocka_unit_test(test_kind_rules),
		cmocka_unit_test(test_settings_parse),        cmocka_unit_test(test_write_and_refresh),
	};
	int rc = cmocka_run_group_tests_name("cdi", tests, NULL, NULL);
	return sim_test_end(rc, dir);
}
