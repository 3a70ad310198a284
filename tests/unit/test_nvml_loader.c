/* SPDX-License-Identifier: MIT */
/* libmig's NVML loader against the simulator, a missing library and a library that is not NVML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/internal.h"

static void test_loads_the_simulator_by_path(void **unused)
{
	(void)unused;
	struct mig_nvml *n = NULL;
	struct mig_error err;
	const char *lib = getenv("MIGSIM_LIB");
	assert_non_null(lib);
	assert_int_equal(mig_nvml_open(&n, lib, &err), 0);
	assert_non_null(n->nvmlInit_v2);
	assert_non_null(n->nvmlDeviceCreateGpuInstanceWithPlacement);
	assert_non_null(n->nvmlDeviceGetGpuInstanceProfileInfoV);
	assert_string_equal(n->nvmlErrorString(NVML_ERROR_IN_USE), "In use by another client");
	mig_nvml_error(&err, n, NVML_ERROR_INSUFFICIENT_RESOURCES, "creating GPU instance on GPU %d", 0);
	assert_int_equal(err.status, MIG_E_NVML);
	assert_int_equal(err.nvml, NVML_ERROR_INSUFFICIENT_RESOURCES);
	assert_string_equal(err.msg, "creating GPU instance on GPU 0: Insufficient Resources");
	/* a symbol an older driver lacks */
	mig_nvml_error(&err, n, NVML_ERROR_FUNCTION_NOT_FOUND, "reading profiles");
	assert_int_equal(err.nvml, NVML_ERROR_FUNCTION_NOT_FOUND);
	assert_non_null(strstr(err.msg, "reading profiles: not supported by this driver"));
	mig_nvml_close(n);
}

/* libmig reads no environment: $MIGCTL_NVML_LIB is migctl's (tests/shell/test_migctl_errors.sh
 * checks migctl honours it); NULL is the driver's library. Only opened, never called. */
static void test_library_reads_no_environment(void **unused)
{
	(void)unused;
	struct mig_nvml *n = NULL;
	struct mig_error err;
	setenv("MIGCTL_NVML_LIB", "/nonexistent/from-the-environment/libnvidia-ml.so.1", 1);
	if (mig_nvml_open(&n, NULL, &err) == 0) {
		/* a machine with NVIDIA's driver */
		assert_string_equal(n->path, "libnvidia-ml.so.1");
		mig_nvml_close(n);
	} else {
		assert_int_equal(err.status, MIG_E_LIBRARY);
		assert_non_null(strstr(err.msg, "cannot load the NVML library libnvidia-ml.so.1 ("));
		assert_null(strstr(err.msg, "from-the-environment"));
	}
	unsetenv("MIGCTL_NVML_LIB");
}

static void test_missing_library_says_what_to_do(void **unused)
{
	(void)unused;
	struct mig_nvml *n = NULL;
	struct mig_error err;
	assert_int_equal(mig_nvml_open(&n, "/nonexistent/libnvidia-ml.so.1", &err), -1);
	assert_null(n);
	assert_int_equal(err.status, MIG_E_LIBRARY);
	assert_non_null(strstr(err.msg, "cannot load the NVML library /nonexistent/libnvidia-ml.so.1"));
	assert_non_null(strstr(err.msg, "is the NVIDIA driver installed?"));
	/* the tool's flags and variables are the tool's to suggest */
	assert_null(strstr(err.msg, "MIGCTL_NVML_LIB"));
	assert_null(strstr(err.msg, "--"));
}

static void test_a_library_that_is_not_nvml_is_refused(void **unused)
{
	(void)unused;
	struct mig_nvml *n = NULL;
	struct mig_error err;
	assert_int_equal(mig_nvml_open(&n, "libc.so.6", &err), -1);
	assert_int_equal(err.status, MIG_E_LIBRARY);
	assert_non_null(strstr(err.msg, "libc.so.6 is not an NVML library"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads_the_simulator_by_path),
		cmocka_unit_test(test_library_reads_no_environment),
		cmocka_unit_test(test_missing_library_says_what_to_do),
		cmocka_unit_test(test_a_library_that_is_not_nvml_is_refused),
	};
	return cmocka_run_group_tests_name("NVML loader", tests, NULL, NULL);
}
