/* SPDX-License-Identifier: MIT */
/*
 * slurm gres | task-prolog (issue 14): Slurm's gres.conf of the node's MIG devices and whole
 * GPUs, one record per device with its device files, and the task prolog that turns the
 * record indexes Slurm hands a step (SLURM_STEP_GPUS, ...) into the MIG UUIDs CUDA wants,
 * after checking each record's files against the node as it is now.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <ifaddrs.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/wait.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define GRES_DEFAULT_PATH "/etc/slurm/gres.conf"
#define GRES_TYPE_MAX (MIG_NAME_MAX + MIG_PROFILE_MAX)
#define GRES_FILES_MAX 3
#define GRES_TEXT_MAX (1 << 20)

/* One GRES on the node: a MIG device (three files) or a whole GPU (one). */
struct gres_rec {
	char type[GRES_TYPE_MAX];
	char files[GRES_FILES_MAX][MIG_DEVNODE_PATH_MAX];
	size_t nfiles;
	char uuid[MIG_UUID_MAX]; /* MIG-... or GPU-...: what CUDA_VISIBLE_DEVICES takes */
	unsigned int gpu, gi, ci;
	bool mig;
	unsigned int line; /* in a gres.conf read back */
};

struct gres_list {
	struct gres_rec *v;
	size_t n, cap;
};

static struct gres_rec *gres_add(struct gres_list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct gres_rec *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	struct gres_rec *r = &l->v[l->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

/*
 * A Slurm GRES type name from a MIG profile or a GPU model. Slurm reads Type= up to blanks
 * and '#', splits a node's Gres= and a job's --gres at ',' and ':', and compares types
 * without case; a type ending in a digit after a letter-free count ("1") would be a count.
 * Profiles ("3g.20gb", "1c.3g.20gb", "1g.10gb+me", "1g.24gb+gfx") are kept as they are
 * (letters, digits, '.', '+', '-', '_' pass through); a model name loses "NVIDIA ", is lower
 * case, and has every other character made '-' ("NVIDIA A100-SXM4-40GB" -> "a100-sxm4-40gb").
 */
static void gres_type(const char *name, char *out, size_t len)
{
	if (strncmp(name, "NVIDIA ", 7) == 0)
		name += 7;
	size_t k = 0;
	for (; *name && k + 1 < len; name++) {
		unsigned char ch = (unsigned char)*name;
		out[k++] = (char)(isalnum(ch) || ch == '.' || ch == '+' || ch == '-' || ch == '_' ? tolower(ch) : '-');
	}
	out[k] = '\0';
}

/* The CI's type: its GI's profile when it is the GI's full-size CI, else its own profile. */
static const char *ci_type_name(const struct mig_gi *gi, const struct mig_ci *ci)
{
	for (size_t i = 0; i < gi->nci_profiles; i++)
		if (gi->ci_profiles[i].id == ci->profile_id && gi->ci_profiles[i].is_default)
			return gi->profile;
	return ci->profile;
}

/* The node's GRES as migctl writes them: GPUs by index; on a GPU in MIG mode its MIG devices
 * by GI id then CI id (each three files), else the whole GPU (/dev/nvidia<minor>). */
static int gres_from_node(struct cli *c, const struct mig_node *node, struct gres_list *l)
{
	if (!node->devnodes || !node->devnodes->known)
		return cli_fail(c, "cannot tell the device files of the GPUs: %s",
				node->devnodes ? node->devnodes->error : "device nodes not read");
	for (size_t i = 0; i < node->ngpus; i++) {
		const struct mig_gpu *g = &node->gpus[i];
		if (g->mode_current != MIG_MODE_ENABLED) {
			struct gres_rec *r = gres_add(l);
			if (!r)
				return cli_fail(c, "out of memory");
			gres_type(g->name, r->type, sizeof(r->type));
			snprintf(r->files[0], sizeof(r->files[0]), "/dev/nvidia%u", g->minor);
			r->nfiles = 1;
			snprintf(r->uuid, sizeof(r->uuid), "%s", g->uuid);
			r->gpu = g->index;
			continue;
		}
		for (size_t k = 0; k < g->ngis; k++) {
			const struct mig_gi *gi = &g->gis[k];
			for (size_t j = 0; j < gi->ncis; j++) {
				const struct mig_ci *ci = &gi->cis[j];
				if (!ci->devnodes)
					return cli_fail(c, "GPU %u GPU instance %u compute instance %u: device files unknown",
							g->index, gi->id, ci->id);
				struct gres_rec *r = gres_add(l);
				if (!r)
					return cli_fail(c, "out of memory");
				gres_type(ci_type_name(gi, ci), r->type, sizeof(r->type));
				snprintf(r->files[0], sizeof(r->files[0]), "%s", ci->devnodes->gpu.path);
				snprintf(r->files[1], sizeof(r->files[1]), "%s", ci->devnodes->gi_cap.path);
				snprintf(r->files[2], sizeof(r->files[2]), "%s", ci->devnodes->ci_cap.path);
				r->nfiles = 3;
				snprintf(r->uuid, sizeof(r->uuid), "%s", ci->uuid);
				r->gpu = g->index;
				r->gi = gi->id;
				r->ci = ci->id;
				r->mig = true;
			}
		}
	}
	return 0;
}

/* slurm.conf's Gres= value of these records: "gpu:TYPE:COUNT" per type, in first-seen order. */
static char *gres_value(const struct gres_list *l)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcasecmp(l->v[k].type, l->v[i].type) == 0;
		if (seen)
			continue;
		size_t count = 0;
		for (size_t k = i; k < l->n; k++)
			count += strcasecmp(l->v[k].type, l->v[i].type) == 0;
		fprintf(f, "%sgpu:%s:%zu", ftell(f) ? "," : "", l->v[i].type, count);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* gres.conf's text; with node (--node-name), each record starts NodeName=<node>. */
static char *gres_text_for(const struct gres_list *l, const char *value, const char *node);

static char *gres_text(const struct gres_list *l, const char *value)
{
	return gres_text_for(l, value, NULL);
}

static char *gres_text_for(const struct gres_list *l, const char *value, const char *node)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputs("# Slurm gres.conf of this node's GPUs, written by 'migctl slurm gres': regenerate it after\n"
	      "# every MIG change, never edit it. slurm.conf needs GresTypes=gpu and on this node's line\n",
	      f);
	fprintf(f, "# Gres=%s\n", *value ? value : "(none: leave Gres= out)");
	fputs("# Slurm numbers the records 0, 1, ...; 'migctl slurm task-prolog' (TaskProlog) maps them to\n"
	      "# the UUIDs CUDA_VISIBLE_DEVICES needs.\n",
	      f);
	for (size_t i = 0; i < l->n; i++) {
		const struct gres_rec *r = &l->v[i];
		if (r->mig)
			fprintf(f, "# %zu: GPU %u GPU instance %u compute instance %u, %s\n", i, r->gpu, r->gi, r->ci, r->uuid);
		else
			fprintf(f, "# %zu: GPU %u (MIG off), %s\n", i, r->gpu, r->uuid);
		if (node)
			fprintf(f, "NodeName=%s ", node);
		fprintf(f, "Name=gpu Type=%s %s=", r->type, r->nfiles > 1 ? "MultipleFiles" : "File");
		for (size_t k = 0; k < r->nfiles; k++)
			fprintf(f, "%s%s", k ? "," : "", r->files[k]);
		fputc('\n', f);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The file's text (malloc'd) or NULL with errno (ENOENT when missing, EFBIG when too large). */
static char *read_text(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = malloc(GRES_TEXT_MAX + 1);
	size_t used = 0;
	int saved = 0;
	while (buf) {
		ssize_t n = read(fd, buf + used, GRES_TEXT_MAX - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			saved = errno;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used == GRES_TEXT_MAX) {
			saved = EFBIG;
			break;
		}
	}
	close(fd);
	if (!buf || saved) {
		free(buf);
		errno = buf ? saved : ENOMEM;
		return NULL;
	}
	buf[used] = '\0';
	return buf;
}

/* Replace path with text: a temporary file beside it, mode 0644, synced, then renamed. */
static int write_atomic(const char *path, const char *text, char *why, size_t why_len)
{
	char dir[4096], tmp[4200];
	snprintf(dir, sizeof(dir), "%s", path);
	const char *d = dirname(dir);
	snprintf(tmp, sizeof(tmp), "%s/.gres.conf.XXXXXX", d);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(why, why_len, "cannot write in %s: %s", d, strerror(errno));
		return -1;
	}
	size_t len = strlen(text), done = 0;
	int e = fchmod(fd, 0644) ? errno : 0;
	while (!e && done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			e = errno;
		else
			done += (size_t)n;
	}
	if (!e && fsync(fd))
		e = errno;
	if (close(fd) && !e)
		e = errno;
	if (!e && rename(tmp, path))
		e = errno;
	if (e) {
		unlink(tmp);
		snprintf(why, why_len, "cannot write %s: %s; it is unchanged", path, strerror(e));
		return -1;
	}
	return 0;
}

static json_t *records_json(const struct gres_list *l)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < l->n; i++) {
		const struct gres_rec *r = &l->v[i];
		json_t *files = json_array();
		for (size_t k = 0; k < r->nfiles; k++)
			json_array_append_new(files, json_string(r->files[k]));
		json_t *o = json_pack("{s:I, s:s, s:o, s:s, s:I}", "index", (json_int_t)i, "type", r->type, "files", files,
				      "uuid", r->uuid, "gpu", (json_int_t)r->gpu);
		json_object_set_new(o, "gpu_instance", r->mig ? json_integer(r->gi) : json_null());
		json_object_set_new(o, "compute_instance", r->mig ? json_integer(r->ci) : json_null());
		json_array_append_new(arr, o);
	}
	return arr;
}

/* Read the node with its device nodes (with mknod, making the missing capability nodes). */
static int load_node(struct cli *c, const char *what, bool mknod)
{
	struct mig_error err;
	if (c->gpu_selector)
		return cli_usage("slurm %s: gres.conf describes every GPU of the node; -i is not accepted", what);
	c->read_flags |= MIG_READ_DEVNODES;
	if (cli_load(c))
		return EXIT_FAIL;
	if (mknod && mig_node_read_devnodes(c->ctx, c->node, MIG_DEVNODES_CREATE, &err))
		return cli_fail_err(c, &err);
	return -1;
}

/* The first line where a and b differ (1-based), for --check's message. */
static unsigned int first_diff_line(const char *a, const char *b)
{
	unsigned int line = 1;
	for (; *a && *a == *b; a++, b++)
		line += *a == '\n';
	return line;
}

static int slurm_gres(struct cli *c, int argc, char **argv)
{
	const char *output = NULL, *node_name = NULL;
	bool check = false, value_only = false, mknod = false;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--output") == 0 || strcmp(argv[i], "-o") == 0) {
			if (i + 1 >= argc || !*argv[i + 1])
				return cli_usage("slurm gres: %s needs a file, or - for standard output", argv[i]);
			output = argv[++i];
		} else if (strncmp(argv[i], "--output=", 9) == 0 && argv[i][9]) {
			output = argv[i] + 9;
		} else if (strcmp(argv[i], "--check") == 0) {
			check = true;
		} else if (strcmp(argv[i], "--gres-value") == 0) {
			value_only = true;
		} else if (strcmp(argv[i], "--mknod") == 0) {
			mknod = true;
		} else if (strcmp(argv[i], "--node-name") == 0) {
			if (i + 1 >= argc || !*argv[i + 1])
				return cli_usage("slurm gres: --node-name needs the node's name in slurm.conf");
			node_name = argv[++i];
			if (strpbrk(node_name, " \t\n#=,[]"))
				return cli_usage("slurm gres: --node-name takes one node name (no blanks, '#', '=', ',' or "
						 "brackets; got '%s')",
						 node_name);
		} else {
			return cli_usage("slurm gres: unexpected argument '%s'", argv[i]);
		}
	}
	if (check && (!output || strcmp(output, "-") == 0))
		return cli_usage("slurm gres: --check compares the node with a file: add --output FILE");
	if (check && value_only)
		return cli_usage("slurm gres: --check and --gres-value do not go together");
	int r = load_node(c, "gres", mknod && !check);
	if (r >= 0)
		return r;

	struct gres_list l = {0};
	char *value = NULL, *text = NULL, *old = NULL;
	int ret = EXIT_FAIL;
	if (gres_from_node(c, c->node, &l))
		goto out;
	value = gres_value(&l);
	text = value ? gres_text_for(&l, value, node_name) : NULL;
	if (!text) {
		ret = cli_fail(c, "out of memory");
		goto out;
	}
	if (value_only) {
		if (c->json) {
			json_t *doc = json_pack("{s:s}", "gres", value);
			cli_print_json(doc);
			json_decref(doc);
		} else {
			printf("%s\n", value);
		}
		ret = EXIT_OK;
		goto out;
	}
	if (!output || strcmp(output, "-") == 0) {
		if (c->json) {
			json_t *doc = json_pack("{s:s, s:s, s:o}", "gres", value, "gres_conf", text, "records", records_json(&l));
			cli_print_json(doc);
			json_decref(doc);
		} else {
			fputs(text, stdout);
		}
		ret = EXIT_OK;
		goto out;
	}
	struct stat st;
	if (stat(output, &st) == 0 && S_ISDIR(st.st_mode)) {
		ret = cli_fail(c, "%s is a directory: --output names the gres.conf file itself", output);
		goto out;
	}
	old = read_text(output);
	if (!old && errno != ENOENT) {
		ret = cli_fail(c, "cannot read %s: %s", output, strerror(errno));
		goto out;
	}
	bool current = old && strcmp(old, text) == 0;
	if (check) {
		ret = current ? EXIT_OK : EXIT_DIFFERS;
		char why[200];
		if (!old)
			snprintf(why, sizeof(why), "%s does not exist", output);
		else
			snprintf(why, sizeof(why), "%s differs from the node from line %u", output, first_diff_line(old, text));
		if (c->json) {
			json_t *doc = json_pack("{s:s, s:b, s:s, s:o}", "path", output, "current", current, "gres", value,
						"records", records_json(&l));
			json_object_set_new(doc, "difference", current ? json_null() : json_string(why));
			cli_print_json(doc);
			json_decref(doc);
		} else if (current) {
			printf("%s is current: %zu GPU record(s), Gres=%s\n", output, l.n, value);
		} else {
			printf("%s; run 'migctl slurm gres --output %s' and update the node in Slurm\n", why, output);
		}
		goto out;
	}
	char why[4400];
	if (!current && write_atomic(output, text, why, sizeof(why))) {
		ret = cli_fail(c, "%s", why);
		goto out;
	}
	if (c->json) {
		json_t *doc = json_pack("{s:s, s:b, s:s, s:o}", "path", output, "changed", !current, "gres", value, "records",
					records_json(&l));
		cli_print_json(doc);
		json_decref(doc);
	} else {
		printf("%s %s: %zu GPU record(s)\n", current ? "Kept" : "Wrote", output, l.n);
		printf("slurm.conf: GresTypes=gpu, and on this node's line Gres=%s\n", *value ? value : "(none)");
	}
	ret = EXIT_OK;
out:
	free(old);
	free(text);
	free(value);
	free(l.v);
	return ret;
}

/* ---- the task prolog --------------------------------------------------------------------- */

/* Split "a,b,c" into files (at most max). */
static int split_files(const char *val, struct gres_rec *r)
{
	const char *p = val;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || n >= sizeof(r->files[0]) || r->nfiles == GRES_FILES_MAX)
			return -1;
		memcpy(r->files[r->nfiles], p, n);
		r->files[r->nfiles++][n] = '\0';
		p += n + (e != NULL);
	}
	return r->nfiles ? 0 : -1;
}

/* The gpu records of a gres.conf as Slurm numbers them on this node. Records for another
 * NodeName are skipped; what migctl does not write and cannot number for certain (file
 * ranges, Count, AutoDetect) is refused. 0, or -1 with why filled. */
static int gres_parse(const char *text, const char *path, const char *host, struct gres_list *l, char *why,
		      size_t why_len)
{
	unsigned int line = 0;
	const char *p = text;
	while (*p) {
		line++;
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		char buf[8192];
		if (n >= sizeof(buf)) {
			snprintf(why, why_len, "%s:%u: line too long", path, line);
			return -1;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		p += n + (eol != NULL);
		char *hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		char name[64] = "", type[GRES_TYPE_MAX] = "", files[sizeof(buf)] = "", node[256] = "";
		bool multiple = false, other = false;
		char *save = NULL;
		for (char *tok = strtok_r(buf, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
			char *eq = strchr(tok, '=');
			if (!eq) {
				snprintf(why, why_len, "%s:%u: '%s' is not KEY=VALUE", path, line, tok);
				return -1;
			}
			*eq++ = '\0';
			if (strcasecmp(tok, "Name") == 0) {
				snprintf(name, sizeof(name), "%s", eq);
			} else if (strcasecmp(tok, "Type") == 0) {
				snprintf(type, sizeof(type), "%s", eq);
			} else if (strcasecmp(tok, "File") == 0 || strcasecmp(tok, "Files") == 0) {
				snprintf(files, sizeof(files), "%s", eq);
			} else if (strcasecmp(tok, "MultipleFiles") == 0) {
				snprintf(files, sizeof(files), "%s", eq);
				multiple = true;
			} else if (strcasecmp(tok, "NodeName") == 0) {
				snprintf(node, sizeof(node), "%s", eq);
			} else if (strcasecmp(tok, "Count") == 0 || strcasecmp(tok, "AutoDetect") == 0) {
				other = true;
			}
		}
		if (!*name || strcasecmp(name, "gpu") != 0)
			continue;
		if (*node && strcmp(node, host) != 0) {
			if (strpbrk(node, "[],")) {
				snprintf(why, why_len, "%s:%u: NodeName=%s: only a single node name is understood", path, line, node);
				return -1;
			}
			continue;
		}
		if (other || !*files || strchr(files, '[')) {
			snprintf(why, why_len,
				 "%s:%u: a gpu record without one device's files (File ranges, Count, AutoDetect): "
				 "not a gres.conf 'migctl slurm gres' wrote",
				 path, line);
			return -1;
		}
		/* File=a,b is two GPUs; MultipleFiles=a,b,c is one */
		struct gres_rec all = {0};
		if (split_files(files, &all)) {
			snprintf(why, why_len, "%s:%u: cannot read the files '%s'", path, line, files);
			return -1;
		}
		for (size_t k = 0; k < (multiple ? 1 : all.nfiles); k++) {
			struct gres_rec *r = gres_add(l);
			if (!r) {
				snprintf(why, why_len, "out of memory");
				return -1;
			}
			snprintf(r->type, sizeof(r->type), "%s", type);
			r->line = line;
			if (multiple) {
				memcpy(r->files, all.files, sizeof(r->files));
				r->nfiles = all.nfiles;
			} else {
				snprintf(r->files[0], sizeof(r->files[0]), "%s", all.files[k]);
				r->nfiles = 1;
			}
		}
	}
	return 0;
}

/* "0,2", "0-3" (Slurm's index lists) into idx; -1 when not such a list. */
static int parse_indexes(const char *s, unsigned int *idx, size_t max, size_t *n)
{
	*n = 0;
	const char *p = s;
	while (*p) {
		char *end;
		errno = 0;
		unsigned long a = strtoul(p, &end, 10), b = a;
		if (end == p || errno || a > 100000 || !isdigit((unsigned char)*p))
			return -1;
		p = end;
		if (*p == '-') {
			const char *q = p + 1;
			b = strtoul(q, &end, 10);
			if (end == q || !isdigit((unsigned char)*q) || b < a || b > 100000)
				return -1;
			p = end;
		}
		for (unsigned long v = a; v <= b; v++) {
			if (*n == max)
				return -1;
			idx[(*n)++] = (unsigned int)v;
		}
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			return -1;
	}
	return *n ? 0 : -1;
}

static bool same_files(const struct gres_rec *a, const struct gres_rec *b)
{
	if (a->nfiles != b->nfiles)
		return false;
	for (size_t i = 0; i < a->nfiles; i++) {
		bool found = false;
		for (size_t k = 0; k < b->nfiles && !found; k++)
			found = strcmp(a->files[i], b->files[k]) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* Fail the task: the message to Slurm's log (stderr) and, as a TaskProlog "print" line, to
 * the task's own output, where the user sees it. */
static int prolog_fail(struct cli *c, const char *msg)
{
	printf("print migctl slurm task-prolog: %s\n", msg);
	fflush(stdout);
	return cli_fail(c, "%s", msg);
}

static int slurm_task_prolog(struct cli *c, int argc, char **argv)
{
	const char *path = GRES_DEFAULT_PATH;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--gres-conf") == 0) {
			if (i + 1 >= argc || !*argv[i + 1])
				return cli_usage("slurm task-prolog: --gres-conf needs a file");
			path = argv[++i];
		} else if (strncmp(argv[i], "--gres-conf=", 12) == 0 && argv[i][12]) {
			path = argv[i] + 12;
		} else {
			return cli_usage("slurm task-prolog: unexpected argument '%s'", argv[i]);
		}
	}
	if (c->json)
		return cli_usage("slurm task-prolog: its output is for Slurm's TaskProlog; --json is not accepted");
	/* what Slurm 22.05 sets with a gres.conf of files: the step's GPUs (srun), the job's
	 * (batch script). Slurm sets CUDA_VISIBLE_DEVICES with them (renumbered from 0 under
	 * ConstrainDevices); without them Slurm did not set it and it names nothing Slurm gave the
	 * task: it is left alone. */
	const char *names[] = {"SLURM_STEP_GPUS", "SLURM_JOB_GPUS"};
	const char *var = NULL, *val = NULL;
	for (size_t i = 0; i < 2 && !val; i++) {
		const char *v = getenv(names[i]);
		if (v && *v) {
			var = names[i];
			val = v;
		}
	}
	if (!val)
		return EXIT_OK; /* the step has no GPUs: nothing to map */
	if (strncmp(val, "MIG-", 4) == 0 || strncmp(val, "GPU-", 4) == 0)
		return EXIT_OK; /* already UUIDs */
	unsigned int idx[64];
	size_t nidx;
	char msg[8192];
	if (parse_indexes(val, idx, sizeof(idx) / sizeof(idx[0]), &nidx)) {
		snprintf(msg, sizeof(msg), "%s='%s' is not a list of GPU indexes", var, val);
		return prolog_fail(c, msg);
	}
	char *text = read_text(path);
	if (!text) {
		snprintf(msg, sizeof(msg), "cannot read %s: %s", path, strerror(errno));
		return prolog_fail(c, msg);
	}
	char host[256] = "";
	const char *nodename = getenv("SLURMD_NODENAME"); /* slurmd -N NAME, else the host's */
	if (nodename && *nodename)
		snprintf(host, sizeof(host), "%s", nodename);
	else
		gethostname(host, sizeof(host) - 1);
	char *dot = strchr(host, '.');
	if (dot)
		*dot = '\0';
	struct gres_list file = {0}, live = {0};
	int ret = EXIT_FAIL;
	if (gres_parse(text, path, host, &file, msg, sizeof(msg))) {
		ret = prolog_fail(c, msg);
		goto out;
	}
	int r = load_node(c, "task-prolog", false);
	if (r >= 0) {
		printf("print migctl slurm task-prolog: cannot read the GPUs (see the node's log)\n");
		ret = r;
		goto out;
	}
	if (gres_from_node(c, c->node, &live)) {
		printf("print migctl slurm task-prolog: cannot read the GPUs' device files (see the node's log)\n");
		goto out;
	}
	char list[sizeof(idx) / sizeof(idx[0]) * (MIG_UUID_MAX + 1)] = "";
	size_t used = 0;
	for (size_t i = 0; i < nidx; i++) {
		if (idx[i] >= file.n) {
			snprintf(msg, sizeof(msg),
				 "%s=%s names GPU %u, but %s has %zu gpu record(s) for this node: it is not the "
				 "gres.conf slurmd read; regenerate it (migctl slurm gres --output %s) and restart slurmd",
				 var, val, idx[i], path, file.n, path);
			ret = prolog_fail(c, msg);
			goto out;
		}
		const struct gres_rec *want = &file.v[idx[i]];
		const struct gres_rec *got = NULL;
		for (size_t k = 0; k < live.n && !got; k++)
			if (same_files(want, &live.v[k]))
				got = &live.v[k];
		if (!got || strcasecmp(got->type, want->type) != 0) {
			int m = snprintf(msg, sizeof(msg), "%s:%u (record %u, Type=%s, %s) ", path, want->line, idx[i], want->type,
					 want->files[0]);
			if (got)
				snprintf(msg + m, sizeof(msg) - (size_t)m, "is a %s on the node now, not a %s", got->type,
					 want->type);
			else
				snprintf(msg + m, sizeof(msg) - (size_t)m, "matches no %s on the node now",
					 want->nfiles > 1 ? "MIG device" : "whole GPU");
			size_t ml = strlen(msg);
			snprintf(msg + ml, sizeof(msg) - ml,
				 ": the MIG layout changed after gres.conf was written; regenerate it (migctl slurm gres "
				 "--output %s) and update the node in Slurm",
				 path);
			ret = prolog_fail(c, msg);
			goto out;
		}
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? "," : "", got->uuid);
	}
	printf("export CUDA_VISIBLE_DEVICES=%s\n", list);
	ret = EXIT_OK;
out:
	free(text);
	free(file.v);
	free(live.v);
	return ret;
}

/* ---- reconfigure ------------------------------------------------------------------------- */

/*
 * slurm reconfigure -f CONFIG -c NAME: the MIG change of a Slurm node, with Slurm told. The
 * plan says which MIG devices go; Slurm's jobs on this node (scontrol show job -d: the GRES
 * record numbers, IDX, mapped through gres.conf to the devices) and the processes NVML sees
 * say which of those are busy. Only then is the node drained, and the run waits for them (or
 * stops at --timeout with the node drained). Then the change in a transaction, gres.conf
 * rewritten, the node's line in slurm.conf (--slurm-conf) and scontrol reconfigure, and the
 * node resumed when this run drained it. After a drain, every failure leaves it drained with
 * the reason in Slurm's Reason=.
 */

#define RECONF_POLL_NS 500000000L
#define RECONF_SLURM_WAIT 30.0 /* seconds for slurmd to register with the new gres.conf */

struct reconf {
	const char *file, *set, *node, *gres_path, *slurm_conf;
	double timeout, lock_timeout;
	bool drained; /* by this run */
	bool changed; /* the GPUs were changed */
	size_t done;
	unsigned int waited[64]; /* jobs waited for */
	size_t nwaited;
};

/* A GRES record of this node that a Slurm job holds (the record number Slurm gave it). */
struct held {
	unsigned int job;
	unsigned int idx;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run argv with standard input /dev/null; its standard output in *out (malloc'd), the last
 * line of its standard error in err. Its exit status, or -1 with errno when it did not run. */
static int run_capture(char *const argv[], char **out, char *err, size_t err_len)
{
	int po[2], pe[2], px[2];
	*out = NULL;
	err[0] = '\0';
	if (pipe2(po, O_CLOEXEC))
		return -1;
	if (pipe2(pe, O_CLOEXEC)) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	if (pipe2(px, O_CLOEXEC)) {
		close(po[0]);
		close(po[1]);
		close(pe[0]);
		close(pe[1]);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		int e = errno;
		if (write(px[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	close(px[1]);
	if (pid < 0) {
		int e = errno;
		close(po[0]);
		close(pe[0]);
		close(px[0]);
		errno = e;
		return -1;
	}
	char *buf = NULL, ebuf[4096];
	size_t len = 0, elen = 0;
	FILE *m = open_memstream(&buf, &len);
	struct pollfd fds[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
	int open_fds = 2;
	while (open_fds > 0) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char tmp[4096];
			ssize_t n = read(fds[i].fd, tmp, sizeof(tmp));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
				continue;
			}
			if (i == 0 && m) {
				fwrite(tmp, 1, (size_t)n, m);
			} else if (i == 1) {
				/* keep the last bytes: the last line is the message */
				size_t k = (size_t)n > sizeof(ebuf) - 1 ? sizeof(ebuf) - 1 : (size_t)n;
				if (elen + k > sizeof(ebuf) - 1) {
					size_t drop = elen + k - (sizeof(ebuf) - 1);
					memmove(ebuf, ebuf + drop, elen - drop);
					elen -= drop;
				}
				memcpy(ebuf + elen, tmp + (size_t)n - k, k);
				elen += k;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	if (m)
		fclose(m);
	int exec_errno = 0;
	ssize_t got = read(px[0], &exec_errno, sizeof(exec_errno));
	close(px[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got == (ssize_t)sizeof(exec_errno)) {
		free(buf);
		errno = exec_errno;
		return -1;
	}
	ebuf[elen] = '\0';
	while (elen && (ebuf[elen - 1] == '\n' || ebuf[elen - 1] == ' '))
		ebuf[--elen] = '\0';
	const char *last = strrchr(ebuf, '\n');
	const char *msg = last ? last + 1 : ebuf;
	size_t ml = strlen(msg) < err_len ? strlen(msg) : err_len - 1;
	memcpy(err, msg, ml);
	err[ml] = '\0';
	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	*out = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* scontrol ARGS: 0 with its output in *out, or -1 with why filled: not in PATH, Slurm not
 * reachable, or what scontrol said. */
static int scontrol(char *const args[], char **out, char *why, size_t why_len)
{
	char *argv[16] = {"scontrol"};
	size_t n = 1;
	for (; args[n - 1] && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	char err[1024], shown[512] = "";
	for (size_t i = 1; i < n; i++)
		snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), " %s", argv[i]);
	int rc = run_capture(argv, out, err, sizeof(err));
	if (rc < 0 && errno == ENOENT) {
		const char *path = getenv("PATH");
		snprintf(why, why_len,
			 "scontrol is not in PATH (%s): install Slurm's client commands (Debian: slurm-client) or add "
			 "their directory to PATH",
			 path ? path : "unset");
		return -1;
	}
	if (rc < 0) {
		snprintf(why, why_len, "cannot run scontrol: %s", strerror(errno));
		return -1;
	}
	if (rc != 0) {
		const char *said = *err ? err : (*out && **out ? *out : "no message");
		snprintf(why, why_len, "'scontrol%s' failed (exit status %d): %.*s", shown, rc,
			 (int)strcspn(said, "\n"), said);
		if (strstr(said, "Unable to contact") || strstr(said, "connect failure") || strstr(said, "Connection refused"))
			snprintf(why + strlen(why), why_len - strlen(why),
				 "; Slurm's controller is not reachable: check that slurmctld runs and SLURM_CONF");
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* The value of KEY= in one of scontrol's -o lines (up to the next blank); false if absent. */
static bool field(const char *line, const char *key, char *out, size_t len)
{
	size_t k = strlen(key);
	for (const char *p = line; (p = strstr(p, key)) != NULL; p += k) {
		if ((p != line && p[-1] != ' ') || p[k] != '=')
			continue;
		const char *v = p + k + 1;
		size_t n = strcspn(v, " \n");
		snprintf(out, len, "%.*s", (int)n, v);
		return true;
	}
	return false;
}

/* Is name in a Slurm host list ("n1", "n[1-3,7]", "a,b[01-04]")? One bracket group an item. */
static bool node_in_list(const char *list, const char *name)
{
	const char *p = list;
	while (*p) {
		size_t n = 0;
		int depth = 0;
		while (p[n] && (depth || p[n] != ',')) {
			depth += p[n] == '[' ? 1 : p[n] == ']' ? -1 : 0;
			n++;
		}
		const char *open = memchr(p, '[', n);
		if (!open) {
			if (strlen(name) == n && strncmp(p, name, n) == 0)
				return true;
		} else {
			const char *close = memchr(open, ']', n - (size_t)(open - p));
			size_t pre = (size_t)(open - p), suf = close ? n - (size_t)(close - p) - 1 : 0;
			size_t nl = strlen(name);
			if (close && nl > pre + suf && strncmp(name, p, pre) == 0 && strncmp(name + nl - suf, close + 1, suf) == 0) {
				const char *mid = name + pre;
				size_t ml = nl - pre - suf;
				bool digits = true;
				for (size_t i = 0; i < ml; i++)
					digits = digits && isdigit((unsigned char)mid[i]);
				unsigned long v = digits ? strtoul(mid, NULL, 10) : 0;
				for (const char *r = open + 1; digits && r < close;) {
					char *end;
					unsigned long lo = strtoul(r, &end, 10), hi = lo;
					size_t width = (size_t)(end - r);
					if (end == r)
						break;
					if (*end == '-')
						hi = strtoul(end + 1, &end, 10);
					if (v >= lo && v <= hi && (width == ml || r[0] != '0'))
						return true;
					r = *end == ',' ? end + 1 : close;
				}
			}
		}
		p += n + (p[n] == ',');
	}
	return false;
}

/* The GRES records of node that Slurm's jobs hold now (jobs in a state that holds them). */
static int slurm_held(const char *node, struct held **out, size_t *nout, char *why, size_t why_len)
{
	static const char *const holding[] = {"RUNNING", "SUSPENDED", "COMPLETING", "CONFIGURING", "STOPPED",
					      "SIGNALING", "STAGE_OUT", "RESIZING"};
	char *text = NULL;
	char *args[] = {"-o", "show", "job", "-d", NULL};
	*out = NULL;
	*nout = 0;
	if (scontrol(args, &text, why, why_len))
		return -1;
	size_t cap = 0;
	int ret = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char id[32], state[64];
		if (!field(line, "JobId", id, sizeof(id)) || !field(line, "JobState", state, sizeof(state)))
			continue;
		bool holds = false;
		for (size_t i = 0; i < sizeof(holding) / sizeof(holding[0]); i++)
			holds = holds || strcmp(state, holding[i]) == 0;
		if (!holds)
			continue;
		/* "  Nodes=n1 CPU_IDs=0 Mem=0 GRES=gpu:1g.5gb:1(IDX:1),gpu:x:2(IDX:0,3)" per node */
		for (char *seg = strstr(line, " Nodes="); seg; seg = strstr(seg + 1, " Nodes=")) {
			char nodes[1024], gres[2048];
			if (!field(seg + 1, "Nodes", nodes, sizeof(nodes)) || !node_in_list(nodes, node))
				continue;
			char *next = strstr(seg + 1, " Nodes=");
			char *g = strstr(seg, " GRES=");
			if (!g || (next && g > next) || !field(g + 1, "GRES", gres, sizeof(gres)))
				continue;
			for (char *it = gres; (it = strstr(it, "(IDX:")) != NULL;) {
				/* the GRES name this list belongs to: the item before it, after the last ',' */
				char *start = it;
				while (start > gres && start[-1] != ',' && start[-1] != ')')
					start--;
				bool gpu = strncmp(start, "gpu", 3) == 0 && (start[3] == ':' || start[3] == '(');
				char *end = strchr(it, ')');
				if (!end)
					break;
				*end = '\0';
				unsigned int idx[64];
				size_t n = 0;
				if (gpu && parse_indexes(it + 5, idx, 64, &n)) {
					snprintf(why, why_len, "cannot read job %s's GRES record numbers '%s' from scontrol", id, it + 5);
					ret = -1;
					goto out;
				}
				for (size_t k = 0; gpu && k < n; k++) {
					if (*nout == cap) {
						cap = cap ? 2 * cap : 16;
						struct held *v = realloc(*out, cap * sizeof(*v));
						if (!v) {
							snprintf(why, why_len, "out of memory");
							ret = -1;
							goto out;
						}
						*out = v;
					}
					(*out)[(*nout)++] = (struct held){(unsigned int)strtoul(id, NULL, 10), idx[k]};
				}
				it = end + 1;
			}
		}
	}
out:
	free(text);
	return ret;
}

/* The node's line of `scontrol -o show node NAME` (malloc'd), or NULL with why. */
static char *slurm_node(const char *node, char *why, size_t why_len)
{
	char *text = NULL;
	char *args[] = {"-o", "show", "node", (char *)node, NULL};
	if (scontrol(args, &text, why, why_len))
		return NULL;
	char name[256];
	if (!field(text, "NodeName", name, sizeof(name)) || strcmp(name, node) != 0) {
		snprintf(why, why_len, "Slurm has no node %s", node);
		free(text);
		return NULL;
	}
	return text;
}

static bool addr_is_local(const char *addr)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	struct ifaddrs *ifs = NULL;
	bool local = false;
	if (getaddrinfo(addr, NULL, &hints, &res) || getifaddrs(&ifs)) {
		if (res)
			freeaddrinfo(res);
		return false;
	}
	for (struct addrinfo *a = res; a && !local; a = a->ai_next)
		for (struct ifaddrs *i = ifs; i && !local; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != a->ai_family)
				continue;
			if (a->ai_family == AF_INET)
				local = ((struct sockaddr_in *)(void *)a->ai_addr)->sin_addr.s_addr ==
					((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr;
			else if (a->ai_family == AF_INET6)
				local = memcmp(&((struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_addr,
					       &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, 16) == 0;
		}
	freeifaddrs(ifs);
	freeaddrinfo(res);
	return local;
}

/* Is Slurm's node this machine: its NodeHostName this host's name, or its NodeAddr one of this
 * machine's addresses? */
static bool node_is_here(const char *line, char *why, size_t why_len)
{
	char host[256] = "", addr[256] = "", nodehost[256] = "", me[256] = "";
	field(line, "NodeAddr", addr, sizeof(addr));
	field(line, "NodeHostName", nodehost, sizeof(nodehost));
	gethostname(me, sizeof(me) - 1);
	snprintf(host, sizeof(host), "%s", me);
	host[strcspn(host, ".")] = '\0';
	if (*nodehost && (strcmp(nodehost, me) == 0 || strcmp(nodehost, host) == 0))
		return true;
	if (*addr && addr_is_local(addr))
		return true;
	snprintf(why, why_len,
		 "Slurm's node is at NodeAddr=%s NodeHostName=%s, and this machine is %s without that address: run "
		 "migctl on that node, or name this one with --node",
		 addr, nodehost, me);
	return false;
}

/* A file this run replaces by rename: refused when it is a symbolic link (which another user
 * could have planted to send root's write elsewhere) or not a regular file, or when its
 * directory cannot be written (tried with a temporary file). */
static int check_replaceable(const char *what, const char *path, char *why, size_t why_len)
{
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			struct passwd *pw = getpwuid(st.st_uid);
			snprintf(why, why_len,
				 "%s %s is a symbolic link (owned by %s, uid %u): migctl replaces the file by rename and "
				 "does not follow links; remove the link, or give the path of the real file",
				 what, path, pw ? pw->pw_name : "?", (unsigned int)st.st_uid);
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(why, why_len, "%s %s is not a regular file", what, path);
			return -1;
		}
	} else if (errno != ENOENT) {
		snprintf(why, why_len, "cannot look at %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	char dir[4096], probe[4200];
	snprintf(dir, sizeof(dir), "%s", path);
	const char *d = dirname(dir);
	snprintf(probe, sizeof(probe), "%s/.migctl-probe.XXXXXX", d);
	int fd = mkstemp(probe);
	if (fd < 0) {
		snprintf(why, why_len, "%s %s cannot be written: cannot create a file in %s: %s", what, path, d,
			 strerror(errno));
		return -1;
	}
	close(fd);
	unlink(probe);
	return 0;
}

/* slurm.conf's text with the Gres= of node's own line set to value (removed when empty), or
 * NULL with why. The node needs a line of its own ("NodeName=n1 ..."): one shared with other
 * nodes (NodeName=n[1-4]) is not split. */
static char *slurm_conf_edit(const char *text, const char *path, const char *node, const char *value, char *why,
			     size_t why_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	unsigned int line = 0, found = 0;
	bool bad = false;
	for (const char *p = text; *p && !bad;) {
		line++;
		size_t n = strcspn(p, "\n");
		size_t lead = strspn(p, " \t");
		const char *s = p + (lead < n ? lead : n);
		char nodes[1024] = "";
		if (n - (size_t)(s - p) > 9 && strncasecmp(s, "NodeName=", 9) == 0) {
			size_t k = strcspn(s + 9, " \t\n");
			snprintf(nodes, sizeof(nodes), "%.*s", (int)k, s + 9);
		}
		if (*nodes && strcmp(nodes, node) == 0) {
			if (found || memchr(p, '#', n) || (n && p[n - 1] == '\\')) {
				snprintf(why, why_len, "%s:%u: %s", path, line,
					 found ? "a second line for this node: keep one" :
						 "the node's line has a comment or continues: migctl edits one plain line");
				bad = true;
				break;
			}
			found = line;
			/* the line's words, Gres= replaced */
			char copy[8192];
			if (n >= sizeof(copy)) {
				snprintf(why, why_len, "%s:%u: line too long", path, line);
				bad = true;
				break;
			}
			memcpy(copy, p, n);
			copy[n] = '\0';
			bool first = true, set = false;
			char *save = NULL;
			for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
				if (strncasecmp(w, "Gres=", 5) == 0) {
					if (*value)
						fprintf(f, "%sGres=%s", first ? "" : " ", value);
					set = true;
				} else {
					fprintf(f, "%s%s", first ? "" : " ", w);
				}
				first = false;
			}
			if (!set && *value)
				fprintf(f, " Gres=%s", value);
			fputc('\n', f);
		} else {
			if (*nodes && strcasecmp(nodes, "DEFAULT") != 0 && node_in_list(nodes, node)) {
				snprintf(why, why_len,
					 "%s:%u: NodeName=%s covers %s with other nodes: give %s a line of its own so that "
					 "its Gres= can change alone",
					 path, line, nodes, node, node);
				bad = true;
				break;
			}
			fwrite(p, 1, n, f);
			if (p[n] == '\n')
				fputc('\n', f);
		}
		p += n + (p[n] == '\n');
	}
	if (fclose(f) || bad || !found) {
		if (!bad && !found)
			snprintf(why, why_len, "%s has no line NodeName=%s", path, node);
		free(buf);
		return NULL;
	}
	return buf;
}

/* The GPU count of a Gres= value ("gpu:a:1,gpu:b:2" is 3). */
static unsigned long gres_total(const char *value)
{
	unsigned long n = 0;
	for (const char *p = value; *p;) {
		size_t k = strcspn(p, ",");
		const char *colon = NULL;
		for (const char *q = p; q < p + k; q++)
			if (*q == ':')
				colon = q;
		if (colon)
			n += strtoul(colon + 1, NULL, 10);
		p += k + (p[k] == ',');
	}
	return n;
}

/* Is the live record r gone after plan? */
static bool rec_destroyed(const struct gres_rec *r, const struct mig_plan *plan)
{
	for (size_t i = 0; i < plan->nops; i++) {
		const struct mig_op *op = &plan->ops[i];
		if (op->gpu != r->gpu)
			continue;
		if (!r->mig && op->kind == MIG_OP_ENABLE_MIG)
			return true;
		if (r->mig && (op->kind == MIG_OP_DISABLE_MIG || (op->kind == MIG_OP_DESTROY_GI && op->gi_id == r->gi) ||
			       (op->kind == MIG_OP_DESTROY_CI && op->gi_id == r->gi && op->ci_id == r->ci)))
			return true;
	}
	return false;
}

/* The live record of a gres.conf record (same files and type), or NULL. */
static const struct gres_rec *live_of(const struct gres_list *live, const struct gres_rec *want)
{
	for (size_t k = 0; k < live->n; k++)
		if (same_files(want, &live->v[k]) && strcasecmp(live->v[k].type, want->type) == 0)
			return &live->v[k];
	return NULL;
}

static const struct mig_ci *ci_of(const struct mig_node *node, const struct gres_rec *r)
{
	for (size_t i = 0; i < node->ngpus; i++) {
		const struct mig_gpu *g = &node->gpus[i];
		if (g->index != r->gpu)
			continue;
		for (size_t k = 0; k < g->ngis; k++)
			for (size_t j = 0; j < g->gis[k].ncis; j++)
				if (g->gis[k].id == r->gi && g->gis[k].cis[j].id == r->ci)
					return &g->gis[k].cis[j];
	}
	return NULL;
}

static const struct mig_gpu *gpu_of(const struct mig_node *node, unsigned int index)
{
	for (size_t i = 0; i < node->ngpus; i++)
		if (node->gpus[i].index == index)
			return &node->gpus[i];
	return NULL;
}

/* Add job to the list once. */
static void add_job(unsigned int *jobs, size_t *n, size_t max, unsigned int job)
{
	for (size_t i = 0; i < *n; i++)
		if (jobs[i] == job)
			return;
	if (*n < max)
		jobs[(*n)++] = job;
}

static void jobs_text(const unsigned int *jobs, size_t n, char *out, size_t len)
{
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%u", i ? "," : "", jobs[i]);
}

/*
 * What keeps the change from going ahead now: the jobs that hold a record this plan destroys
 * (or one that gres.conf no longer ties to a device, which may be one), and the processes on
 * the MIG devices or GPUs it destroys. With plan NULL (after the change): the jobs whose
 * record would get another number in the new gres.conf (Slurm tracks a job's GPUs by number).
 * Fills what (a sentence) and returns how many jobs and processes; -1 with why on failure.
 */
static int blockers(const struct reconf *r, const struct mig_node *node, const struct mig_plan *plan,
		    unsigned int *jobs, size_t *njobs, char *what, size_t what_len, char *why, size_t why_len)
{
	struct gres_list live = {0}, file = {0};
	struct held *held = NULL;
	size_t nheld = 0, nprocs = 0;
	int ret = -1;
	*njobs = 0;
	what[0] = '\0';
	char *text = read_text(r->gres_path);
	if (!text && errno != ENOENT) {
		snprintf(why, why_len, "cannot read %s: %s", r->gres_path, strerror(errno));
		goto out;
	}
	if (text && gres_parse(text, r->gres_path, r->node, &file, why, why_len))
		goto out;
	if (slurm_held(r->node, &held, &nheld, why, why_len))
		goto out;
	struct cli quiet = {0};
	if (gres_from_node(&quiet, node, &live)) {
		snprintf(why, why_len, "cannot tell the device files of the GPUs");
		goto out;
	}
	for (size_t i = 0; i < nheld; i++) {
		const struct gres_rec *dev = held[i].idx < file.n ? live_of(&live, &file.v[held[i].idx]) : NULL;
		bool blocks;
		if (plan)
			blocks = !dev || rec_destroyed(dev, plan);
		else
			blocks = !dev || (size_t)(dev - live.v) != held[i].idx;
		if (!blocks)
			continue;
		add_job(jobs, njobs, 64, held[i].job);
		size_t l = strlen(what);
		if (dev)
			snprintf(what + l, what_len - l, "%sjob %u holds %s %s (GRES record %u)", l ? "; " : "", held[i].job,
				 dev->mig ? "MIG device" : "GPU", dev->uuid, held[i].idx);
		else
			snprintf(what + l, what_len - l, "%sjob %u holds GRES record %u, which %s does not tie to a device now",
				 l ? "; " : "", held[i].job, held[i].idx, r->gres_path);
	}
	for (size_t i = 0; plan && i < live.n; i++) {
		if (!rec_destroyed(&live.v[i], plan))
			continue;
		const struct mig_ci *ci = live.v[i].mig ? ci_of(node, &live.v[i]) : NULL;
		const struct mig_gpu *g = gpu_of(node, live.v[i].gpu);
		size_t np = live.v[i].mig ? (ci ? ci->nprocs : 0) : (g ? g->nprocs : 0);
		const struct mig_process *procs = live.v[i].mig ? (ci ? ci->procs : NULL) : (g ? g->procs : NULL);
		for (size_t k = 0; k < np; k++) {
			size_t l = strlen(what);
			snprintf(what + l, what_len - l, "%sprocess %u runs on %s", l ? "; " : "", procs[k].pid, live.v[i].uuid);
			nprocs++;
		}
	}
	ret = (int)(*njobs + nprocs);
out:
	free(text);
	free(held);
	free(live.v);
	free(file.v);
	return ret;
}

/* scontrol update NodeName=NODE State=DRAIN Reason="migctl reconfigure: ..." (also to change
 * the reason of a node this run drained). */
static int drain(struct reconf *r, const char *reason, char *why, size_t why_len)
{
	char nn[300], rs[1100], *out = NULL;
	snprintf(nn, sizeof(nn), "NodeName=%s", r->node);
	snprintf(rs, sizeof(rs), "Reason=migctl reconfigure: %.1000s", reason);
	char *args[] = {"update", nn, "State=DRAIN", rs, NULL};
	if (scontrol(args, &out, why, why_len))
		return -1;
	free(out);
	r->drained = true;
	return 0;
}

/* Stop with the node drained and msg as its reason: EXIT_DRAINED, or EXIT_FAIL when even
 * draining failed (both said). */
static int stop_drained(struct cli *c, struct reconf *r, const char *msg)
{
	char why[2048];
	if (drain(r, msg, why, sizeof(why)))
		return cli_fail(c, "%s; and the node could not be drained: %s", msg, why);
	cli_fail(c, "%s; node %s is left drained (Reason=migctl reconfigure: ...): resume it with 'scontrol update "
		    "NodeName=%s State=RESUME' once that is dealt with",
		 msg, r->node, r->node);
	return EXIT_DRAINED;
}

static void nap(void)
{
	struct timespec ts = {0, RECONF_POLL_NS};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Wait for Slurm to show the node with Gres=value, registered (not INVAL, not NOT_RESPONDING). */
static int slurm_took(struct reconf *r, const char *value, char *why, size_t why_len)
{
	double until = now_s() + RECONF_SLURM_WAIT;
	char gres[4096] = "", state[256] = "";
	for (;;) {
		char *line = slurm_node(r->node, why, why_len);
		if (!line)
			return -1;
		gres[0] = state[0] = '\0';
		field(line, "Gres", gres, sizeof(gres));
		field(line, "State", state, sizeof(state));
		free(line);
		if (strcmp(gres, *value ? value : "(null)") == 0 && !strstr(state, "INVAL") && !strstr(state, "NOT_RESPONDING") &&
		    !strstr(state, "DOWN") && !strchr(state, '*'))
			return 0;
		if (now_s() > until)
			break;
		nap();
	}
	snprintf(why, why_len, "after 'scontrol reconfigure' Slurm shows node %s with Gres=%s State=%s, not Gres=%s",
		 r->node, gres, state, value);
	return -1;
}

static int reconf_args(struct reconf *r, int argc, char **argv)
{
	r->timeout = 600;
	r->lock_timeout = 60;
	for (int i = 2; i < argc; i++) {
		const char *s = argv[i];
		bool v = i + 1 < argc && *argv[i + 1];
		if ((strcmp(s, "-f") == 0 || strcmp(s, "--config-file") == 0) && v)
			r->file = argv[++i];
		else if ((strcmp(s, "-c") == 0 || strcmp(s, "--selected-config") == 0) && v)
			r->set = argv[++i];
		else if (strcmp(s, "--node") == 0 && v)
			r->node = argv[++i];
		else if (strcmp(s, "--gres-conf") == 0 && v)
			r->gres_path = argv[++i];
		else if (strcmp(s, "--slurm-conf") == 0 && v)
			r->slurm_conf = argv[++i];
		else if ((strcmp(s, "--timeout") == 0 || strcmp(s, "--lock-timeout") == 0) && v) {
			char *end;
			double t = strtod(argv[++i], &end);
			if (*end || !isfinite(t) || t < 0 || t > 7 * 86400)
				return cli_usage("slurm reconfigure: %s takes seconds, e.g. 600 (got '%s')", s, argv[i]);
			*(strcmp(s, "--timeout") == 0 ? &r->timeout : &r->lock_timeout) = t;
		} else {
			return cli_usage("slurm reconfigure: unknown or incomplete argument '%s'", s);
		}
	}
	if (!r->file)
		return cli_usage("slurm reconfigure: which config? -f FILE -c NAME (as for apply)");
	if (r->gres_path && r->gres_path[0] != '/')
		return cli_usage("slurm reconfigure: --gres-conf needs an absolute path (got '%s')", r->gres_path);
	if (r->slurm_conf && r->slurm_conf[0] != '/')
		return cli_usage("slurm reconfigure: --slurm-conf needs an absolute path (got '%s')", r->slurm_conf);
	return -1;
}

static int slurm_reconfigure(struct cli *c, int argc, char **argv)
{
	struct reconf r = {0};
	int ret = reconf_args(&r, argc, argv);
	if (ret >= 0)
		return ret;
	if (c->gpu_selector)
		return cli_usage("slurm reconfigure: the node's gres.conf describes every GPU; -i is not accepted");
	char host[256] = "", why[8192], what[4096], gres_before[4096] = "";
	if (!r.node) {
		gethostname(host, sizeof(host) - 1);
		host[strcspn(host, ".")] = '\0';
		r.node = host;
	}
	struct mig_settings settings;
	struct mig_error err;
	struct mig_config *config = NULL;
	struct mig_gpu_target *targets = NULL;
	struct mig_plan *plan = NULL;
	struct mig_txn *txn = NULL;
	struct gres_list l = {0};
	char *line = NULL, *value = NULL, *text = NULL, *old = NULL, *conf_text = NULL, *conf_new = NULL;
	bool gres_written = false, resumed = false, told_slurm = false;
	ret = EXIT_FAIL;

	/* before anything changes: MIG may be changed here, the config, Slurm and the files */
	if (cli_require_admin(c, MIG_ADMIN_INSTANCES))
		goto out;
	if (cli_settings_read(c, &settings, &err)) {
		cli_fail_err(c, &err);
		goto out;
	}
	if (!r.gres_path)
		r.gres_path = settings.slurm_gres[0] ? settings.slurm_gres : GRES_DEFAULT_PATH;
	if (!(line = slurm_node(r.node, why, sizeof(why)))) {
		cli_fail(c, "%s; nothing was changed", why);
		goto out;
	}
	if (!node_is_here(line, what, sizeof(what))) {
		cli_fail(c, "node %s is not this machine: %s; nothing was changed", r.node, what);
		goto out;
	}
	field(line, "Gres", gres_before, sizeof(gres_before));
	/* a node an earlier run left drained (timed out, failed): this run resumes it when done */
	char state[256] = "";
	field(line, "State", state, sizeof(state));
	if (strstr(state, "DRAIN") && strstr(line, " Reason=migctl reconfigure:"))
		r.drained = true;
	if (strcmp(gres_before, "(null)") == 0)
		gres_before[0] = '\0';
	if (check_replaceable("gres.conf", r.gres_path, why, sizeof(why)) ||
	    (r.slurm_conf && check_replaceable("slurm.conf", r.slurm_conf, why, sizeof(why)))) {
		cli_fail(c, "%s; nothing was changed", why);
		goto out;
	}
	if (r.slurm_conf) {
		if (!(conf_text = read_text(r.slurm_conf))) {
			cli_fail(c, "cannot read %s: %s; nothing was changed", r.slurm_conf, strerror(errno));
			goto out;
		}
		if (!(conf_new = slurm_conf_edit(conf_text, r.slurm_conf, r.node, gres_before, why, sizeof(why)))) {
			cli_fail(c, "%s; nothing was changed", why);
			goto out;
		}
		free(conf_new);
		conf_new = NULL;
	}
	if (cli_load_checked_config(c, r.file, &config))
		goto out;
	const struct mig_config_set *set = mig_config_find(config, r.set, &err);
	if (!set) {
		cli_fail_err(c, &err);
		goto out;
	}

	/* plan in a transaction; while the plan destroys what jobs or processes hold, drain (once)
	 * and wait outside it */
	c->read_flags |= MIG_READ_DEVNODES;
	c->slurm_gres_held = r.gres_path;
	const double deadline = now_s() + r.timeout;
	bool told = false;
	for (;;) {
		if (cli_txn_begin(c, MIG_ADMIN_INSTANCES, r.lock_timeout, NULL, NULL, &txn))
			goto failed;
		if (cli_mark_leased(c, txn))
			goto failed;
		if (!(targets = calloc(c->node->ngpus ? c->node->ngpus : 1, sizeof(*targets)))) {
			cli_fail(c, "out of memory");
			goto failed;
		}
		/* force: what processes hold is counted below, and waited for; leased ones stay */
		if (mig_config_targets(config, set, c->node, targets, &err) || mig_plan_make(c->node, targets, true, &plan, &err)) {
			cli_fail_err(c, &err);
			goto failed;
		}
		unsigned int jobs[64];
		size_t njobs;
		int nb = blockers(&r, c->node, plan, jobs, &njobs, what, sizeof(what), why, sizeof(why));
		if (nb < 0) {
			cli_fail(c, "%s", why);
			goto failed;
		}
		if (nb == 0)
			break;
		for (size_t i = 0; i < njobs; i++)
			add_job(r.waited, &r.nwaited, 64, jobs[i]);
		cli_txn_end(c, txn, true, &err);
		txn = NULL;
		mig_plan_free(plan);
		plan = NULL;
		free(targets);
		targets = NULL;
		char list[400];
		jobs_text(jobs, njobs, list, sizeof(list));
		if (!told) { /* also a node an earlier run drained: the reason says what this one waits for */
			char reason[600];
			snprintf(reason, sizeof(reason), "waiting for %s%s on MIG devices the new layout destroys",
				 njobs ? "jobs " : "processes", njobs ? list : "");
			if (drain(&r, reason, why, sizeof(why))) {
				cli_fail(c, "%s; nothing was changed", why);
				goto out;
			}
		}
		if (!told && !c->json) {
			printf("Drained %s: %s, which the new layout destroys\nWaiting up to %g s for them to end\n", r.node,
			       what, r.timeout);
			fflush(stdout);
		}
		told = true;
		if (now_s() >= deadline) {
			char msg[sizeof(what) + 200];
			snprintf(msg, sizeof(msg), "timed out after %g s waiting: %s; nothing was changed on the GPUs",
				 r.timeout, what);
			ret = stop_drained(c, &r, msg);
			goto out;
		}
		nap();
	}
	if (r.nwaited && !c->json) {
		char list[400];
		jobs_text(r.waited, r.nwaited, list, sizeof(list));
		printf("Jobs %s ended\n", list);
	}
	if (plan->nops && !c->json)
		for (size_t i = 0; i < plan->nops; i++) {
			char buf[512];
			mig_op_format(&plan->ops[i], buf, sizeof(buf));
			printf("  %s\n", buf);
		}
	if (plan->nops && cli_txn_execute(c, txn, plan, &err)) {
		r.done = mig_txn_done(txn);
		cli_txn_end(c, txn, false, &(struct mig_error){0});
		txn = NULL;
		char msg[MIG_ERROR_MSG_MAX + 300];
		snprintf(msg, sizeof(msg), "the MIG change failed after %zu of %zu operations: %s; gres.conf not rewritten",
			 r.done, plan->nops, err.msg);
		if (r.done == 0 && !r.drained) {
			cli_fail(c, "%s; nothing was changed", msg);
			goto out;
		}
		ret = stop_drained(c, &r, msg);
		goto out;
	}
	r.done = plan->nops;
	r.changed = plan->nops > 0;
	if (cli_txn_end(c, txn, true, &err)) {
		txn = NULL;
		char msg[MIG_ERROR_MSG_MAX + 100];
		snprintf(msg, sizeof(msg), "%s (after the MIG change)", err.msg);
		ret = stop_drained(c, &r, msg);
		goto out;
	}
	txn = NULL;
	if (!c->json)
		printf("MIG configuration applied (%zu operation%s)\n", r.done, r.done == 1 ? "" : "s");
	/* slurmd refuses a gres.conf naming a file that does not exist: the new instances'
	 * capability nodes are made now, as nvidia-modprobe would (slurm gres --mknod) */
	if (cli_reload(c))
		goto failed;
	if (mig_node_read_devnodes(c->ctx, c->node, MIG_DEVNODES_CREATE, &err)) {
		char msg[MIG_ERROR_MSG_MAX + 100];
		snprintf(msg, sizeof(msg), "making the new MIG devices' capability nodes: %s", err.msg);
		ret = stop_drained(c, &r, msg);
		goto out;
	}

	/* jobs on devices kept but numbered differently in the new gres.conf: Slurm would hand
	 * their number to another job; wait for them before telling Slurm */
	for (;;) {
		unsigned int jobs[64];
		size_t njobs;
		int nb = blockers(&r, c->node, NULL, jobs, &njobs, what, sizeof(what), why, sizeof(why));
		if (nb < 0) {
			ret = stop_drained(c, &r, why);
			goto out;
		}
		if (nb == 0)
			break;
		for (size_t i = 0; i < njobs; i++)
			add_job(r.waited, &r.nwaited, 64, jobs[i]);
		if (!r.drained && drain(&r, "waiting for jobs whose GPUs get other GRES numbers", why, sizeof(why))) {
			ret = cli_fail(c, "%s (the MIG change is applied, gres.conf not rewritten)", why);
			goto out;
		}
		if (now_s() >= deadline) {
			char msg[sizeof(what) + 300];
			snprintf(msg, sizeof(msg),
				 "timed out after %g s: %s, and it gets another number in the new gres.conf; the MIG change is "
				 "applied, gres.conf not rewritten: run slurm reconfigure again once they ended",
				 r.timeout, what);
			ret = stop_drained(c, &r, msg);
			goto out;
		}
		nap();
	}

	/* gres.conf, then Slurm */
	if (gres_from_node(c, c->node, &l))
		goto failed;
	value = gres_value(&l);
	text = value ? gres_text(&l, value) : NULL;
	if (!text) {
		ret = stop_drained(c, &r, "out of memory writing gres.conf");
		goto out;
	}
	old = read_text(r.gres_path);
	gres_written = !old || strcmp(old, text) != 0;
	if (gres_written && write_atomic(r.gres_path, text, why, sizeof(why))) {
		ret = stop_drained(c, &r, why);
		goto out;
	}
	if (!c->json)
		printf("%s %s: %zu GPU record(s), Gres=%s\n", gres_written ? "Wrote" : "Kept", r.gres_path, l.n,
		       *value ? value : "(none)");
	if (strcmp(value, gres_before) != 0) {
		/* Slurm 22.05 refuses a new count or type of a node's File= GRES on scontrol update
		 * and scontrol reconfigure ("Attempt to change gres/gpu Count ... invalid with File
		 * configuration", the node INVALID_REG); slurmctld takes slurm.conf's Gres= when it
		 * starts. The node stays drained until then. */
		if (r.slurm_conf) {
			free(conf_text);
			conf_text = read_text(r.slurm_conf);
			conf_new = conf_text ? slurm_conf_edit(conf_text, r.slurm_conf, r.node, value, why, sizeof(why)) : NULL;
			if (!conf_text)
				snprintf(why, sizeof(why), "cannot read %s: %s", r.slurm_conf, strerror(errno));
			if (!conf_new || write_atomic(r.slurm_conf, conf_new, why, sizeof(why))) {
				char msg[sizeof(why) + 100];
				snprintf(msg, sizeof(msg), "%s; gres.conf is rewritten, Slurm not told", why);
				ret = stop_drained(c, &r, msg);
				goto out;
			}
			if (!c->json)
				printf("Set Gres=%s on %s's line in %s\n", *value ? value : "(none)", r.node, r.slurm_conf);
		}
		/* and when the count changes, slurmctld kills the node's jobs with GPUs as it starts
		 * ("_validate_node_gres_cnt: Killing job N: gres/gpu count mismatch") */
		char busy[600] = "";
		struct held *held = NULL;
		size_t nheld = 0;
		if (gres_total(value) != gres_total(gres_before) && slurm_held(r.node, &held, &nheld, what, sizeof(what)) == 0 &&
		    nheld) {
			unsigned int jobs[64];
			size_t njobs = 0;
			char list[400];
			for (size_t i = 0; i < nheld; i++)
				add_job(jobs, &njobs, 64, held[i].job);
			jobs_text(jobs, njobs, list, sizeof(list));
			snprintf(busy, sizeof(busy),
				 " once jobs %s ended (they hold GPUs here, and Slurm 22.05 kills the jobs of a node whose "
				 "GPU count changed when slurmctld starts)",
				 list);
		}
		free(held);
		snprintf(why, sizeof(why),
			 "the node's GPUs changed (Gres=%s, was %s; %s written); Slurm takes a new Gres= of GPUs with "
			 "File= only when slurmctld starts: %srestart slurmctld%s, then run this command again (it has "
			 "slurmd read gres.conf and resumes the node)",
			 *value ? value : "(none)", *gres_before ? gres_before : "(none)", r.gres_path,
			 r.slurm_conf ? "" : "set that Gres= on the node's line in slurm.conf, ", busy);
		ret = stop_drained(c, &r, why);
		goto out;
	}
	if (gres_written || r.drained) {
		/* slurmd reads gres.conf again; Slurm must show the node registered with it */
		char *out = NULL;
		char *args[] = {"reconfigure", NULL};
		if (scontrol(args, &out, why, sizeof(why)) || (free(out), slurm_took(&r, value, why, sizeof(why)))) {
			ret = stop_drained(c, &r, why);
			goto out;
		}
		told_slurm = true;
	}
	if (r.drained) {
		char nn[300], *out = NULL;
		snprintf(nn, sizeof(nn), "NodeName=%s", r.node);
		char *args[] = {"update", nn, "State=RESUME", NULL};
		if (scontrol(args, &out, why, sizeof(why))) {
			cli_fail(c, "the change is done and Slurm has it, but resuming %s failed: %s", r.node, why);
			ret = EXIT_DRAINED;
			goto out;
		}
		free(out);
		resumed = true;
	}
	if (c->json) {
		json_t *waited = json_array();
		for (size_t i = 0; i < r.nwaited; i++)
			json_array_append_new(waited, json_integer(r.waited[i]));
		json_t *doc = json_pack("{s:s, s:I, s:s, s:s, s:b, s:b, s:b, s:o, s:o}", "node", r.node, "operations_done",
					(json_int_t)r.done, "gres_conf", r.gres_path, "gres", value, "gres_conf_written",
					gres_written, "drained", r.drained, "resumed", resumed, "waited_for_jobs", waited,
					"records", records_json(&l));
		json_object_set_new(doc, "slurm_reconfigured", json_boolean(told_slurm));
		cli_print_json(doc);
		json_decref(doc);
	} else {
		if (told_slurm)
			printf("scontrol reconfigure: Slurm shows %s with Gres=%s\n", r.node, *value ? value : "(none)");
		if (resumed)
			printf("Resumed %s\n", r.node);
	}
	ret = EXIT_OK;
	goto out;
failed:
	/* printed already */
	if (txn) {
		cli_txn_end(c, txn, false, &(struct mig_error){0});
		txn = NULL;
	}
	if (r.drained || r.changed)
		ret = stop_drained(c, &r, r.changed ? "failed after the MIG change (see migctl's message)" :
						     "failed while waiting (see migctl's message)");
out:
	if (txn)
		cli_txn_end(c, txn, false, &(struct mig_error){0});
	c->slurm_gres_held = NULL;
	free(line);
	free(value);
	free(text);
	free(old);
	free(conf_text);
	free(conf_new);
	free(l.v);
	mig_plan_free(plan);
	free(targets);
	if (config)
		mig_config_free(config);
	return ret;
}

/* After a change (cli_consumers_*): rewrite the gres.conf migctl.conf's slurm-gres names when
 * it no longer matches the node. A warning when it cannot; nothing when it is current. */
void cli_slurm_gres_refresh(struct cli *c, const struct mig_node *node, const char *path)
{
	struct gres_list l = {0};
	char *value = NULL, *text = NULL, *old = NULL;
	bool json = c->json;
	if (c->slurm_gres_held && strcmp(c->slurm_gres_held, path) == 0)
		return; /* slurm reconfigure rewrites it itself, once Slurm may take it */
	c->json = false; /* a warning, not the command's JSON error document */
	if (!node->devnodes || !node->devnodes->known) {
		fprintf(stderr, "migctl: warning: %s not rewritten: device numbers unknown (%s)\n", path,
			node->devnodes ? node->devnodes->error : "not read");
		goto out;
	}
	if (gres_from_node(c, node, &l))
		goto out;
	value = gres_value(&l);
	text = value ? gres_text(&l, value) : NULL;
	if (!text) {
		fprintf(stderr, "migctl: warning: %s not rewritten: out of memory\n", path);
		goto out;
	}
	old = read_text(path);
	if (old && strcmp(old, text) == 0)
		goto out;
	char why[4400];
	if (write_atomic(path, text, why, sizeof(why)))
		fprintf(stderr, "migctl: warning: keeping Slurm's gres.conf current: %s\n", why);
	else
		fprintf(stderr, "migctl: %s rewritten for the new MIG layout (Gres=%s): update the node in Slurm\n", path,
			*value ? value : "none");
out:
	c->json = json;
	free(old);
	free(text);
	free(value);
	free(l.v);
}

int cmd_slurm(struct cli *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "gres") == 0)
		return slurm_gres(c, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "task-prolog") == 0)
		return slurm_task_prolog(c, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "reconfigure") == 0)
		return slurm_reconfigure(c, argc, argv);
	return cli_usage("slurm: expected 'slurm gres [--output FILE [--check]] [--gres-value] [--mknod] [--node-name NAME]' or "
			 "'slurm task-prolog [--gres-conf FILE]' or 'slurm reconfigure -f CONFIG -c NAME [--node NAME] "
			 "[--timeout SECONDS] [--gres-conf FILE] [--slurm-conf FILE]'");
}
