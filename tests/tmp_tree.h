/* SPDX-License-Identifier: MIT */
/* Removing a test's temporary directory with everything in it (the simulator keeps more than
 * its state file beside it: a tree of device nodes), never following a symbolic link. */
#ifndef MIGCTL_TMP_TREE_H
#define MIGCTL_TMP_TREE_H

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static inline void tmp_tree_remove_at(int parent, const char *name, int depth)
{
	if (unlinkat(parent, name, 0) == 0 || depth > 64)
		return;
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			tmp_tree_remove_at(dirfd(d), e->d_name, depth + 1);
	closedir(d);
	unlinkat(parent, name, AT_REMOVEDIR);
}

/* Remove path and, if it is a directory, everything below it. */
static inline void tmp_tree_remove(const char *path)
{
	tmp_tree_remove_at(AT_FDCWD, path, 0);
}

#endif
