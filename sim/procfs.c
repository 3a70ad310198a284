/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "procfs.h"

#define CAPS_PER_GI 9u
#define CAPS_PER_GPU (CAPS_PER_GI * SIM_MAX_GI_IDS)

unsigned int sim_cap_minor(unsigned int gpu_minor, unsigned int gi, int ci)
{
	unsigned int m = 3 + CAPS_PER_GPU * gpu_minor + CAPS_PER_GI * gi;
	return ci < 0 ? m : m + 1 + (unsigned int)ci;
}

/* mkdir -p of root/rel (rel without a leading slash). */
static int make_dirs(const char *root, const char *rel, char *err, size_t errlen)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, rel) >= sizeof(path))
		return sim_errorf(err, errlen, "simulator root path is too long: %s", root);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return sim_errorf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		*p = '/';
	}
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return sim_errorf(err, errlen, "cannot create %s: %s", path, strerror(errno));
	return 0;
}

/* Write root/rel with text unless it already holds exactly that; atomically (rename). */
static int put_file(const char *root, const char *rel, const char *text, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	size_t len = strlen(text);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, rel) >= sizeof(path))
		return sim_errorf(err, errlen, "simulator root path is too long: %s", root);

	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		struct stat sb;
		bool same = false;
		if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (size_t)sb.st_size == len) {
			char *buf = malloc(len + 1);
			if (buf && read(fd, buf, len + 1) == (ssize_t)len && memcmp(buf, text, len) == 0)
				same = true;
			free(buf);
		}
		close(fd);
		if (same)
			return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return sim_errorf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
	bool ok = write(fd, text, len) == (ssize_t)len;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return sim_errorf(err, errlen, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

static int put_access(const char *root, const char *rel, unsigned int minor, unsigned int mode, char *err,
		      size_t errlen)
{
	char text[128];
	snprintf(text, sizeof(text), "DeviceFileMinor: %u\nDeviceFileMode: %u\nDeviceFileModify: 1\n", minor, mode);
	return put_file(root, rel, text, err, errlen);
}

static int write_devices(const char *root, char *err, size_t errlen)
{
	char text[512];
	snprintf(text, sizeof(text),
		 "Character devices:\n  1 mem\n  4 /dev/vc/0\n  5 /dev/tty\n 10 misc\n%3d nvidia-frontend\n"
		 "%3d nvidia-caps\n%3d nvidia-uvm\n\nBlock devices:\n  7 loop\n  8 sd\n",
		 SIM_NVIDIA_MAJOR, SIM_CAPS_MAJOR, SIM_UVM_MAJOR);
	return put_file(root, "proc/devices", text, err, errlen);
}

static int write_mig_minors(const char *root, const struct sim_state *st, char *err, size_t errlen)
{
	/* 2 + 135 lines per GPU, each at most 32 bytes */
	size_t cap = 64 + (size_t)st->ngpus * CAPS_PER_GPU * 32, used = 0;
	char *text = malloc(cap);
	if (!text)
		return sim_errorf(err, errlen, "out of memory");
	used += (size_t)snprintf(text + used, cap - used, "config 1\nmonitor 2\n");
	unsigned int minors[SIM_MAX_GPUS];
	for (unsigned int i = 0; i < st->ngpus; i++)
		minors[i] = st->gpus[i].minor;
	/* by device minor, as the driver lists them */
	for (unsigned int i = 1; i < st->ngpus; i++)
		for (unsigned int k = i; k > 0 && minors[k - 1] > minors[k]; k--) {
			unsigned int t = minors[k];
			minors[k] = minors[k - 1];
			minors[k - 1] = t;
		}
	for (unsigned int i = 0; i < st->ngpus; i++)
		for (unsigned int g = 0; g < SIM_MAX_GI_IDS; g++) {
			used += (size_t)snprintf(text + used, cap - used, "gpu%u/gi%u/access %u\n", minors[i], g,
						 sim_cap_minor(minors[i], g, -1));
			for (int c = 0; c < SIM_MAX_CIS; c++)
				used += (size_t)snprintf(text + used, cap - used, "gpu%u/gi%u/ci%d/access %u\n", minors[i],
							 g, c, sim_cap_minor(minors[i], g, c));
		}
	int r = put_file(root, "proc/driver/nvidia-caps/mig-minors", text, err, errlen);
	free(text);
	return r;
}

/* Remove root/rel and everything below it (only directories and plain files are made here). */
static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		const struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char sub[PATH_MAX];
			if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= sizeof(sub))
				continue;
			struct stat sb;
			if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
				remove_tree(sub);
			else
				unlink(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

/* Remove gi<G> (and ci<C>) directories under dir that is_live does not accept. */
static void prune(const char *dir, const char *prefix, const bool live[], unsigned int nlive)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	const struct dirent *e;
	size_t plen = strlen(prefix);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, plen) != 0)
			continue;
		char *end;
		unsigned long id = strtoul(e->d_name + plen, &end, 10);
		if (*end || end == e->d_name + plen || (id < nlive && live[id]))
			continue;
		char sub[PATH_MAX];
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) < sizeof(sub))
			remove_tree(sub);
	}
	closedir(d);
}

static int sync_gpu(const char *root, const struct sim_gpu *g, char *err, size_t errlen)
{
	char rel[PATH_MAX], dir[PATH_MAX];
	bool live_gi[SIM_MAX_GI_IDS] = {false};

	snprintf(rel, sizeof(rel), "proc/driver/nvidia/capabilities/gpu%u/mig", g->minor);
	if (make_dirs(root, rel, err, errlen))
		return -1;
	for (unsigned int k = 0; k < g->ngi; k++) {
		const struct sim_gi *gi = &g->gi[k];
		bool live_ci[SIM_MAX_CIS] = {false};
		if (gi->id < SIM_MAX_GI_IDS)
			live_gi[gi->id] = true;
		snprintf(rel, sizeof(rel), "proc/driver/nvidia/capabilities/gpu%u/mig/gi%u", g->minor, gi->id);
		if (make_dirs(root, rel, err, errlen))
			return -1;
		snprintf(rel, sizeof(rel), "proc/driver/nvidia/capabilities/gpu%u/mig/gi%u/access", g->minor, gi->id);
		if (put_access(root, rel, sim_cap_minor(g->minor, gi->id, -1), SIM_CAP_MODE, err, errlen))
			return -1;
		for (unsigned int c = 0; c < gi->nci; c++) {
			const struct sim_ci *ci = &gi->ci[c];
			if (ci->id < SIM_MAX_CIS)
				live_ci[ci->id] = true;
			snprintf(rel, sizeof(rel), "proc/driver/nvidia/capabilities/gpu%u/mig/gi%u/ci%u", g->minor, gi->id,
				 ci->id);
			if (make_dirs(root, rel, err, errlen))
				return -1;
			snprintf(rel, sizeof(rel), "proc/driver/nvidia/capabilities/gpu%u/mig/gi%u/ci%u/access", g->minor,
				 gi->id, ci->id);
			if (put_access(root, rel, sim_cap_minor(g->minor, gi->id, (int)ci->id), SIM_CAP_MODE, err,
				       errlen))
				return -1;
		}
		snprintf(dir, sizeof(dir), "%s/proc/driver/nvidia/capabilities/gpu%u/mig/gi%u", root, g->minor, gi->id);
		prune(dir, "ci", live_ci, SIM_MAX_CIS);
	}
	snprintf(dir, sizeof(dir), "%s/proc/driver/nvidia/capabilities/gpu%u/mig", root, g->minor);
	prune(dir, "gi", live_gi, SIM_MAX_GI_IDS);
	return 0;
}

int sim_procfs_sync(const char *root, const struct sim_state *st, char *err, size_t errlen)
{
	if (make_dirs(root, "proc/driver/nvidia-caps", err, errlen) ||
	    make_dirs(root, "proc/driver/nvidia/capabilities/mig", err, errlen) || write_devices(root, err, errlen) ||
	    write_mig_minors(root, st, err, errlen) ||
	    put_access(root, "proc/driver/nvidia/capabilities/mig/config", 1, 0400, err, errlen) ||
	    put_access(root, "proc/driver/nvidia/capabilities/mig/monitor", 2, 0444, err, errlen))
		return -1;
	for (unsigned int i = 0; i < st->ngpus; i++)
		if (sync_gpu(root, &st->gpus[i], err, errlen))
			return -1;
	/* GPUs a re-init took away (by minor) */
	bool live[256] = {false};
	for (unsigned int i = 0; i < st->ngpus; i++)
		live[st->gpus[i].minor & 255] = true;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/proc/driver/nvidia/capabilities", root);
	prune(dir, "gpu", live, 256);
	return 0;
}

static int make_node(const char *root, const char *rel, unsigned int major, unsigned int minor, mode_t mode,
		     char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat sb;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, rel) >= sizeof(path))
		return sim_errorf(err, errlen, "simulator root path is too long: %s", root);
	if (lstat(path, &sb) == 0) {
		if (S_ISCHR(sb.st_mode) && major(sb.st_rdev) == major && minor(sb.st_rdev) == minor)
			return 0;
		if (unlink(path) != 0)
			return sim_errorf(err, errlen, "cannot replace %s: %s", path, strerror(errno));
	}
	if (mknod(path, S_IFCHR | mode, makedev(major, minor)) != 0) {
		int e = errno;
		return sim_errorf(err, errlen,
				  "mknod %s (character device %u:%u) refused: %s; device nodes need root (CAP_MKNOD) "
				  "on a file system that allows them",
				  path, major, minor, strerror(e));
	}
	if (chmod(path, mode) != 0)
		return sim_errorf(err, errlen, "cannot set the mode of %s: %s", path, strerror(errno));
	return 0;
}

int sim_devnodes_make(const char *root, const struct sim_state *st, char *err, size_t errlen)
{
	char rel[64];
	if (make_dirs(root, "dev/nvidia-caps", err, errlen) ||
	    make_node(root, "dev/nvidiactl", SIM_NVIDIA_MAJOR, 255, 0666, err, errlen) ||
	    make_node(root, "dev/nvidia-uvm", SIM_UVM_MAJOR, 0, 0666, err, errlen) ||
	    make_node(root, "dev/nvidia-uvm-tools", SIM_UVM_MAJOR, 1, 0666, err, errlen) ||
	    make_node(root, "dev/nvidia-caps/nvidia-cap1", SIM_CAPS_MAJOR, 1, 0400, err, errlen) ||
	    make_node(root, "dev/nvidia-caps/nvidia-cap2", SIM_CAPS_MAJOR, 2, 0444, err, errlen))
		return -1;
	for (unsigned int i = 0; i < st->ngpus; i++) {
		snprintf(rel, sizeof(rel), "dev/nvidia%u", st->gpus[i].minor);
		if (make_node(root, rel, SIM_NVIDIA_MAJOR, st->gpus[i].minor, 0666, err, errlen))
			return -1;
	}
	return 0;
}
