#!/usr/bin/env bash
# docs/openapi.yaml against the real `migctl serve` on the simulator (issue 13): every answer of
# a scenario that covers every endpoint and every error a client can cause is checked against
# the file (status documented, Content-Type, body schema, Allow and Retry-After headers); every
# path and method of the file exists on the server, other methods get 405 and other paths 404.
# The check itself is shown to fail on files that are wrong in each of those ways.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_leases.sh"

SPEC="$SRCDIR/docs/openapi.yaml"
CHECK="$SRCDIR/tests/serve/openapi_check.py"

have_yaml() {
	python3 -c 'import yaml' 2>/dev/null
}

# The file on its own: OpenAPI 3.0, every $ref resolves, every operation has an id and
# responses, every error response is the JSON error document, path parameters are declared.
t_spec_is_openapi_3() {
	if ! have_yaml; then
		skip "no YAML parser for python3 (python3-yaml, scripts/install-deps.sh installs it)"
		return
	fi
	local verdict
	verdict=$(python3 - "$SPEC" <<'EOF'
import re, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
bad = []
if not str(doc.get("openapi", "")).startswith("3.0."):
    bad.append("openapi is %r, not 3.0.x" % doc.get("openapi"))
def walk(n, where):
    if isinstance(n, dict):
        for k, v in n.items():
            if k == "$ref":
                node = doc
                try:
                    for part in v[2:].split("/"):
                        node = node[part]
                except (KeyError, TypeError):
                    bad.append("%s: $ref %s does not resolve" % (where, v))
            else:
                walk(v, where + "/" + str(k))
    elif isinstance(n, list):
        for i, v in enumerate(n):
            walk(v, "%s[%d]" % (where, i))
walk(doc, "#")
def res(n):
    while isinstance(n, dict) and "$ref" in n:
        node = doc
        for part in n["$ref"][2:].split("/"):
            node = node[part]
        n = node
    return n
def is_error(schema):
    s = res(schema)
    return s is doc["components"]["schemas"]["Error"] or any(is_error(x) for x in s.get("allOf", []))
ids = set()
for path, item in doc["paths"].items():
    params = set(re.findall(r"\{([^}]+)\}", path))
    declared = {res(p)["name"] for p in item.get("parameters", [])}
    if params != declared:
        bad.append("%s: path parameters %s, declared %s" % (path, sorted(params), sorted(declared)))
    for m, op in item.items():
        if m == "parameters":
            continue
        if op.get("operationId") in ids or not op.get("operationId"):
            bad.append("%s %s: no operationId, or one used twice" % (m, path))
        ids.add(op.get("operationId"))
        if not op.get("responses"):
            bad.append("%s %s: no responses" % (m, path))
        for code, r in op.get("responses", {}).items():
            r = res(r)
            if not r.get("description"):
                bad.append("%s %s %s: no description" % (m, path, code))
            if int(code) >= 400:
                c = r.get("content", {}).get("application/json")
                if not c or not is_error(c["schema"]):
                    bad.append("%s %s %s: not the JSON error document" % (m, path, code))
print("; ".join(bad) or "ok")
EOF
)
	expect_eq "$verdict" ok "docs/openapi.yaml"
}

# Mutated copies of the file, each wrong in one way, written as JSON (which is YAML too).
write_wrong_specs() {
	python3 - "$SPEC" "$TEST_TMP" <<'EOF'
import copy, json, sys, yaml
good = yaml.safe_load(open(sys.argv[1]))
out = sys.argv[2]
def mutate(name, f):
    d = copy.deepcopy(good)
    f(d)
    json.dump(d, open("%s/wrong-%s.json" % (out, name), "w"))
S = lambda d: d["components"]["schemas"]
P = lambda d: d["paths"]
mutate("type", lambda d: S(d)["Lease"]["properties"]["gi"].update(type="string"))
mutate("required", lambda d: S(d)["Released"]["required"].append("pool"))
mutate("strict", lambda d: S(d)["Health"]["properties"].pop("version") and S(d)["Health"]["required"].remove("version"))
def enum(d):
    for e in ("NotFoundError", "RateLimitedError"):
        S(d)[e]["allOf"][1]["properties"]["error"]["properties"]["status"].update(enum=["invalid"])
mutate("enum", enum)
mutate("nopath", lambda d: P(d).pop("/v1/capacity"))
mutate("extrapath", lambda d: P(d).update({"/v1/extra": {"get": {"operationId": "x", "responses": {"200": {"description": "x"}}}}}))
mutate("extramethod", lambda d: P(d)["/v1/health"].update(put={"operationId": "y", "responses": {"200": {"description": "y"}}}))
mutate("nomethod", lambda d: P(d)["/v1/leases/{id}"].pop("delete"))
mutate("status", lambda d: P(d)["/v1/leases"]["post"]["responses"].pop("409"))
mutate("ctype", lambda d: P(d)["/metrics"]["get"]["responses"]["200"].update(content={"text/plain": {"schema": {"type": "string"}}}))
mutate("header", lambda d: d["components"]["responses"]["MethodNotAllowed"]["headers"].update({"X-Nothing": {"schema": {"type": "string"}}}))
EOF
}

t_answers_match_spec() {
	if ! serve_supported; then
		skip "this migctl has no serve command"
		return
	fi
	if ! have_yaml; then
		skip "no YAML parser for python3 (python3-yaml, scripts/install-deps.sh installs it)"
		return
	fi
	setup A100-SXM4-40GB
	serve_start --rate 0 --lock-timeout 0.2 || return
	if [ "$(id -u)" -eq 0 ]; then
		# let nobody reach the socket, so that the service itself refuses it (403)
		chmod 711 "$TEST_TMP"
		chmod 666 "$SERVE_SOCK"
	fi
	write_wrong_specs || fail "writing the wrong specs"
	local w specs=("$SPEC")
	for w in type required strict enum nopath extrapath extramethod nomethod status ctype header; do
		specs+=("$TEST_TMP/wrong-$w.json")
	done
	MIGCTL="$MIGCTL" MIGSIM="$MIGSIM" python3 "$CHECK" "$SERVE_SOCK" "${specs[@]}" >"$TEST_TMP/check.out" 2>&1
	local rc=$?
	OUT=$(cat "$TEST_TMP/check.out")
	sed 's/^/# /' "$TEST_TMP/check.out" | head -120
	expect_eq "$rc" 1 "the checker's exit status (the wrong specs fail)"
	expect_contains "$OUT" "spec $SPEC: ok"
	[ "$(id -u)" -eq 0 ] && expect_contains "$OUT" "POST /v1/leases 403"
	# each wrong file is caught, for the reason it is wrong
	local want
	while IFS='|' read -r w want; do
		expect_contains "$OUT" "spec $TEST_TMP/wrong-$w.json: "
		expect_not_contains "$OUT" "spec $TEST_TMP/wrong-$w.json: ok"
		expect_contains "$(sed -n "/^spec .*wrong-$w.json/,/^spec /p" "$TEST_TMP/check.out")" "$want"
	done <<'EOF'
type|$.lease.gi: 
required|required field 'pool' is missing
strict|field 'version' is not in the schema
enum|"not_found" is not one of ['invalid']
nopath|GET /v1/capacity: the server answers 200 on a path the spec does not name
extrapath|GET /v1/extra (named by the spec, not in the scenario): status 404, expected 200/201
extramethod|PUT /v1/health (named by the spec, not in the scenario): status 405, expected 200/201
nomethod|status 200 for a method /v1/leases/{id} does not take
status|status 409 is not documented for POST /v1/leases
ctype|Content-Type 'text/plain; version=0.0.4; charset=utf-8', the spec documents text/plain
header|header X-Nothing is missing
EOF
	# 429 and Retry-After, from a service that takes 1 request a second, in bursts of 3
	serve_stop
	serve_start --rate 1 --burst 3 || return
	python3 "$CHECK" --rate "$SERVE_SOCK" "$SPEC" "$TEST_TMP/wrong-enum.json" >"$TEST_TMP/check.out" 2>&1
	rc=$?
	OUT=$(cat "$TEST_TMP/check.out")
	sed 's/^/# /' "$TEST_TMP/check.out" | head -20
	expect_eq "$rc" 1 "the checker's exit status, rate limit"
	expect_contains "$OUT" "spec $SPEC: ok"
	expect_contains "$OUT" "GET /v1/health 429"
	# the same wrong file: the rate limit's error is not "invalid" either
	expect_contains "$OUT" "\"rate_limited\" is not one of ['invalid']"
	# the checks left the node as they found it
	expect_rc 0 m leases --json
	expect_eq "$(jget "len(d['leases'])")" 0 "leases after the check"
	expect_eq "$(node_count)" 0 "MIG devices after the check"
	serve_stop
}

run_tests
serve_stop KILL
exit 0
