/* SPDX-License-Identifier: MIT */
/*
 * The lease commands (lease, release, leases, capacity, run) as clients of the node service
 * (`migctl serve`, docs/serve.md): HTTP/JSON on its Unix socket through libcurl
 * (CURLOPT_UNIX_SOCKET_PATH). A user who is not root cannot change MIG instances, and would
 * have a lock and lease table of their own; through the service, the lease is made by the
 * service's libmig on the node's one lock and table, and the service answers the same JSON
 * documents the direct path prints (cli/json_lease.c), so the output is the same.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_SOCKET "/run/migctl/migctl.sock"
#define ANSWER_MAX (16u << 20)
#define REQUEST_TIMEOUT 600L

int cli_service_opts(int *argc, char **argv, struct cli_service *s)
{
	int out = 1;
	s->force = 0;
	s->socket = NULL;
	bool service = false, no_service = false;
	int i = 1;
	for (; i < *argc && argv[i]; i++) {
		const char *o = argv[i];
		if (strcmp(o, "--") == 0)
			break;
		if (strcmp(o, "--service") == 0) {
			service = true;
		} else if (strcmp(o, "--no-service") == 0) {
			no_service = true;
		} else if (strcmp(o, "--socket") == 0 || strncmp(o, "--socket=", 9) == 0) {
			const char *v = o[8] == '=' ? o + 9 : (i + 1 < *argc ? argv[++i] : NULL);
			if (!v || !*v)
				return cli_usage("--socket needs the path of the node service's socket (default %s)",
						 DEFAULT_SOCKET),
				       -1;
			s->socket = v;
		} else {
			argv[out++] = argv[i];
		}
	}
	for (; i < *argc; i++)
		argv[out++] = argv[i];
	if (out < *argc)
		argv[out] = NULL;
	*argc = out;
	if (no_service && (service || s->socket))
		return cli_usage("--no-service goes to the library directly: not with --service or --socket"), -1;
	s->force = no_service ? -1 : service || s->socket ? 1 : 0;
	if (!s->socket) {
		const char *env = getenv("MIGCTL_SOCKET");
		s->socket = env && *env ? env : DEFAULT_SOCKET;
	}
	return 0;
}

bool cli_service_wanted(const struct cli_service *s)
{
	if (s->force)
		return s->force > 0;
	if (geteuid() == 0)
		return false;
	struct stat st;
	/* a directory this user may not search hides it: try, and say so if it refuses */
	return stat(s->socket, &st) == 0 ? S_ISSOCK(st.st_mode) : errno == EACCES;
}

struct answer {
	char *buf;
	size_t len;
	bool too_long;
};

static size_t take(char *data, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;
	if (a->len + len > ANSWER_MAX) {
		a->too_long = true;
		return 0;
	}
	char *nb = realloc(a->buf, a->len + len + 1);
	if (!nb)
		return 0;
	memcpy(nb + a->len, data, len);
	a->len += len;
	nb[a->len] = '\0';
	a->buf = nb;
	return len;
}

/* Why the socket could not be reached, and what to do. */
static int unreachable(struct cli *c, const struct cli_service *s, CURLcode rc, long os_errno, const char *detail)
{
	if (rc == CURLE_COULDNT_CONNECT && (os_errno == EACCES || os_errno == EPERM)) {
		struct passwd *pw = getpwuid(getuid());
		return cli_fail(c,
				"permission denied on the node service's socket %s: only root and members of the "
				"service's group (migctl) may use it; ask an administrator to add you (usermod -aG migctl "
				"%s), then log in again",
				s->socket, pw ? pw->pw_name : "USER");
	}
	if (rc == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED)
		return cli_fail(c,
				"nobody answers on the node service's socket %s (a stale socket: the service is not "
				"running); start it (systemctl start migctl-serve.socket, or migctl serve), or as root "
				"use --no-service",
				s->socket);
	if (rc == CURLE_COULDNT_CONNECT && os_errno == ENOENT)
		return cli_fail(c,
				"the node service's socket %s does not exist: is the service running? (systemctl start "
				"migctl-serve.socket, or migctl serve; --socket PATH or MIGCTL_SOCKET name another "
				"socket)",
				s->socket);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return cli_fail(c, "the node service at %s did not answer in %ld s; nothing is known of the request's "
				   "outcome: see migctl leases",
				s->socket, REQUEST_TIMEOUT);
	return cli_fail(c, "cannot reach the node service at %s: %s%s%s", s->socket, curl_easy_strerror(rc),
			detail[0] ? ": " : "", detail);
}

/* An answer that is not 2xx: the service's {"error": {"status", "message"}}. */
static int service_error(struct cli *c, const struct cli_service *s, long http, json_t *doc)
{
	json_t *e = json_object_get(doc, "error");
	const char *status = json_string_value(json_object_get(e, "status"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	if (!msg)
		return cli_fail(c, "the node service at %s answered HTTP %ld without an error message", s->socket, http);
	int ret = cli_fail(c, "%s", msg);
	return status && strcmp(status, "pending") == 0 ? EXIT_PENDING : ret;
}

int cli_service_call(struct cli *c, const struct cli_service *s, const char *method, const char *path,
		     const json_t *body, long *http, json_t **doc)
{
	char url[256], agent[64], errbuf[CURL_ERROR_SIZE] = "";
	struct answer a = {NULL, 0, false};
	struct curl_slist *hdrs = NULL;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	*doc = NULL;
	*http = 0;
	CURL *h = curl_easy_init();
	if (!h || (body && !text)) {
		curl_easy_cleanup(h);
		free(text);
		return cli_fail(c, "out of memory");
	}
	snprintf(url, sizeof(url), "http://localhost%s", path);
	snprintf(agent, sizeof(agent), "migctl/%s", mig_version());
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, s->socket);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_USERAGENT, agent);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, REQUEST_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, take);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (text) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	CURLcode rc = curl_easy_perform(h);
	long os_errno = 0;
	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, http);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	free(text);
	int ret;
	if (a.too_long) {
		ret = cli_fail(c, "the node service at %s answered more than %u MiB; is it migctl serve?", s->socket,
			       ANSWER_MAX >> 20);
	} else if (rc != CURLE_OK) {
		ret = unreachable(c, s, rc, os_errno, errbuf);
	} else {
		json_error_t jerr;
		*doc = a.buf ? json_loads(a.buf, 0, &jerr) : NULL;
		if (!*doc)
			ret = cli_fail(c, "the node service at %s answered HTTP %ld with no JSON document; is it migctl serve?",
				       s->socket, *http);
		else if (*http < 200 || *http > 299)
			ret = service_error(c, s, *http, *doc);
		else
			ret = EXIT_OK;
		if (ret != EXIT_OK) {
			json_decref(*doc);
			*doc = NULL;
		}
	}
	free(a.buf);
	return ret;
}
