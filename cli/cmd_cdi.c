/* SPDX-License-Identifier: MIT */
/*
 * cdi generate | list: CDI specs of the node's MIG devices and GPUs; the device-node JSON
 * that list and status show; and keeping the consumers migctl.conf names current after
 * every command (issue 11).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

json_t *cli_devnode_json(const struct mig_devnode *d)
{
	return json_pack("{s:s, s:I, s:I, s:b}", "path", d->path, "major", (json_int_t)d->major, "minor",
			 (json_int_t)d->minor, "exists", d->exists);
}

json_t *cli_ci_devnodes_json(const struct mig_ci *ci)
{
	if (!ci->devnodes)
		return json_null();
	return json_pack("{s:o, s:o, s:o}", "gpu", cli_devnode_json(&ci->devnodes->gpu), "gpu_instance",
			 cli_devnode_json(&ci->devnodes->gi_cap), "compute_instance",
			 cli_devnode_json(&ci->devnodes->ci_cap));
}

json_t *cli_node_devnodes_json(const struct mig_node *node)
{
	const struct mig_node_devnodes *nd = node->devnodes;
	if (!nd)
		return json_null();
	json_t *ctl = json_array();
	for (size_t i = 0; i < nd->ncontrol; i++)
		json_array_append_new(ctl, cli_devnode_json(&nd->control[i]));
	json_t *o = json_pack("{s:b, s:o, s:o}", "known", nd->known, "error", nd->known ? json_null() : json_string(nd->error),
			      "control", ctl);
	json_object_set_new(o, "nvidia_caps_major", nd->caps_major ? json_integer(nd->caps_major) : json_null());
	json_object_set_new(o, "nvidia_uvm_major", nd->has_uvm ? json_integer(nd->uvm_major) : json_null());
	return o;
}

static int usage_cdi(void)
{
	return cli_usage("cdi: expected 'cdi generate [--output PATH] [--format yaml|json] [--vendor VENDOR] "
			 "[--class CLASS] [--driver-root DIR] [--mknod] [--no-gpus]' or 'cdi list'");
}

struct cdi_args {
	struct mig_cdi_options opt;
	const char *output;
	bool mknod;
};

static int parse_args(int argc, char **argv, struct cdi_args *a, bool generate)
{
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = NULL;
		const char *opts[] = {"--output", "--format", "--vendor", "--class", "--driver-root"};
		size_t k = 0;
		for (; k < 5; k++) {
			size_t l = strlen(opts[k]);
			if (strcmp(arg, opts[k]) == 0) {
				if (i + 1 >= argc)
					return cli_usage("cdi %s: %s needs a value", argv[1], opts[k]);
				val = argv[++i];
				break;
			}
			if (strncmp(arg, opts[k], l) == 0 && arg[l] == '=') {
				val = arg + l + 1;
				break;
			}
		}
		if (k == 0 && generate) {
			if (!*val)
				return cli_usage("cdi generate: --output needs a file (.yaml, .json), a directory, or - for "
						 "standard output");
			a->output = val;
		} else if (k == 1) {
			if (strcmp(val, "yaml") == 0)
				a->opt.format = MIG_CDI_YAML;
			else if (strcmp(val, "json") == 0)
				a->opt.format = MIG_CDI_JSON;
			else
				return cli_usage("cdi %s: --format '%s': expected yaml or json", argv[1], val);
		} else if (k == 2) {
			a->opt.vendor = val;
		} else if (k == 3) {
			a->opt.class_name = val;
		} else if (k == 4 && generate) {
			if (!*val)
				return cli_usage("cdi generate: --driver-root needs a directory");
			a->opt.driver_root = val;
		} else if (strcmp(arg, "--mknod") == 0 && generate) {
			a->mknod = true;
		} else if (strcmp(arg, "--no-gpus") == 0) {
			a->opt.no_whole_gpus = true;
		} else {
			return cli_usage("cdi %s: unexpected argument '%s'", argv[1], arg);
		}
	}
	struct mig_error err;
	mig_error_reset(&err);
	if (mig_cdi_check_kind(a->opt.vendor ? a->opt.vendor : "nvidia.com", a->opt.class_name ? a->opt.class_name : "mig",
			       &err))
		return cli_usage("cdi %s: %s", argv[1], err.msg);
	return -1;
}

/* Read the node with its device nodes (and, with mknod, make the missing capability nodes). */
static int load_devnodes(struct cli *c, bool mknod)
{
	struct mig_error err;
	c->read_flags |= MIG_READ_DEVNODES;
	if (cli_load(c))
		return -1;
	if (mknod && mig_node_read_devnodes(c->ctx, c->node, MIG_DEVNODES_CREATE, &err)) {
		cli_fail_err(c, &err);
		return -1;
	}
	return 0;
}

static int cdi_list(struct cli *c, struct cdi_args *a)
{
	struct mig_error err;
	char **names;
	size_t n;
	if (load_devnodes(c, false))
		return EXIT_FAIL;
	if (mig_cdi_names(c->node, &a->opt, &names, &n, &err))
		return cli_fail_err(c, &err);
	const char *vendor = a->opt.vendor ? a->opt.vendor : "nvidia.com";
	const char *class_name = a->opt.class_name ? a->opt.class_name : "mig";
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			char full[400];
			snprintf(full, sizeof(full), "%s/%s=%s", vendor, class_name, names[i]);
			json_array_append_new(arr, json_string(full));
		}
		json_t *doc = json_pack("{s:s, s:o}", "kind", "", "devices", arr);
		char kind[300];
		snprintf(kind, sizeof(kind), "%s/%s", vendor, class_name);
		json_object_set_new(doc, "kind", json_string(kind));
		cli_print_json(doc);
		json_decref(doc);
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%s/%s=%s\n", vendor, class_name, names[i]);
	}
	free(names);
	return EXIT_OK;
}

static int cdi_generate(struct cli *c, struct cdi_args *a)
{
	struct mig_error err;
	char *text;
	size_t len;
	if (load_devnodes(c, a->mknod))
		return EXIT_FAIL;
	if (mig_cdi_spec(c->node, &a->opt, &text, &len, &err)) {
		if (err.status == MIG_E_NOT_FOUND && c->node->devnodes && !c->node->devnodes->known) {
			char msg[MIG_ERROR_MSG_MAX + 128];
			snprintf(msg, sizeof(msg), "%s; nothing written", err.msg);
			return cli_fail(c, "%s", msg);
		}
		return cli_fail_err(c, &err);
	}
	const char *out = a->output ? a->output : "/var/run/cdi";
	char written[4200] = "-";
	if (strcmp(out, "-") == 0) {
		fwrite(text, 1, len, stdout);
		free(text);
		return EXIT_OK;
	}
	if (mig_cdi_write(out, &a->opt, text, len, written, sizeof(written), &err)) {
		free(text);
		if (err.status == MIG_E_PERMISSION) /* the library names no flag: say which one */
			return cli_fail(c, "%s (--output PATH)", err.msg);
		return cli_fail_err(c, &err);
	}
	free(text);
	char **names;
	size_t n;
	if (mig_cdi_names(c->node, &a->opt, &names, &n, &err))
		return cli_fail_err(c, &err);
	const char *version = mig_cdi_min_version((const char *const *)names, n);
	if (c->node->devnodes && strcmp(c->node->devnodes->root, "/") != 0)
		version = "0.5.0";
	size_t migs = 0;
	for (size_t i = 0; i < n; i++)
		migs += strchr(names[i], ':') != NULL;
	char kind[300];
	snprintf(kind, sizeof(kind), "%s/%s", a->opt.vendor ? a->opt.vendor : "nvidia.com",
		 a->opt.class_name ? a->opt.class_name : "mig");
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_string(names[i]));
		json_t *doc = json_pack("{s:s, s:s, s:s, s:I, s:o}", "path", written, "kind", kind, "cdi_version", version,
					"mig_devices", (json_int_t)migs, "names", arr);
		cli_print_json(doc);
		json_decref(doc);
	} else {
		printf("Wrote %s: kind %s, cdiVersion %s, %zu MIG device(s)\n", written, kind, version, migs);
		printf("Use: podman run --device %s=<name> ...  (names: migctl cdi list)\n", kind);
	}
	free(names);
	return EXIT_OK;
}

int cmd_cdi(struct cli *c, int argc, char **argv)
{
	struct cdi_args a;
	memset(&a, 0, sizeof(a));
	if (argc < 2)
		return usage_cdi();
	bool generate = strcmp(argv[1], "generate") == 0;
	if (!generate && strcmp(argv[1], "list") != 0)
		return usage_cdi();
	int r = parse_args(argc, argv, &a, generate);
	if (r >= 0)
		return r;
	return generate ? cdi_generate(c, &a) : cdi_list(c, &a);
}

/* ---- after every command ---------------------------------------------------------------- */

static int read_settings(const char *path, struct mig_settings *s, struct mig_error *err, bool *found)
{
	*found = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err->msg, sizeof(err->msg), "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	*found = true;
	if (mig_check_trusted_fd("configuration file", "which consumers migctl rewrites as root", path, fd, err)) {
		close(fd);
		return -1;
	}
	char buf[65536];
	size_t used = 0;
	for (;;) {
		ssize_t n = read(fd, buf + used, sizeof(buf) - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used == sizeof(buf)) {
			close(fd);
			snprintf(err->msg, sizeof(err->msg), "%s is larger than %zu bytes", path, sizeof(buf));
			return -1;
		}
	}
	close(fd);
	return mig_settings_parse(buf, used, path, s, err);
}

/* The node's consumer settings: $MIGCTL_CONF, else /etc/migctl/migctl.conf unless the node is
 * simulated (a simulated node must not rewrite the real node's specs; tests set MIGCTL_CONF).
 * 1 when something is to be kept current, 0 when not, -1 after a warning. */
static int consumer_settings(struct cli *c, struct mig_settings *s, const char **path)
{
	struct mig_error err;
	bool found;
	*path = getenv("MIGCTL_CONF");
	if (!*path || !**path) {
		if (mig_ctx_simulated(c->ctx))
			return 0;
		*path = MIG_SETTINGS_PATH;
	}
	mig_error_reset(&err);
	if (read_settings(*path, s, &err, &found)) {
		fprintf(stderr, "migctl: warning: %s; CDI specs not refreshed\n", err.msg);
		return -1;
	}
	return found && (s->cdi || s->nvidia_ctk || s->slurm_gres[0]);
}

int cli_settings_read(struct cli *c, struct mig_settings *s, struct mig_error *err)
{
	bool found;
	const char *path = getenv("MIGCTL_CONF");
	mig_settings_init(s);
	if (!path || !*path) {
		if (c->ctx && mig_ctx_simulated(c->ctx))
			return 0;
		path = MIG_SETTINGS_PATH;
	}
	return read_settings(path, s, err, &found);
}

static void refresh(struct cli *c, struct mig_settings *s, const char *path)
{
	struct mig_node *node;
	struct mig_error err;
	struct mig_refresh_result res;
	if (mig_node_read(c->ctx, &node, MIG_READ_DEVNODES, &err)) {
		fprintf(stderr, "migctl: warning: reading the node to refresh CDI specs: %s\n", err.msg);
		return;
	}
	if ((s->cdi || s->nvidia_ctk) && mig_consumers_refresh(c->ctx, node, s, &res, &err))
		fprintf(stderr, "migctl: warning: keeping consumers current (%s): %s\n", path, err.msg);
	else if ((s->cdi || s->nvidia_ctk) && c->verbose && res.cdi_written)
		fprintf(stderr, "migctl: CDI spec %s rewritten\n", res.cdi_path);
	if (s->slurm_gres[0])
		cli_slurm_gres_refresh(c, node, s->slurm_gres);
	mig_node_free(node);
}

/* The transaction's after-change event: every change, successful or not, rewrites the spec
 * before the lock is released. A failure to refresh is a warning: the change stands. */
static int after_change(struct mig_ctx *ctx, const struct mig_change *change, const struct mig_node *after, void *arg,
			struct mig_error *err)
{
	struct cli *c = arg;
	const char *path;
	(void)ctx;
	(void)change;
	(void)after;
	(void)err;
	c->consumers_refreshed = true;
	if (consumer_settings(c, c->settings, &path) == 1)
		refresh(c, c->settings, path);
	return 0;
}

int cli_consumers_watch(struct cli *c)
{
	struct mig_error err;
	if (c->settings)
		return 0;
	if (!(c->settings = calloc(1, sizeof(*c->settings))))
		return cli_fail(c, "out of memory");
	if (mig_ctx_on_change(c->ctx, after_change, c, &err))
		return cli_fail_err(c, &err);
	return 0;
}

/* After every command, also read-only ones: repairs a spec that a change killed half way
 * left behind (the transaction refreshes it itself after every change). */
void cli_consumers_after(struct cli *c)
{
	struct mig_settings s;
	const char *path;
	if (!c->ctx || c->consumers_refreshed)
		return; /* the command never reached NVML, or its change refreshed the spec already */
	if (consumer_settings(c, &s, &path) == 1)
		refresh(c, &s, path);
}
