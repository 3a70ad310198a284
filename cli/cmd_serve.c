/* SPDX-License-Identifier: MIT */
/*
 * migctl serve: the node service. HTTP/1.1 with JSON on a Unix socket (never TCP), served by
 * libmicrohttpd with a thread per connection, so that a slow or stalled client holds only its
 * own thread (and is dropped after --timeout). Who asks comes from the socket's peer
 * credentials (SO_PEERCRED). Every lease operation is one transaction of libmig on the same
 * lock and lease table as `migctl lease|release|leases|run`; the service keeps no lease state
 * of its own (its counters are metrics). The API is in docs/serve.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "serve.h"

#define DEFAULT_SOCKET "/run/migctl/migctl.sock"
#define DEFAULT_GROUP "migctl"
#define RATE_UIDS 1024

/* Routes, for dispatch and for the metrics' path label. */
enum route {
	R_OTHER = 0,
	R_HEALTH,
	R_NODE,
	R_CAPACITY,
	R_LEASES,
	R_LEASE,
	R_RENEW,
	R_METRICS,
	R_COUNT
};
static const char *const route_path[R_COUNT] = {
	"other", "/v1/health", "/v1/node", "/v1/capacity", "/v1/leases", "/v1/leases/{id}", "/v1/leases/{id}/renew",
	"/metrics",
};
static const char *const route_allow[R_COUNT] = {
	"", "GET", "GET", "GET", "GET, POST", "GET, DELETE", "POST", "GET",
};

enum cause { C_NO_CAPACITY, C_FRAGMENTED, C_LIMIT, C_NOT_FOUND, C_COUNT };
static const char *const cause_name[C_COUNT] = {"no_capacity", "fragmented", "limit", "not_found"};

static const double buckets[] = {.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct counter {
	char method[8];
	enum route route;
	unsigned int code;
	unsigned long long n;
};

struct bucket {
	uid_t uid;
	double tokens, last;
};

struct server {
	struct cli *c;
	pthread_mutex_t lib; /* libmig and the struct cli: one request at a time */
	bool have_group;
	gid_t gid;
	char group[64];
	double lock_timeout;
	double rate, burst; /* requests per second per uid; 0: no limit */
	unsigned int timeout, connections;
	pthread_mutex_t m; /* the metrics and the rate buckets */
	struct counter counts[512];
	size_t ncounts;
	unsigned long long rejections[C_COUNT];
	unsigned long long hist[NBUCKETS];
	unsigned long long hist_count;
	double hist_sum;
	struct bucket rates[RATE_UIDS];
	size_t nrates;
};

/* One request, from its headers to its answer. */
struct req {
	struct ucred cred;
	bool have_cred;
	enum route route;
	char id[MIG_LEASE_ID_MAX];
	char *body;
	size_t len;
	bool too_large;
	bool answered;
	double start;
};

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "migctl serve: %s\n", line);
}

/* ---- metrics ---------------------------------------------------------------- */

static void count_request(struct server *s, const char *method, enum route route, unsigned int code, double secs)
{
	pthread_mutex_lock(&s->m);
	size_t i = 0;
	while (i < s->ncounts &&
	       !(s->counts[i].route == route && s->counts[i].code == code && strcmp(s->counts[i].method, method) == 0))
		i++;
	if (i == s->ncounts && i < sizeof(s->counts) / sizeof(s->counts[0])) {
		snprintf(s->counts[i].method, sizeof(s->counts[i].method), "%s", method);
		s->counts[i].route = route;
		s->counts[i].code = code;
		s->counts[i].n = 0;
		s->ncounts++;
	}
	if (i < s->ncounts)
		s->counts[i].n++;
	for (size_t b = 0; b < NBUCKETS; b++)
		if (secs <= buckets[b])
			s->hist[b]++;
	s->hist_count++;
	s->hist_sum += secs;
	pthread_mutex_unlock(&s->m);
}

static void count_rejection(struct server *s, enum cause c)
{
	pthread_mutex_lock(&s->m);
	s->rejections[c]++;
	pthread_mutex_unlock(&s->m);
}

/* ---- answers ---------------------------------------------------------------- */

/* The method as a metrics label: one of the methods the API knows, else "other". */
static const char *method_label(const char *m)
{
	static const char *const known[] = {"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i]) == 0)
			return known[i];
	return "other";
}

static enum MHD_Result send_text(struct server *s, struct MHD_Connection *conn, struct req *r, const char *method,
				 unsigned int code, char *text, size_t len, const char *type, const char *allow,
				 unsigned int retry_after)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (allow && *allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	if (retry_after) {
		char v[16];
		snprintf(v, sizeof(v), "%u", retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
	}
	if (code == MHD_HTTP_CREATED && r->id[0]) {
		char loc[64];
		snprintf(loc, sizeof(loc), "/v1/leases/%s", r->id);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
	}
	enum MHD_Result ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	r->answered = true;
	count_request(s, method_label(method), r->route, code, now_mono() - r->start);
	return ret;
}

/* Send doc (its reference is taken). */
static enum MHD_Result send_json(struct server *s, struct MHD_Connection *conn, struct req *r, const char *method,
				 unsigned int code, json_t *doc, const char *allow, unsigned int retry_after)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	if (!text) {
		text = strdup("{\"error\":{\"status\":\"no_memory\",\"message\":\"out of memory\"}}");
		code = MHD_HTTP_INTERNAL_SERVER_ERROR;
		if (!text)
			return MHD_NO;
	}
	size_t len = strlen(text);
	char *nl = realloc(text, len + 2);
	if (nl) {
		text = nl;
		text[len++] = '\n';
		text[len] = '\0';
	}
	return send_text(s, conn, r, method, code, text, len, "application/json", allow, retry_after);
}

static enum MHD_Result send_error(struct server *s, struct MHD_Connection *conn, struct req *r, const char *method,
				  unsigned int code, const char *status, const char *allow, unsigned int retry_after,
				  const char *fmt, ...) __attribute__((format(printf, 9, 10)));
static enum MHD_Result send_error(struct server *s, struct MHD_Connection *conn, struct req *r, const char *method,
				  unsigned int code, const char *status, const char *allow, unsigned int retry_after,
				  const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *m = json_string(msg);
	if (!m) { /* not UTF-8 (a byte of what was sent, or a message cut short): JSON strings must be */
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		m = json_string(msg);
	}
	if (code >= 500)
		logf_("%s %s: %u %s: %s", method, route_path[r->route], code, status, msg);
	return send_json(s, conn, r, method, code, json_pack("{s:{s:s, s:o}}", "error", "status", status, "message", m),
			 allow, retry_after);
}

/* The contract's mapping of libmig's errors to HTTP. */
static unsigned int http_status(enum mig_status st)
{
	switch (st) {
	case MIG_E_INVALID:
		return MHD_HTTP_BAD_REQUEST;
	case MIG_E_PERMISSION:
		return MHD_HTTP_FORBIDDEN;
	case MIG_E_NOT_FOUND:
		return MHD_HTTP_NOT_FOUND;
	case MIG_E_NO_CAPACITY:
	case MIG_E_FRAGMENTED:
	case MIG_E_BUSY:
	case MIG_E_CHANGED:
		return MHD_HTTP_CONFLICT;
	case MIG_E_LOCKED:
	case MIG_E_PENDING:
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

static enum MHD_Result send_mig_error(struct server *s, struct MHD_Connection *conn, struct req *r,
				      const char *method, const struct mig_error *err)
{
	unsigned int code = http_status(err->status);
	unsigned int retry = err->status == MIG_E_LOCKED ? (unsigned int)ceil(s->lock_timeout > 1 ? s->lock_timeout : 1)
			     : err->status == MIG_E_PENDING ? 30
							     : 0;
	return send_error(s, conn, r, method, code, mig_status_name(err->status), NULL, retry, "%s", err->msg);
}

/* ---- who asks ---------------------------------------------------------------- */

static bool in_group_list(const char *line, gid_t gid)
{
	char *end;
	const char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		unsigned long g = strtoul(p, &end, 10);
		if (g == (unsigned long)gid)
			return true;
		p = end;
	}
}

/* Root, or a member of the service group: the peer's primary group, its supplementary groups
 * as its process has them (/proc/PID/status), or as the group database says. */
static bool may_lease(const struct server *s, const struct req *r)
{
	if (!r->have_cred)
		return false;
	if (r->cred.uid == 0)
		return true;
	if (!s->have_group)
		return false;
	if (r->cred.gid == s->gid)
		return true;
	char path[64], line[4096];
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)r->cred.pid);
	FILE *f = r->cred.pid > 0 ? fopen(path, "re") : NULL;
	bool found = false, member = false;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "Groups:", 7) == 0) {
			found = true;
			member = in_group_list(line + 7, s->gid);
			break;
		}
	if (f)
		fclose(f);
	if (found)
		return member;
	/* the process is gone (or hidden): the group database */
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	if (getpwuid_r(r->cred.uid, &pw, buf, sizeof(buf), &pwp) != 0 || !pwp)
		return false;
	gid_t groups[256];
	int n = 256;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == s->gid)
			return true;
	return false;
}

/* Token bucket per uid: 0 when the request may go on, else the seconds to wait. */
static unsigned int rate_limited(struct server *s, uid_t uid)
{
	if (s->rate <= 0)
		return 0;
	double t = now_mono();
	unsigned int wait = 0;
	pthread_mutex_lock(&s->m);
	size_t i = 0, oldest = 0;
	while (i < s->nrates && s->rates[i].uid != uid) {
		if (s->rates[i].last < s->rates[oldest].last)
			oldest = i;
		i++;
	}
	if (i == s->nrates) {
		if (s->nrates < RATE_UIDS)
			s->nrates++;
		else
			i = oldest; /* the uid that asked longest ago starts over */
		s->rates[i].uid = uid;
		s->rates[i].tokens = s->burst;
		s->rates[i].last = t;
	}
	struct bucket *b = &s->rates[i];
	b->tokens += (t - b->last) * s->rate;
	if (b->tokens > s->burst)
		b->tokens = s->burst;
	b->last = t;
	if (b->tokens >= 1)
		b->tokens -= 1;
	else
		wait = (unsigned int)ceil((1 - b->tokens) / s->rate);
	pthread_mutex_unlock(&s->m);
	return wait;
}

/* ---- the library, one request at a time ---------------------------------------------- */

struct op {
	struct mig_txn *txn;
	struct mig_settings set;
	struct mig_lease_options o;
};

static int op_begin(struct server *s, struct op *op, double lock_timeout, struct mig_error *err)
{
	/* the request under way in this server holds the library: wait for it as for the node lock */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)lock_timeout;
	until.tv_nsec += (long)((lock_timeout - floor(lock_timeout)) * 1e9);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	if (pthread_mutex_timedlock(&s->lib, &until) != 0) {
		mig_error_reset(err);
		err->status = MIG_E_LOCKED;
		snprintf(err->msg, sizeof(err->msg),
			 "the service's previous request still holds the node after %g s; retry later", lock_timeout);
		return -1;
	}
	int rc = cli_txn_begin_err(s->c, MIG_ADMIN_INSTANCES, lock_timeout, NULL, NULL, &op->txn, err);
	if (rc == 0 && cli_lease_options_err(s->c, &op->set, &op->o, err)) {
		/* the service's own configuration, not the request: a server error */
		err->status = MIG_E_IO;
		struct mig_error end_err;
		cli_txn_end(s->c, op->txn, false, &end_err);
		rc = -1;
	}
	if (rc)
		pthread_mutex_unlock(&s->lib);
	return rc ? -1 : 0;
}

static void op_end(struct server *s, struct op *op, bool ok)
{
	struct mig_error err;
	if (cli_txn_end(s->c, op->txn, ok, &err))
		logf_("ending the transaction: %s", err.msg);
	pthread_mutex_unlock(&s->lib);
}

static enum cause cause_of(const struct mig_error *err, bool create)
{
	switch (err->status) {
	case MIG_E_NO_CAPACITY:
		return C_NO_CAPACITY;
	case MIG_E_FRAGMENTED:
		return C_FRAGMENTED;
	case MIG_E_NOT_FOUND:
		return C_NOT_FOUND;
	case MIG_E_PERMISSION:
		/* the per-user limit (libmig's words), not a name another user holds */
		return create && strstr(err->msg, "the most one user may hold") ? C_LIMIT : C_COUNT;
	default:
		return C_COUNT;
	}
}

static enum MHD_Result lease_failed(struct server *s, struct MHD_Connection *conn, struct req *r, const char *method,
				    const struct mig_error *err, bool create)
{
	enum cause c = cause_of(err, create);
	if (c != C_COUNT)
		count_rejection(s, c);
	return send_mig_error(s, conn, r, method, err);
}

static enum MHD_Result do_create(struct server *s, struct MHD_Connection *conn, struct req *r, const char *method)
{
	struct serve_lease_body b;
	struct mig_lease_request q;
	struct mig_lease l;
	struct mig_error err;
	char msg[1024];
	struct op op;
	if (serve_parse_lease(r->body ? r->body : "", r->len, &b, msg, sizeof(msg)))
		return send_error(s, conn, r, method, MHD_HTTP_BAD_REQUEST, "invalid", NULL, 0, "%s", msg);
	serve_lease_request(&b, &q);
	q.uid = (unsigned int)r->cred.uid;
	if (q.ttl <= 0) {
		if (r->cred.pid <= 0)
			return send_error(s, conn, r, method, MHD_HTTP_BAD_REQUEST, "invalid", NULL, 0,
					  "the service cannot see your process (another pid namespace?), so a lease "
					  "cannot end with it: give \"ttl\" (seconds) and renew it");
		q.owner_pid = (long)r->cred.pid; /* the lease ends when the asking process does */
	}
	if (op_begin(s, &op, s->lock_timeout, &err))
		return lease_failed(s, conn, r, method, &err, true);
	int rc = mig_lease_acquire(op.txn, &op.o, &q, &l, &err);
	op_end(s, &op, rc == 0);
	if (rc) {
		cli_lease_error_words(&err); /* the service's migctl.conf, as the CLI says it */
		return lease_failed(s, conn, r, method, &err, true);
	}
	snprintf(r->id, sizeof(r->id), "%s", l.id);
	logf_("uid %u pid %ld: lease %s %s (%s on GPU %u)%s", (unsigned int)r->cred.uid, (long)r->cred.pid, l.id,
	      l.mig_uuid, l.profile, l.gpu, l.renewed ? ", renewed" : "");
	return send_json(s, conn, r, method, l.renewed ? MHD_HTTP_OK : MHD_HTTP_CREATED,
			 json_pack("{s:o}", "lease", cli_lease_json(&l)), NULL, 0);
}

static enum MHD_Result do_list(struct server *s, struct MHD_Connection *conn, struct req *r, const char *method)
{
	struct mig_lease *ls = NULL;
	struct mig_lease_report rep;
	struct mig_error err;
	size_t n = 0;
	struct op op;
	if (op_begin(s, &op, s->lock_timeout, &err))
		return send_mig_error(s, conn, r, method, &err);
	int rc = mig_lease_list(op.txn, &op.o, &ls, &n, &rep, &err);
	op_end(s, &op, rc == 0);
	if (rc)
		return send_mig_error(s, conn, r, method, &err);
	json_t *doc = NULL;
	if (r->route == R_LEASES) {
		doc = cli_leases_json(ls, n, &rep);
	} else {
		for (size_t i = 0; i < n && !doc; i++)
			if (strcmp(ls[i].id, r->id) == 0)
				doc = json_pack("{s:o}", "lease", cli_lease_json(&ls[i]));
	}
	free(ls);
	if (!doc) {
		count_rejection(s, C_NOT_FOUND);
		return send_error(s, conn, r, method, MHD_HTTP_NOT_FOUND, "not_found", NULL, 0,
				  "no lease %s (it ended, or never was); GET /v1/leases lists them", r->id);
	}
	return send_json(s, conn, r, method, MHD_HTTP_OK, doc, NULL, 0);
}

static enum MHD_Result do_release(struct server *s, struct MHD_Connection *conn, struct req *r, const char *method)
{
	struct mig_lease l;
	struct mig_error err;
	struct op op;
	if (op_begin(s, &op, s->lock_timeout, &err))
		return send_mig_error(s, conn, r, method, &err);
	int rc = mig_lease_release(op.txn, &op.o, r->id, (unsigned int)r->cred.uid, &l, &err);
	op_end(s, &op, rc == 0);
	if (rc)
		return lease_failed(s, conn, r, method, &err, false);
	logf_("uid %u pid %ld: released %s (%s): %s", (unsigned int)r->cred.uid, (long)r->cred.pid, l.id, l.mig_uuid,
	      l.destroyed ? "destroyed" : mig_lease_state_name(l.state));
	return send_json(s, conn, r, method, MHD_HTTP_OK, cli_release_json(&l), NULL, 0);
}

static enum MHD_Result do_renew(struct server *s, struct MHD_Connection *conn, struct req *r, const char *method)
{
	struct mig_lease l;
	struct mig_error err;
	char msg[1024];
	double ttl;
	struct op op;
	if (serve_parse_renew(r->body ? r->body : "", r->len, &ttl, msg, sizeof(msg)))
		return send_error(s, conn, r, method, MHD_HTTP_BAD_REQUEST, "invalid", NULL, 0, "%s", msg);
	if (op_begin(s, &op, s->lock_timeout, &err))
		return send_mig_error(s, conn, r, method, &err);
	int rc = mig_lease_renew(op.txn, &op.o, r->id, (unsigned int)r->cred.uid, ttl, &l, &err);
	op_end(s, &op, rc == 0);
	if (rc)
		return lease_failed(s, conn, r, method, &err, false);
	return send_json(s, conn, r, method, MHD_HTTP_OK, json_pack("{s:o}", "lease", cli_lease_json(&l)), NULL, 0);
}

static enum MHD_Result do_capacity(struct server *s, struct MHD_Connection *conn, struct req *r, const char *method)
{
	struct mig_capacity *cap = NULL;
	struct mig_error err;
	size_t n = 0;
	struct op op;
	if (op_begin(s, &op, s->lock_timeout, &err))
		return send_mig_error(s, conn, r, method, &err);
	int rc = mig_lease_capacity(op.txn, &op.o, &cap, &n, &err);
	op_end(s, &op, rc == 0);
	if (rc)
		return send_mig_error(s, conn, r, method, &err);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, cli_capacity_json(&cap[i]));
	free(cap);
	return send_json(s, conn, r, method, MHD_HTTP_OK, json_pack("{s:o}", "capacity", arr), NULL, 0);
}

/* `migctl list --json`'s document, read without the node lock (as list reads it). */
static enum MHD_Result do_node(struct server *s, struct MHD_Connection *conn, struct req *r, const char *method)
{
	struct mig_node *node = NULL;
	struct mig_error err;
	json_t *doc = NULL;
	pthread_mutex_lock(&s->lib);
	struct cli *c = s->c;
	int rc = mig_node_read(c->ctx, &node, c->read_flags | MIG_READ_DEVNODES, &err);
	if (rc == 0) {
		bool *sel = calloc(node->ngpus ? node->ngpus : 1, sizeof(bool)), *was_sel = c->selected;
		for (size_t i = 0; sel && i < node->ngpus; i++)
			sel[i] = true;
		if (sel) {
			c->node = node;
			c->selected = sel;
			doc = cli_node_json(c);
			c->node = NULL;
			c->selected = was_sel;
		}
		free(sel);
		mig_node_free(node);
	}
	pthread_mutex_unlock(&s->lib);
	if (rc)
		return send_mig_error(s, conn, r, method, &err);
	if (!doc)
		return send_error(s, conn, r, method, MHD_HTTP_INTERNAL_SERVER_ERROR, mig_status_name(MIG_E_NOMEM), NULL, 0, "out of memory");
	return send_json(s, conn, r, method, MHD_HTTP_OK, doc, NULL, 0);
}

/* Prometheus text exposition 0.0.4. The lease gauges come from the lease table, read in a
 * transaction like GET /v1/leases (a short lock wait: a scrape never queues behind a change). */
static enum MHD_Result do_metrics(struct server *s, struct MHD_Connection *conn, struct req *r, const char *method)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return send_error(s, conn, r, method, MHD_HTTP_INTERNAL_SERVER_ERROR, mig_status_name(MIG_E_NOMEM), NULL, 0, "out of memory");
	struct mig_lease *ls = NULL;
	struct mig_lease_report rep;
	struct mig_error err;
	size_t n = 0;
	struct op op;
	bool read = op_begin(s, &op, 2, &err) == 0;
	if (read) {
		read = mig_lease_list(op.txn, &op.o, &ls, &n, &rep, &err) == 0;
		op_end(s, &op, read);
	}
	fprintf(f, "# HELP migctl_lease_table_read Whether this scrape read the lease table (0: the lease gauges are "
		   "missing; see the service's log).\n# TYPE migctl_lease_table_read gauge\nmigctl_lease_table_read %d\n",
		read);
	if (!read)
		logf_("metrics: reading the lease table: %s", err.msg);
	fprintf(f, "# HELP migctl_leases Entries of the lease table by profile and state.\n# TYPE migctl_leases gauge\n");
	size_t pooled = 0;
	for (size_t i = 0; read && i < n; i++) {
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = ls[k].state == ls[i].state && strcmp(ls[k].profile, ls[i].profile) == 0;
		if (ls[i].state == MIG_LEASE_POOLED)
			pooled++;
		if (seen)
			continue;
		size_t count = 0;
		for (size_t k = i; k < n; k++)
			count += ls[k].state == ls[i].state && strcmp(ls[k].profile, ls[i].profile) == 0;
		fprintf(f, "migctl_leases{profile=\"%s\",state=\"%s\"} %zu\n", ls[i].profile,
			mig_lease_state_name(ls[i].state), count);
	}
	free(ls);
	fprintf(f, "# HELP migctl_pool_instances Instances kept warm in the pool.\n# TYPE migctl_pool_instances gauge\n");
	if (read)
		fprintf(f, "migctl_pool_instances %zu\n", pooled);
	pthread_mutex_lock(&s->m);
	fprintf(f, "# HELP migctl_requests_total Requests answered, by method, path and status code.\n"
		   "# TYPE migctl_requests_total counter\n");
	for (size_t i = 0; i < s->ncounts; i++)
		fprintf(f, "migctl_requests_total{method=\"%s\",path=\"%s\",code=\"%u\"} %llu\n", s->counts[i].method,
			route_path[s->counts[i].route], s->counts[i].code, s->counts[i].n);
	fprintf(f, "# HELP migctl_lease_rejections_total Lease requests refused, by cause.\n"
		   "# TYPE migctl_lease_rejections_total counter\n");
	for (size_t i = 0; i < C_COUNT; i++)
		fprintf(f, "migctl_lease_rejections_total{cause=\"%s\"} %llu\n", cause_name[i], s->rejections[i]);
	fprintf(f, "# HELP migctl_request_duration_seconds Time from a request's headers to its answer.\n"
		   "# TYPE migctl_request_duration_seconds histogram\n");
	for (size_t b = 0; b < NBUCKETS; b++)
		fprintf(f, "migctl_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[b], s->hist[b]);
	fprintf(f, "migctl_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", s->hist_count);
	fprintf(f, "migctl_request_duration_seconds_sum %.6f\nmigctl_request_duration_seconds_count %llu\n", s->hist_sum,
		s->hist_count);
	pthread_mutex_unlock(&s->m);
	if (fclose(f) != 0 || !text) {
		free(text);
		return send_error(s, conn, r, method, MHD_HTTP_INTERNAL_SERVER_ERROR, mig_status_name(MIG_E_NOMEM), NULL, 0, "out of memory");
	}
	return send_text(s, conn, r, method, MHD_HTTP_OK, text, len, "text/plain; version=0.0.4; charset=utf-8", NULL,
			 0);
}

/* ---- routing ---------------------------------------------------------------- */

static enum route route_of(const char *url, char *id)
{
	static const char leases[] = "/v1/leases/";
	id[0] = '\0';
	if (strcmp(url, "/v1/health") == 0)
		return R_HEALTH;
	if (strcmp(url, "/v1/node") == 0)
		return R_NODE;
	if (strcmp(url, "/v1/capacity") == 0)
		return R_CAPACITY;
	if (strcmp(url, "/v1/leases") == 0)
		return R_LEASES;
	if (strcmp(url, "/metrics") == 0)
		return R_METRICS;
	if (strncmp(url, leases, sizeof(leases) - 1) != 0)
		return R_OTHER;
	const char *p = url + sizeof(leases) - 1;
	const char *slash = strchr(p, '/');
	size_t n = slash ? (size_t)(slash - p) : strlen(p);
	if (!serve_valid_lease_id(p, n))
		return R_OTHER;
	memcpy(id, p, n);
	id[n] = '\0';
	if (!slash)
		return R_LEASE;
	return strcmp(slash, "/renew") == 0 ? R_RENEW : R_OTHER;
}

static bool method_allowed(enum route route, const char *method)
{
	switch (route) {
	case R_LEASES:
		return strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0;
	case R_LEASE:
		return strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0;
	case R_RENEW:
		return strcmp(method, "POST") == 0;
	default:
		return strcmp(method, "GET") == 0;
	}
}

static enum MHD_Result dispatch(struct server *s, struct MHD_Connection *conn, struct req *r, const char *method)
{
	switch (r->route) {
	case R_HEALTH:
		return send_json(s, conn, r, method, MHD_HTTP_OK,
				 json_pack("{s:s, s:s}", "status", "ok", "version", mig_version()), NULL, 0);
	case R_METRICS:
		return do_metrics(s, conn, r, method);
	case R_NODE:
		return do_node(s, conn, r, method);
	case R_CAPACITY:
		return do_capacity(s, conn, r, method);
	case R_LEASES:
		return strcmp(method, "POST") == 0 ? do_create(s, conn, r, method) : do_list(s, conn, r, method);
	case R_LEASE:
		return strcmp(method, "DELETE") == 0 ? do_release(s, conn, r, method) : do_list(s, conn, r, method);
	case R_RENEW:
		return do_renew(s, conn, r, method);
	default:
		return MHD_NO;
	}
}

/* The checks made once the headers are in, before any body is read: the peer, the rate, the
 * path, the method, the caller's right, the size. Returns true when it answered. */
static bool screen(struct server *s, struct MHD_Connection *conn, struct req *r, const char *url, const char *method,
		   enum MHD_Result *ret)
{
	if (!r->have_cred) {
		*ret = send_error(s, conn, r, method, MHD_HTTP_FORBIDDEN, "permission", NULL, 0,
				  "the service could not read the credentials of this connection; it answers only "
				  "local processes on its Unix socket");
		return true;
	}
	unsigned int wait = rate_limited(s, r->cred.uid);
	if (wait) {
		*ret = send_error(s, conn, r, method, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited", NULL, wait,
				  "user %u sent more than %g requests a second (bursts of %g); retry in %u s",
				  (unsigned int)r->cred.uid, s->rate, s->burst, wait);
		return true;
	}
	r->route = route_of(url, r->id);
	if (r->route == R_OTHER) {
		*ret = send_error(s, conn, r, method, MHD_HTTP_NOT_FOUND, "not_found", NULL, 0,
				  "no such path %.200s; the API: /v1/health, /v1/node, /v1/capacity, /v1/leases, "
				  "/v1/leases/ID, /v1/leases/ID/renew, /metrics (see docs/serve.md)",
				  url);
		return true;
	}
	if (!method_allowed(r->route, method)) {
		*ret = send_error(s, conn, r, method, MHD_HTTP_METHOD_NOT_ALLOWED, "invalid", route_allow[r->route], 0,
				  "%.16s is not allowed on %s; allowed: %s", method, route_path[r->route],
				  route_allow[r->route]);
		return true;
	}
	if (r->route != R_HEALTH && r->route != R_METRICS && !may_lease(s, r)) {
		*ret = send_error(s, conn, r, method, MHD_HTTP_FORBIDDEN, "permission", NULL, 0,
				  "user %u is not root and not a member of the group %s; ask an administrator to add "
				  "you (usermod -aG %s USER), then log in again",
				  (unsigned int)r->cred.uid, s->have_group ? s->group : "(none: only root may)",
				  s->have_group ? s->group : DEFAULT_GROUP);
		return true;
	}
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > SERVE_BODY_MAX) {
		*ret = send_error(s, conn, r, method, MHD_HTTP_CONTENT_TOO_LARGE, "invalid", NULL, 0,
				  "the request body is %.24s bytes; the most the service reads is %d", cl, SERVE_BODY_MAX);
		return true;
	}
	return false;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			       const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct server *s = cls;
	struct req *r = *con_cls;
	(void)version;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*con_cls = r;
		r->start = now_mono();
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		socklen_t sl = sizeof(r->cred);
		r->have_cred = ci && getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &r->cred, &sl) == 0 &&
			       sl == sizeof(r->cred);
		enum MHD_Result ret;
		if (screen(s, conn, r, url, method, &ret))
			return ret;
		return MHD_YES;
	}
	if (r->answered) { /* answered early: what else is sent is dropped */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (r->too_large || r->len + n > SERVE_BODY_MAX) {
			/* a body without a length (chunked) that grows too large: the rest is read and
			 * dropped (libmicrohttpd answers only once the request is in; --timeout bounds it) */
			r->too_large = true;
			free(r->body);
			r->body = NULL;
			r->len = 0;
			return MHD_YES;
		}
		char *b = realloc(r->body, r->len + n + 1);
		if (!b)
			return MHD_NO;
		memcpy(b + r->len, upload_data, n);
		r->body = b;
		r->len += n;
		r->body[r->len] = '\0';
		return MHD_YES;
	}
	if (r->too_large)
		return send_error(s, conn, r, method, MHD_HTTP_CONTENT_TOO_LARGE, "invalid", NULL, 0,
				  "the request body is over %d bytes, the most the service reads", SERVE_BODY_MAX);
	return dispatch(s, conn, r, method);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;
	(void)cls;
	(void)conn;
	(void)toe;
	if (r) {
		free(r->body);
		free(r);
	}
	*con_cls = NULL;
}

/* ---- the socket ---------------------------------------------------------------- */

/* Bind path (mode 0660, group gid when have_group), refusing to take over a live server's
 * socket or anything that is not a socket. */
static int bind_socket(const char *path, const struct server *s, struct stat *made)
{
	struct sockaddr_un sa;
	struct stat sb;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return logf_("the socket path %s is too long (at most %zu bytes)", path, sizeof(sa.sun_path) - 1), -1;
	strcpy(sa.sun_path, path);
	/* the directory: made if missing; searchable by the group so that it reaches the socket
	 * (its files stay private: the lock, journal and lease table are mode 0600) */
	char dir[sizeof(sa.sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0711) != 0 && errno != EEXIST)
			return logf_("cannot create %s for the socket: %s", dir, strerror(errno)), -1;
		if (stat(dir, &sb) == 0 && sb.st_uid == geteuid() && (sb.st_mode & 0011) != 0011 &&
		    !(sb.st_mode & 0022)) {
			if (chmod(dir, (sb.st_mode & 07777) | 0011) == 0)
				logf_("made %s searchable (mode %03o) so that the group reaches the socket in it", dir,
				      (unsigned int)((sb.st_mode & 0777) | 0011));
		}
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return logf_("socket: %s", strerror(errno)), -1;
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			close(fd);
			return logf_("%s exists and is not a socket; remove it or choose another --socket", path), -1;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return logf_("another server already listens on %s; stop it first", path), -1;
		}
		unlink(path); /* a stale socket of a server that is gone */
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return logf_("socket: %s", strerror(errno)), -1;
	}
	mode_t old = umask(0177); /* 0600 from the start; 0660 once the group is set */
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0) {
		logf_("cannot bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if ((s->have_group && chown(path, (uid_t)-1, s->gid) != 0) || chmod(path, 0660) != 0 ||
	    listen(fd, 128) != 0 || lstat(path, made) != 0) {
		logf_("cannot set up %s: %s", path, strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

static int parse_num(const char *opt, const char *v, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double d = v ? strtod(v, &end) : 0;
	if (!v || errno || end == v || *end || !(d >= min) || d > max)
		return cli_usage("serve: %s takes a number from %g to %g (got '%s')", opt, min, max, v ? v : ""), -1;
	*out = d;
	return 0;
}

int cmd_serve(struct cli *c, int argc, char **argv)
{
	static struct server srv; /* the handlers' threads see it until MHD_stop_daemon returns */
	struct server *s = &srv;
	const char *path = DEFAULT_SOCKET, *group = NULL;
	double timeout = 30, connections = 256;
	memset(s, 0, sizeof(*s));
	s->c = c;
	s->lock_timeout = 30;
	s->rate = 100;
	s->burst = 200;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "--socket") == 0 && v && *v)
			path = argv[++i];
		else if (strcmp(o, "--group") == 0 && v && *v)
			group = argv[++i];
		else if (strcmp(o, "--lock-timeout") == 0) {
			if (parse_num(o, v, 0, 3600, &s->lock_timeout))
				return EXIT_USAGE;
			i++;
		} else if (strcmp(o, "--rate") == 0) {
			if (parse_num(o, v, 0, 1e6, &s->rate))
				return EXIT_USAGE;
			i++;
		} else if (strcmp(o, "--burst") == 0) {
			if (parse_num(o, v, 1, 1e6, &s->burst))
				return EXIT_USAGE;
			i++;
		} else if (strcmp(o, "--timeout") == 0) {
			if (parse_num(o, v, 1, 3600, &timeout))
				return EXIT_USAGE;
			i++;
		} else if (strcmp(o, "--connections") == 0) {
			if (parse_num(o, v, 1, 10000, &connections))
				return EXIT_USAGE;
			i++;
		} else {
			return cli_usage("serve: unknown option '%s' (see migctl serve --help)", o);
		}
	}
	s->timeout = (unsigned int)timeout;
	s->connections = (unsigned int)connections;
	/* the group whose members may lease: --group NAME|GID, else "migctl" when it exists */
	const char *gname = group ? group : DEFAULT_GROUP;
	struct group gr, *grp = NULL;
	char gbuf[16384];
	char *end;
	unsigned long gnum = strtoul(gname, &end, 10);
	if (*gname >= '0' && *gname <= '9' && !*end) {
		s->have_group = true;
		s->gid = (gid_t)gnum;
		snprintf(s->group, sizeof(s->group), "%lu", gnum);
	} else if (getgrnam_r(gname, &gr, gbuf, sizeof(gbuf), &grp) == 0 && grp) {
		s->have_group = true;
		s->gid = grp->gr_gid;
		snprintf(s->group, sizeof(s->group), "%s", grp->gr_name);
	} else if (group) {
		return cli_usage("serve: --group %s: no such group (groupadd --system %s creates it)", group, group);
	} else {
		logf_("no group %s: only root may use the service (groupadd --system %s, then restart)", DEFAULT_GROUP,
		      DEFAULT_GROUP);
	}
	/* the library now, so that a server that could not change MIG never starts */
	if (cli_require_admin(c, MIG_ADMIN_INSTANCES))
		return EXIT_FAIL;
	/* the socket systemd passes, else our own */
	int fd = -1, n = sd_listen_fds(1);
	bool own = false;
	struct stat made;
	if (n > 1)
		return cli_fail(c, "serve: systemd passed %d sockets; the service listens on one (ListenStream= once)", n);
	if (n == 1) {
		fd = SD_LISTEN_FDS_START;
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0)
			return cli_fail(c, "serve: the socket systemd passed is not a listening Unix stream socket; the "
					   "service never listens on TCP (ListenStream=/run/migctl/migctl.sock)");
	} else {
		fd = bind_socket(path, s, &made);
		if (fd < 0)
			return EXIT_FAIL;
		own = true;
	}
	pthread_mutex_init(&s->lib, NULL);
	pthread_mutex_init(&s->m, NULL);
	/* SIGTERM and SIGINT are taken by sigwait below; every thread MHD starts inherits the mask */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, 0,
		NULL, NULL, handler, s, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT, s->timeout,
		MHD_OPTION_CONNECTION_LIMIT, s->connections, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)128 * 1024, MHD_OPTION_END);
	if (!d) {
		if (own)
			unlink(path);
		return cli_fail(c, "serve: the HTTP server (libmicrohttpd) did not start");
	}
	logf_("listening on %s (%s; group %s; %u connections, %u s idle timeout, %g requests/s per user)",
	      own ? path : "the socket systemd passed", own ? "mode 0660" : "socket activation",
	      s->have_group ? s->group : "none, root only", s->connections, s->timeout, s->rate);
	sd_notifyf(0, "READY=1\nSTATUS=serving on %s\nMAINPID=%ld", own ? path : "the socket systemd passed",
		   (long)getpid());
	int sig = 0;
	while (sigwait(&sigs, &sig) != 0)
		;
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	logf_("%s: stopping (requests under way finish first)", strsignal(sig));
	MHD_stop_daemon(d); /* closes the connections and joins their threads */
	if (own) {
		struct stat now;
		if (lstat(path, &now) == 0 && now.st_ino == made.st_ino && now.st_dev == made.st_dev)
			unlink(path);
	}
	pthread_mutex_destroy(&s->lib);
	pthread_mutex_destroy(&s->m);
	return EXIT_OK;
}
