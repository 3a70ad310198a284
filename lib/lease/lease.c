/* SPDX-License-Identifier: MIT */
/*
 * Leases (issue 12): one MIG device per lease, created through the transaction, recorded in a
 * table kept beside the journal and touched only under the node lock.
 *
 * The table ({"format": "migctl-leases", "version": 1, "entries": [...]}) is written before a
 * create (state "creating", with the GPU and placement) and after it (state "active" with the
 * ids), so that a request killed between the two leaves an entry that the next reconcile finds
 * and undoes. An instance is destroyed only when the table names it and it still looks as it
 * did when created: same GPU, GPU instance id, profile, placement, its one compute instance.
 * A request killed between the two is undone by the transaction itself: its plan is all or
 * nothing, and the next mig_txn_begin destroys what the journal says it created; the
 * "creating" entry is then dropped, and whatever is at its placement is left alone.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#include "internal.h"
#include "txn/statefile.h"

#define TABLE_FORMAT "migctl-leases"
#define TABLE_VERSION 1

struct table {
	struct mig_kept_file file;
	struct mig_lease *e;
	size_t n, cap;
};

static const char *const state_names[] = {"creating", "active", "pooled", "draining"};

const char *mig_lease_state_name(enum mig_lease_state s)
{
	return (unsigned int)s < 4 ? state_names[s] : "unknown";
}

static double now_of(const struct mig_lease_options *o)
{
	if (o && o->now > 0)
		return o->now;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* May a lease enable MIG mode (the field exists in the caller's struct and is set)? */
static bool may_enable_mig(const struct mig_lease_options *o)
{
	return o && o->size >= offsetof(struct mig_lease_options, enable_mig) + sizeof(o->enable_mig) && o->enable_mig;
}

/* ---- owners ---------------------------------------------------------------- */

/* The start time of a live process (field 22 of /proc/PID/stat); -1 when it is gone or a zombie. */
static int proc_start(long pid, unsigned long long *start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	if (!p || p[1] != ' ')
		return -1;
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return -1;
	/* p is field 3; skip to field 22 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	char *end;
	errno = 0;
	*start = strtoull(p, &end, 10);
	return errno || end == p ? -1 : 0;
}

static bool owner_alive(const struct mig_lease *l)
{
	unsigned long long start;
	if (l->owner_pid <= 0)
		return true; /* a named lease lives by its TTL */
	return proc_start(l->owner_pid, &start) == 0 && start == l->owner_start;
}

/* ---- the table ---------------------------------------------------------------- */

static int corrupt(struct table *t, const char *why, struct mig_error *err)
{
	return mig_error_set(err, MIG_E_IO,
			     "the lease table %s is corrupt (%s); nothing was changed: check the instances it names, "
			     "then move it aside",
			     t->file.path, why);
}

static int push(struct table *t, const struct mig_lease *l)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct mig_lease *e = realloc(t->e, cap * sizeof(*e));
		if (!e)
			return -1;
		t->e = e;
		t->cap = cap;
	}
	t->e[t->n++] = *l;
	return 0;
}

static void remove_at(struct table *t, size_t i)
{
	memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof(*t->e));
	t->n--;
}

static bool get_str(json_t *o, const char *key, char *buf, size_t len, bool required)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return !required && (buf[0] = '\0', true);
	if (!json_is_string(v) || strlen(json_string_value(v)) >= len)
		return false;
	snprintf(buf, len, "%s", json_string_value(v));
	return true;
}

static bool get_num(json_t *o, const char *key, double *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return *out >= 0;
}

static void set_derived(struct mig_lease *l)
{
	snprintf(l->cdi, sizeof(l->cdi), "nvidia.com/mig=%s", l->mig_uuid);
	snprintf(l->env, sizeof(l->env), "CUDA_VISIBLE_DEVICES=%s", l->mig_uuid);
}

static int entry_parse(struct table *t, json_t *o, struct mig_lease *l, struct mig_error *err)
{
	char state[16];
	double v[10];
	static const char *const nums[] = {"owner_pid", "owner_start", "ttl",	  "uid",   "gpu",
					   "gi",	"ci",	       "start", "size", "created"};
	memset(l, 0, sizeof(*l));
	if (!json_is_object(o) || !get_str(o, "id", l->id, sizeof(l->id), true) ||
	    !get_str(o, "state", state, sizeof(state), true) || !get_str(o, "name", l->name, sizeof(l->name), false) ||
	    !get_str(o, "gpu_uuid", l->gpu_uuid, sizeof(l->gpu_uuid), true) ||
	    !get_str(o, "mig_uuid", l->mig_uuid, sizeof(l->mig_uuid), false) ||
	    !get_str(o, "profile", l->profile, sizeof(l->profile), true))
		return corrupt(t, "an entry lacks a string member or has one too long", err);
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (!get_num(o, nums[i], &v[i]))
			return corrupt(t, "an entry lacks a number member", err);
	if (!get_num(o, "expires", &l->expires))
		return corrupt(t, "an entry lacks its expiry", err);
	size_t s = 0;
	while (s < 4 && strcmp(state, state_names[s]) != 0)
		s++;
	if (s == 4)
		return corrupt(t, "an entry has an unknown state", err);
	l->state = (enum mig_lease_state)s;
	l->owner_pid = (long)v[0];
	l->owner_start = (unsigned long long)v[1];
	l->ttl = v[2];
	l->uid = (unsigned int)v[3];
	l->gpu = (unsigned int)v[4];
	l->gi_id = (unsigned int)v[5];
	l->ci_id = (unsigned int)v[6];
	l->at.start = (unsigned int)v[7];
	l->at.size = (unsigned int)v[8];
	l->created = v[9];
	set_derived(l);
	return 0;
}

/* Open and read the table; a missing one is empty. */
static int table_load(struct mig_txn *txn, const struct mig_lease_options *o, struct table *t, struct mig_error *err)
{
	memset(t, 0, sizeof(*t));
	t->file.dirfd = -1;
	if (mig_kept_open(&t->file, o ? o->path : NULL, mig_txn_state_dir(txn), "leases.json", "the lease table", err) ||
	    mig_kept_check_file(&t->file, -1, "the lease table", err))
		return -1;
	errno = 0;
	char *text = mig_kept_read(&t->file);
	if (!text) {
		if (errno == ENOENT)
			return 0;
		return mig_error_set(err, MIG_E_IO, "cannot read the lease table %s: %s", t->file.path,
				     strerror(errno ? errno : EIO));
	}
	json_error_t je;
	json_t *doc = json_loads(text, 0, &je);
	free(text);
	if (!doc)
		return corrupt(t, je.text, err);
	json_t *entries = json_object_get(doc, "entries");
	json_t *fmt = json_object_get(doc, "format");
	int rc = 0;
	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), TABLE_FORMAT) != 0 ||
	    json_integer_value(json_object_get(doc, "version")) != TABLE_VERSION || !json_is_array(entries))
		rc = corrupt(t, "not a migctl-leases version 1 document", err);
	for (size_t i = 0; rc == 0 && i < json_array_size(entries); i++) {
		struct mig_lease l;
		rc = entry_parse(t, json_array_get(entries, i), &l, err);
		if (rc == 0 && push(t, &l))
			rc = mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	json_decref(doc);
	return rc;
}

static int table_save(struct table *t, struct mig_error *err)
{
	json_t *entries = json_array();
	for (size_t i = 0; i < t->n; i++) {
		const struct mig_lease *l = &t->e[i];
		json_array_append_new(
			entries,
			json_pack("{s:s, s:s, s:s, s:I, s:I, s:f, s:I, s:s, s:s, s:I, s:I, s:I, s:s, s:I, s:I, s:f, s:f}",
				  "id", l->id, "state", mig_lease_state_name(l->state), "name", l->name, "owner_pid",
				  (json_int_t)l->owner_pid, "owner_start", (json_int_t)l->owner_start, "ttl", l->ttl,
				  "uid", (json_int_t)l->uid, "gpu_uuid", l->gpu_uuid, "mig_uuid", l->mig_uuid, "gpu",
				  (json_int_t)l->gpu, "gi", (json_int_t)l->gi_id, "ci", (json_int_t)l->ci_id, "profile",
				  l->profile, "start", (json_int_t)l->at.start, "size", (json_int_t)l->at.size, "created",
				  l->created, "expires", l->expires));
	}
	json_t *doc = json_pack("{s:s, s:i, s:o}", "format", TABLE_FORMAT, "version", TABLE_VERSION, "entries", entries);
	char *text = doc ? json_dumps(doc, JSON_INDENT(1)) : NULL;
	json_decref(doc);
	if (!text)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	int rc = mig_kept_replace(&t->file, text, strlen(text));
	int e = errno;
	free(text);
	if (rc)
		return mig_error_set(err, MIG_E_IO, "cannot write the lease table %s: %s", t->file.path, strerror(e));
	return 0;
}

static void table_free(struct table *t)
{
	mig_kept_close(&t->file);
	free(t->e);
	t->e = NULL;
	t->n = t->cap = 0;
}

/* ---- the node ---------------------------------------------------------------- */

/* The GPU instance an active/pooled/draining entry names, when it still looks as created. */
static const struct mig_gi *gi_of(const struct mig_node *node, const struct mig_lease *l, const struct mig_gpu **gout)
{
	const struct mig_gpu *g = mig_node_find_gpu(node, l->gpu_uuid);
	if (!g)
		return NULL;
	for (size_t j = 0; j < g->ngis; j++) {
		const struct mig_gi *gi = &g->gis[j];
		if (gi->id != l->gi_id || gi->placement.start != l->at.start || gi->placement.size != l->at.size ||
		    strcmp(gi->profile, l->profile) != 0)
			continue;
		if (gi->ncis != 1 || gi->cis[0].id != l->ci_id || strcmp(gi->cis[0].uuid, l->mig_uuid) != 0)
			return NULL; /* someone else changed it: it is no longer the lease's */
		if (gout)
			*gout = g;
		return gi;
	}
	return NULL;
}

/* The GPU instance a "creating" entry's request made, when the change this transaction found
 * interrupted is that request's (its plan creates the entry's profile at its placement on its
 * GPU): no change completed since, so what is at that placement is the request's. */
static const struct mig_gi *interrupted_create(struct mig_txn *txn, const struct mig_node *node,
					       const struct mig_lease *l, const struct mig_gpu **gout)
{
	const struct mig_plan *ip = mig_txn_interrupted_plan(txn);
	bool ours = false;
	for (size_t i = 0; ip && i < ip->nops && !ours; i++) {
		const struct mig_op *op = &ip->ops[i];
		ours = op->kind == MIG_OP_CREATE_GI && strcmp(op->gpu_uuid, l->gpu_uuid) == 0 &&
		       op->at.start == l->at.start && op->at.size == l->at.size && strcmp(op->profile, l->profile) == 0;
	}
	const struct mig_gpu *g = ours ? mig_node_find_gpu(node, l->gpu_uuid) : NULL;
	for (size_t j = 0; g && j < g->ngis; j++) {
		const struct mig_gi *gi = &g->gis[j];
		if (gi->placement.start == l->at.start && gi->placement.size == l->at.size &&
		    strcmp(gi->profile, l->profile) == 0 && gi->ncis <= 1) {
			*gout = g;
			return gi;
		}
	}
	return NULL;
}

static bool gi_in_use(const struct mig_gi *gi)
{
	for (size_t i = 0; i < gi->ncis; i++)
		if (gi->cis[i].nprocs)
			return true;
	return false;
}

static int plan_destroy(struct mig_plan *plan, const struct mig_gpu *g, const struct mig_gi *gi, struct mig_error *err)
{
	for (size_t i = 0; i < gi->ncis; i++)
		if (mig_plan_add_destroy_ci(plan, g, gi, &gi->cis[i], err))
			return -1;
	return mig_plan_add_destroy_gi(plan, g, gi, err);
}

/* Does the pool take an instance of this profile (pool is "all" or a comma list)? */
static bool pool_takes(const struct mig_lease_options *o, const struct table *t, const struct mig_gpu *g,
		       const char *profile)
{
	if (!o || !o->pool || !*o->pool)
		return false;
	if (o->pool_max) {
		size_t pooled = 0;
		for (size_t i = 0; i < t->n; i++)
			pooled += t->e[i].state == MIG_LEASE_POOLED;
		if (pooled >= o->pool_max)
			return false;
	}
	if (strcmp(o->pool, "all") == 0)
		return true;
	const char *p = o->pool;
	while (*p) {
		char item[MIG_PROFILE_MAX];
		size_t len = strcspn(p, ",");
		if (len < sizeof(item)) {
			memcpy(item, p, len);
			item[len] = '\0';
			const struct mig_gi_profile *gp = mig_gpu_find_profile(g, item, NULL);
			if (gp && strcmp(gp->name, profile) == 0)
				return true;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

static bool pool_takes_any(const struct mig_lease_options *o)
{
	return o && o->pool && *o->pool;
}

/* End an entry's instance: pool it (when allowed and idle), keep it draining (in use) or plan
 * its destroy. Returns 1 when the entry stays in the table, 0 when it goes, -1 on error. */
static int end_instance(const struct mig_lease_options *o, struct table *t, size_t i, const struct mig_node *node,
			struct mig_plan *plan, bool may_pool, double now, struct mig_lease_report *rep,
			struct mig_error *err)
{
	struct mig_lease *l = &t->e[i];
	const struct mig_gpu *g = NULL;
	const struct mig_gi *gi = gi_of(node, l, &g);
	if (!gi)
		return 0;
	if (gi_in_use(gi)) {
		l->state = MIG_LEASE_DRAINING;
		rep->draining++;
		return 1;
	}
	if (may_pool && pool_takes(o, t, g, l->profile)) {
		l->state = MIG_LEASE_POOLED;
		l->owner_pid = 0;
		l->owner_start = 0;
		l->name[0] = '\0';
		l->ttl = o->pool_ttl;
		l->expires = o->pool_ttl > 0 ? now + o->pool_ttl : 0;
		rep->pooled++;
		return 1;
	}
	if (plan_destroy(plan, g, gi, err))
		return -1;
	rep->destroyed++;
	return 0;
}

static void note_vanished(struct mig_lease_report *rep, const char *id)
{
	size_t len = strlen(rep->vanished_ids);
	snprintf(rep->vanished_ids + len, sizeof(rep->vanished_ids) - len, "%s%s", len ? "," : "", id);
	rep->vanished++;
}

static int execute(struct mig_txn *txn, struct mig_plan *plan, struct mig_error *err)
{
	if (plan->nops == 0)
		return 0;
	return mig_txn_execute(txn, plan, err);
}

/* Reconcile the loaded table with the node: plan the destroys, execute, save. */
static int reconcile(struct mig_txn *txn, const struct mig_lease_options *o, struct table *t,
		     struct mig_lease_report *rep, struct mig_error *err)
{
	const struct mig_node *node = mig_txn_node(txn);
	struct mig_plan *plan;
	double now = now_of(o);
	bool dirty = false;
	if (mig_plan_new(&plan, err))
		return -1;
	for (size_t i = 0; i < t->n;) {
		struct mig_lease *l = &t->e[i];
		enum mig_lease_state was = l->state;
		int keep = 1;
		if (l->state == MIG_LEASE_CREATING) {
			/* a request killed before it recorded its instance: mig_txn_begin undid what
			 * its journal says it made; what it made unrecorded (killed between NVML's
			 * create and the journal's step) is at the entry's placement, and is known to
			 * be its own only while its journal is the last one (no change since). */
			const struct mig_gpu *g = NULL;
			const struct mig_gi *gi = interrupted_create(txn, node, l, &g);
			rep->orphans++;
			keep = 0;
			if (gi && gi_in_use(gi)) {
				l->state = MIG_LEASE_DRAINING; /* made for the lease and used: destroyed once idle */
				l->gi_id = gi->id;
				l->ci_id = gi->cis[0].id;
				snprintf(l->mig_uuid, sizeof(l->mig_uuid), "%s", gi->cis[0].uuid);
				set_derived(l);
				keep = 1;
			} else if (gi) {
				if (plan_destroy(plan, g, gi, err))
					goto fail;
				rep->destroyed++;
			}
		} else if (!gi_of(node, l, NULL)) {
			if (l->state == MIG_LEASE_ACTIVE)
				note_vanished(rep, l->id);
			keep = 0;
		} else if (l->state == MIG_LEASE_ACTIVE) {
			if (!owner_alive(l) || (l->expires > 0 && now >= l->expires)) {
				rep->ended++;
				keep = end_instance(o, t, i, node, plan, true, now, rep, err);
			}
		} else if (l->state == MIG_LEASE_POOLED) {
			if ((l->expires > 0 && now >= l->expires) || !pool_takes_any(o))
				keep = end_instance(o, t, i, node, plan, false, now, rep, err);
		} else if (l->state == MIG_LEASE_DRAINING) {
			keep = end_instance(o, t, i, node, plan, false, now, rep, err);
		}
		if (keep < 0)
			goto fail;
		if (keep == 0 || l->state != was)
			dirty = true;
		if (keep == 0)
			remove_at(t, i);
		else
			i++;
	}
	if (execute(txn, plan, err))
		goto fail;
	dirty = dirty || plan->nops;
	mig_plan_free(plan);
	return dirty ? table_save(t, err) : 0;
fail:
	mig_plan_free(plan);
	return -1;
}

int mig_lease_reconcile(struct mig_txn *txn, const struct mig_lease_options *o, struct mig_lease_report *rep,
			struct mig_error *err)
{
	struct table t;
	struct mig_lease_report local;
	if (!rep)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	int rc = table_load(txn, o, &t, err) || reconcile(txn, o, &t, rep, err) ? -1 : 0;
	table_free(&t);
	return rc;
}

/* ---- device nodes ---------------------------------------------------------------- */

static void devnodes_unknown(struct mig_lease *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void devnodes_unknown(struct mig_lease *l, const char *fmt, ...)
{
	va_list ap;
	l->devnodes_known = false;
	memset(&l->devnodes, 0, sizeof(l->devnodes));
	va_start(ap, fmt);
	vsnprintf(l->devnodes_error, sizeof(l->devnodes_error), fmt, ap);
	va_end(ap);
}

/*
 * Fill the device nodes of ls[0..n) from the transaction's node: its own when its read had
 * them (MIG_READ_DEVNODES), else read once here (one minor number per GPU, /proc/devices,
 * mig-minors, a stat per node). Never fails: what cannot be known is said in the entry, and
 * no number is made up (a capability node needs mig-minors' minor and nvidia-caps' major).
 */
static void fill_devnodes(struct mig_txn *txn, struct mig_lease *ls, size_t n)
{
	struct mig_node *node = mig_txn_node_mut(txn);
	struct mig_error err;
	if (n == 0)
		return;
	mig_error_reset(&err);
	if (!node->devnodes && mig_node_read_devnodes(mig_txn_ctx(txn), node, 0, &err)) {
		for (size_t i = 0; i < n; i++) {
			devnodes_unknown(&ls[i], "reading the device nodes: %s", err.msg);
			ls[i].ncontrol = 0;
		}
		return;
	}
	const struct mig_node_devnodes *nd = node->devnodes;
	for (size_t i = 0; i < n; i++) {
		struct mig_lease *l = &ls[i];
		const struct mig_gpu *g = NULL;
		const struct mig_ci *ci = mig_node_find_device(node, l->mig_uuid, &g, NULL);
		const size_t room = sizeof(l->control) / sizeof(l->control[0]);
		l->ncontrol = nd->ncontrol < room ? nd->ncontrol : room;
		memcpy(l->control, nd->control, l->ncontrol * sizeof(l->control[0]));
		l->devnodes_error[0] = '\0';
		if (!ci)
			devnodes_unknown(l, "its MIG device %s is not on the node", l->mig_uuid);
		else if (!g->minor_known)
			devnodes_unknown(l, "the device minor number of GPU %u (NVML) is unknown", g->index);
		else if (!ci->devnodes || !nd->caps_major)
			devnodes_unknown(l, "%s", nd->error[0] ? nd->error : "the driver's tables do not name them");
		else {
			l->devnodes = *ci->devnodes;
			l->devnodes_known = true;
		}
	}
}

/* ---- requests ---------------------------------------------------------------- */

static bool contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++) {
		size_t i = 0;
		while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
			i++;
		if (i == n)
			return true;
	}
	return n == 0;
}

static void make_id(const struct table *t, char *id)
{
	for (;;) {
		uuid_t u;
		char s[37];
		bool taken = false;
		uuid_generate_random(u);
		uuid_unparse_lower(u, s);
		snprintf(id, MIG_LEASE_ID_MAX, "l-%.8s", s);
		for (size_t i = 0; i < t->n; i++)
			taken = taken || strcmp(t->e[i].id, id) == 0;
		if (!taken)
			return;
	}
}

struct cand {
	char name[MIG_PROFILE_MAX];
	unsigned int slices;
	unsigned long long mib;
	int media;
};

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->slices != y->slices)
		return x->slices < y->slices ? -1 : 1;
	if (x->mib != y->mib)
		return x->mib < y->mib ? -1 : 1;
	if (x->media != y->media)
		return x->media < y->media ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool meets(const struct mig_gi_profile *p, const struct mig_lease_request *r)
{
	if (p->memory_mib < r->min_memory_mib || p->slices < r->min_slices)
		return false;
	if (r->media)
		return p->dec > 0 && (p->parsed.media == MIG_MEDIA_DEFAULT || p->parsed.media == MIG_MEDIA_ME);
	return p->parsed.media == MIG_MEDIA_DEFAULT;
}

/* The profiles to try, smallest first: the one named, or every one that meets the need. */
static int candidates(const struct mig_node *node, const bool *eligible, const struct mig_lease_request *r,
		      bool may_enable, struct cand **out, size_t *n, struct mig_error *err)
{
	size_t cap = 1, nc = 0;
	const struct mig_gpu *first = NULL;
	for (size_t i = 0; i < node->ngpus; i++)
		if (eligible[i] && node->gpus[i].mode_current == MIG_MODE_ENABLED) {
			cap += node->gpus[i].nprofiles;
			first = first ? first : &node->gpus[i];
		}
	if (!first && may_enable)
		return mig_error_set(err, MIG_E_NOT_FOUND, "no %sGPU has MIG mode enabled or supports MIG",
				     r->gpus || r->model ? "selected " : "");
	if (!first)
		return mig_error_set(err, MIG_E_NOT_FOUND,
				     "no %sGPU has MIG mode enabled, and leases may not enable it here: enable MIG mode "
				     "first, or let leases enable it on idle GPUs (the lease options' enable_mig)",
				     r->gpus || r->model ? "selected " : "");
	struct cand *c = calloc(cap, sizeof(*c));
	if (!c)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	if (r->profile) {
		const struct mig_gi_profile *p = NULL;
		for (size_t i = 0; i < node->ngpus && !p; i++)
			if (eligible[i] && node->gpus[i].mode_current == MIG_MODE_ENABLED)
				p = mig_gpu_find_profile(&node->gpus[i], r->profile, NULL);
		if (!p) {
			mig_gpu_find_profile(first, r->profile, err); /* names the nearest one */
			free(c);
			return -1;
		}
		snprintf(c[0].name, sizeof(c[0].name), "%s", p->name);
		nc = 1;
	} else {
		for (size_t i = 0; i < node->ngpus; i++) {
			const struct mig_gpu *g = &node->gpus[i];
			if (!eligible[i] || g->mode_current != MIG_MODE_ENABLED)
				continue;
			for (size_t k = 0; k < g->nprofiles; k++) {
				const struct mig_gi_profile *p = &g->profiles[k];
				bool dup = false;
				for (size_t x = 0; x < nc; x++)
					dup = dup || strcmp(c[x].name, p->name) == 0;
				if (dup || !meets(p, r))
					continue;
				snprintf(c[nc].name, sizeof(c[nc].name), "%s", p->name);
				c[nc].slices = p->slices;
				c[nc].mib = p->memory_mib;
				c[nc].media = (int)p->parsed.media;
				nc++;
			}
		}
		if (nc == 0) {
			free(c);
			return mig_error_set(err, MIG_E_NOT_FOUND,
					     "no profile of the %sGPUs with MIG enabled has %llu MiB, %u compute slices%s",
					     r->gpus || r->model ? "selected " : "", r->min_memory_mib, r->min_slices,
					     r->media ? " and a decoder" : "");
		}
		qsort(c, nc, sizeof(*c), cand_cmp);
	}
	*out = c;
	*n = nc;
	return 0;
}

/* A shallow copy of node whose eligible GPUs lack their pooled instances (drop[] per GPU
 * position: NULL, or a flag per GI of that GPU; NULL for all pooled entries of t). */
struct hypo {
	struct mig_node node;
	struct mig_gi **gis;
};

static bool pooled_gi(const struct table *t, const struct mig_gpu *g, const struct mig_gi *gi)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].state == MIG_LEASE_POOLED && strcmp(t->e[i].gpu_uuid, g->uuid) == 0 &&
		    t->e[i].gi_id == gi->id && gi->ncis == 1 && gi->cis[0].id == t->e[i].ci_id &&
		    strcmp(gi->cis[0].uuid, t->e[i].mig_uuid) == 0 && !gi_in_use(gi))
			return true;
	return false;
}

static int hypo_make(struct hypo *h, const struct mig_node *node, const struct table *t, const bool *eligible,
		     size_t only, const struct mig_placement *overlap)
{
	memset(h, 0, sizeof(*h));
	h->node = *node;
	h->node.gpus = calloc(node->ngpus ? node->ngpus : 1, sizeof(*h->node.gpus));
	h->gis = calloc(node->ngpus ? node->ngpus : 1, sizeof(*h->gis));
	if (!h->node.gpus || !h->gis)
		return -1;
	for (size_t i = 0; i < node->ngpus; i++) {
		const struct mig_gpu *g = &node->gpus[i];
		h->node.gpus[i] = *g;
		if ((eligible && !eligible[i]) || (only != (size_t)-1 && i != only))
			continue;
		h->gis[i] = calloc(g->ngis ? g->ngis : 1, sizeof(**h->gis));
		if (!h->gis[i])
			return -1;
		size_t k = 0;
		for (size_t j = 0; j < g->ngis; j++) {
			const struct mig_gi *gi = &g->gis[j];
			bool drop = pooled_gi(t, g, gi);
			if (drop && overlap)
				drop = gi->placement.start < overlap->start + overlap->size &&
				       overlap->start < gi->placement.start + gi->placement.size;
			if (!drop)
				h->gis[i][k++] = *gi;
		}
		h->node.gpus[i].gis = h->gis[i];
		h->node.gpus[i].ngis = k;
	}
	return 0;
}

static void hypo_free(struct hypo *h)
{
	for (size_t i = 0; h->gis && i < h->node.ngpus; i++)
		free(h->gis[i]);
	free(h->gis);
	free(h->node.gpus);
}

static int save_out(struct table *t, size_t i, struct mig_lease *out, struct mig_error *err)
{
	if (table_save(t, err))
		return -1;
	if (out)
		*out = t->e[i];
	return 0;
}

struct commit_arg {
	struct table *t;
	char (*victims)[MIG_LEASE_ID_MAX];
	size_t nv;
};

/* In the execute, before its journal goes: the new instance becomes the lease's (the last
 * entry), and the pooled instances it replaced leave the table. */
static int commit_lease(struct mig_txn *txn, void *arg, struct mig_error *err)
{
	struct commit_arg *ca = arg;
	struct table *t = ca->t;
	const struct mig_node *node = mig_txn_node(txn);
	struct mig_lease *nl = &t->e[t->n - 1];
	const struct mig_gpu *ng = mig_node_find_gpu(node, nl->gpu_uuid);
	const struct mig_gi *gi = NULL;
	for (size_t j = 0; ng && j < ng->ngis && !gi; j++)
		if (ng->gis[j].placement.start == nl->at.start && ng->gis[j].placement.size == nl->at.size &&
		    strcmp(ng->gis[j].profile, nl->profile) == 0 && ng->gis[j].ncis == 1)
			gi = &ng->gis[j];
	if (!gi)
		return mig_error_set(err, MIG_E_CHANGED,
				     "the %s instance created at %u:%u on GPU %u is not on the node after the change",
				     nl->profile, nl->at.start, nl->at.size, nl->gpu);
	struct mig_lease keep = *nl;
	nl->state = MIG_LEASE_ACTIVE;
	nl->gi_id = gi->id;
	nl->ci_id = gi->cis[0].id;
	snprintf(nl->mig_uuid, sizeof(nl->mig_uuid), "%s", gi->cis[0].uuid);
	set_derived(nl);
	/* the victims are gone from the node: drop them from what is saved (kept for the caller) */
	struct table saved = *t;
	struct mig_lease *copy = calloc(t->n, sizeof(*copy));
	if (!copy) {
		*nl = keep;
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++) {
		bool victim = false;
		for (size_t v = 0; v < ca->nv; v++)
			victim = victim || strcmp(t->e[i].id, ca->victims[v]) == 0;
		if (!victim)
			copy[n++] = t->e[i];
	}
	saved.e = copy;
	saved.n = n;
	int rc = table_save(&saved, err);
	free(copy);
	if (rc)
		*nl = keep;
	return rc;
}

/* Create the instance of choice ch for lease l (destroying the pooled GIs of g absent from
 * the hypothetical GPU hg, when reclaiming), recording the intent first. */
static int create_for(struct mig_txn *txn, struct table *t, struct mig_lease *l, const struct mig_place_choice *ch,
		      const struct mig_gpu *hg, bool enable_mode, struct mig_lease *out, struct mig_error *err)
{
	const struct mig_node *node = mig_txn_node(txn);
	const struct mig_gpu *g = &node->gpus[ch->gpu];
	char victims[8][MIG_LEASE_ID_MAX];
	size_t nv = 0;
	struct mig_plan *plan;
	if (mig_plan_new(&plan, err))
		return -1;
	for (size_t j = 0; hg && j < g->ngis; j++) {
		bool kept = false;
		for (size_t k = 0; k < hg->ngis; k++)
			kept = kept || hg->gis[k].id == g->gis[j].id;
		if (kept)
			continue;
		for (size_t i = 0; i < t->n && nv < 8; i++)
			if (t->e[i].state == MIG_LEASE_POOLED && strcmp(t->e[i].gpu_uuid, g->uuid) == 0 &&
			    t->e[i].gi_id == g->gis[j].id)
				snprintf(victims[nv++], MIG_LEASE_ID_MAX, "%s", t->e[i].id);
		if (plan_destroy(plan, g, &g->gis[j], err))
			goto fail;
	}
	if ((enable_mode && mig_plan_add_mode(plan, g, true, err)) ||
	    mig_plan_add_create_gi(plan, g, ch->profile, ch->at, true, err))
		goto fail;
	l->state = MIG_LEASE_CREATING;
	snprintf(l->gpu_uuid, sizeof(l->gpu_uuid), "%s", g->uuid);
	l->gpu = g->index;
	snprintf(l->profile, sizeof(l->profile), "%s", ch->profile->name);
	l->at = ch->at;
	make_id(t, l->id);
	if (push(t, l)) {
		mig_error_set(err, MIG_E_NOMEM, "out of memory");
		goto fail;
	}
	if (table_save(t, err)) {
		t->n--;
		goto fail;
	}
	struct commit_arg ca = {t, victims, nv};
	mig_txn_on_commit(txn, commit_lease, &ca);
	int xrc = mig_txn_execute(txn, plan, err);
	mig_txn_on_commit(txn, NULL, NULL); /* an execute that stopped early did not run it */
	if (xrc) {
		struct mig_error e2;
		/* all or nothing: the execute undid the create, or (the table could not be written)
		 * its journal stays and the next transaction undoes it */
		t->n--;
		table_save(t, &e2);
		goto fail;
	}
	mig_plan_free(plan);
	for (size_t v = 0; v < nv; v++)
		for (size_t i = 0; i < t->n; i++)
			if (strcmp(t->e[i].id, victims[v]) == 0) {
				remove_at(t, i);
				break;
			}
	if (out)
		*out = t->e[t->n - 1];
	return 0;
fail:
	mig_plan_free(plan);
	return -1;
}

static bool fit_error(enum mig_status s)
{
	return s == MIG_E_NO_CAPACITY || s == MIG_E_FRAGMENTED || s == MIG_E_NOT_FOUND;
}

static const char *pending_words(enum mig_pending why)
{
	switch (why) {
	case MIG_PENDING_IN_USE:
		return "processes or clients hold the GPU";
	case MIG_PENDING_RESET:
		return "the GPU needs a reset";
	case MIG_PENDING_REBOOT:
		return "a reboot applies it";
	default:
		return "the driver did not say why";
	}
}

/*
 * Nothing with MIG enabled takes the request, and the options let a lease enable MIG mode:
 * enable it on an idle eligible GPU that has it disabled (no processes at all), chosen by the
 * placement policy as if its MIG mode were on, and create there, both in one plan (the mode
 * phase first). A change the driver leaves pending is reported, and nothing is leased.
 * Returns 1 when no GPU has MIG mode disabled (the caller reports first), else 0 or -1.
 */
static int enable_for(struct mig_txn *txn, struct table *t, const struct mig_lease_request *r, const bool *eligible,
		      struct mig_lease *l, bool none_enabled, const struct mig_error *first, struct mig_lease *out,
		      struct mig_error *err)
{
	const struct mig_node *node = mig_txn_node(txn);
	size_t n = node->ngpus ? node->ngpus : 1, nidle = 0;
	bool *off = calloc(n, sizeof(bool));
	struct mig_gpu *gpus = calloc(n, sizeof(*gpus));
	const struct mig_gpu *busy = NULL;
	struct cand *c = NULL;
	size_t nc = 0;
	int rc = 1;
	if (!off || !gpus) {
		rc = mig_error_set(err, MIG_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < node->ngpus; i++) {
		const struct mig_gpu *g = &node->gpus[i];
		gpus[i] = *g;
		if (!eligible[i] || g->mode_current != MIG_MODE_DISABLED || g->nprofiles == 0)
			continue;
		if (g->nprocs) {
			busy = busy ? busy : g;
			continue;
		}
		off[i] = true;
		nidle++;
		gpus[i].mode_current = MIG_MODE_ENABLED; /* as it would be: empty, every placement free */
		gpus[i].gis = NULL;
		gpus[i].ngis = 0;
	}
	if (nidle == 0 && busy) {
		char why[MIG_ERROR_MSG_MAX / 2];
		snprintf(why, sizeof(why), "%.200s", none_enabled ? "no selected GPU has MIG mode enabled" : first->msg);
		rc = mig_error_set(err, MIG_E_BUSY,
				   "%s; GPU %u has MIG mode disabled, but %zu process(es) run on it, and a lease enables "
				   "MIG mode only on an idle GPU; nothing was changed",
				   why, busy->index, busy->nprocs);
		goto out;
	}
	if (nidle == 0)
		goto out;
	struct mig_node hn = *node;
	struct mig_error e;
	hn.gpus = gpus;
	rc = -1;
	if (candidates(&hn, off, r, true, &c, &nc, &e)) {
		*err = first->status == MIG_E_NOT_FOUND ? e : *first;
		goto out;
	}
	for (size_t k = 0; k < nc; k++) {
		struct mig_place_choice ch;
		if (mig_place_one(&hn, off, c[k].name, NULL, &ch, &e) != 0)
			continue;
		/* ch.profile points into the node's own profile table (hn shares it) */
		unsigned int index = node->gpus[ch.gpu].index;
		rc = create_for(txn, t, l, &ch, NULL, true, out, err);
		if (rc && err->status == MIG_E_PENDING)
			mig_error_set(err, MIG_E_PENDING,
				      "MIG mode was enabled on GPU %u for this lease, but the change is pending (%s); "
				      "nothing was leased: the GPU takes leases once the change is active",
				      index, pending_words(mig_txn_pending(txn, index)));
		goto out;
	}
	*err = *first;
out:
	free(c);
	free(gpus);
	free(off);
	return rc;
}

static int acquire(struct mig_txn *txn, const struct mig_lease_options *o, const struct mig_lease_request *r,
		   struct table *t, struct mig_lease *out, struct mig_error *err)
{
	double now = now_of(o);
	struct mig_lease l;
	memset(&l, 0, sizeof(l));
	l.uid = r->uid;
	l.ttl = r->ttl;
	l.created = now;
	l.expires = r->ttl > 0 ? now + r->ttl : 0;
	if (r->name)
		snprintf(l.name, sizeof(l.name), "%s", r->name);
	/* a named lease asked for again is renewed */
	for (size_t i = 0; r->name && *r->name && i < t->n; i++) {
		struct mig_lease *e = &t->e[i];
		if (e->state != MIG_LEASE_ACTIVE || strcmp(e->name, r->name) != 0)
			continue;
		if (e->uid != r->uid)
			return mig_error_set(err, MIG_E_PERMISSION, "lease name '%s' is taken by user %u (lease %s)",
					     r->name, e->uid, e->id);
		if (r->ttl > 0) {
			e->ttl = r->ttl;
			e->expires = now + r->ttl;
		} else if (e->ttl > 0) {
			e->expires = now + e->ttl;
		}
		if (save_out(t, i, out, err))
			return -1;
		out->reused = out->renewed = true;
		return 0;
	}
	if (r->owner_pid > 0) {
		if (proc_start(r->owner_pid, &l.owner_start))
			return mig_error_set(err, MIG_E_INVALID, "owner process %ld does not exist", r->owner_pid);
		l.owner_pid = r->owner_pid;
	}
	if (o && o->max_per_user) {
		unsigned int held = 0;
		for (size_t i = 0; i < t->n; i++)
			held += t->e[i].state == MIG_LEASE_ACTIVE && t->e[i].uid == r->uid;
		if (held >= o->max_per_user)
			return mig_error_set(err, MIG_E_PERMISSION,
					     "user %u holds %u leases, the most one user may hold; release one first", r->uid,
					     held);
	}
	const struct mig_node *node = mig_txn_node(txn);
	bool *eligible = calloc(node->ngpus ? node->ngpus : 1, sizeof(bool));
	struct cand *c = NULL;
	size_t nc = 0;
	int rc = -1;
	if (!eligible)
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	if (r->gpus) {
		if (mig_select_gpus(node, r->gpus, eligible, err))
			goto out;
	} else {
		for (size_t i = 0; i < node->ngpus; i++)
			eligible[i] = true;
	}
	for (size_t i = 0; r->model && i < node->ngpus; i++)
		eligible[i] = eligible[i] && contains_nocase(node->gpus[i].name, r->model);
	struct mig_error first;
	bool none_enabled = false;
	mig_error_reset(&first);
	if (candidates(node, eligible, r, may_enable_mig(o), &c, &nc, &first)) {
		if (!fit_error(first.status) || !may_enable_mig(o)) {
			*err = first;
			goto out;
		}
		nc = 0; /* no GPU with MIG enabled (or the profile): only enabling it can serve the request */
		none_enabled = true;
	}
	for (size_t k = 0; k < nc; k++) {
		/* the pool first: a warm instance of this profile on an eligible GPU */
		for (size_t i = 0; i < t->n; i++) {
			struct mig_lease *e = &t->e[i];
			const struct mig_gpu *g = mig_node_find_gpu(node, e->gpu_uuid);
			const struct mig_gi_profile *p =
				g && eligible[g - node->gpus] ? mig_gpu_find_profile(g, c[k].name, NULL) : NULL;
			if (e->state != MIG_LEASE_POOLED || !p || strcmp(p->name, e->profile) != 0)
				continue;
			snprintf(l.gpu_uuid, sizeof(l.gpu_uuid), "%s", e->gpu_uuid);
			l.gpu = e->gpu;
			snprintf(l.mig_uuid, sizeof(l.mig_uuid), "%s", e->mig_uuid);
			snprintf(l.profile, sizeof(l.profile), "%s", e->profile);
			l.gi_id = e->gi_id;
			l.ci_id = e->ci_id;
			l.at = e->at;
			l.state = MIG_LEASE_ACTIVE;
			make_id(t, l.id);
			set_derived(&l);
			*e = l;
			rc = save_out(t, i, out, err);
			if (rc == 0)
				out->reused = true;
			goto out;
		}
		struct mig_place_choice ch;
		struct mig_error e;
		if (mig_place_one(node, eligible, c[k].name, NULL, &ch, &e) == 0) {
			rc = create_for(txn, t, &l, &ch, NULL, false, out, err);
			goto out;
		}
		if (!fit_error(e.status)) {
			*err = e;
			goto out;
		}
		if (first.status == MIG_OK || (first.status == MIG_E_NOT_FOUND && e.status != MIG_E_NOT_FOUND))
			first = e;
	}
	/* nothing fits as the node is: would it with pooled instances destroyed? */
	for (size_t k = 0; k < nc; k++) {
		struct hypo all, part;
		struct mig_place_choice ch;
		if (hypo_make(&all, node, t, eligible, (size_t)-1, NULL)) {
			hypo_free(&all);
			mig_error_set(err, MIG_E_NOMEM, "out of memory");
			goto out;
		}
		int placed = mig_place_one(&all.node, eligible, c[k].name, NULL, &ch, NULL);
		if (placed != 0) {
			hypo_free(&all);
			continue;
		}
		/* destroy only the pooled instances in the way when that is enough */
		const struct mig_gpu *hg = &all.node.gpus[ch.gpu];
		const struct mig_gi_profile *prof = ch.profile;
		struct mig_place_choice use = ch;
		if (hypo_make(&part, node, t, eligible, ch.gpu, &ch.at) == 0) {
			const struct mig_gi_profile *pp = mig_gpu_find_profile(&part.node.gpus[ch.gpu], prof->name, NULL);
			if (pp && mig_place_gi_at(&part.node.gpus[ch.gpu], pp, ch.at, NULL) == 0)
				hg = &part.node.gpus[ch.gpu];
		}
		use.profile = mig_gpu_find_profile(&node->gpus[ch.gpu], prof->name, NULL);
		rc = use.profile ? create_for(txn, t, &l, &use, hg, false, out, err)
				 : mig_error_set(err, MIG_E_INVALID, "profile %s vanished", prof->name);
		hypo_free(&part);
		hypo_free(&all);
		goto out;
	}
	if (may_enable_mig(o)) {
		rc = enable_for(txn, t, r, eligible, &l, none_enabled, &first, out, err);
		if (rc != 1)
			goto out;
		rc = -1;
	}
	*err = first;
out:
	free(c);
	free(eligible);
	return rc;
}

int mig_lease_acquire(struct mig_txn *txn, const struct mig_lease_options *o, const struct mig_lease_request *r,
		      struct mig_lease *out, struct mig_error *err)
{
	struct table t;
	struct mig_lease_report rep;
	memset(&rep, 0, sizeof(rep));
	if (!r || !out)
		return mig_error_set(err, MIG_E_INVALID, "no request");
	memset(out, 0, sizeof(*out));
	if (r->profile && (r->min_memory_mib || r->min_slices || r->media))
		return mig_error_set(err, MIG_E_INVALID, "ask for a profile or for a need (memory, slices, media), not both");
	if (r->owner_pid <= 0 && r->ttl <= 0)
		return mig_error_set(err, MIG_E_INVALID, "a lease needs an owner process or a TTL");
	if (r->name && (strlen(r->name) >= MIG_LEASE_NAME_MAX || !*r->name))
		return mig_error_set(err, MIG_E_INVALID, "a lease name has 1 to %d characters", MIG_LEASE_NAME_MAX - 1);
	int rc = table_load(txn, o, &t, err) || reconcile(txn, o, &t, &rep, err) || acquire(txn, o, r, &t, out, err)
			 ? -1
			 : 0;
	table_free(&t);
	if (rc == 0)
		fill_devnodes(txn, out, 1); /* from the node as the create left it */
	return rc;
}

int mig_lease_release(struct mig_txn *txn, const struct mig_lease_options *o, const char *id, unsigned int uid,
		      struct mig_lease *out, struct mig_error *err)
{
	struct table t;
	struct mig_lease_report rep;
	struct mig_plan *plan = NULL;
	memset(&rep, 0, sizeof(rep));
	if (table_load(txn, o, &t, err) || reconcile(txn, o, &t, &rep, err))
		goto fail;
	size_t i = 0;
	while (i < t.n && !(t.e[i].state == MIG_LEASE_ACTIVE && strcmp(t.e[i].id, id) == 0))
		i++;
	if (i == t.n) {
		bool ended = strstr(rep.vanished_ids, id) != NULL;
		mig_error_set(err, MIG_E_NOT_FOUND, "no lease %s%s", id,
			      ended ? ": its instance vanished (destroyed by someone else)" : "; list them with their ids");
		goto fail;
	}
	if (uid != 0 && t.e[i].uid != uid) {
		mig_error_set(err, MIG_E_PERMISSION, "lease %s belongs to user %u; only they or root may release it", id,
			      t.e[i].uid);
		goto fail;
	}
	if (mig_plan_new(&plan, err))
		goto fail;
	fill_devnodes(txn, &t.e[i], 1); /* while the instance is there: the nodes to revoke */
	struct mig_lease was = t.e[i];
	int keep = end_instance(o, &t, i, mig_txn_node(txn), plan, true, now_of(o), &rep, err);
	if (keep < 0 || execute(txn, plan, err))
		goto fail;
	if (out) {
		*out = keep ? t.e[i] : was;
		out->destroyed = !keep;
	}
	if (keep == 0)
		remove_at(&t, i);
	if (table_save(&t, err))
		goto fail;
	mig_plan_free(plan);
	table_free(&t);
	return 0;
fail:
	mig_plan_free(plan);
	table_free(&t);
	return -1;
}

int mig_lease_renew(struct mig_txn *txn, const struct mig_lease_options *o, const char *id, unsigned int uid,
		    double ttl, struct mig_lease *out, struct mig_error *err)
{
	struct table t;
	struct mig_lease_report rep;
	int rc = -1;
	memset(&rep, 0, sizeof(rep));
	if (!id || !(ttl >= 0) || ttl > 1e9)
		return mig_error_set(err, MIG_E_INVALID, "a TTL is 0 (keep the lease's own) to 1e9 seconds");
	if (table_load(txn, o, &t, err) || reconcile(txn, o, &t, &rep, err))
		goto out;
	size_t i = 0;
	while (i < t.n && !(t.e[i].state == MIG_LEASE_ACTIVE && strcmp(t.e[i].id, id) == 0))
		i++;
	if (i == t.n) {
		mig_error_set(err, MIG_E_NOT_FOUND, "no lease %s%s", id,
			      strstr(rep.vanished_ids, id) ? ": its instance vanished (destroyed by someone else)"
							   : " (it ended, or never was); list them with their ids");
		goto out;
	}
	struct mig_lease *e = &t.e[i];
	if (uid != 0 && e->uid != uid) {
		mig_error_set(err, MIG_E_PERMISSION, "lease %s belongs to user %u; only they or root may renew it", id,
			      e->uid);
		goto out;
	}
	if (e->ttl <= 0 && ttl <= 0) {
		mig_error_set(err, MIG_E_INVALID,
			      "lease %s has no TTL: it ends when its owner process %ld exits; give a TTL to renew it by", id,
			      e->owner_pid);
		goto out;
	}
	if (ttl > 0)
		e->ttl = ttl;
	e->expires = now_of(o) + e->ttl;
	rc = save_out(&t, i, out, err);
	if (rc == 0 && out) {
		out->renewed = true;
		fill_devnodes(txn, out, 1);
	}
out:
	table_free(&t);
	return rc;
}

int mig_lease_list(struct mig_txn *txn, const struct mig_lease_options *o, struct mig_lease **out, size_t *n,
		   struct mig_lease_report *rep, struct mig_error *err)
{
	struct table t;
	struct mig_lease_report local;
	if (!rep)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	if (table_load(txn, o, &t, err) || reconcile(txn, o, &t, rep, err)) {
		table_free(&t);
		return -1;
	}
	fill_devnodes(txn, t.e, t.n);
	*out = t.e;
	*n = t.n;
	t.e = NULL;
	table_free(&t);
	if (!*out && !(*out = calloc(1, sizeof(**out))))
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	return 0;
}

int mig_lease_mark_held(struct mig_txn *txn, const struct mig_lease_options *o, struct mig_error *err)
{
	struct table t;
	if (table_load(txn, o, &t, err)) {
		table_free(&t);
		return -1;
	}
	struct mig_node *node = mig_txn_node_mut(txn);
	for (size_t i = 0; i < t.n; i++) {
		const struct mig_lease *l = &t.e[i];
		if (l->state != MIG_LEASE_ACTIVE && l->state != MIG_LEASE_DRAINING)
			continue;
		/* the node is the transaction's own, writable copy: the const is the lookup's */
		struct mig_ci *ci = (struct mig_ci *)mig_node_find_device(node, l->mig_uuid, NULL, NULL);
		if (ci)
			ci->leased = true;
	}
	table_free(&t);
	return 0;
}

/* How many more instances of p fit on g (the exact solver, up to its instance count). */
static unsigned int fits(const struct mig_gpu *g, const struct mig_gi_profile *p)
{
	const struct mig_gi_profile *want[8];
	struct mig_placement at[8];
	unsigned int n = 0;
	while (n < 8 && n < p->instance_count) {
		want[n] = p;
		if (mig_place_gis(g, want, n + 1, at, NULL) != 0)
			break;
		n++;
	}
	return n;
}

int mig_lease_capacity(struct mig_txn *txn, const struct mig_lease_options *o, struct mig_capacity **out, size_t *n,
		       struct mig_error *err)
{
	struct table t;
	struct mig_lease_report rep;
	struct hypo h;
	memset(&rep, 0, sizeof(rep));
	memset(&h, 0, sizeof(h));
	*out = NULL;
	*n = 0;
	if (table_load(txn, o, &t, err) || reconcile(txn, o, &t, &rep, err)) {
		table_free(&t);
		return -1;
	}
	const struct mig_node *node = mig_txn_node(txn);
	size_t cap = 1;
	for (size_t i = 0; i < node->ngpus; i++)
		cap += node->gpus[i].nprofiles;
	struct mig_capacity *c = calloc(cap, sizeof(*c));
	if (!c || hypo_make(&h, node, &t, NULL, (size_t)-1, NULL)) {
		free(c);
		hypo_free(&h);
		table_free(&t);
		return mig_error_set(err, MIG_E_NOMEM, "out of memory");
	}
	size_t k = 0;
	for (size_t i = 0; i < node->ngpus; i++) {
		const struct mig_gpu *g = &node->gpus[i];
		if (g->mode_current != MIG_MODE_ENABLED)
			continue;
		for (size_t p = 0; p < g->nprofiles; p++) {
			c[k].gpu = g->index;
			snprintf(c[k].profile, sizeof(c[k].profile), "%s", g->profiles[p].name);
			c[k].now = fits(g, &g->profiles[p]);
			c[k].reclaimed = fits(&h.node.gpus[i], &g->profiles[p]);
			k++;
		}
	}
	hypo_free(&h);
	table_free(&t);
	*out = c;
	*n = k;
	return 0;
}
