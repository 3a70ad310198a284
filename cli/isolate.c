/* SPDX-License-Identifier: MIT */
/*
 * migctl run --isolate: one cgroup v1 devices cgroup per run. Everything is denied ("a" in
 * devices.deny), then allowed one by one: the lease's MIG device (its GPU's /dev/nvidia<minor>
 * and its GPU and compute instance capability nodes), the control nodes (/dev/nvidiactl,
 * /dev/nvidia-uvm, /dev/nvidia-uvm-tools) and the harmless nodes every program expects. The
 * numbers come from libmig's device-node reading. The child joins the cgroup itself, between
 * fork and exec; the cgroup is removed when the command ends, and a cgroup left behind by a
 * killed migctl is removed by the next run --isolate.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "isolate.h"

#define PREFIX "migctl-run."

/* The harmless nodes: null, zero, full, random, urandom, tty, ptmx and the pseudo-terminals. */
static const char *const harmless[] = {"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
				       "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm"};

/* /proc/mounts escapes blanks and backslashes as \ooo. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
		    p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

/* The devices hierarchy's mount point; v2 set when a cgroup2 file system is mounted. */
static int find_mount(const char *mounts, char *out, size_t len, bool *v2)
{
	FILE *f = fopen(mounts, "re");
	char line[4096];
	int rc = -1;
	*v2 = false;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char dev[256], dir[PATH_MAX], type[64], opts[1024];
		if (sscanf(line, "%255s %4095s %63s %1023s", dev, dir, type, opts) != 4)
			continue;
		if (strcmp(type, "cgroup2") == 0)
			*v2 = true;
		if (rc == 0 || strcmp(type, "cgroup") != 0 || !has_word(opts, "devices"))
			continue;
		unescape(dir);
		if (strlen(dir) < len) {
			snprintf(out, len, "%s", dir);
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

/* This process's cgroup in the devices hierarchy ("/" at the top). */
static int own_cgroup(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4096];
	int rc = -1;
	if (!f)
		return -1;
	while (rc != 0 && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (!has_word(c1 + 1, "devices"))
			continue;
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		if (strlen(c2 + 1) < len) {
			snprintf(out, len, "%s", c2 + 1);
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Kill what runs in the cgroup at path and remove it; -1 (errno) when it stays. */
static int empty_and_remove(const char *path)
{
	char procs[PATH_MAX + 16];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
	for (int round = 0; round < 100; round++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -1;
		FILE *f = fopen(procs, "re");
		long pid;
		while (f && fscanf(f, "%ld", &pid) == 1)
			if (pid > 0)
				kill((pid_t)pid, SIGKILL);
		if (f)
			fclose(f);
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	errno = EBUSY;
	return -1;
}

/* The cgroups of runs whose migctl is gone: their leases ended with it. */
static void remove_stale(struct cli *c, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0)
			continue;
		long pid = strtol(e->d_name + strlen(PREFIX), &end, 10);
		if (pid <= 0 || *end != '.' || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		char path[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		if (empty_and_remove(path) == 0) {
			if (c->verbose)
				fprintf(stderr, "migctl: run: removed the device cgroup %s of a run whose migctl died\n",
					path);
		} else {
			fprintf(stderr, "migctl: warning: cannot remove the device cgroup %s of a run whose migctl died: %s\n",
				path, strerror(errno));
		}
	}
	closedir(d);
}

int cli_isolate_check(struct cli *c, struct cli_isolation *iso)
{
	const char *mounts = getenv("MIGCTL_CGROUP_MOUNTS");
	char mnt[PATH_MAX], own[PATH_MAX];
	bool v2;
	memset(iso, 0, sizeof(*iso));
	if (!mounts || !*mounts)
		mounts = "/proc/self/mounts";
	if (find_mount(mounts, mnt, sizeof(mnt), &v2) != 0)
		return cli_fail(c,
				"run --isolate: no cgroup v1 devices controller is mounted (%s)%s; --isolate supports "
				"only the cgroup v1 devices controller (a BPF device program for cgroup v2 is not "
				"implemented); run the command in a container with the MIG device's CDI name, or in a "
				"systemd scope with DevicePolicy=closed and DeviceAllow=, instead; nothing was leased",
				mounts, v2 ? ": this host has cgroup v2 only" : ""),
		       -1;
	if (own_cgroup(own, sizeof(own)) != 0)
		snprintf(own, sizeof(own), "/");
	if (snprintf(iso->dir, sizeof(iso->dir), "%s%s", mnt, strcmp(own, "/") == 0 ? "" : own) >=
	    (int)sizeof(iso->dir))
		return cli_fail(c, "run --isolate: the cgroup path %s%s is too long; nothing was leased", mnt, own), -1;
	remove_stale(c, iso->dir);
	return 0;
}

static int allow(struct cli_isolation *iso, const char *rule)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/devices.allow", iso->path);
	return write_file(path, rule);
}

static int allow_node(struct cli_isolation *iso, const struct mig_devnode *d)
{
	char rule[64];
	size_t len = strlen(iso->nodes);
	snprintf(iso->nodes + len, sizeof(iso->nodes) - len, "%s%s", len ? " " : "", d->path);
	snprintf(rule, sizeof(rule), "c %u:%u rw", d->major, d->minor);
	return allow(iso, rule);
}

int cli_isolate_create(struct cli *c, const struct mig_lease *l, struct cli_isolation *iso)
{
	struct mig_node *node = NULL;
	struct mig_error err;
	const struct mig_ci *ci;
	const char *what = NULL;
	char deny[PATH_MAX + 16];
	int rc = -1;
	mig_error_reset(&err);
	/* the lease's GPU only; as nvidia-modprobe does, make the capability nodes that are missing */
	if (mig_node_read_gpus(c->ctx, l->gpu_uuid, MIG_READ_BASIC, &node, &err) ||
	    mig_node_read_devnodes(c->ctx, node, MIG_DEVNODES_CREATE, &err)) {
		cli_fail(c, "run --isolate: cannot read the device nodes of %s: %s", l->mig_uuid, err.msg);
		goto out;
	}
	if (!node->devnodes || !node->devnodes->known || !(ci = mig_node_find_device(node, l->mig_uuid, NULL, NULL)) || !ci->devnodes) {
		cli_fail(c, "run --isolate: the device nodes of %s are not known (%s), so nothing could be allowed",
			 l->mig_uuid, node->devnodes && node->devnodes->error[0] ? node->devnodes->error : "not on the node");
		goto out;
	}
	if (snprintf(iso->path, sizeof(iso->path), "%s/" PREFIX "%ld.%s", iso->dir, (long)getpid(), l->id) >=
	    (int)sizeof(iso->path)) {
		cli_fail(c, "run --isolate: the cgroup path under %s is too long", iso->dir);
		goto out;
	}
	snprintf(iso->procs, sizeof(iso->procs), "%s/cgroup.procs", iso->path);
	snprintf(deny, sizeof(deny), "%s/devices.deny", iso->path);
	if (mkdir(iso->path, 0755) != 0) {
		cli_fail(c, "run --isolate: cannot create the device cgroup %s: %s%s", iso->path, strerror(errno),
			 errno == EACCES || errno == EPERM || errno == EROFS
				 ? " (--isolate needs root, or a devices cgroup delegated to this user)"
				 : "");
		goto out;
	}
	iso->created = true;
	iso->nodes[0] = '\0';
	if (write_file(deny, "a") != 0) {
		what = "deny every device";
		goto refused;
	}
	for (size_t i = 0; i < sizeof(harmless) / sizeof(harmless[0]); i++)
		if (allow(iso, harmless[i]) != 0) {
			what = harmless[i];
			goto refused;
		}
	const struct mig_devnode *mine[3] = {&ci->devnodes->gpu, &ci->devnodes->gi_cap, &ci->devnodes->ci_cap};
	for (size_t i = 0; i < 3; i++)
		if (allow_node(iso, mine[i]) != 0) {
			what = mine[i]->path;
			goto refused;
		}
	for (size_t i = 0; i < node->devnodes->ncontrol; i++)
		if (allow_node(iso, &node->devnodes->control[i]) != 0) {
			what = node->devnodes->control[i].path;
			goto refused;
		}
	rc = 0;
	goto out;
refused:
	cli_fail(c, "run --isolate: the device cgroup %s refused '%s': %s", iso->path, what, strerror(errno));
	cli_isolate_remove(iso);
out:
	mig_node_free(node);
	return rc;
}

int cli_isolate_join(const struct cli_isolation *iso)
{
	char buf[24];
	size_t n = sizeof(buf);
	long pid = (long)getpid();
	/* the pid in decimal, without stdio */
	buf[--n] = '\0';
	do {
		buf[--n] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid && n);
	int fd = open(iso->procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	ssize_t w = write(fd, buf + n, strlen(buf + n));
	int e = w < 0 ? errno : 0;
	close(fd);
	return e;
}

void cli_isolate_remove(struct cli_isolation *iso)
{
	if (!iso->created)
		return;
	if (empty_and_remove(iso->path) != 0)
		fprintf(stderr, "migctl: warning: cannot remove the device cgroup %s: %s; the next run --isolate removes it\n",
			iso->path, strerror(errno));
	iso->created = false;
}
