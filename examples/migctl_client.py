#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A client of `migctl serve` (docs/serve.md, docs/openapi.yaml), Python standard library only.

As a module:

    from migctl_client import Client, MigctlError

    c = Client()                                # /run/migctl/migctl.sock, or $MIGCTL_SOCKET
    with c.leased(profile="1g.5gb") as lease:   # released when the block ends, however it ends
        env = dict(os.environ, CUDA_VISIBLE_DEVICES=lease["mig_uuid"])
        subprocess.run(["python3", "train.py"], env=env, check=True)

    lease = c.lease(memory_mib=9000, ttl=600)   # a TTL lease: renew it, or it ends
    c.renew(lease["id"], ttl=600)
    c.release(lease["id"])
    c.leases(); c.capacity(); c.node(); c.health()

A lease asked for without `ttl` belongs to the process that asked (this one): the service
ends it when this process exits, even without a release. Errors raise MigctlError, whose
`status` is the service's error status (`no_capacity`, `fragmented`, `not_found`,
`permission`, `invalid`, `rate_limited`, `locked`, ...) and `http_status` the HTTP code.

As a command (exit status 0 ok, 1 the service refused or failed, 2 usage):

    migctl_client.py [--socket PATH] health | node | capacity | leases | metrics
    migctl_client.py [--socket PATH] lease (--profile P | --memory-mib N | --slices N) --ttl S [--name N]
    migctl_client.py [--socket PATH] get ID | renew ID [--ttl S] | release ID
    migctl_client.py [--socket PATH] run (--profile P | --memory-mib N | --slices N) -- COMMAND...
"""

import argparse
import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys

DEFAULT_SOCKET = "/run/migctl/migctl.sock"


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over a Unix stream socket (the service never listens on TCP)."""

    def __init__(self, path, timeout=60.0):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(self.timeout)
            s.connect(self.socket_path)
        except OSError:
            s.close()
            raise
        self.sock = s


class MigctlError(Exception):
    """The service answered with an error document, or could not be reached."""

    def __init__(self, http_status, status, message, retry_after=None):
        super().__init__("%s (%s, HTTP %s)" % (message, status, http_status))
        self.http_status = http_status
        self.status = status
        self.message = message
        self.retry_after = retry_after


class Response:
    """One raw answer: status code, headers (lower-case names), body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class Client:
    def __init__(self, socket_path=None, timeout=60.0):
        self.socket_path = socket_path or os.environ.get("MIGCTL_SOCKET") or DEFAULT_SOCKET
        self.timeout = timeout

    # ---- the transport ------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None):
        """Send one request on a new connection; returns a Response (any status).
        body: bytes/str sent as they are, or anything else encoded as JSON."""
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            if isinstance(body, str):
                data = body.encode("utf-8")
            elif isinstance(body, (bytes, bytearray)):
                data = bytes(body)
            else:
                data = json.dumps(body).encode("utf-8")
            hdrs.setdefault("Content-Type", "application/json")
        conn = UnixHTTPConnection(self.socket_path, self.timeout)
        try:
            try:
                conn.putrequest(method, path, skip_accept_encoding=True)
                for k, v in hdrs.items():
                    conn.putheader(k, v)
                if data is not None:
                    conn.putheader("Content-Length", str(len(data)))
                try:
                    conn.endheaders(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # answered before it read the whole body (413): the answer is read below
                r = conn.getresponse()
                payload = r.read()
            except (OSError, http.client.HTTPException) as e:
                raise MigctlError(None, "unreachable", "cannot talk to migctl serve at %s: %s"
                                  % (self.socket_path, e)) from e
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, payload)
        finally:
            conn.close()

    def call(self, method, path, body=None, ok=(200,)):
        """A JSON request; the parsed answer when its status is in ok, else MigctlError."""
        r = self.request(method, path, body)
        try:
            doc = r.json()
        except ValueError:
            doc = None
        if r.status in ok and doc is not None:
            return doc
        err = doc.get("error") if isinstance(doc, dict) else None
        if isinstance(err, dict):
            status, message = err.get("status", "unknown"), err.get("message", "")
        else:
            status, message = "unknown", "unexpected answer: %r" % r.body[:200]
        retry = r.headers.get("retry-after")
        raise MigctlError(r.status, status, message, float(retry) if retry else None)

    # ---- the API ------------------------------------------------------------------------

    def health(self):
        return self.call("GET", "/v1/health")

    def node(self):
        return self.call("GET", "/v1/node")

    def capacity(self):
        return self.call("GET", "/v1/capacity")["capacity"]

    def leases(self):
        return self.call("GET", "/v1/leases")["leases"]

    def get(self, lease_id):
        return self.call("GET", "/v1/leases/" + lease_id)["lease"]

    def lease(self, profile=None, memory_mib=None, slices=None, media=None, gpus=None, model=None,
              name=None, ttl=None):
        """Lease one MIG device; returns the lease (id, mig_uuid, env, cdi, ...). With a name
        (and ttl), asking again renews the lease of that name (the same id, reused true)."""
        req = {k: v for k, v in (("profile", profile), ("memory_mib", memory_mib), ("slices", slices),
                                 ("media", media), ("gpus", gpus), ("model", model), ("name", name),
                                 ("ttl", ttl)) if v is not None}
        # 201: a new lease; 200: a named lease of that name existed and was renewed
        return self.call("POST", "/v1/leases", req, ok=(200, 201))["lease"]

    def renew(self, lease_id, ttl=None):
        return self.call("POST", "/v1/leases/%s/renew" % lease_id, {} if ttl is None else {"ttl": ttl})["lease"]

    def release(self, lease_id):
        """End a lease; returns {"released", "mig_uuid", "instance", "destroyed"}."""
        return self.call("DELETE", "/v1/leases/" + lease_id)

    def metrics(self):
        r = self.request("GET", "/metrics")
        if r.status != 200:
            raise MigctlError(r.status, "unknown", "GET /metrics answered %d" % r.status)
        return r.body.decode("utf-8")

    @contextlib.contextmanager
    def leased(self, **request):
        """Hold a lease for the with-block; it is released when the block ends (an error
        inside the block included). Keyword arguments as lease()."""
        lease = self.lease(**request)
        try:
            yield lease
        finally:
            try:
                self.release(lease["id"])
            except MigctlError as e:
                if e.http_status != 404:  # already gone (ended or released): nothing to do
                    raise


# ---- the command ----------------------------------------------------------------------------

def _need_args(p):
    p.add_argument("--profile")
    p.add_argument("--memory-mib", type=int)
    p.add_argument("--slices", type=int)
    p.add_argument("--media", action="store_true", default=None)
    p.add_argument("--gpus")
    p.add_argument("--model")


def _need(a):
    return dict(profile=a.profile, memory_mib=a.memory_mib, slices=a.slices, media=a.media, gpus=a.gpus,
                model=a.model)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="migctl_client.py", description="a client of migctl serve")
    ap.add_argument("--socket", help="the service's socket (default $MIGCTL_SOCKET or %s)" % DEFAULT_SOCKET)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for c in ("health", "node", "capacity", "leases", "metrics"):
        sub.add_parser(c)
    p = sub.add_parser("lease", help="a TTL lease (a lease without one would end when this command exits)")
    _need_args(p)
    p.add_argument("--ttl", type=float, required=True)
    p.add_argument("--name")
    for c in ("get", "release"):
        sub.add_parser(c).add_argument("id")
    p = sub.add_parser("renew")
    p.add_argument("id")
    p.add_argument("--ttl", type=float)
    p = sub.add_parser("run", help="run COMMAND with a MIG device, released when it exits")
    _need_args(p)
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    c = Client(a.socket)
    try:
        if a.cmd == "metrics":
            sys.stdout.write(c.metrics())
            return 0
        if a.cmd == "run":
            cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
            if not cmd:
                ap.error("run: give the command after '--'")
            with c.leased(**_need(a)) as lease:
                env = dict(os.environ, CUDA_VISIBLE_DEVICES=lease["mig_uuid"], MIGCTL_LEASE=lease["id"])
                try:
                    return subprocess.call(cmd, env=env)
                except OSError as e:
                    print("migctl_client.py: run: %s: %s" % (cmd[0], e.strerror), file=sys.stderr)
                    return 127
        if a.cmd == "lease":
            doc = c.lease(ttl=a.ttl, name=a.name, **_need(a))
        elif a.cmd == "get":
            doc = c.get(a.id)
        elif a.cmd == "renew":
            doc = c.renew(a.id, a.ttl)
        elif a.cmd == "release":
            doc = c.release(a.id)
        else:
            doc = getattr(c, a.cmd)()
    except MigctlError as e:
        print("migctl_client.py: %s" % e, file=sys.stderr)
        return 1
    print(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
