/* SPDX-License-Identifier: MIT */
/*
 * migctl: manage NVIDIA MIG partitions. Global options are taken wherever they appear;
 * the first other word names the command, from one table. Parsing the line (cli_parse_line)
 * is apart from running the command (cli_run), so that fuzz/fuzz_cli.c can put the
 * simulator in place of whatever library the line names; main() is in migctl.c.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "serve.h"

static int cmd_help(struct cli *c, int argc, char **argv);

static const struct command {
	const char *name;
	int (*fn)(struct cli *, int, char **);
	const char *args;
	const char *help;
} commands[] = {
	{"list", cmd_list, "", "GPUs and their MIG devices with UUIDs (like nvidia-smi -L)"},
	{"status", cmd_status, "", "MIG mode, a picture of the memory slices, instances, MIG devices, processes"},
	{"mode", cmd_mode, "enable|disable", "turn MIG mode on or off, saying whether it is active or pending"},
	{"profiles", cmd_profiles, "[--profile ID,...]", "GPU instance profiles with free/total (like -lgip)"},
	{"placements", cmd_placements, "[--profile ID,...]", "possible placements of each profile, and which are free (like -lgipp)"},
	{"ci-profiles", cmd_ci_profiles, "[--gi ID] [--profile ID,...]", "compute instance profiles of each GPU instance (like -lcip)"},
	{"create", cmd_create, "PROFILE[,PROFILE...] [--placement START] [-C]",
	 "create GPU instances (and with -C their default compute instance); finds placements that fit"},
	{"create-ci", cmd_create_ci, "--gi ID [PROFILE[,PROFILE...]]",
	 "create compute instances in a GPU instance (default: the full-size one)"},
	{"destroy", cmd_destroy, "[--gi ID,...] [--ci ID,...] [--all] [--force]",
	 "destroy compute instances, then GPU instances; refuses instances with processes unless --force"},
	{"mig", cmd_mig, "-lgip|-lgipp|-lcip|-lgi|-lci|-cgi LIST [-C]|-cci [LIST] -gi ID|-dci|-dgi ...",
	 "nvidia-smi mig's own spelling and wording"},
	{"plan", cmd_plan, "-f FILE [-c CONFIG] [--force] [--allow-no-match]",
	 "show what apply would do for a mig-parted config, with each changed GPU before and after"},
	{"apply", cmd_apply,
	 "-f FILE [-c CONFIG] [--dry-run] [--force] [--reset-pending] [--lock-timeout SECONDS] [-k HOOKS] [--mode-only] "
	 "[--allow-no-match]",
	 "bring the GPUs to a mig-parted config, keeping every instance the config still contains"},
	{"assert", cmd_assert, "-f FILE [-c CONFIG] [--mode-only] [--allow-no-match]",
	 "exit 0 when the GPUs match the config, 4 when they differ (printing how)"},
	{"export", cmd_export, "[--placements] [--label NAME]",
	 "the current layout as a mig-parted v1 config (YAML; JSON with --json)"},
	{"parted", cmd_parted, "apply|assert|export|generate-config|checkpoint|restore [FLAGS]",
	 "nvidia-mig-parted's command line, flags, MIG_PARTED_ variables, output and exit codes"},
	{"cdi", cmd_cdi, "generate [--output PATH] [--format yaml|json] [--vendor V] [--class C] [--driver-root DIR] [--mknod] | list",
	 "write a CDI spec of the MIG devices and GPUs (for podman, containerd, CRI-O), or list its names"},
	{"slurm", cmd_slurm, "gres [--output FILE [--check]] [--gres-value] [--mknod] | task-prolog [--gres-conf FILE]",
	 "Slurm's gres.conf of the MIG devices, and the TaskProlog that gives a step its MIG UUIDs"},
	{"lease", cmd_lease, "--profile P | --memory MIB [--slices N] [--media] [--model NAME] [--ttl S [--name N]] [--owner PID]",
	 "lease one MIG device (created for it, or warm from the pool); prints its UUID, CDI name and environment"},
	{"release", cmd_release, "ID", "end a lease: its instance is destroyed, or kept warm in the pool"},
	{"leases", cmd_leases, "", "the leases and pooled instances, after ending those of dead owners and expired TTLs"},
	{"run", cmd_run, "--profile P | --memory MIB [--slices N] [--media] [--model NAME] -- CMD [ARG...]",
	 "lease a MIG device, run CMD with CUDA_VISIBLE_DEVICES set, release it; exits with CMD's status"},
	{"capacity", cmd_capacity, "", "per GPU and profile: how many more fit now, and with the pool reclaimed"},
	{"serve", cmd_serve, "[--socket PATH] [--group NAME] [--rate N] [--burst N] [--timeout S] [--connections N] [--lock-timeout S]",
	 "the node service: leases over HTTP/JSON on a Unix socket, with Prometheus metrics (docs/serve.md)"},
	{"help", cmd_help, "[COMMAND]", "this text, or one command's usage (also: migctl COMMAND --help)"},
};

/* One command's usage: "migctl COMMAND --help", "migctl help COMMAND". */
static int command_help(const struct command *cmd)
{
	printf("Usage: migctl [OPTIONS] %s%s%s\n\n%s\n\nSee 'migctl help' for the options, and migctl(8).\n", cmd->name,
	       cmd->args[0] ? " " : "", cmd->args, cmd->help);
	return EXIT_OK;
}

static int cmd_help(struct cli *c, int argc, char **argv)
{
	(void)c;
	if (argc > 2)
		return cli_usage("help: one command at a time ('%s' after '%s')", argv[2], argv[1]);
	for (size_t i = 0; argc == 2 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return command_help(&commands[i]);
	if (argc == 2)
		return cli_usage("help: unknown command '%s'", argv[1]);
	printf("Usage: migctl [OPTIONS] COMMAND [ARGS]\n\nManage NVIDIA Multi-Instance GPU (MIG) partitions.\n\n"
	       "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].args[0]) /* a command without arguments takes one line */
			printf("  %-12s %s\n               %s\n", commands[i].name, commands[i].args, commands[i].help);
		else
			printf("  %-12s %s\n", commands[i].name, commands[i].help);
	}
	printf("\nOptions (anywhere on the line):\n"
	       "  --json              machine-readable output (documented in migctl(8))\n"
	       "  -i, --gpu SELECTOR  GPUs to act on: an index, a list (0,2), all, a GPU UUID or a PCI bus id\n"
	       "  --nvml-lib PATH     the NVML library to load (default libnvidia-ml.so.1, or $MIGCTL_NVML_LIB)\n"
	       "  --sim[=GPUS]        use the simulator built or installed with migctl (GPUS as in MIGSIM_GPUS)\n"
	       "  --root DIR          read device nodes and /proc under DIR instead of / (default: the simulator's root)\n"
	       "  -v, --verbose       say which NVML library was loaded and how many calls were made\n"
	       "\nExit status: 0 ok, 1 failure (nothing changed unless said), 2 usage error,\n"
	       "3 a MIG mode change is pending (GPU in use, or reset required), 4 assert: the GPUs differ.\n");
	return EXIT_OK;
}

int cli_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "migctl: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'migctl help'.\n");
	va_end(ap);
	return EXIT_USAGE;
}

/* The simulator next to this binary: build/migctl -> build/sim/, or PREFIX/bin/migctl ->
 * PREFIX/lib/migctl/. */
static const char *find_simulator(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	const char *candidates[] = {"/sim/libnvidia-ml.so.1", "/../lib/migctl/libnvidia-ml.so.1"};
	for (size_t i = 0; i < 2; i++) {
		if (strlen(exe) + strlen(candidates[i]) >= sizeof(path))
			return NULL;
		strcpy(path, exe);
		strcat(path, candidates[i]);
		if (access(path, R_OK) == 0)
			return path;
	}
	return NULL;
}

/* --sim=GPUS only shapes a simulated node that does not exist yet: say so when the node
 * found has another number of GPUs than the list asks for. */
static void warn_sim_mismatch(const struct cli *c)
{
	const char *gpus = getenv("MIGSIM_GPUS");
	unsigned long want = 0;
	if (!gpus || !c->node)
		return;
	for (const char *s = gpus; *s;) {
		char *end;
		unsigned long n = strtoul(s, &end, 10);
		want += (end != s && *end == 'x') ? n : 1;
		s = strchr(s, ',');
		if (!s)
			break;
		s++;
	}
	if (want != c->node->ngpus)
		fprintf(stderr,
			"migctl: note: the simulated node already existed with %zu GPU(s), so --sim=%s did not change it; "
			"run 'migsim init %s' to start over\n",
			c->node->ngpus, gpus, gpus);
}

int cli_parse_line(struct cli *c, int argc, char **argv, struct cli_line *line)
{
	line->nrest = 0;
	line->sim = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			/* the rest is a command's own (migctl run -- CMD ...): taken as it is */
			for (; i < argc; i++) {
				if (line->nrest >= (int)(sizeof(line->rest) / sizeof(line->rest[0])))
					return cli_usage("too many arguments");
				line->rest[line->nrest++] = argv[i];
			}
			break;
		}
		if (strcmp(a, "--json") == 0) {
			c->json = true;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			c->verbose++;
		} else if (strcmp(a, "-i") == 0 || strcmp(a, "--gpu") == 0 || strcmp(a, "--id") == 0) {
			if (i + 1 >= argc)
				return cli_usage("%s needs a GPU selector (an index, a list, all, a UUID or a PCI bus id)", a);
			c->gpu_selector = argv[++i];
		} else if (strncmp(a, "--gpu=", 6) == 0) {
			c->gpu_selector = a + 6;
		} else if (strcmp(a, "--nvml-lib") == 0) {
			if (i + 1 >= argc || !argv[i + 1][0])
				return cli_usage("--nvml-lib needs the path of libnvidia-ml.so.1");
			c->nvml_lib = argv[++i];
		} else if (strncmp(a, "--nvml-lib=", 11) == 0) {
			if (!a[11])
				return cli_usage("--nvml-lib= needs the path of libnvidia-ml.so.1");
			c->nvml_lib = a + 11;
		} else if (strcmp(a, "--root") == 0 || strncmp(a, "--root=", 7) == 0) {
			const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
			if (!v || !*v)
				return cli_usage("--root needs a directory (device nodes and /proc are read under it)");
			c->root = v;
		} else if (strcmp(a, "--sim") == 0) {
			line->sim = true;
		} else if (strncmp(a, "--sim=", 6) == 0) {
			line->sim = true;
			if (!a[6])
				return cli_usage("--sim= needs a GPU list, e.g. --sim=A100-SXM4-40GB or --sim=2xH100-SXM5-80GB,A30");
			setenv("MIGSIM_GPUS", a + 6, 1);
		} else {
			if (line->nrest >= (int)(sizeof(line->rest) / sizeof(line->rest[0])))
				return cli_usage("too many arguments");
			line->rest[line->nrest++] = argv[i];
		}
	}
	if (line->sim && c->nvml_lib)
		return cli_usage("--sim and --nvml-lib both name a library; give one");
	if (!line->sim)
		cli_nvml_from_env(c);
	/* a selector that cannot name any GPU is a usage error (exit 2), before anything is loaded;
	 * one that names a GPU this node lacks is found later (exit 1) */
	if (c->gpu_selector) {
		struct mig_node none = {.gpus = NULL};
		struct mig_error err;
		bool unused;
		char item[256];
		const char *s = c->gpu_selector;
		if (!*s)
			return cli_usage("empty GPU selector: -i takes an index, a list, all, a UUID or a PCI bus id");
		while (*s) {
			size_t n = strcspn(s, ",");
			snprintf(item, sizeof(item), "%.*s", (int)(n < sizeof(item) - 1 ? n : sizeof(item) - 1), s);
			if (!n || (s[n] == ',' && !s[n + 1]))
				return cli_usage("empty item in GPU selector '%s'", c->gpu_selector);
			if (mig_select_gpus(&none, item, &unused, &err) && err.status == MIG_E_INVALID)
				return cli_usage("%s", err.msg);
			s += n + (s[n] == ',');
		}
	}
	return -1;
}

int cli_run(struct cli *c, struct cli_line *line)
{
	char **rest = line->rest;
	int ret = -1;
	if (line->nrest == 0)
		return cli_usage("no command given");
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (strcmp(rest[0], commands[k].name) != 0)
			continue;
		/* COMMAND --help (mig and parted answer their own flags' help) */
		bool help = false;
		for (int i = 1; i < line->nrest && strcmp(rest[i], "--") != 0 && strcmp(rest[0], "mig") != 0 &&
				strcmp(rest[0], "parted") != 0;
		     i++)
			help |= strcmp(rest[i], "--help") == 0 || strcmp(rest[i], "-h") == 0;
		ret = help ? command_help(&commands[k]) : commands[k].fn(c, line->nrest, rest);
	}
	if (ret < 0) {
		if (strcmp(rest[0], "--help") == 0 || strcmp(rest[0], "-h") == 0)
			ret = cmd_help(c, 0, NULL);
		else
			ret = cli_usage("unknown command '%s'", rest[0]);
	}
	cli_consumers_after(c); /* issue 11: keep CDI specs current after every command */
	if (line->sim)
		warn_sim_mismatch(c);
	if (c->verbose && c->ctx)
		fprintf(stderr, "migctl: NVML %s, driver %s, %lu NVML calls\n", mig_ctx_nvml_path(c->ctx),
			mig_ctx_driver_version(c->ctx), mig_ctx_nvml_calls(c->ctx));
	return ret;
}

void cli_free(struct cli *c)
{
	free(c->selected);
	free(c->settings);
	c->settings = NULL;
	c->consumers_refreshed = false;
	if (!c->node_borrowed)
		mig_node_free(c->node);
	c->node_borrowed = false;
	mig_ctx_free(c->ctx);
	c->selected = NULL;
	c->node = NULL;
	c->ctx = NULL;
}

int cli_main(int argc, char **argv)
{
	struct cli c = {0};
	struct cli_line line;

	if (argc > 0 && cli_invoked_as_parted(argv[0]))
		return cli_parted_main(argc, argv);
	int ret = cli_parse_line(&c, argc, argv, &line);
	if (ret >= 0)
		return ret;
	if (line.sim) {
		c.nvml_lib = find_simulator();
		if (!c.nvml_lib) {
			fprintf(stderr, "migctl: --sim: no simulator next to this migctl (looked for sim/libnvidia-ml.so.1 "
					"and ../lib/migctl/libnvidia-ml.so.1); build it with 'make'\n");
			return EXIT_FAIL;
		}
	}
	ret = cli_run(&c, &line);
	cli_free(&c);
	return ret;
}
