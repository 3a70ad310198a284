/* SPDX-License-Identifier: MIT */
/*
 * What the simulator's API tests share: the library opened with dlopen from $MIGSIM_LIB and
 * every entry point resolved with dlsym into `nv`, a private state file in a mkdtemp
 * directory, and `migsim` run against it. Include once, after cmocka.h.
 */
#ifndef MIGSIM_TEST_HARNESS_H
#define MIGSIM_TEST_HARNESS_H

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../nvml/nvml_abi.h"
#include "../tmp_tree.h"

typedef nvmlReturn_t(migsimGetLastError_fn)(char *buf, unsigned int len);

#define NV_FIELD(name, params) name##_fn *name;
static struct {
	MIG_NVML_FUNCTIONS(NV_FIELD)
	nvmlErrorString_fn *nvmlErrorString;
	migsimGetLastError_fn *migsimGetLastError;
} nv;
#undef NV_FIELD

static void *lib;
static const char *migsim_bin;
static char state_dir[PATH_MAX];
static char state_file[PATH_MAX + 32];

static int load_symbol(const char *name, void *slot, size_t size)
{
	void *p = dlsym(lib, name);
	if (!p || size != sizeof(p)) {
		fprintf(stderr, "# %s: symbol %s missing\n", getenv("MIGSIM_LIB"), name);
		return -1;
	}
	memcpy(slot, &p, sizeof(p));
	return 0;
}

/* Run `migsim --state STATE ARGS`; returns its exit status (-1 if it did not run). */
static int migsim(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int migsim(const char *fmt, ...)
{
	char args[512], cmd[3 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(args))
		return -1;
	n = snprintf(cmd, sizeof(cmd), "'%s' --state '%s' %s >/dev/null", migsim_bin, state_file, args);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	int rc = system(cmd);
	return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Close the library and remove the state directory: the teardown, and setup when it fails
 * (no test runs then, and nothing may stay behind). */
static void harness_cleanup(void)
{
	if (lib)
		dlclose(lib);
	lib = NULL;
	if (state_dir[0])
		tmp_tree_remove(state_dir);
}

/* Group setup: private state in /tmp/<prefix>-XXXXXX, the library opened, every symbol resolved. */
static int harness_setup(const char *prefix)
{
	const char *lib_path = getenv("MIGSIM_LIB");

	migsim_bin = getenv("MIGSIM");
	if (!lib_path || !*lib_path || !migsim_bin || !*migsim_bin) {
		fprintf(stderr, "# MIGSIM_LIB and MIGSIM must name the built simulator and migsim\n");
		return -1;
	}
	snprintf(state_dir, sizeof(state_dir), "/tmp/%s-XXXXXX", prefix);
	if (!mkdtemp(state_dir))
		return -1;
	snprintf(state_file, sizeof(state_file), "%s/state.json", state_dir);
	if (setenv("MIGSIM_STATE", state_file, 1) != 0)
		return -1;
	unsetenv("MIGSIM_GPUS");
	unsetenv("MIGSIM_UNPRIVILEGED");
	lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "# dlopen %s: %s\n", lib_path, dlerror());
		harness_cleanup();
		return -1;
	}
	int missing = 0;
#define NV_LOAD(name, params) missing += load_symbol(#name, &nv.name, sizeof(nv.name)) != 0;
	MIG_NVML_FUNCTIONS(NV_LOAD)
#undef NV_LOAD
	missing += load_symbol("nvmlErrorString", &nv.nvmlErrorString, sizeof(nv.nvmlErrorString)) != 0;
	/* only the simulator has it: these tests change MIG state, never on a real GPU */
	missing += load_symbol("migsimGetLastError", &nv.migsimGetLastError, sizeof(nv.migsimGetLastError)) != 0;
	if (missing)
		harness_cleanup();
	return missing ? -1 : 0;
}

/* Group teardown: close the library and remove the state directory. */
static int harness_teardown(void)
{
	harness_cleanup();
	return 0;
}

#endif
