/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: migctl's command line. The input, split on NUL bytes, is argv after
 * "migctl". cli_parse_line (cli/main.c) takes the global options; then, whatever library
 * the line names (--nvml-lib, --sim), the command runs against the simulator
 * ($MIGSIM_LIB, else the one built next to this program) on a fresh copy of a small node
 * (an A100 with instances and a process, an H100 whose MIG mode changes wait for a reset,
 * an empty A30), in a private directory that also holds apply's lock and journal. Every
 * command parses its own options, so they are fuzzed by running it.
 *
 * Kept hermetic: the value of -k/--hooks-file is replaced by a missing file (hooks run
 * programs), apply --reset-pending runs "true", standard input is /dev/null; --output and
 * --root name directories in the private one (a line with "cdi" and "generate" gets --output there, as
 * cdi generate writes /var/run/cdi by default), and MIGCTL_CONF a missing file.
 *
 * Checked: no crash, leak or sanitizer report; an exit status of 0 to 4; a failure (1) or
 * usage error (2) says why on stderr ("migctl: ..."), and with --json a failure also writes
 * {"error": {"message": ...}} on stdout; no file descriptor left open.
 * FUZZ_CLI_VERBOSE=1 prints each command line, its exit status and what it said.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../cli/cli.h"
#include "../sim/state.h"
#include "../tests/sim_guard.h"
#include "../tests/tmp_tree.h"

#define MAX_ARGS 64

/* With a sanitizer: its reports go to the real stderr while the harness captures fd 2. */
void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

static char dir[64] = "/tmp/migctl-fuzz-cli.XXXXXX";
static char state_path[PATH_MAX], lock_path[PATH_MAX], journal_path[PATH_MAX], hooks_path[PATH_MAX];
static char cdi_dir[PATH_MAX], cdi_opt[PATH_MAX + 16], root_dir[PATH_MAX], root_opt[PATH_MAX + 16],
	conf_path[PATH_MAX];
static char sim_lib[PATH_MAX + 64];
static char *state_text;
static int devnull = -1, capture = -1, capture_out = -1;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_cli: %s\n", what);
	abort();
}

/* Everything under dir: the state, lock and journal, the simulator's root, CDI specs. */
static void remove_dir(void)
{
	if (!strstr(dir, "XXXXXX")) /* mkdtemp made it */
		tmp_tree_remove(dir);
}

static bool find_sim_lib(void)
{
	const char *env = getenv("MIGSIM_LIB");
	if (env && *env && access(env, R_OK) == 0) {
		snprintf(sim_lib, sizeof(sim_lib), "%s", env);
		return true;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0';
	/* build/fuzz/fuzz_cli or build/tests/fuzz/replay_cli -> build/sim/ */
	static const char *const rel[] = {"/sim/", "/../sim/", "/../../sim/"};
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(sim_lib, sizeof(sim_lib), "%s%slibnvidia-ml.so.1", exe, rel[i]);
		if (access(sim_lib, R_OK) == 0)
			return true;
	}
	return false;
}

/* The node every run starts from. */
static char *initial_state(void)
{
	static struct sim_state st;
	char err[512];
	nvmlReturn_t act;
	unsigned int gi, ci, small, pid;
	if (sim_state_init(&st, "A100-SXM4-40GB,H100-SXM5-80GB:reset-required,A30", err, sizeof(err)))
		die(err);
	st.next_pid = 4000;
	if (sim_set_mig_mode(&st, 0, NVML_DEVICE_MIG_ENABLE, &act) || act)
		die("cannot enable MIG on the A100");
	if (sim_set_mig_mode(&st, 2, NVML_DEVICE_MIG_ENABLE, &act) || act)
		die("cannot enable MIG on the A30");
	const struct sim_gi_profile *p = sim_gpu_gi_profile(&st.gpus[0], 9); /* 3g.20gb */
	unsigned int full = ~0u;
	for (unsigned int k = 0; p && k < p->nci; k++)
		if (p->ci[k].is_default)
			full = p->ci[k].id;
	if (!p || full == ~0u || sim_gi_create(&st.gpus[0], 9, NULL, &gi) ||
	    sim_ci_create(&st.gpus[0], sim_gpu_find_gi(&st.gpus[0], gi), full, NULL, &ci) ||
	    sim_gi_create(&st.gpus[0], 19, NULL, &small) || /* 1g.5gb, no compute instance */
	    sim_proc_start(&st, 0, (int)gi, (int)ci, 2048, "train", &pid))
		die("cannot build the A100's instances");
	if (sim_state_check(&st, err, sizeof(err)))
		die(err);
	char *text = sim_state_to_json(&st);
	if (!text)
		die("out of memory");
	return text;
}

static void setup(void)
{
	if (!mkdtemp(dir))
		die("mkdtemp failed");
	snprintf(state_path, sizeof(state_path), "%s/state.json", dir);
	snprintf(lock_path, sizeof(lock_path), "%s/apply.lock", dir);
	snprintf(journal_path, sizeof(journal_path), "%s/journal.json", dir);
	snprintf(hooks_path, sizeof(hooks_path), "%s/no-such-hooks.yaml", dir);
	snprintf(cdi_dir, sizeof(cdi_dir), "%s/cdi/", dir);
	snprintf(cdi_opt, sizeof(cdi_opt), "--output=%s", cdi_dir);
	snprintf(root_dir, sizeof(root_dir), "%s/root", dir);
	snprintf(root_opt, sizeof(root_opt), "--root=%s", root_dir);
	snprintf(conf_path, sizeof(conf_path), "%s/no-such-migctl.conf", dir);
	atexit(remove_dir);
	if (!find_sim_lib())
		die("no simulator: set MIGSIM_LIB to build/sim/libnvidia-ml.so.1");
	/* the command lines create and destroy instances: only ever on the simulator */
	if (sim_guard_path("fuzz_cli", sim_lib))
		exit(1);
	static const char *const unset[] = {"MIGCTL_NVML_LIB", "MIGCTL_CONFIG_FILE", "MIGCTL_SELECTED_CONFIG",
					    "MIGCTL_HOOKS_FILE", "MIGSIM_GPUS", "MIGSIM_UNPRIVILEGED", "MIGSIM_FSYNC",
					    "XDG_RUNTIME_DIR"};
	for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
		unsetenv(unset[i]);
	setenv("MIGSIM_STATE", state_path, 1);
	setenv("MIGCTL_LOCK", lock_path, 1);
	setenv("MIGCTL_JOURNAL", journal_path, 1);
	setenv("MIGCTL_RESET_COMMAND", "true", 1);
	setenv("MIGSIM_QUIET", "1", 1);
	setenv("MIGCTL_CONF", conf_path, 1);
	state_text = initial_state();
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	capture = memfd_create("fuzz_cli-stderr", MFD_CLOEXEC);
	capture_out = memfd_create("fuzz_cli-stdout", MFD_CLOEXEC);
	if (devnull < 0 || capture < 0 || capture_out < 0)
		die("cannot open /dev/null or a memfd");
	if (dup2(devnull, 0) < 0)
		die("cannot redirect standard input");
	if (__sanitizer_set_report_fd) {
		int fd = fcntl(2, F_DUPFD_CLOEXEC, 10);
		if (fd >= 0)
			__sanitizer_set_report_fd((void *)(intptr_t)fd);
	}
}

static void reset_node(void)
{
	unlink(lock_path);
	unlink(journal_path);
	unsetenv("MIGSIM_GPUS"); /* --sim=GPUS sets it */
	int fd = open(state_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t len = strlen(state_text);
	if (fd < 0 || write(fd, state_text, len) != (ssize_t)len || close(fd) != 0)
		die("cannot write the state file");
	clearerr(stdin);
}

static int lowest_free_fd(void)
{
	int fd = dup(0);
	close(fd);
	return fd;
}

static int run(int argc, char **argv, bool *json)
{
	struct cli c = {0};
	struct cli_line line;
	int ret = cli_parse_line(&c, argc, argv, &line);
	if (ret < 0) {
		c.nvml_lib = sim_lib; /* never another library the line names */
		ret = cli_run(&c, &line);
	}
	*json = c.json;
	cli_free(&c);
	return ret;
}

static size_t read_capture(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static void reset_capture(int fd)
{
	if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET) < 0)
		die("cannot reset a capture");
}

/* With --json a failure is a JSON document {"error": {"message": ...}} on stdout. */
static bool has_json_error(const char *out, size_t len)
{
	size_t at = 0;
	while (at < len) {
		json_error_t jerr;
		json_t *doc = json_loadb(out + at, len - at, JSON_DISABLE_EOF_CHECK, &jerr);
		if (!doc)
			return false;
		json_t *msg = json_object_get(json_object_get(doc, "error"), "message");
		bool found = json_is_string(msg) && json_string_length(msg) > 0;
		json_decref(doc);
		if (found)
			return true;
		at += (size_t)jerr.position;
		while (at < len && (out[at] == '\n' || out[at] == ' '))
			at++;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	if (size > 4096)
		return 0;

	/* argv: "migctl", then the input's NUL-separated words (a trailing NUL ends the last) */
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 4];
	int argc = 0;
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "migctl";
	for (size_t i = 0; i < size && argc <= MAX_ARGS;) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	bool cdi = false, generate = false;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "serve") == 0) { /* a server runs until it is stopped (fuzz_serve fuzzes its input) */
			free(buf);
			return 0;
		}
	for (int i = 1; i < argc; i++) {
		cdi |= strcmp(argv[i], "cdi") == 0;
		generate |= strcmp(argv[i], "generate") == 0;
		/* files a command writes or makes nodes in stay in the private directory */
		if (strncmp(argv[i], "--output=", 9) == 0)
			argv[i] = cdi_opt;
		else if (strncmp(argv[i], "--root=", 7) == 0)
			argv[i] = root_opt;
		if (i + 1 >= argc)
			continue;
		if (strcmp(argv[i], "-k") == 0 || strcmp(argv[i], "--hooks-file") == 0)
			argv[++i] = hooks_path;
		else if (strcmp(argv[i], "--output") == 0)
			argv[++i] = cdi_dir;
		else if (strcmp(argv[i], "--root") == 0)
			argv[++i] = root_dir;
	}
	if (cdi && generate) { /* cdi generate's default is /var/run/cdi */
		argv[argc++] = "--output";
		argv[argc++] = cdi_dir;
		argv[argc] = NULL;
	}

	reset_node();
	int fd_before = lowest_free_fd();
	reset_capture(capture);
	reset_capture(capture_out);
	fflush(stdout);
	fflush(stderr);
	int saved_out = fcntl(1, F_DUPFD_CLOEXEC, 10), saved_err = fcntl(2, F_DUPFD_CLOEXEC, 10);
	dup2(capture_out, 1);
	dup2(capture, 2);

	bool json;
	int ret = run(argc, argv, &json);

	fflush(stdout);
	fflush(stderr);
	if (saved_out >= 0) {
		dup2(saved_out, 1);
		close(saved_out);
	} else {
		close(1);
	}
	if (saved_err >= 0) {
		dup2(saved_err, 2);
		close(saved_err);
	} else {
		close(2);
	}

	static char said[4096], out[1 << 16];
	read_capture(capture, said, sizeof(said));
	size_t out_len = read_capture(capture_out, out, sizeof(out));
	if (getenv("FUZZ_CLI_VERBOSE")) { /* to see what the seeds do */
		fprintf(stderr, "fuzz_cli:");
		for (int i = 1; i < argc; i++)
			fprintf(stderr, " '%s'", argv[i]);
		fprintf(stderr, " -> exit %d\n%s", ret, said);
	}
	if (ret < 0 || ret > EXIT_DIFFERS) {
		fprintf(stderr, "fuzz_cli: exit status %d is none of migctl's\n", ret);
		abort();
	}
	if ((ret == EXIT_FAIL || ret == EXIT_USAGE) && !strstr(said, "migctl: ")) {
		fprintf(stderr, "fuzz_cli: exit status %d without a 'migctl: ...' message; stderr was: '%s'\n", ret, said);
		abort();
	}
	if (json && ret == EXIT_FAIL && out_len < sizeof(out) - 1 && !has_json_error(out, out_len)) {
		fprintf(stderr, "fuzz_cli: --json and exit status 1, but no {\"error\": {\"message\": ...}} on stdout: '%s'\n",
			out);
		abort();
	}
	int fd_after = lowest_free_fd();
	if (fd_after != fd_before) {
		fprintf(stderr, "fuzz_cli: file descriptor %d left open\n", fd_before);
		abort();
	}
	free(buf);
	return 0;
}
