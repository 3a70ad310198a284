/* SPDX-License-Identifier: MIT */
/*
 * nvidia-mig-parted's command line on top of migctl's own commands, so that the GPU operator's
 * mig-manager (and every script written for mig-parted) runs unchanged: "migctl parted ..." or
 * a binary invoked as nvidia-mig-parted (an installed symbolic link).
 *
 * mig-parted's subcommands, flags (long, short, combined short booleans, --flag=value) and
 * MIG_PARTED_* environment variables are translated into an argument list for migctl's apply,
 * assert and export, which are then called as they are: the planner keeps every instance the
 * new layout still contains, where mig-parted destroys every instance of a changed GPU.
 *
 * What mig-parted prints on standard output is printed here word for word ("MIG configuration
 * applied successfully", "Selected MIG configuration currently applied", ...); migctl's own
 * account of what it did goes to standard error, where mig-parted writes its log. Exit codes
 * are mig-parted's: 0 on success, 1 on any failure (a failed assertion included).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

struct parted_flags {
	const char *file;       /* -f: config file (apply, assert), checkpoint file, output file */
	const char *set;        /* -c/--selected-config */
	const char *hooks;      /* -k/--hooks-file */
	const char *format;     /* -o/--output-format: yaml or json */
	const char *label;      /* -l/--config-label */
	bool skip_reset;        /* -s/--skip-reset */
	bool mode_only;         /* -m/--mode-only */
	bool valid_config;      /* -a/--valid-config */
	bool help;
};

enum flag_kind { FLAG_STRING, FLAG_BOOL };

struct flag {
	const char *name;
	char letter;
	const char *env;
	enum flag_kind kind;
	size_t offset;
	const char *usage;
};

#define STR(field) FLAG_STRING, offsetof(struct parted_flags, field)
#define BOOL(field) FLAG_BOOL, offsetof(struct parted_flags, field)

static const struct flag apply_flags[] = {
	{"config-file", 'f', "MIG_PARTED_CONFIG_FILE", STR(file), "Path to the configuration file"},
	{"selected-config", 'c', "MIG_PARTED_SELECTED_CONFIG", STR(set),
	 "The label of the mig-config from the config file to apply to the node"},
	{"hooks-file", 'k', "MIG_PARTED_HOOKS_FILE", STR(hooks), "Path to the hooks file"},
	{"skip-reset", 's', "MIG_PARTED_SKIP_RESET", BOOL(skip_reset),
	 "Skip the GPU reset after a MIG mode change (the change stays pending)"},
	{"mode-only", 'm', "MIG_PARTED_MODE_CHANGE_ONLY", BOOL(mode_only),
	 "Only change the MIG enabled setting from the config, not configure any MIG devices"},
	{NULL, 0, NULL, FLAG_BOOL, 0, NULL},
};

static const struct flag assert_flags[] = {
	{"config-file", 'f', "MIG_PARTED_CONFIG_FILE", STR(file), "Path to the configuration file"},
	{"selected-config", 'c', "MIG_PARTED_SELECTED_CONFIG", STR(set),
	 "The label of the mig-config from the config file to assert is applied to the node"},
	{"mode-only", 'm', "MIG_PARTED_MODE_CHANGE_ONLY", BOOL(mode_only),
	 "Only assert the MIG mode setting from the selected config, not the configured MIG devices"},
	{"valid-config", 'a', "MIG_PARTED_VALID_CONFIG", BOOL(valid_config),
	 "Only assert that the config file is valid and the selected config is present in it"},
	{NULL, 0, NULL, FLAG_BOOL, 0, NULL},
};

static const struct flag export_flags[] = {
	{"output-format", 'o', "MIG_PARTED_OUTPUT_FORMAT", STR(format), "Format of the output: yaml (default) or json"},
	{"config-label", 'l', "MIG_PARTED_CONFIG_LABEL", STR(label), "Label of the exported config (default: current)"},
	{NULL, 0, NULL, FLAG_BOOL, 0, NULL},
};

static const struct flag generate_flags[] = {
	{"output-file", 'f', "MIG_PARTED_OUTPUT_FILE", STR(file), "Output file path (default: stdout)"},
	{"output-format", 'o', "MIG_PARTED_OUTPUT_FORMAT", STR(format), "Format for the output: yaml (default) or json"},
	{NULL, 0, NULL, FLAG_BOOL, 0, NULL},
};

static const struct flag checkpoint_flags[] = {
	{"checkpoint-file", 'f', "MIG_PARTED_CHECKPOINT_FILE", STR(file), "Path to the checkpoint file"},
	{NULL, 0, NULL, FLAG_BOOL, 0, NULL},
};

static const struct flag restore_flags[] = {
	{"checkpoint-file", 'f', "MIG_PARTED_CHECKPOINT_FILE", STR(file), "Path to the checkpoint file"},
	{"hooks-file", 'k', "MIG_PARTED_HOOKS_FILE", STR(hooks), "Path to the hooks file"},
	{"mode-only", 'm', "MIG_PARTED_MODE_CHANGE_ONLY", BOOL(mode_only),
	 "Only restore the MIG enabled setting, not the MIG devices"},
	{NULL, 0, NULL, FLAG_BOOL, 0, NULL},
};

static const struct subcommand {
	const char *name;
	const struct flag *flags;
	const char *usage;
} subcommands[] = {
	{"apply", apply_flags, "Apply changes (if necessary) for a specific MIG configuration from a configuration file"},
	{"assert", assert_flags, "Assert that a specific MIG configuration is currently applied to the node"},
	{"export", export_flags, "Export the MIG configuration from all GPUs in a compatible format"},
	{"generate-config", generate_flags, "Generate a MIG config from the profiles of the GPUs of this node"},
	{"checkpoint", checkpoint_flags, "Checkpoint the MIG state of all GPUs to a file (with placements)"},
	{"restore", restore_flags, "Restore the MIG state of all GPUs from a checkpoint file"},
};

/* How a fatal error is written: as mig-parted's logrus does without a terminal when invoked as
 * nvidia-mig-parted, as migctl's own messages under "migctl parted". Set once, at entry. */
static bool logrus_style;

/* A fatal error ends the run with exit 1, as in mig-parted. */
static int fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(logrus_style ? "level=fatal msg=\"" : "migctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(logrus_style ? "\"\n" : "\n", stderr);
	va_end(ap);
	return EXIT_FAIL;
}

static void print_help(FILE *f, const char *prog)
{
	fprintf(f,
		"NAME:\n   %s - Manage MIG partitions across the full set of NVIDIA GPUs on a node (migctl's planner:\n"
		"   instances the new layout still contains are kept)\n\nUSAGE:\n   %s [global options] command [command options]\n\n"
		"COMMANDS:\n",
		prog, prog);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "   %-11s %s\n", subcommands[i].name, subcommands[i].usage);
	fprintf(f, "\nGLOBAL OPTIONS:\n   --debug, -d    Enable debug-level logging (default: false) [$MIG_PARTED_DEBUG]\n"
		   "   --help, -h     show help\n   --version, -v  print the version\n");
}

static void print_sub_help(FILE *f, const char *prog, const struct subcommand *s)
{
	fprintf(f, "NAME:\n   %s %s - %s\n\nUSAGE:\n   %s %s [command options]\n\nOPTIONS:\n", prog, s->name, s->usage, prog,
		s->name);
	for (const struct flag *fl = s->flags; fl->name; fl++) {
		char left[64];
		snprintf(left, sizeof(left), "--%s%s, -%c%s", fl->name, fl->kind == FLAG_STRING ? " value" : "", fl->letter,
			 fl->kind == FLAG_STRING ? " value" : "");
		fprintf(f, "   %-38s %s [$%s]\n", left, fl->usage, fl->env);
	}
	fprintf(f, "   %-38s show help\n", "--help, -h");
}

/* strconv.ParseBool, which mig-parted's flags and variables go through. */
static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < 6; i++) {
		if (strcmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return -1;
}

static void set_flag(struct parted_flags *p, const struct flag *fl, const char *value, bool b)
{
	char *base = (char *)p + fl->offset;
	if (fl->kind == FLAG_STRING)
		memcpy(base, &value, sizeof(value));
	else
		memcpy(base, &b, sizeof(b));
}

/* Flags as urfave/cli takes them: --name value, --name=value, -x value, -x=value, and short
 * booleans combined (-ms). Then each flag not given takes its MIG_PARTED_ variable. */
static int parse_flags(const char *prog, const struct subcommand *s, int argc, char **argv, struct parted_flags *p)
{
	bool given[16] = {false};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			p->help = true;
			return 0;
		}
		if (a[0] != '-' || !a[1]) {
			print_sub_help(stderr, prog, s);
			return fatal("%s %s takes no arguments, only options ('%s'); see '%s %s --help'", prog, s->name, a, prog,
				     s->name);
		}
		const bool dashdash = a[1] == '-';
		const char *name = a + (dashdash ? 2 : 1);
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		/* combined short booleans: every letter must be a boolean flag */
		size_t nletters = dashdash ? 1 : len;
		for (size_t k = 0; k < nletters; k++) {
			const struct flag *fl = NULL;
			size_t idx = 0;
			for (const struct flag *f = s->flags; f->name && !fl; f++, idx++)
				if (dashdash ? (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
					     : f->letter == name[k])
					fl = f;
			if (!fl) {
				print_sub_help(stderr, prog, s);
				if (dashdash)
					return fatal("flag provided but not defined: -%.*s", (int)len, name);
				return fatal("flag provided but not defined: -%c", name[k]);
			}
			idx--;
			const bool last = k + 1 == nletters;
			if (fl->kind == FLAG_STRING) {
				const char *value = NULL;
				if (!last)
					return fatal("flag -%c needs a value; it cannot be combined with other flags in '%s'",
						     fl->letter, a);
				if (eq)
					value = eq + 1;
				else if (i + 1 < argc)
					value = argv[++i];
				else {
					print_sub_help(stderr, prog, s);
					return fatal("flag needs an argument: -%s", fl->name);
				}
				set_flag(p, fl, value, false);
			} else {
				bool b = true;
				if (eq && last && parse_bool(eq + 1, &b))
					return fatal("invalid boolean value '%s' for -%s: parse error (use true or false)",
						     eq + 1, fl->name);
				set_flag(p, fl, NULL, b);
			}
			if (idx < 16)
				given[idx] = true;
		}
	}
	size_t idx = 0;
	for (const struct flag *fl = s->flags; fl->name; fl++, idx++) {
		const char *v = getenv(fl->env);
		if (given[idx] || !v || !*v)
			continue;
		bool b = false;
		if (fl->kind == FLAG_BOOL && parse_bool(v, &b))
			return fatal("could not parse '%s' as bool value from env %s: use true or false", v, fl->env);
		set_flag(p, fl, v, b);
	}
	return 0;
}

/* migctl's own account goes to standard error while a command runs: mig-parted's standard
 * output carries only its result lines. */
static int stdout_to_stderr(void)
{
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	if (saved >= 0)
		dup2(STDERR_FILENO, STDOUT_FILENO);
	return saved;
}

static void stdout_back(int saved)
{
	fflush(stdout);
	if (saved >= 0) {
		dup2(saved, STDOUT_FILENO);
		close(saved);
	}
}

static int run_hidden(struct cli *c, int (*fn)(struct cli *, int, char **), int argc, char **argv)
{
	int saved = stdout_to_stderr();
	int r = fn(c, argc, argv);
	stdout_back(saved);
	return r;
}

static int parted_apply(struct cli *c, const struct parted_flags *p, const char *file, const char *set, bool restore)
{
	char *argv[16];
	int n = 0;
	argv[n++] = (char *)"apply";
	argv[n++] = (char *)"-f";
	argv[n++] = (char *)file;
	if (set) {
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)set;
	}
	if (p->hooks) {
		argv[n++] = (char *)"-k";
		argv[n++] = (char *)p->hooks;
	}
	if (p->mode_only)
		argv[n++] = (char *)"--mode-only";
	if (!p->skip_reset)
		argv[n++] = (char *)"--reset-pending"; /* only the GPUs left pending, never all of them */
	argv[n] = NULL;
	int r = run_hidden(c, cmd_apply, n, argv);
	if (r == EXIT_PENDING && p->skip_reset && p->mode_only) {
		/* mig-parted's --skip-reset: the mode is set and waits for a reset that the caller does */
		fprintf(stderr, "migctl: the MIG mode change is pending until the GPU is reset (--skip-reset)\n");
		r = EXIT_OK;
	}
	if (r != EXIT_OK)
		return fatal("Error %s MIG configuration%s (see migctl's messages above)", restore ? "restoring" : "applying",
			     p->hooks ? " with hooks" : "");
	printf(restore ? "MIG configuration restored successfully\n" : "MIG configuration applied successfully\n");
	return EXIT_OK;
}

static int parted_assert(struct cli *c, const struct parted_flags *p)
{
	struct mig_error err;
	if (p->valid_config) {
		/* as mig-parted: the file parses and holds the selected config; no GPU is read */
		struct mig_config *config = NULL;
		if (mig_config_load(p->file, &config, &err))
			return fatal("Error parsing config file: %s", err.msg);
		const struct mig_config_set *set = mig_config_find(config, p->set, &err);
		mig_config_free(config);
		if (!set)
			return fatal("Error selecting MIG config: %s", err.msg);
		printf("Selected MIG configuration is valid\n");
		return EXIT_OK;
	}
	char *argv[8];
	int n = 0;
	argv[n++] = (char *)"assert";
	argv[n++] = (char *)"-f";
	argv[n++] = (char *)p->file;
	if (p->set) {
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)p->set;
	}
	if (p->mode_only)
		argv[n++] = (char *)"--mode-only";
	argv[n] = NULL;
	int r = run_hidden(c, cmd_assert, n, argv);
	if (r == EXIT_DIFFERS)
		return fatal("Assertion failure: selected configuration not currently applied");
	if (r != EXIT_OK)
		return fatal("Error asserting MIG configuration (see migctl's messages above)");
	printf(p->mode_only ? "Selected MIG mode settings from configuration currently applied\n"
			    : "Selected MIG configuration currently applied\n");
	return EXIT_OK;
}

static int parted_export(struct cli *c, const struct parted_flags *p, bool placements)
{
	char *argv[8];
	int n = 0;
	const char *format = p->format ? p->format : "yaml";
	if (strcmp(format, "yaml") == 0 || strcmp(format, "yml") == 0)
		c->json = false;
	else if (strcmp(format, "json") == 0)
		c->json = true;
	else
		return fatal("Unrecognized output format: %s (yaml or json)", format);
	argv[n++] = (char *)"export";
	argv[n++] = (char *)"--label";
	argv[n++] = (char *)(p->label ? p->label : "current");
	if (placements)
		argv[n++] = (char *)"--placements";
	argv[n] = NULL;
	return cmd_export(c, n, argv) ? EXIT_FAIL : EXIT_OK;
}

/* checkpoint: the layout with its placements, as a config that restore applies (migctl's
 * format, a v1 config with "placements"; not mig-parted's own checkpoint JSON). */
static int parted_checkpoint(struct cli *c, const struct parted_flags *p)
{
	if (!p->file) /* parted() refuses that already; said again where the file is opened */
		return fatal("checkpoint needs the file to write: -f FILE");
	int fd = open(p->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fatal("Error opening checkpoint file %s: %s", p->file, strerror(errno));
	struct parted_flags q = {0};
	q.format = "json";
	q.label = "checkpoint";
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	int r = parted_export(c, &q, true);
	stdout_back(saved);
	return r ? fatal("Error checkpointing MIG state to %s", p->file) : EXIT_OK;
}

/* ---- generate-config: configs from the profiles the GPUs advertise ------------------------
 *
 * As mig-parted builds them: all-disabled, all-enabled, all-balanced (2 x 1g + 2g + 3g on a
 * 7-slice GPU, 2 x 1g + 2g on a 4-slice one, from the profiles without attributes, each size
 * taken from the profile that allows the most instances), and for every GPU instance profile
 * "all-<name>" (a "+" written as "."): as many instances as the profile allows on one GPU,
 * with one entry per count and a device-filter when the node has more than one kind of GPU. */

struct gen_model {
	char id[16]; /* "0x20B010DE" */
	const struct mig_gpu *gpu;
};

static int by_string(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int by_model_id(const void *a, const void *b)
{
	return strcmp(((const struct gen_model *)a)->id, ((const struct gen_model *)b)->id);
}

static json_t *gen_entry(json_t *filter, bool enabled, json_t *devices)
{
	json_t *e = json_object();
	if (filter)
		json_object_set_new(e, "device-filter", filter);
	json_object_set_new(e, "devices", json_string("all"));
	json_object_set_new(e, "mig-enabled", json_boolean(enabled));
	if (devices)
		json_object_set_new(e, "mig-devices", devices);
	return e;
}

/* YAML for the document gen_doc builds: mappings and lists of scalars, two-space indents. */
static void yaml_scalar(FILE *f, json_t *v)
{
	if (json_is_string(v))
		fprintf(f, "\"%s\"", json_string_value(v));
	else if (json_is_boolean(v))
		fputs(json_is_true(v) ? "true" : "false", f);
	else
		fprintf(f, "%lld", (long long)json_integer_value(v));
}

static void yaml_value(FILE *f, json_t *v, int indent);

static void yaml_mapping(FILE *f, json_t *m, int indent, bool first_inline)
{
	const char *key;
	json_t *v;
	bool first = true;
	json_object_foreach(m, key, v) {
		if (!(first && first_inline))
			fprintf(f, "%*s", indent, "");
		first = false;
		fprintf(f, "%s:", key);
		if (json_is_object(v) && json_object_size(v) == 0) {
			fputs(" {}\n", f);
		} else if (json_is_object(v) || json_is_array(v)) {
			fputs("\n", f);
			yaml_value(f, v, indent + 2);
		} else {
			fputc(' ', f);
			yaml_scalar(f, v);
			fputc('\n', f);
		}
	}
}

static void yaml_value(FILE *f, json_t *v, int indent)
{
	size_t i;
	json_t *item;
	if (json_is_object(v)) {
		yaml_mapping(f, v, indent, false);
		return;
	}
	json_array_foreach(v, i, item) {
		fprintf(f, "%*s- ", indent, "");
		if (json_is_object(item))
			yaml_mapping(f, item, indent + 2, true);
		else {
			yaml_scalar(f, item);
			fputc('\n', f);
		}
	}
}

static json_t *gen_doc(const struct mig_node *node)
{
	struct gen_model models[64];
	size_t nmodels = 0;
	memset(models, 0, sizeof(models));
	for (size_t i = 0; i < node->ngpus; i++) {
		const struct mig_gpu *g = &node->gpus[i];
		char id[16];
		bool seen = false;
		if (g->mode_current == MIG_MODE_UNSUPPORTED || g->nprofiles == 0)
			continue; /* not MIG-capable: no configs of its own */
		snprintf(id, sizeof(id), "0x%08X", g->pci_device_id);
		for (size_t k = 0; k < nmodels && !seen; k++)
			seen = strcmp(models[k].id, id) == 0;
		if (!seen && nmodels < 64) {
			snprintf(models[nmodels].id, sizeof(models[nmodels].id), "%s", id);
			models[nmodels++].gpu = g;
		}
	}
	qsort(models, nmodels, sizeof(models[0]), by_model_id);
	const bool filters = nmodels > 1;
	json_t *configs = json_object();
	json_object_set_new(configs, "all-disabled", json_pack("[o]", gen_entry(NULL, false, NULL)));
	json_object_set_new(configs, "all-enabled", json_pack("[o]", gen_entry(NULL, true, json_object())));

	/* all-balanced, per kind of GPU */
	json_t *balanced = json_array();
	for (size_t k = 0; k < nmodels; k++) {
		const struct mig_gpu *g = models[k].gpu;
		const struct mig_gi_profile *by_size[8] = {NULL};
		unsigned int top = 0;
		for (size_t x = 0; x < g->nprofiles; x++) {
			const struct mig_gi_profile *p = &g->profiles[x];
			unsigned int gs = p->parsed.gi_slices;
			if (p->parsed.media != MIG_MEDIA_DEFAULT)
				continue;
			top = gs > top ? gs : top;
			if (gs >= 1 && gs <= 3 && (!by_size[gs] || p->instance_count > by_size[gs]->instance_count))
				by_size[gs] = p;
		}
		unsigned int want[4] = {0, 2, 1, top == 7 ? 1 : 0};
		if ((top != 7 && top != 4) || !by_size[1] || !by_size[2] || (top == 7 && !by_size[3])) {
			fprintf(stderr, "migctl: no all-balanced for device %s: it lacks a 1g, 2g%s profile\n", models[k].id,
				top == 7 ? " or 3g" : "");
			continue;
		}
		json_t *devs = json_object();
		for (unsigned int gs = 1; gs <= 3; gs++)
			if (want[gs])
				json_object_set_new(devs, by_size[gs]->name, json_integer(want[gs]));
		json_array_append_new(balanced, gen_entry(filters ? json_pack("[s]", models[k].id) : NULL, true, devs));
	}
	if (json_array_size(balanced))
		json_object_set_new(configs, "all-balanced", balanced);
	else
		json_decref(balanced);

	/* all-<profile>, profile names in order */
	const char *names[256] = {NULL};
	size_t nnames = 0;
	for (size_t k = 0; k < nmodels; k++)
		for (size_t x = 0; x < models[k].gpu->nprofiles && nnames < 256; x++) {
			const char *n = models[k].gpu->profiles[x].name;
			bool seen = false;
			for (size_t y = 0; y < nnames && !seen; y++)
				seen = strcmp(names[y], n) == 0;
			if (!seen)
				names[nnames++] = n;
		}
	qsort(names, nnames, sizeof(names[0]), by_string);
	for (size_t y = 0; y < nnames; y++) {
		char key[MIG_PROFILE_MAX + 8];
		snprintf(key, sizeof(key), "all-%s", names[y]);
		for (char *q = key; *q; q++)
			if (*q == '+')
				*q = '.';
		json_t *entries = json_array();
		/* one entry per instance count, with the kinds of GPU that allow that many */
		for (unsigned int count = 1; count <= 64; count++) {
			json_t *ids = json_array();
			for (size_t k = 0; k < nmodels; k++)
				for (size_t x = 0; x < models[k].gpu->nprofiles; x++)
					if (strcmp(models[k].gpu->profiles[x].name, names[y]) == 0 &&
					    models[k].gpu->profiles[x].instance_count == count)
						json_array_append_new(ids, json_string(models[k].id));
			if (!json_array_size(ids)) {
				json_decref(ids);
				continue;
			}
			json_array_append_new(entries, gen_entry(filters ? ids : (json_decref(ids), NULL), true,
								 json_pack("{s:i}", names[y], (int)count)));
		}
		json_object_set_new(configs, key, entries);
	}
	return json_pack("{s:s, s:o}", "version", "v1", "mig-configs", configs);
}

static int parted_generate(struct cli *c, const struct parted_flags *p)
{
	const char *format = p->format ? p->format : "yaml";
	if (strcmp(format, "yaml") != 0 && strcmp(format, "json") != 0)
		return fatal("Unrecognized 'output-format': %s (yaml or json)", format);
	if (cli_load(c))
		return fatal("Error generating MIG config (see migctl's messages above)");
	FILE *f = stdout;
	if (p->file && *p->file && !(f = fopen(p->file, "w")))
		return fatal("Error creating output file %s: %s", p->file, strerror(errno));
	json_t *doc = gen_doc(c->node);
	if (strcmp(format, "json") == 0) {
		json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', f);
	} else {
		yaml_value(f, doc, 0);
	}
	json_decref(doc);
	if (f != stdout && fclose(f) != 0)
		return fatal("Error writing output file %s: %s", p->file, strerror(errno));
	return EXIT_OK;
}

static const char *prog_name(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');
	return slash ? slash + 1 : argv0;
}

bool cli_invoked_as_parted(const char *argv0)
{
	return argv0 && strcmp(prog_name(argv0), "nvidia-mig-parted") == 0;
}

/* argv[0] is the program ("nvidia-mig-parted") or the command ("parted"); then global options,
 * the subcommand and its flags. */
static int parted(struct cli *c, const char *prog, int argc, char **argv)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		bool b;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			print_help(stdout, prog);
			return EXIT_OK;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
			printf("%s version migctl (nvidia-mig-parted command line on migctl's planner)\n", prog);
			return EXIT_OK;
		} else if (strcmp(a, "-d") == 0 || strcmp(a, "--debug") == 0 ||
			   (strncmp(a, "--debug=", 8) == 0 && parse_bool(a + 8, &b) == 0)) {
			continue; /* migctl's account of what it does is always on standard error */
		} else {
			print_help(stderr, prog);
			return fatal("flag provided but not defined: %s", a);
		}
	}
	if (i >= argc) {
		print_help(stdout, prog);
		return EXIT_OK;
	}
	const struct subcommand *s = NULL;
	for (size_t k = 0; k < sizeof(subcommands) / sizeof(subcommands[0]) && !s; k++)
		if (strcmp(argv[i], subcommands[k].name) == 0)
			s = &subcommands[k];
	if (!s) {
		if (strcmp(argv[i], "help") == 0) {
			print_help(stdout, prog);
			return EXIT_OK;
		}
		print_help(stderr, prog);
		return fatal("No help topic for '%s': the commands are apply, assert, export, generate-config, checkpoint "
			     "and restore",
			     argv[i]);
	}
	struct parted_flags p = {0};
	if (parse_flags(prog, s, argc - i, argv + i, &p))
		return EXIT_FAIL;
	if (p.help) {
		print_sub_help(stdout, prog, s);
		return EXIT_OK;
	}
	const bool needs_file = strcmp(s->name, "export") != 0 && strcmp(s->name, "generate-config") != 0;
	if (needs_file && (!p.file || !*p.file)) {
		print_sub_help(stderr, prog, s);
		return fatal("Missing required flags '%s'", s->flags[0].name);
	}
	if (strcmp(s->name, "apply") == 0)
		return parted_apply(c, &p, p.file, p.set, false);
	if (strcmp(s->name, "assert") == 0)
		return parted_assert(c, &p);
	if (strcmp(s->name, "export") == 0)
		return parted_export(c, &p, false);
	if (strcmp(s->name, "checkpoint") == 0)
		return parted_checkpoint(c, &p);
	if (strcmp(s->name, "generate-config") == 0)
		return parted_generate(c, &p);
	return parted_apply(c, &p, p.file, "checkpoint", true);
}

int cmd_parted(struct cli *c, int argc, char **argv)
{
	/* mig-parted's own output (its -o json for export) is what parted speaks */
	if (c->json)
		return cli_usage("parted: --json does not apply: parted prints what mig-parted prints (use export -o json, "
				 "or migctl apply/assert/export --json)");
	logrus_style = false;
	return parted(c, "migctl parted", argc, argv);
}

int cli_parted_main(int argc, char **argv)
{
	struct cli c = {0};
	logrus_style = true;
	cli_nvml_from_env(&c);
	int r = parted(&c, "nvidia-mig-parted", argc, argv);
	cli_free(&c);
	return r;
}

size_t cli_parted_hook_env(const char *file, const char *set, const char *hooks, bool mode_only, bool skip_reset,
			   char buf[][PATH_MAX + 40], const char **env)
{
	snprintf(buf[0], sizeof(buf[0]), "MIG_PARTED_CONFIG_FILE=%s", file ? file : "");
	snprintf(buf[1], sizeof(buf[1]), "MIG_PARTED_SELECTED_CONFIG=%s", set ? set : "");
	snprintf(buf[2], sizeof(buf[2]), "MIG_PARTED_HOOKS_FILE=%s", hooks ? hooks : "");
	snprintf(buf[3], sizeof(buf[3]), "MIG_PARTED_SKIP_RESET=%s", skip_reset ? "true" : "false");
	snprintf(buf[4], sizeof(buf[4]), "MIG_PARTED_MODE_CHANGE_ONLY=%s", mode_only ? "true" : "false");
	for (size_t i = 0; i < CLI_PARTED_ENVS; i++)
		env[i] = buf[i];
	return CLI_PARTED_ENVS;
}

void cli_targets_mode_only(const struct mig_node *node, struct mig_gpu_target *targets, bool mode_only)
{
	for (size_t i = 0; i < node->ngpus && mode_only; i++) {
		const struct mig_gpu *g = &node->gpus[i];
		if (!targets[i].selected)
			continue;
		if ((g->mode_current == MIG_MODE_ENABLED) == targets[i].mig_enabled)
			targets[i].selected = false; /* its mode is right: its instances are not looked at */
		else
			targets[i].ngis = 0; /* a GPU that MIG mode turns on has no instances yet */
	}
}
