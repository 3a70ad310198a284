/* SPDX-License-Identifier: MIT */
/*
 * slurm gres | task-prolog (issue 14): Slurm's gres.conf of the node's MIG devices and whole
 * GPUs, one record per device with its device files, and the task prolog that turns the
 * record indexes Slurm hands a step (SLURM_STEP_GPUS, ...) into the MIG UUIDs CUDA wants,
 * after checking each record's files against the node as it is now.
 */
#define _GNU_SOURCE
#include <ctype.h>
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

static char *gres_text(const struct gres_list *l, const char *value)
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
	const char *output = NULL;
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
	text = value ? gres_text(&l, value) : NULL;
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

/* After a change (cli_consumers_*): rewrite the gres.conf migctl.conf's slurm-gres names when
 * it no longer matches the node. A warning when it cannot; nothing when it is current. */
void cli_slurm_gres_refresh(struct cli *c, const struct mig_node *node, const char *path)
{
	struct gres_list l = {0};
	char *value = NULL, *text = NULL, *old = NULL;
	bool json = c->json;
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
	return cli_usage("slurm: expected 'slurm gres [--output FILE [--check]] [--gres-value] [--mknod]' or "
			 "'slurm task-prolog [--gres-conf FILE]'");
}
