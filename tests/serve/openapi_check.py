#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check `migctl serve`'s real answers against an OpenAPI 3.0 description (docs/openapi.yaml).

usage: openapi_check.py SOCKET SPEC [SPEC...]
       openapi_check.py --rate SOCKET SPEC [SPEC...]

Runs one scenario against the service on SOCKET (every endpoint; every error a client can
cause: malformed, wrong types, unknown fields, oversized, unknown lease, unknown path, wrong
method, no capacity, fragmented, and, when run as root, a caller outside the service group),
recording each answer. Then, for each SPEC, checks every answer against it: the status is one
the operation documents (or the expected one), the Content-Type is the documented media type,
the body validates against the documented schema, documented headers (Allow, Retry-After, Location)
are there; and the other way round, live: every path and method of the SPEC answers with a
documented 2xx status, every other method of its paths gets 405 with an Allow header naming
exactly the SPEC's methods, and paths it does not name get 404.

Prints "spec SPEC: ok" or "spec SPEC: N problems" and the problems ("- ..."); exit status 0
when every SPEC passed, 1 when one failed, 77 when no YAML parser is available (the caller
skips). The node must be one MIG-enabled A100-SXM4-40GB without instances; MIGCTL and MIGSIM
name the programs (migctl lays out the node for the fragmentation case), MIGCTL_LOCK the node
lock (held for the 503 case: start the service with --lock-timeout 0.2) and the service must
not limit the rate (--rate 0). With --rate: only GET /v1/health until the service answers 429
(start it with a small --rate and --burst).
"""

import fcntl
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples"))
from migctl_client import Client, MigctlError  # noqa: E402

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")


def load_spec(path):
    with open(path) as f:
        text = f.read()
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        import yaml
    except ImportError:
        print("no YAML parser (python3-yaml) for %s" % path)
        sys.exit(77)
    return yaml.safe_load(text)


# ---- a validator for the JSON Schema subset OpenAPI 3.0 uses ----------------------------------

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


class Spec:
    def __init__(self, doc, name):
        self.doc = doc
        self.name = name
        self.paths = []  # (template, regex, {METHOD: operation})
        for tmpl, item in (doc.get("paths") or {}).items():
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(tmpl)) + "$"
            ops = {m.upper(): op for m, op in item.items() if m.upper() in METHODS}
            self.paths.append((tmpl, re.compile(rx), ops))

    def resolve(self, node):
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError("only local $ref: " + ref)
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            seen += 1
            if seen > 50:
                raise ValueError("$ref loop at " + ref)
        return node

    def match(self, path):
        """(template, operations) of the spec path that names path, or (None, None)."""
        path = path.split("?", 1)[0]
        for tmpl, rx, ops in self.paths:
            if rx.match(path):
                return tmpl, ops
        return None, None

    def validate(self, v, schema, where="$"):
        s = self.resolve(schema)
        errs = []
        if v is None:
            if s.get("nullable"):
                return []
            # a schema with no type and no constraints takes anything
            if "type" in s or "properties" in s or "enum" in s or "allOf" in s or "items" in s:
                return ["%s: null, but the schema does not allow null" % where]
            return []
        for sub in s.get("allOf", []):
            errs += self.validate(v, sub, where)
        if "anyOf" in s:
            alts = [self.validate(v, sub, where) for sub in s["anyOf"]]
            if all(alts):
                errs.append("%s: matches none of anyOf: %s" % (where, "; ".join(a[0] for a in alts)))
        if "oneOf" in s:
            n = sum(1 for sub in s["oneOf"] if not self.validate(v, sub, where))
            if n != 1:
                errs.append("%s: matches %d of oneOf, not 1" % (where, n))
        t = s.get("type")
        if t is not None:
            if t not in TYPES:
                return errs + ["%s: the schema names an unknown type %r" % (where, t)]
            if not TYPES[t](v):
                return errs + ["%s: %s is %s, the schema says %s" % (where, json.dumps(v)[:80], type(v).__name__, t)]
        if "enum" in s and v not in s["enum"]:
            errs.append("%s: %s is not one of %s" % (where, json.dumps(v), s["enum"]))
        if isinstance(v, str):
            if "pattern" in s and not re.search(s["pattern"], v):
                errs.append("%s: %r does not match %s" % (where, v, s["pattern"]))
            if len(v) < s.get("minLength", 0):
                errs.append("%s: %r is shorter than %d" % (where, v, s["minLength"]))
            if "maxLength" in s and len(v) > s["maxLength"]:
                errs.append("%s: %r is longer than %d" % (where, v, s["maxLength"]))
        if TYPES["number"](v):
            lo, hi = s.get("minimum"), s.get("maximum")
            if lo is not None and (v < lo or (s.get("exclusiveMinimum") and v == lo)):
                errs.append("%s: %s is below the minimum %s" % (where, v, lo))
            if hi is not None and (v > hi or (s.get("exclusiveMaximum") and v == hi)):
                errs.append("%s: %s is above the maximum %s" % (where, v, hi))
        if isinstance(v, dict):
            props = s.get("properties", {})
            for k in s.get("required", []):
                if k not in v:
                    errs.append("%s: required field %r is missing" % (where, k))
            extra = s.get("additionalProperties", True)
            for k, x in v.items():
                if k in props:
                    errs += self.validate(x, props[k], "%s.%s" % (where, k))
                elif extra is False:
                    errs.append("%s: field %r is not in the schema" % (where, k))
                elif isinstance(extra, dict):
                    errs += self.validate(x, extra, "%s.%s" % (where, k))
        if isinstance(v, list) and "items" in s:
            for i, x in enumerate(v):
                errs += self.validate(x, s["items"], "%s[%d]" % (where, i))
        return errs

    # ---- one answer against the spec -------------------------------------------------------

    def check_response(self, ex, rdef):
        """The answer ex against the response definition rdef (resolved here)."""
        errs = []
        rdef = self.resolve(rdef)
        for h, hdef in (rdef.get("headers") or {}).items():
            val = ex["headers"].get(h.lower())
            if val is None:
                errs.append("header %s is missing" % h)
                continue
            hs = self.resolve(self.resolve(hdef).get("schema", {}))
            if hs.get("type") == "integer":
                if not re.match(r"^[0-9]+$", val.strip()):
                    errs.append("header %s: %r is not an integer" % (h, val))
        content = rdef.get("content")
        if not content:
            if ex["body"]:
                errs.append("a body, where the spec documents none")
            return errs
        ctype = ex["headers"].get("content-type", "")
        norm = re.sub(r"\s*;\s*", "; ", ctype.strip().lower())
        media = None
        for mt, mdef in content.items():
            if norm == re.sub(r"\s*;\s*", "; ", mt.lower()):
                media = (mt, mdef)
        if media is None:
            return errs + ["Content-Type %r, the spec documents %s" % (ctype, " or ".join(content))]
        if ex["method"] == "HEAD":
            return errs
        schema = media[1].get("schema", {})
        if media[0].startswith("application/json"):
            try:
                doc = json.loads(ex["body"].decode("utf-8"))
            except ValueError as e:
                return errs + ["the body is not JSON (%s): %r" % (e, ex["body"][:120])]
            errs += self.validate(doc, schema)
        else:
            try:
                text = ex["body"].decode("utf-8")
            except UnicodeDecodeError:
                return errs + ["the body is not UTF-8 text"]
            errs += self.validate(text, schema)
        return errs

    def check_exchange(self, ex):
        """Problems of one recorded request/answer against this spec."""
        label = "%s %s%s" % (ex["method"], ex["path"], " (%s)" % ex["why"] if ex.get("why") else "")
        st = ex["status"]
        out = []
        if ex.get("want") and st not in ex["want"]:
            out.append("%s: status %d, expected %s; body %s" % (label, st, "/".join(map(str, ex["want"])),
                                                                ex["body"][:200]))
        if ex.get("want_error"):
            try:
                got = json.loads(ex["body"].decode())["error"]["status"]
            except (ValueError, KeyError, TypeError):
                got = None
            if got != ex["want_error"]:
                out.append("%s: error status %r, expected %r" % (label, got, ex["want_error"]))
        tmpl, ops = self.match(ex["path"])
        if tmpl is None:
            # a path the spec does not name must be 404, as the spec's NotFound response
            if st != 404:
                out.append("%s: the server answers %d on a path the spec does not name" % (label, st))
                return out
            nf = (self.doc.get("components", {}).get("responses", {}) or {}).get("NotFound")
            if nf is None:
                return out + ["%s: the spec has no components.responses.NotFound for unknown paths" % label]
            return out + ["%s: %s" % (label, e) for e in self.check_response(ex, nf)]
        op = ops.get(ex["method"])
        if op is None:
            # a method the path does not take: 405 and Allow naming exactly the spec's methods
            if st != 405:
                return out + ["%s: status %d for a method %s does not take (spec: %s); expected 405"
                              % (label, st, tmpl, ", ".join(sorted(ops)))]
            allow = {m.strip().upper() for m in ex["headers"].get("allow", "").split(",") if m.strip()}
            if allow != set(ops):
                out.append("%s: Allow: %s, the spec's methods of %s are %s" % (
                    label, ", ".join(sorted(allow)) or "(none)", tmpl, ", ".join(sorted(ops))))
            mna = (self.doc.get("components", {}).get("responses", {}) or {}).get("MethodNotAllowed")
            if mna is None:
                return out + ["%s: the spec has no components.responses.MethodNotAllowed" % label]
            return out + ["%s: %s" % (label, e) for e in self.check_response(ex, mna)]
        rdef = op.get("responses", {}).get(str(st)) or op.get("responses", {}).get("default")
        if rdef is None:
            return out + ["%s: status %d is not documented for %s %s (documented: %s)" % (
                label, st, ex["method"], tmpl, ", ".join(sorted(op.get("responses", {}))))]
        return out + ["%s: %d: %s" % (label, st, e) for e in self.check_response(ex, rdef)]


# ---- the scenario ---------------------------------------------------------------------------

class Recorder:
    def __init__(self, sock):
        self.client = Client(sock, timeout=30)
        self.log = []

    def __call__(self, method, path, body=None, want=None, want_error=None, why=None, raw=None):
        data = raw if raw is not None else body
        try:
            r = self.client.request(method, path, data)
        except MigctlError as e:
            self.log.append({"method": method, "path": path, "status": 0, "headers": {}, "body": b"",
                             "want": want, "why": why, "want_error": want_error, "broken": str(e)})
            return None
        ex = {"method": method, "path": path, "status": r.status, "headers": r.headers, "body": r.body,
              "want": want, "want_error": want_error, "why": why}
        self.log.append(ex)
        try:
            return json.loads(r.body.decode()) if r.body else None
        except ValueError:
            return None


def sh(*argv):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit("setup: %s failed: %s" % (" ".join(argv), r.stderr.strip()))
    return r.stdout


def as_nobody(rec, sock, calls):
    """Make calls (method, path, body, want, want_error, why) as uid/gid 65534, recorded in rec."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            sub = Recorder(sock)
            for c in calls:
                sub(*c[:3], want=c[3], want_error=c[4], why=c[5])
            for ex in sub.log:
                ex["body"] = ex["body"].decode("latin-1")
            os.write(wfd, json.dumps(sub.log).encode())
        finally:
            os._exit(0)
    os.close(wfd)
    chunks = []
    while True:
        b = os.read(rfd, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(rfd)
    os.waitpid(pid, 0)
    for ex in json.loads(b"".join(chunks) or b"[]"):
        ex["body"] = ex["body"].encode("latin-1")
        rec.log.append(ex)


def scenario(sock):
    rec = Recorder(sock)
    migctl, migsim = os.environ["MIGCTL"], os.environ["MIGSIM"]
    ids = {}

    def lease(key, body, why):
        doc = rec("POST", "/v1/leases", body, want=(201,), why=why)
        if isinstance(doc, dict) and isinstance(doc.get("lease"), dict):
            ids[key] = doc["lease"].get("id")

    rec("GET", "/v1/health", want=(200,))
    rec("GET", "/v1/node", want=(200,))
    rec("GET", "/v1/capacity", want=(200,))
    rec("GET", "/v1/leases", want=(200,), why="empty")
    lease("a", {"profile": "1g.5gb", "ttl": 600, "name": "openapi-a"}, "a named TTL lease")
    lease("b", {"memory_mib": 9000, "ttl": 600}, "by memory")
    lease("c", {"slices": 2, "media": False, "ttl": 600}, "by slices")
    lease("d", {"profile": "1g.5gb"}, "owned by this process")
    lease("e", {"profile": "1g.5gb", "gpus": "0", "model": "A100", "ttl": 60}, "gpus and model")
    a = ids.get("a", "l-00000000")
    rec("GET", "/v1/leases", want=(200,), why="five leases")
    rec("GET", "/v1/capacity", want=(200,), why="with leases")
    rec("GET", "/v1/node", want=(200,), why="with leases")
    rec("GET", "/v1/leases/" + a, want=(200,))
    rec("POST", "/v1/leases/%s/renew" % a, {}, want=(200,), why="its own TTL")
    rec("POST", "/v1/leases/%s/renew" % a, {"ttl": 1200}, want=(200,), why="a new TTL")
    rec("POST", "/v1/leases/%s/renew" % a, raw=b"", want=(200,), why="no body")
    rec("POST", "/v1/leases/%s/renew" % ids.get("d", a), {}, want=(400,), want_error="invalid",
        why="a lease without a TTL, no ttl")
    rec("GET", "/metrics", want=(200,))

    # what a client gets wrong: 400 invalid, nothing changed
    bad = [
        (b"{", "malformed JSON"),
        (b"", "no body"),
        (b"[]", "not an object"),
        (b'"1g.5gb"', "a string"),
        (b"{}", "neither profile nor need"),
        (b'{"profile": "1g.5gb", "bogus": 1}', "an unknown field"),
        (b'{"profile": 19.5}', "profile: a number"),
        (b'{"memory_mib": "9gb"}', "memory_mib: a string"),
        (b'{"memory_mib": -5}', "memory_mib: negative"),
        (b'{"slices": true}', "slices: a boolean"),
        (b'{"profile": "1g.5gb", "media": "yes"}', "media: a string"),
        (b'{"profile": "1g.5gb", "gpus": true}', "gpus: a boolean"),
        (b'{"profile": "1g.5gb", "gpus": -1}', "gpus: a negative index"),
        (b'{"profile": "1g.5gb", "model": ["A100"]}', "model: an array"),
        (b'{"profile": "1g.5gb", "name": 7, "ttl": 60}', "name: a number"),
        (b'{"profile": "1g.5gb", "ttl": "60"}', "ttl: a string"),
        (b'{"profile": "1g.5gb", "ttl": -1}', "ttl: negative"),
        (b'{"profile": "1g.5gb", "name": "x"}', "a name without ttl"),
        (b'{"profile": "1g.5gb", "memory_mib": 5000}', "a profile and a need"),
        (b'{"profile": "1g.5gb"} trailing', "trailing garbage"),
        (b'{"profile": "1g.5gb", "profile": "2g.10gb"}', "a duplicate key"),
        (b'{"slices": 65}', "slices: over 64"),
        (b'{"profile": "1g.5gb", "ttl": 2e9}', "ttl: over 1e9 s"),
        (b'{"profile": "1g.5gb", "name": "", "ttl": 60}', "name: empty"),
        (b'{"profile": "1g.5gb", "name": "%s", "ttl": 60}' % (b"n" * 64), "name: over 63 characters"),
    ]
    for body, why in bad:
        rec("POST", "/v1/leases", raw=body, want=(400,), want_error="invalid", why=why)
    rec("POST", "/v1/leases", {"profile": "2g.5gb"}, want=(400, 404), why="not a profile of this GPU")
    rec("POST", "/v1/leases", {"profile": "1g.5gb", "model": "H100"}, want=(404,), want_error="not_found",
        why="no GPU of that model")
    rec("POST", "/v1/leases", raw=json.dumps({"profile": "1g.5gb", "model": "x" * 70000}).encode(),
        want=(413,), why="over 64 KiB")
    for body, why in ((b"{", "malformed JSON"), (b'{"bogus": 1}', "an unknown field"),
                      (b'{"ttl": "x"}', "ttl: a string"), (b'{"ttl": 0}', "ttl: zero")):
        rec("POST", "/v1/leases/%s/renew" % a, raw=body, want=(400,), want_error="invalid", why=why)
    rec("POST", "/v1/leases/%s/renew" % a, raw=b'{"ttl": 60, "pad": "%s"}' % (b"y" * 70000),
        want=(413,), why="over 64 KiB")

    # a named lease asked for again is renewed: 200, not 201
    rec("POST", "/v1/leases", {"profile": "1g.5gb", "ttl": 600, "name": "openapi-a"}, want=(200,),
        why="the same name again")
    # another change holds the node lock longer than the service waits (--lock-timeout): 503
    with open(os.environ["MIGCTL_LOCK"], "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        rec("POST", "/v1/leases", {"profile": "1g.5gb", "ttl": 60}, want=(503,), want_error="locked",
            why="the node lock held")
        rec("GET", "/v1/leases", want=(503,), want_error="locked", why="the node lock held")
        fcntl.flock(lk, fcntl.LOCK_UN)
    # the node is full: 7g.40gb needs the whole GPU
    rec("POST", "/v1/leases", {"profile": "7g.40gb", "ttl": 60}, want=(409,), want_error="no_capacity",
        why="no capacity")

    if os.geteuid() == 0:
        # any user may read; only root and the service group may lease; only the owner may release
        as_nobody(rec, sock, [
            ("GET", "/v1/health", None, (200,), None, "as nobody"),
            ("GET", "/metrics", None, (200,), None, "as nobody"),
            ("GET", "/v1/leases", None, (403,), "permission", "as nobody"),
            ("GET", "/v1/leases/" + a, None, (403,), "permission", "as nobody"),
            ("GET", "/v1/node", None, (403,), "permission", "as nobody"),
            ("GET", "/v1/capacity", None, (403,), "permission", "as nobody"),
            ("POST", "/v1/leases", {"profile": "1g.5gb", "ttl": 60}, (403,), "permission", "as nobody"),
            ("DELETE", "/v1/leases/" + a, None, (403,), "permission", "root's lease, as nobody"),
            ("POST", "/v1/leases/%s/renew" % a, {}, (403,), "permission", "root's lease, as nobody"),
        ])

    for k in sorted(ids):
        rec("DELETE", "/v1/leases/" + ids[k], want=(200,), why="lease " + k)
    for m, p, body in (("GET", "/v1/leases/" + a, None), ("DELETE", "/v1/leases/" + a, None),
                       ("POST", "/v1/leases/%s/renew" % a, {}), ("GET", "/v1/leases/l-00000000", None),
                       ("GET", "/v1/leases/nonsense", None)):
        rec(m, p, body, want=(404,), want_error="not_found", why="no such lease")

    # fragmented: 1g.5gb at 0, 2, 4 and 6 leave 3 slices free, but no 2g.10gb placement
    sh(migctl, "--sim", "create", "1g.5gb", "--placement", "0", "-C")
    for p in ("2", "4", "6"):
        sh(migctl, "--sim", "create", "1g.5gb", "--placement", p, "-C")
    rec("POST", "/v1/leases", {"profile": "2g.10gb", "ttl": 60}, want=(409,), want_error="fragmented",
        why="fragmented")
    rec("POST", "/v1/leases", {"profile": "4g.20gb", "ttl": 60}, want=(409,), want_error="no_capacity",
        why="no capacity")
    rec("GET", "/v1/capacity", want=(200,), why="fragmented node")
    sh(migctl, "--sim", "destroy", "--all")
    # the driver fails: 500 with the status nvml
    for m, p, body in (("GET", "/v1/node", None), ("GET", "/v1/capacity", None), ("GET", "/v1/leases", None),
                       ("POST", "/v1/leases", {"profile": "1g.5gb", "ttl": 60})):
        sh(migsim, "fault", "add", "nvmlDeviceGetCount", "UNKNOWN")
        rec(m, p, body, want=(500,), want_error="nvml", why="the driver fails")
    sh(migsim, "fault", "clear")
    return rec


def unknown_paths():
    return ["/", "/v1", "/v1/", "/v1/nothing", "/v2/health", "/v1/health/x", "/metrics/x", "/v1/leasesx",
            "/v1/leases/l-00000000/renew/x", "/v1/leases/l-00000000/other", "/V1/HEALTH"]


def live_checks(spec, rec):
    """The other way round: what the spec names exists on the server, and nothing else does."""
    probe = rec("POST", "/v1/leases", {"profile": "1g.5gb", "ttl": 120, "name": "openapi-probe"}, want=(201,),
                why="the probe lease")
    pid = (probe or {}).get("lease", {}).get("id", "l-00000000")
    start = len(rec.log)
    done = {(ex["method"], spec.match(ex["path"])[0]) for ex in rec.log[:start] if 200 <= ex["status"] < 300}
    for tmpl, _, ops in spec.paths:
        path = re.sub(r"\{[^}]+\}", pid, tmpl)
        for m in METHODS:
            if m in ops:
                if (m, tmpl) not in done:
                    body = {} if m in ("POST", "PUT", "PATCH") else None
                    rec(m, path, body, why="named by the spec, not in the scenario")
                    if not (200 <= rec.log[-1]["status"] < 300):
                        rec.log[-1]["want"] = (200, 201)
            else:
                body = {} if m in ("POST", "PUT", "PATCH") else None
                rec(m, path, body, want=(405,), why="a method the spec does not name")
    for p in unknown_paths():
        rec("GET", p, want=(404,), why="a path the spec does not name")
    rec("DELETE", "/v1/leases/" + pid, why="the probe lease")
    out = rec.log[start - 1:]
    del rec.log[start - 1:]
    return out


def rate_scenario(sock):
    """Against a service started with a small --rate and --burst: requests until one is refused."""
    rec = Recorder(sock)
    for _ in range(100):
        rec("GET", "/v1/health", want=(200, 429), why="until the rate limit")
        if rec.log[-1]["status"] == 429:
            rec.log[-1]["want_error"] = "rate_limited"
            return rec
    rec.log[-1]["want"] = (429,)
    return rec


def main():
    args = sys.argv[1:]
    rate = args[:1] == ["--rate"]
    if rate:
        args = args[1:]
    if len(args) < 2:
        print(__doc__)
        return 2
    sock, specs = args[0], args[1:]
    loaded = [Spec(load_spec(p), p) for p in specs]
    rec = rate_scenario(sock) if rate else scenario(sock)
    broken = [ex for ex in rec.log if ex.get("broken")]
    if broken:
        for ex in broken:
            print("- %s %s: %s" % (ex["method"], ex["path"], ex["broken"]))
        return 1
    failed = 0
    for spec in loaded:
        live = [] if rate else live_checks(spec, rec)
        problems = []
        for ex in rec.log + live:
            if ex.get("broken"):
                problems.append("%s %s: %s" % (ex["method"], ex["path"], ex["broken"]))
            else:
                problems += spec.check_exchange(ex)
        codes = sorted({"%s %s %d" % (ex["method"], spec.match(ex["path"])[0] or "(unknown)", ex["status"])
                        for ex in rec.log + live})
        if problems:
            failed += 1
            print("spec %s: %d problems" % (spec.name, len(problems)))
            for p in problems:
                print("- " + p)
        else:
            print("spec %s: ok, %d answers checked" % (spec.name, len(rec.log) + len(live)))
            print("# answers: " + "; ".join(codes))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
