/* SPDX-License-Identifier: MIT */
/*
 * Replays inputs through a fuzz target without libFuzzer, built with the project's own
 * compiler and flags, so that `make check` runs every seed (and `make asan` and
 * `make valgrind` under their checkers). Arguments: files, or directories whose files are
 * taken in name order; none: the corpus compiled in (REPLAY_CORPUS). Speaks TAP: one
 * "ok N - FILE" per input. A crash, a sanitizer report or a harness's abort() ends the
 * program, which the test runner counts as a failure.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count;
static int failed;

static void replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;
	if (!f || fstat(fileno(f), &sb) != 0) {
		printf("not ok %d - %s: cannot open: %s\n", ++count, path, strerror(errno));
		failed = 1;
		if (f)
			fclose(f);
		return;
	}
	size_t size = (size_t)sb.st_size;
	uint8_t *data = malloc(size ? size : 1); /* exactly the input's size, so overreads are caught */
	if (!data || fread(data, 1, size, f) != size) {
		printf("not ok %d - %s: cannot read\n", ++count, path);
		failed = 1;
		free(data);
		fclose(f);
		return;
	}
	fclose(f);
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	printf("ok %d - %s\n", ++count, path);
	fflush(stdout);
}

static void replay(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		struct dirent **names;
		int n = scandir(path, &names, NULL, alphasort);
		if (n < 0) {
			printf("not ok %d - %s: cannot list: %s\n", ++count, path, strerror(errno));
			failed = 1;
			return;
		}
		for (int i = 0; i < n; i++) {
			if (names[i]->d_name[0] != '.') {
				size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
				char *file = malloc(len);
				if (file) {
					snprintf(file, len, "%s/%s", path, names[i]->d_name);
					replay(file);
					free(file);
				}
			}
			free(names[i]);
		}
		free(names);
		return;
	}
	replay_file(path);
}

int main(int argc, char **argv)
{
#ifdef REPLAY_CORPUS
	if (argc < 2)
		replay(REPLAY_CORPUS);
#endif
	for (int i = 1; i < argc; i++)
		replay(argv[i]);
	if (count == 0) {
		printf("not ok 1 - no inputs to replay\n");
		failed = 1;
		count = 1;
	}
	printf("1..%d\n", count);
	return failed;
}
