/* SPDX-License-Identifier: MIT */
/*
 * CDI specs (Container Device Interface) of the node's MIG devices and whole GPUs: built as
 * a JSON tree, emitted as JSON (jansson) or YAML (libyaml's emitter), written atomically.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <yaml.h>

#include "internal.h"

#define DEFAULT_VENDOR "nvidia.com"
#define DEFAULT_CLASS "mig"

static const char *vendor_of(const struct mig_cdi_options *o)
{
	return o && o->vendor && *o->vendor ? o->vendor : DEFAULT_VENDOR;
}

static const char *class_of(const struct mig_cdi_options *o)
{
	return o && o->class_name && *o->class_name ? o->class_name : DEFAULT_CLASS;
}

/* CDI's rules: vendor [A-Za-z][A-Za-z0-9._-]*[A-Za-z0-9], class [A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9]. */
static const char *kind_part_problem(const char *s, bool dots)
{
	size_t n = strlen(s);
	if (n == 0)
		return "is empty";
	if (!isalpha((unsigned char)s[0]))
		return "does not start with a letter";
	if (!isalnum((unsigned char)s[n - 1]))
		return "does not end with a letter or digit";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!isalnum(ch) && ch != '-' && ch != '_' && !(dots && ch == '.'))
			return dots ? "has a character other than letters, digits, '-', '_' and '.'"
				    : "has a character other than letters, digits, '-' and '_'";
	}
	return NULL;
}

int mig_cdi_check_kind(const char *vendor, const char *class_name, struct mig_error *err)
{
	const char *why;
	if (vendor && (why = kind_part_problem(vendor, true)) != NULL)
		return mig_error_set(err, MIG_E_INVALID,
				     "CDI vendor '%s' %s; CDI accepts a vendor that starts with a letter, ends with a "
				     "letter or digit, and has only letters, digits, '-', '_' and '.' (e.g. nvidia.com)",
				     vendor, why);
	if (class_name && (why = kind_part_problem(class_name, false)) != NULL)
		return mig_error_set(err, MIG_E_INVALID,
				     "CDI class '%s' %s; CDI accepts a class that starts with a letter, ends with a "
				     "letter or digit, and has only letters, digits, '-' and '_' (e.g. mig or gpu)",
				     class_name, why);
	return 0;
}

const char *mig_cdi_min_version(const char *const *names, size_t n)
{
	/* CDI 0.5.0 allows device names that start with a digit ("0:1"); before, a letter. */
	for (size_t i = 0; i < n; i++)
		if (isdigit((unsigned char)names[i][0]))
			return "0.5.0";
	return "0.3.0";
}

/* ---- names ---------------------------------------------------------------- */

struct namebuf {
	char (*name)[MIG_UUID_MAX + 16];
	size_t n, cap;
};

static int add_name(struct namebuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_name(struct namebuf *b, const char *fmt, ...)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		void *p = realloc(b->name, cap * sizeof(*b->name));
		if (!p)
			return -1;
		b->name = p;
		b->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->name[b->n++], sizeof(b->name[0]), fmt, ap);
	va_end(ap);
	return 0;
}

/* MIG devices of a GPU in NVML's index order. */
static size_t mig_devices(const struct mig_gpu *g, const struct mig_ci **out, size_t max)
{
	size_t n = 0;
	for (size_t k = 0; k < g->ngis; k++)
		for (size_t c = 0; c < g->gis[k].ncis && n < max; c++)
			out[n++] = &g->gis[k].cis[c];
	/* insertion sort by mig_index (unknown, -1, last) */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			int a = out[j - 1]->mig_index, b = out[j]->mig_index;
			if ((a < 0 ? 1 << 20 : a) <= (b < 0 ? 1 << 20 : b))
				break;
			const struct mig_ci *t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

#define MAX_MIG_PER_GPU 64

/* ---- the spec as a JSON tree -------------------------------------------------------- */

static json_t *devnode_json(const struct mig_devnode *d, const char *root)
{
	json_t *o = json_object();
	json_object_set_new(o, "path", json_string(d->path));
	if (strcmp(root, "/") != 0) {
		char host[PATH_MAX];
		snprintf(host, sizeof(host), "%s%s", root, d->path);
		json_object_set_new(o, "hostPath", json_string(host));
	}
	json_object_set_new(o, "type", json_string("c"));
	json_object_set_new(o, "major", json_integer(d->major));
	json_object_set_new(o, "minor", json_integer(d->minor));
	return o;
}

static json_t *device_json(const char *name, json_t *nodes, const char *visible)
{
	json_t *edits = json_object();
	if (visible) {
		char env[MIG_UUID_MAX + 32];
		snprintf(env, sizeof(env), "CUDA_VISIBLE_DEVICES=%s", visible);
		json_object_set_new(edits, "env", json_pack("[s]", env));
	}
	json_object_set_new(edits, "deviceNodes", nodes);
	return json_pack("{s:s, s:o}", "name", name, "containerEdits", edits);
}

/* Append a node to arr unless a node with that path is there. */
static void add_unique(json_t *arr, const struct mig_devnode *d, const char *root)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "path")), d->path) == 0)
			return;
	}
	json_array_append_new(arr, devnode_json(d, root));
}

static const char *const driver_libs[] = {
	"libcuda.so",		 "libnvidia-ml.so",	 "libnvidia-ptxjitcompiler.so", "libnvidia-nvvm.so",
	"libcudadebugger.so",	 "libnvidia-gpucomp.so", "libnvidia-allocator.so",	 "libnvidia-cfg.so",
	"libnvidia-opencl.so",	 NULL,
};
static const char *const driver_lib_dirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
					      "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu", NULL};
static const char *const driver_bins[] = {"/usr/bin/nvidia-smi", "/usr/bin/nvidia-debugdump",
					  "/usr/bin/nvidia-persistenced", "/usr/bin/nvidia-cuda-mps-control",
					  "/usr/bin/nvidia-cuda-mps-server", NULL};

static void add_mount(json_t *mounts, const char *driver_root, const char *path)
{
	char host[PATH_MAX];
	snprintf(host, sizeof(host), "%s%s", strcmp(driver_root, "/") == 0 ? "" : driver_root, path);
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:[s,s,s,s]}", "hostPath", host, "containerPath", path,
						"options", "ro", "nosuid", "nodev", "bind"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The driver's user-space files under driver_root, as read-only bind mounts (sorted, so the
 * spec does not change from one run to the next). */
static int driver_mounts(const char *driver_root, json_t *mounts, struct mig_error *err)
{
	struct stat sb;
	if (stat(driver_root, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return mig_error_set(err, MIG_E_NOT_FOUND, "driver root %s is not a directory: %s", driver_root,
				     strerror(errno ? errno : ENOTDIR));
	size_t found = 0;
	for (size_t d = 0; driver_lib_dirs[d]; d++) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s%s", strcmp(driver_root, "/") == 0 ? "" : driver_root, driver_lib_dirs[d]);
		DIR *dh = opendir(dir);
		if (!dh)
			continue;
		char *names[256] = {NULL};
		size_t n = 0;
		const struct dirent *e;
		while ((e = readdir(dh)) != NULL && n < 256)
			for (size_t l = 0; driver_libs[l]; l++) {
				size_t ln = strlen(driver_libs[l]);
				/* libcuda.so.1, libcuda.so.550.54.14: the versioned names, not the dev link */
				if (strncmp(e->d_name, driver_libs[l], ln) == 0 && e->d_name[ln] == '.') {
					names[n] = strdup(e->d_name);
					if (names[n])
						n++;
					break;
				}
			}
		closedir(dh);
		qsort(names, n, sizeof(names[0]), cmp_str);
		for (size_t i = 0; i < n; i++) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", driver_lib_dirs[d], names[i]);
			add_mount(mounts, driver_root, path);
			free(names[i]);
			found++;
		}
	}
	for (size_t b = 0; driver_bins[b]; b++) {
		char host[PATH_MAX];
		snprintf(host, sizeof(host), "%s%s", strcmp(driver_root, "/") == 0 ? "" : driver_root, driver_bins[b]);
		if (access(host, F_OK) == 0) {
			add_mount(mounts, driver_root, driver_bins[b]);
			found++;
		}
	}
	if (found == 0)
		return mig_error_set(err, MIG_E_NOT_FOUND,
				     "no driver files (libcuda.so.*, libnvidia-ml.so.*, nvidia-smi) under driver root %s; "
				     "give the directory the NVIDIA driver is installed under (usually /)",
				     driver_root);
	return 0;
}

static json_t *spec_json(const struct mig_node *node, const struct mig_cdi_options *opt, struct mig_error *err)
{
	const struct mig_node_devnodes *nd = node->devnodes;
	if (opt && MIG_CHECK_RESERVED(opt, "struct mig_cdi_options", err))
		return NULL;
	if (!nd)
		return mig_error_set(err, MIG_E_INVALID, "the node's device nodes were not read"), NULL;
	if (!nd->known)
		return mig_error_set(err, MIG_E_NOT_FOUND, "cannot tell the device nodes of the MIG devices: %s", nd->error),
		       NULL;
	if (mig_cdi_check_kind(vendor_of(opt), class_of(opt), err))
		return NULL;
	const char *root = nd->root[0] ? nd->root : "/";
	json_t *devices = json_array(), *all = json_array();
	struct namebuf names = {0};
	for (size_t i = 0; i < node->ngpus; i++) {
		const struct mig_gpu *g = &node->gpus[i];
		if (!g->minor_known)
			continue;
		struct mig_devnode gpu_node = {.major = 195, .minor = g->minor, .mode = 0666};
		snprintf(gpu_node.path, sizeof(gpu_node.path), "/dev/nvidia%u", g->minor);
		if (!opt || !opt->no_whole_gpus) {
			char name[32];
			snprintf(name, sizeof(name), "%u", g->index);
			json_array_append_new(devices, device_json(name, json_pack("[o]", devnode_json(&gpu_node, root)),
								    g->uuid));
			json_array_append_new(devices, device_json(g->uuid, json_pack("[o]", devnode_json(&gpu_node, root)),
								    g->uuid));
			add_name(&names, "%s", name);
			add_unique(all, &gpu_node, root);
		}
		const struct mig_ci *migs[MAX_MIG_PER_GPU];
		size_t n = mig_devices(g, migs, MAX_MIG_PER_GPU);
		for (size_t k = 0; k < n; k++) {
			const struct mig_ci *ci = migs[k];
			if (!ci->devnodes || ci->mig_index < 0 || !ci->uuid[0])
				continue;
			for (int twice = 0; twice < 2; twice++) {
				char name[MIG_UUID_MAX + 16];
				if (twice == 0)
					snprintf(name, sizeof(name), "%u:%d", g->index, ci->mig_index);
				else
					snprintf(name, sizeof(name), "%s", ci->uuid);
				json_t *nodes = json_pack("[o,o,o]", devnode_json(&ci->devnodes->gpu, root),
							  devnode_json(&ci->devnodes->gi_cap, root),
							  devnode_json(&ci->devnodes->ci_cap, root));
				json_array_append_new(devices, device_json(name, nodes, ci->uuid));
				if (twice == 0)
					add_name(&names, "%s", name);
			}
			add_unique(all, &ci->devnodes->gpu, root);
			add_unique(all, &ci->devnodes->gi_cap, root);
			add_unique(all, &ci->devnodes->ci_cap, root);
		}
	}
	json_array_append_new(devices, device_json("all", all, NULL));

	json_t *ctl = json_array();
	for (size_t i = 0; i < nd->ncontrol; i++)
		json_array_append_new(ctl, devnode_json(&nd->control[i], root));
	json_t *edits = json_pack("{s:o}", "deviceNodes", ctl);
	if (opt && opt->driver_root) {
		json_t *mounts = json_array();
		if (driver_mounts(opt->driver_root, mounts, err)) {
			json_decref(mounts);
			json_decref(edits);
			json_decref(devices);
			free(names.name);
			return NULL;
		}
		json_object_set_new(edits, "mounts", mounts);
	}
	const char *ptrs[1] = {NULL};
	const char *version = "0.3.0";
	for (size_t i = 0; i < names.n; i++) {
		ptrs[0] = names.name[i];
		if (strcmp(mig_cdi_min_version(ptrs, 1), "0.5.0") == 0)
			version = "0.5.0";
	}
	if (strcmp(root, "/") != 0)
		version = "0.5.0"; /* deviceNodes hostPath */
	free(names.name);
	char kind[300];
	snprintf(kind, sizeof(kind), "%s/%s", vendor_of(opt), class_of(opt));
	return json_pack("{s:s, s:s, s:o, s:o}", "cdiVersion", version, "kind", kind, "devices", devices,
			 "containerEdits", edits);
}

/* ---- YAML ---------------------------------------------------------------- */

struct ybuf {
	char *p;
	size_t n, cap;
	bool oom;
};

static int ywrite(void *data, unsigned char *buf, size_t size)
{
	struct ybuf *b = data;
	if (b->n + size + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap : 4096);
		while (cap < b->n + size + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return 0;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, buf, size);
	b->n += size;
	b->p[b->n] = '\0';
	return 1;
}

static int yscalar(yaml_emitter_t *em, const char *s, bool quoted)
{
	yaml_event_t ev;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)(uintptr_t)s, (int)strlen(s), 1, 1,
					  quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE))
		return -1;
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

/* Strings are double-quoted ("0:1" would be a number to a YAML 1.1 reader), keys plain. */
static int yemit(yaml_emitter_t *em, json_t *v)
{
	yaml_event_t ev;
	char num[32];
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		json_object_foreach(v, k, x)
		{
			if (yscalar(em, k, false) || yemit(em, x))
				return -1;
		}
		return yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev) ? 0 : -1;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		json_array_foreach(v, i, x)
		{
			if (yemit(em, x))
				return -1;
		}
		return yaml_sequence_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev) ? 0 : -1;
	}
	case JSON_STRING:
		return yscalar(em, json_string_value(v), true);
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return yscalar(em, num, false);
	case JSON_TRUE:
		return yscalar(em, "true", false);
	case JSON_FALSE:
		return yscalar(em, "false", false);
	default:
		return yscalar(em, "null", false);
	}
}

static char *to_yaml(json_t *doc, size_t *len)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	struct ybuf b = {0};
	if (!yaml_emitter_initialize(&em))
		return NULL;
	yaml_emitter_set_output(&em, ywrite, &b);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	bool ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) && yaml_emitter_emit(&em, &ev) &&
		  yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) && yaml_emitter_emit(&em, &ev) &&
		  yemit(&em, doc) == 0 && yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
		  yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev) && yaml_emitter_flush(&em);
	yaml_emitter_delete(&em);
	if (!ok || b.oom || !b.p) {
		free(b.p);
		return NULL;
	}
	*len = b.n;
	return b.p;
}

int mig_cdi_spec(const struct mig_node *node, const struct mig_cdi_options *opt, char **text, size_t *len,
		 struct mig_error *err)
{
	json_t *doc = spec_json(node, opt, err);
	if (!doc)
		return -1;
	char *out;
	if (opt && opt->format == MIG_CDI_JSON) {
		out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (out) {
			size_t n = strlen(out);
			char *nl = realloc(out, n + 2);
			if (!nl) {
				free(out);
				out = NULL;
			} else {
				out = nl;
				out[n] = '\n';
				out[n + 1] = '\0';
				*len = n + 1;
			}
		}
	} else {
		out = to_yaml(doc, len);
	}
	json_decref(doc);
	if (!out)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	*text = out;
	return 0;
}

int mig_cdi_names(const struct mig_node *node, const struct mig_cdi_options *opt, char ***names, size_t *n,
		  struct mig_error *err)
{
	json_t *doc = spec_json(node, opt, err);
	if (!doc)
		return -1;
	json_t *devices = json_object_get(doc, "devices");
	size_t count = json_array_size(devices), bytes = 0, i;
	json_t *d;
	json_array_foreach(devices, i, d) bytes += strlen(json_string_value(json_object_get(d, "name"))) + 1;
	char **out = malloc(count * sizeof(char *) + bytes + 1);
	if (!out) {
		json_decref(doc);
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	char *p = (char *)(out + count);
	json_array_foreach(devices, i, d)
	{
		const char *s = json_string_value(json_object_get(d, "name"));
		size_t l = strlen(s) + 1;
		memcpy(p, s, l);
		out[i] = p;
		p += l;
	}
	json_decref(doc);
	*names = out;
	*n = count;
	return 0;
}

/* ---- writing ---------------------------------------------------------------- */

bool mig_cdi_path_is_file(const char *path)
{
	size_t n = strlen(path);
	return (n > 5 && strcmp(path + n - 5, ".yaml") == 0) || (n > 5 && strcmp(path + n - 5, ".json") == 0);
}

int mig_cdi_write(const char *path, const struct mig_cdi_options *opt, const char *text, size_t len, char *written,
		  size_t written_len, struct mig_error *err)
{
	char dir[PATH_MAX], file[NAME_MAX + 1];
	struct stat sb;
	size_t plen = strlen(path);

	if (plen == 0 || plen >= sizeof(dir))
		return mig_error_set(err, MIG_E_INVALID, "CDI output path '%s' is empty or too long", path);
	if (opt && MIG_CHECK_RESERVED(opt, "struct mig_cdi_options", err))
		return -1;
	if (!mig_cdi_path_is_file(path)) {
		snprintf(dir, sizeof(dir), "%s", path);
		while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
			dir[strlen(dir) - 1] = '\0';
		snprintf(file, sizeof(file), "%s-%s.%s", vendor_of(opt), class_of(opt),
			 opt && opt->format == MIG_CDI_JSON ? "json" : "yaml");
	} else {
		const char *slash = strrchr(path, '/');
		if (slash) {
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash == path ? 1 : slash - path), path);
			snprintf(file, sizeof(file), "%s", slash + 1);
		} else {
			snprintf(dir, sizeof(dir), ".");
			snprintf(file, sizeof(file), "%s", path);
		}
	}

	if (lstat(dir, &sb) != 0) {
		if (errno != ENOENT)
			return mig_error_set(err, MIG_E_INVALID, "cannot inspect %s: %s", dir, strerror(errno));
		if (mkdir(dir, 0755) != 0)
			return mig_error_set(err, errno == EACCES || errno == EPERM ? MIG_E_PERMISSION : MIG_E_INVALID,
					     "cannot create the CDI directory %s: %s; create it (as root) or write the "
					     "spec to a directory you can write",
					     dir, strerror(errno));
		if (lstat(dir, &sb) != 0)
			return mig_error_set(err, MIG_E_INVALID, "cannot inspect %s: %s", dir, strerror(errno));
	}
	uid_t me = geteuid();
	if (S_ISLNK(sb.st_mode) && sb.st_uid != me && sb.st_uid != 0)
		return mig_error_set(err, MIG_E_PERMISSION,
				     "the CDI directory %s is a symbolic link owned by user %u (neither you nor root): "
				     "refusing to follow it, nothing written; remove the link or write the spec "
				     "to a directory of your own",
				     dir, (unsigned int)sb.st_uid);
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return mig_error_set(err, MIG_E_INVALID, "%s is not a directory; write the spec to a directory, or to a file in one",
				     dir);
	if (sb.st_uid != me && sb.st_uid != 0)
		return mig_error_set(err, MIG_E_PERMISSION,
				     "the CDI directory %s belongs to user %u (neither you nor root), who could swap the spec; "
				     "nothing written; write the spec to a directory of your own",
				     dir, (unsigned int)sb.st_uid);
	if ((sb.st_mode & S_IWOTH) && !(sb.st_mode & S_ISVTX))
		return mig_error_set(err, MIG_E_PERMISSION,
				     "the CDI directory %s is writable by everyone (mode %03o): anyone could replace the "
				     "spec; nothing written; chmod o-w %s",
				     dir, (unsigned int)(sb.st_mode & 0777), dir);

	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return mig_error_set(err, MIG_E_PERMISSION, "cannot open the CDI directory %s: %s", dir, strerror(errno));
	if (fstatat(dfd, file, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode)) {
		close(dfd);
		return mig_error_set(err, MIG_E_INVALID, "%s/%s is a directory; nothing written", dir, file);
	}
	char tmp[NAME_MAX + 64];
	snprintf(tmp, sizeof(tmp), ".%.200s.tmp.%ld", file, (long)getpid());
	unlinkat(dfd, tmp, 0); /* a leftover of a killed writer with our pid */
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		close(dfd);
		return mig_error_set(err, e == EACCES || e == EPERM || e == EROFS ? MIG_E_PERMISSION : MIG_E_INVALID,
				     "cannot write to the CDI directory %s: %s; nothing written; run as root or write "
				     "the spec to a directory you can write",
				     dir, strerror(e));
	}
	/* fsync only where it buys something: /var/run/cdi is a tmpfs, gone at power loss anyway */
	struct statfs fs;
	bool durable = !(fstatfs(dfd, &fs) == 0 && fs.f_type == TMPFS_MAGIC);
	bool ok = fchmod(fd, 0644) == 0 && mig_write_all(fd, text, len) == 0 && (!durable || fsync(fd) == 0);
	int e = errno;
	ok = close(fd) == 0 && ok;
	if (ok && renameat(dfd, tmp, dfd, file) != 0) {
		ok = false;
		e = errno;
	}
	if (!ok) {
		unlinkat(dfd, tmp, 0);
		close(dfd);
		return mig_error_set(err, MIG_E_INVALID, "cannot write the CDI spec %s/%s: %s; nothing written", dir, file,
				     strerror(e));
	}
	if (durable)
		fsync(dfd);
	close(dfd);
	if (written)
		snprintf(written, written_len, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", file);
	return 0;
}
