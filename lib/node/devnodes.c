/* SPDX-License-Identifier: MIT */
/*
 * Device nodes of GPUs and MIG devices, as the driver lays them out: the GPU's
 * /dev/nvidia<minor> (minor from NVML, never the index), the GPU- and compute-instance
 * capability nodes /dev/nvidia-caps/nvidia-cap<N> (N from the static table
 * /proc/driver/nvidia-caps/mig-minors), the majors from /proc/devices, and the control nodes.
 * Every file is read under the context's root.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

#define NVIDIA_MAJOR 195
#define CTL_MINOR 255
#define MAX_GI_IDS 15 /* GPU instance ids 0..14 */
#define MAX_CI_IDS 8
#define MINORS_MAX_BYTES (1u << 20)

int mig_ctx_set_root(struct mig_ctx *ctx, const char *root, struct mig_error *err)
{
	char *copy = NULL;
	if (root && *root && strcmp(root, "/") != 0) {
		if (strlen(root) >= sizeof(((struct mig_node_devnodes *)0)->root))
			return mig_error_set(err, MIG_E_INVALID, "root %s is too long", root);
		copy = strdup(root);
		if (!copy)
			return mig_error_set(err, MIG_E_NOMEM, "out of memory");
		/* "/x/" and "/x" are the same root */
		size_t n = strlen(copy);
		while (n > 1 && copy[n - 1] == '/')
			copy[--n] = '\0';
	} else {
		copy = strdup("/");
		if (!copy)
			return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	free(ctx->root);
	ctx->root = copy;
	return 0;
}

const char *mig_ctx_root(struct mig_ctx *ctx)
{
	if (ctx->root)
		return ctx->root;
	/* The simulator answers for itself, as it does for the admin check. */
	nvmlReturn_t (*get_root)(char *, unsigned int);
	void *sym = ctx->nvml->dl ? dlsym(ctx->nvml->dl, "migsimGetRoot") : NULL;
	memcpy(&get_root, &sym, sizeof(sym));
	char buf[4096];
	if (get_root && get_root(buf, sizeof(buf)) == NVML_SUCCESS && buf[0] &&
	    mig_ctx_set_root(ctx, buf, NULL) == 0)
		return ctx->root;
	if (mig_ctx_set_root(ctx, "/", NULL) == 0)
		return ctx->root;
	return "/";
}

bool mig_ctx_simulated(const struct mig_ctx *ctx)
{
	return ctx->nvml->dl && dlsym(ctx->nvml->dl, "migsimGetRoot") != NULL;
}

/* root + path ("/dev/x"), with no double slash for the root "/". */
static int under_root(const char *root, const char *path, char *out, size_t len)
{
	int n = snprintf(out, len, "%s%s", strcmp(root, "/") == 0 ? "" : root, path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Read a whole (small, /proc-like) file; -1 with errno on failure. */
static int slurp(const char *path, char **text, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = mig_read_all(fd, MINORS_MAX_BYTES, text, len);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* The major of a character device named name in /proc/devices' text; -1 if absent. */
static long proc_major(const char *text, const char *name)
{
	const char *p = text;
	bool chars = false;
	size_t nlen = strlen(name);
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p) : strlen(p);
		if (l >= 10 && strncmp(p, "Character", 9) == 0)
			chars = true;
		else if (l >= 5 && strncmp(p, "Block", 5) == 0)
			chars = false;
		else if (chars) {
			char *end;
			long m = strtol(p, &end, 10);
			while (*end == ' ')
				end++;
			if (end != p && (size_t)(end - p) + nlen == l && strncmp(end, name, nlen) == 0)
				return m;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return -1;
}

/* The capability minors of mig-minors: tab[(gpu * 15 + gi) * 9 + (ci + 1)], 0 when absent. */
struct minors {
	unsigned int *tab;
	unsigned int ngpus; /* device minors 0 .. ngpus-1 */
};

static unsigned int minors_at(const struct minors *m, unsigned int gpu, unsigned int gi, int ci)
{
	if (gpu >= m->ngpus || gi >= MAX_GI_IDS || ci >= MAX_CI_IDS)
		return 0;
	return m->tab[((size_t)gpu * MAX_GI_IDS + gi) * (MAX_CI_IDS + 1) + (size_t)(ci + 1)];
}

/* "gpu<N>/gi<G>[/ci<C>]/access <minor>" lines; other lines (config, monitor) are skipped. */
static int parse_minors(const char *text, struct minors *m, unsigned int max_gpu)
{
	m->ngpus = max_gpu + 1;
	m->tab = calloc((size_t)m->ngpus * MAX_GI_IDS * (MAX_CI_IDS + 1), sizeof(*m->tab));
	if (!m->tab)
		return -1;
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		if (strncmp(p, "gpu", 3) == 0) {
			char *end;
			unsigned long gpu = strtoul(p + 3, &end, 10), gi, ci = 0, minor;
			bool has_ci = false;
			if (strncmp(end, "/gi", 3) != 0)
				goto next;
			gi = strtoul(end + 3, &end, 10);
			if (strncmp(end, "/ci", 3) == 0) {
				ci = strtoul(end + 3, &end, 10);
				has_ci = true;
			}
			if (strncmp(end, "/access ", 8) != 0)
				goto next;
			minor = strtoul(end + 8, &end, 10);
			if (gpu < m->ngpus && gi < MAX_GI_IDS && ci < MAX_CI_IDS && minor > 0 && minor <= 0xfffff)
				m->tab[(gpu * MAX_GI_IDS + gi) * (MAX_CI_IDS + 1) + (has_ci ? ci + 1 : 0)] =
					(unsigned int)minor;
		}
	next:
		if (!eol)
			break;
		p = eol + 1;
	}
	return 0;
}

static void node_set(struct mig_devnode *d, const char *root, const char *path, unsigned int major,
		     unsigned int minor, unsigned int mode)
{
	char full[PATH_MAX];
	struct stat sb;
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->major = major;
	d->minor = minor;
	d->mode = mode;
	d->exists = under_root(root, path, full, sizeof(full)) == 0 && lstat(full, &sb) == 0 &&
		    S_ISCHR(sb.st_mode) && major(sb.st_rdev) == major && minor(sb.st_rdev) == minor;
}

/* DeviceFileMode of a capability's access file (octal bits), or 0444 when unreadable. */
static unsigned int access_mode(const char *root, unsigned int gpu_minor, unsigned int gi, int ci,
				unsigned int want_minor, struct mig_error *err, int *bad)
{
	char rel[160], full[PATH_MAX];
	if (ci < 0)
		snprintf(rel, sizeof(rel), "/proc/driver/nvidia/capabilities/gpu%u/mig/gi%u/access", gpu_minor, gi);
	else
		snprintf(rel, sizeof(rel), "/proc/driver/nvidia/capabilities/gpu%u/mig/gi%u/ci%d/access", gpu_minor,
			 gi, ci);
	char *text = NULL;
	size_t len;
	if (under_root(root, rel, full, sizeof(full)) || slurp(full, &text, &len))
		return 0444;
	unsigned int mode = 0444;
	const char *m = strstr(text, "DeviceFileMode:"), *mi = strstr(text, "DeviceFileMinor:");
	if (m)
		mode = (unsigned int)strtoul(m + 15, NULL, 10) & 0777;
	if (mi && strtoul(mi + 16, NULL, 10) != want_minor) {
		mig_error_set(err, MIG_E_INVALID, "%s says DeviceFileMinor %lu but mig-minors says %u", full,
			      strtoul(mi + 16, NULL, 10), want_minor);
		*bad = 1;
	}
	free(text);
	return mode;
}

/* mknod a missing capability node, as nvidia-modprobe -f does. */
static int make_cap(const char *root, struct mig_devnode *d, struct mig_error *err)
{
	char full[PATH_MAX], dir[PATH_MAX], dev[PATH_MAX];
	if (d->exists)
		return 0;
	if (under_root(root, d->path, full, sizeof(full)) || under_root(root, "/dev/nvidia-caps", dir, sizeof(dir)) ||
	    under_root(root, "/dev", dev, sizeof(dev)))
		return mig_error_set(err, MIG_E_INVALID, "root %s is too long", root);
	if ((mkdir(dev, 0755) != 0 && errno != EEXIST) || (mkdir(dir, 0755) != 0 && errno != EEXIST))
		return mig_error_set(err, errno == EACCES || errno == EPERM ? MIG_E_PERMISSION : MIG_E_INVALID,
				     "cannot create %s: %s", dir, strerror(errno));
	struct stat sb;
	if (lstat(full, &sb) == 0 && unlink(full) != 0)
		return mig_error_set(err, MIG_E_PERMISSION, "cannot replace %s (not a character device %u:%u): %s",
				     full, d->major, d->minor, strerror(errno));
	if (mknod(full, S_IFCHR | d->mode, makedev(d->major, d->minor)) != 0 || chmod(full, d->mode) != 0) {
		int e = errno;
		return mig_error_set(err, e == EPERM || e == EACCES ? MIG_E_PERMISSION : MIG_E_INVALID,
				     "cannot create the capability node %s (character device %u:%u): %s%s", full, d->major,
				     d->minor, strerror(e),
				     e == EPERM ? "; creating device nodes needs root (CAP_MKNOD)" : "");
	}
	d->exists = true;
	return 0;
}

static void note(struct mig_node_devnodes *nd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct mig_node_devnodes *nd, const char *fmt, ...)
{
	if (!nd->known)
		return; /* keep the first reason */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(nd->error, sizeof(nd->error), fmt, ap);
	va_end(ap);
	nd->known = false;
}

static void clear(struct mig_node *node)
{
	free(node->devnodes);
	node->devnodes = NULL;
	for (size_t i = 0; i < node->ngpus; i++) {
		struct mig_gpu *g = &node->gpus[i];
		for (size_t k = 0; k < g->ngis; k++)
			for (size_t c = 0; c < g->gis[k].ncis; c++) {
				free(g->gis[k].cis[c].devnodes);
				g->gis[k].cis[c].devnodes = NULL;
			}
	}
}

int mig_node_read_devnodes(struct mig_ctx *ctx, struct mig_node *node, unsigned int flags, struct mig_error *err)
{
	clear(node);
	struct mig_node_devnodes *nd = calloc(1, sizeof(*nd));
	if (!nd)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	node->devnodes = nd;
	nd->known = true;
	const char *root = mig_ctx_root(ctx);
	snprintf(nd->root, sizeof(nd->root), "%s", root);

	/* the GPUs' minors */
	unsigned int max_minor = 0;
	for (size_t i = 0; i < node->ngpus; i++) {
		struct mig_gpu *g = &node->gpus[i];
		nvmlDevice_t dev = NULL;
		unsigned int minor;
		if (g->minor_known) { /* read with the node (MIG_READ_DEVNODES) */
			if (g->minor > max_minor)
				max_minor = g->minor;
			continue;
		}
		nvmlReturn_t rc = NVML_CALL(ctx, nvmlDeviceGetHandleByIndex_v2, g->index, &dev);
		if (rc == NVML_SUCCESS)
			rc = NVML_CALL(ctx, nvmlDeviceGetMinorNumber, dev, &minor);
		if (rc != NVML_SUCCESS) {
			g->minor_known = false;
			const char *why = ctx->nvml->nvmlErrorString ? ctx->nvml->nvmlErrorString(rc) : "error";
			note(nd, "reading the device minor number of GPU %u: %s", g->index, why);
			continue;
		}
		g->minor_known = true;
		g->minor = minor;
		if (minor > max_minor)
			max_minor = minor;
	}

	/* majors */
	char path[PATH_MAX];
	char *text = NULL;
	size_t len;
	long caps = -1, uvm = -1;
	if (under_root(root, "/proc/devices", path, sizeof(path)) == 0 && slurp(path, &text, &len) == 0) {
		caps = proc_major(text, "nvidia-caps");
		uvm = proc_major(text, "nvidia-uvm");
		free(text);
		text = NULL;
	} else {
		note(nd, "cannot read %s: %s", path, strerror(errno));
	}
	nd->caps_major = caps < 0 ? 0 : (unsigned int)caps;
	nd->has_uvm = uvm >= 0;
	nd->uvm_major = uvm < 0 ? 0 : (unsigned int)uvm;
	node_set(&nd->control[nd->ncontrol++], root, "/dev/nvidiactl", NVIDIA_MAJOR, CTL_MINOR, 0666);
	if (nd->has_uvm) {
		node_set(&nd->control[nd->ncontrol++], root, "/dev/nvidia-uvm", nd->uvm_major, 0, 0666);
		node_set(&nd->control[nd->ncontrol++], root, "/dev/nvidia-uvm-tools", nd->uvm_major, 1, 0666);
	}

	/* capability minors, only when some MIG device needs them */
	bool any = false;
	for (size_t i = 0; i < node->ngpus && !any; i++)
		for (size_t k = 0; k < node->gpus[i].ngis && !any; k++)
			any = node->gpus[i].gis[k].ncis > 0;
	if (!any)
		return 0;
	if (caps < 0 && nd->known)
		note(nd, "%s has no nvidia-caps line (is the nvidia kernel module loaded, with MIG support?)", path);
	struct minors m = {0};
	bool have_minors = false;
	if (under_root(root, "/proc/driver/nvidia-caps/mig-minors", path, sizeof(path)) == 0 &&
	    slurp(path, &text, &len) == 0) {
		if (parse_minors(text, &m, max_minor)) {
			free(text);
			return mig_error_set(err, MIG_E_NOMEM, "out of memory");
		}
		free(text);
		have_minors = true;
	} else {
		note(nd, "cannot read %s: %s (MIG capability minors come from it; is the nvidia kernel module loaded, "
			 "with MIG support?)",
		     path, strerror(errno));
	}

	int ret = 0;
	for (size_t i = 0; i < node->ngpus; i++) {
		struct mig_gpu *g = &node->gpus[i];
		if (!g->minor_known || !have_minors)
			continue;
		for (size_t k = 0; k < g->ngis; k++) {
			struct mig_gi *gi = &g->gis[k];
			for (size_t c = 0; c < gi->ncis; c++) {
				struct mig_ci *ci = &gi->cis[c];
				unsigned int gim = minors_at(&m, g->minor, gi->id, -1);
				unsigned int cim = minors_at(&m, g->minor, gi->id, (int)ci->id);
				if (!gim || !cim) {
					char cap[64];
					if (!gim)
						snprintf(cap, sizeof(cap), "gpu%u/gi%u/access", g->minor, gi->id);
					else
						snprintf(cap, sizeof(cap), "gpu%u/gi%u/ci%u/access", g->minor, gi->id, ci->id);
					note(nd,
					     "%s has no line for %s (GPU instance %u, compute instance %u on GPU %u): the "
					     "driver's capability table and NVML disagree; reload the nvidia module or reboot",
					     path, cap, gi->id, ci->id, g->index);
					continue;
				}
				struct mig_ci_devnodes *dn = calloc(1, sizeof(*dn));
				if (!dn) {
					free(m.tab);
					return mig_error_set(err, MIG_E_NOMEM, "out of memory");
				}
				ci->devnodes = dn;
				char p[MIG_DEVNODE_PATH_MAX];
				snprintf(p, sizeof(p), "/dev/nvidia%u", g->minor);
				node_set(&dn->gpu, root, p, NVIDIA_MAJOR, g->minor, 0666);
				unsigned int gmode = 0444, cmode = 0444;
				int bad = 0;
				if (flags & MIG_DEVNODES_CREATE) {
					gmode = access_mode(root, g->minor, gi->id, -1, gim, err, &bad);
					cmode = access_mode(root, g->minor, gi->id, (int)ci->id, cim, err, &bad);
				}
				snprintf(p, sizeof(p), "/dev/nvidia-caps/nvidia-cap%u", gim);
				node_set(&dn->gi_cap, root, p, nd->caps_major, gim, gmode);
				snprintf(p, sizeof(p), "/dev/nvidia-caps/nvidia-cap%u", cim);
				node_set(&dn->ci_cap, root, p, nd->caps_major, cim, cmode);
				if (bad) {
					note(nd, "%s", err ? err->msg : "a capability file disagrees with mig-minors");
					continue;
				}
				if ((flags & MIG_DEVNODES_CREATE) && nd->caps_major && ret == 0 &&
				    (make_cap(root, &dn->gi_cap, err) || make_cap(root, &dn->ci_cap, err)))
					ret = -1;
			}
		}
	}
	free(m.tab);
	return ret;
}
