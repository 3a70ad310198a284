/* SPDX-License-Identifier: MIT */
/*
 * The request bodies of migctl serve: JSON in, a lease request out, or a message that says
 * which field is wrong, what it got and what it takes. Pure functions of their bytes (no
 * allocation survives a call, nothing global), fuzzed by fuzz/fuzz_serve.c.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "serve.h"

#define LEASE_FIELDS "profile, memory_mib, slices, media, gpus, model, name, ttl"

static int say(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (len)
		vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* "a string", "an integer", ... for "expected X, got Y" */
static const char *kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
	default:
		return "null";
	}
}

/* The body as one JSON object; an empty body is the empty object when empty_ok. */
static json_t *load_object(const char *body, size_t len, bool empty_ok, const char *example, char *msg, size_t msglen)
{
	json_error_t je;
	size_t i = 0;
	while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
		i++;
	if (i == len) {
		if (empty_ok)
			return json_object();
		say(msg, msglen, "the request body is empty: send a JSON object such as %s", example);
		return NULL;
	}
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		say(msg, msglen, "malformed JSON at line %d, column %d: %s; send a JSON object such as %s", je.line,
		    je.column, je.text, example);
		return NULL;
	}
	if (!json_is_object(doc)) {
		say(msg, msglen, "the request body is %s; send a JSON object such as %s", kind(doc), example);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static int get_string(const char *key, json_t *v, char *buf, size_t size, const char *what, char *msg, size_t msglen)
{
	if (!json_is_string(v))
		return say(msg, msglen, "field \"%s\": expected %s as a string, got %s", key, what, kind(v));
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n == 0)
		return say(msg, msglen, "field \"%s\": expected %s, got an empty string", key, what);
	if (n >= size)
		return say(msg, msglen, "field \"%s\": %s is at most %zu characters, got %zu", key, what, size - 1, n);
	if (strlen(s) != n)
		return say(msg, msglen, "field \"%s\": %s contains a NUL character", key, what);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return say(msg, msglen, "field \"%s\": %s contains a control character", key, what);
	memcpy(buf, s, n + 1);
	return 0;
}

static int get_count(const char *key, json_t *v, unsigned long long max, unsigned long long *out, const char *what,
		     char *msg, size_t msglen)
{
	if (!json_is_integer(v))
		return say(msg, msglen, "field \"%s\": expected %s as a whole number, got %s", key, what, kind(v));
	json_int_t n = json_integer_value(v);
	if (n < 1 || (unsigned long long)n > max)
		return say(msg, msglen, "field \"%s\": %s is 1 to %llu, got %lld", key, what, max, (long long)n);
	*out = (unsigned long long)n;
	return 0;
}

static int get_ttl(json_t *v, double *out, char *msg, size_t msglen)
{
	if (!json_is_number(v))
		return say(msg, msglen, "field \"ttl\": expected a number of seconds, got %s", kind(v));
	double t = json_number_value(v);
	if (!isfinite(t) || !(t > 0) || t > SERVE_TTL_MAX)
		return say(msg, msglen, "field \"ttl\": seconds greater than 0 and at most %.0f, got %g", SERVE_TTL_MAX, t);
	*out = t;
	return 0;
}

int serve_parse_lease(const char *body, size_t len, struct serve_lease_body *out, char *msg, size_t msglen)
{
	static const char example[] = "{\"profile\": \"1g.10gb\"} or {\"memory_mib\": 10240}";
	struct serve_lease_body b;
	unsigned long long n = 0;
	memset(&b, 0, sizeof(b));
	if (msglen)
		msg[0] = '\0';
	json_t *doc = load_object(body, len, false, example, msg, msglen);
	if (!doc)
		return -1;
	const char *key;
	json_t *v;
	int rc = 0;
	bool has_media = false;
	json_object_foreach(doc, key, v)
	{
		if (strcmp(key, "profile") == 0) {
			rc = get_string(key, v, b.profile, sizeof(b.profile), "a profile name (\"3g.20gb\")", msg, msglen);
		} else if (strcmp(key, "memory_mib") == 0) {
			rc = get_count(key, v, 1ULL << 40, &b.memory_mib, "the memory in MiB", msg, msglen);
		} else if (strcmp(key, "slices") == 0) {
			rc = get_count(key, v, 64, &n, "the compute slices", msg, msglen);
			if (rc == 0)
				b.slices = (unsigned int)n;
		} else if (strcmp(key, "media") == 0) {
			if (!json_is_boolean(v))
				rc = say(msg, msglen, "field \"media\": expected true or false, got %s", kind(v));
			b.media = json_is_true(v);
			has_media = true;
		} else if (strcmp(key, "gpus") == 0) {
			if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < 4096)
				snprintf(b.gpus, sizeof(b.gpus), "%lld", (long long)json_integer_value(v));
			else if (json_is_integer(v))
				rc = say(msg, msglen, "field \"gpus\": a GPU index is 0 to 4095, got %lld",
					 (long long)json_integer_value(v));
			else
				rc = get_string(key, v, b.gpus, sizeof(b.gpus),
						"a GPU selector (\"0,1\", \"all\", a GPU UUID or PCI bus id)", msg, msglen);
		} else if (strcmp(key, "model") == 0) {
			rc = get_string(key, v, b.model, sizeof(b.model), "a part of the GPU's name (\"A100\")", msg, msglen);
		} else if (strcmp(key, "name") == 0) {
			rc = get_string(key, v, b.name, sizeof(b.name), "a lease name", msg, msglen);
		} else if (strcmp(key, "ttl") == 0) {
			rc = get_ttl(v, &b.ttl, msg, msglen);
		} else {
			rc = say(msg, msglen, "unknown field \"%.64s%s\": the fields are " LEASE_FIELDS, key,
				 strlen(key) > 64 ? "..." : "");
		}
		if (rc)
			break;
	}
	json_decref(doc);
	if (rc)
		return -1;
	bool need = b.memory_mib || b.slices || has_media;
	if (b.profile[0] && need)
		return say(msg, msglen, "give \"profile\" or a need (\"memory_mib\", \"slices\", \"media\"), not both");
	if (!b.profile[0] && !need)
		return say(msg, msglen, "what to lease? give \"profile\" (\"1g.10gb\"), or a need: \"memory_mib\", \"slices\", "
					"\"media\"");
	if (!b.profile[0] && !b.memory_mib && !b.slices && !b.media)
		return say(msg, msglen, "field \"media\": false alone asks for nothing; give \"memory_mib\" or \"slices\" too, "
					"or a \"profile\"");
	if (b.name[0] && b.ttl <= 0)
		return say(msg, msglen, "field \"name\": a named lease needs \"ttl\" (seconds; renew it before it runs out)");
	*out = b;
	return 0;
}

int serve_parse_renew(const char *body, size_t len, double *ttl, char *msg, size_t msglen)
{
	double t = 0;
	if (msglen)
		msg[0] = '\0';
	json_t *doc = load_object(body, len, true, "{} or {\"ttl\": 600}", msg, msglen);
	if (!doc)
		return -1;
	const char *key;
	json_t *v;
	int rc = 0;
	json_object_foreach(doc, key, v)
	{
		if (strcmp(key, "ttl") == 0)
			rc = get_ttl(v, &t, msg, msglen);
		else
			rc = say(msg, msglen, "unknown field \"%.64s%s\": a renewal takes only \"ttl\" (seconds), or nothing",
				 key, strlen(key) > 64 ? "..." : "");
		if (rc)
			break;
	}
	json_decref(doc);
	if (rc)
		return -1;
	*ttl = t;
	return 0;
}

void serve_lease_request(const struct serve_lease_body *b, struct mig_lease_request *r)
{
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->profile = b->profile[0] ? b->profile : NULL;
	r->min_memory_mib = b->memory_mib;
	r->min_slices = b->slices;
	r->media = b->media;
	r->gpus = b->gpus[0] ? b->gpus : NULL;
	r->model = b->model[0] ? b->model : NULL;
	r->name = b->name[0] ? b->name : NULL;
	r->ttl = b->ttl;
}

bool serve_valid_lease_id(const char *s, size_t len)
{
	if (len == 0 || len >= MIG_LEASE_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_' || ch == '.'))
			return false;
	}
	return true;
}
