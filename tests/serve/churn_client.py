#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A client that leases and releases through `migctl serve` until it is killed, riding out the
service's deaths (tests/shell/test_serve_kill.sh kills both it and the service with kill -9).

usage: churn_client.py SOCKET SLOT

It holds up to three leases at a time: leases owned by this process (no TTL; they end when it
dies) and one named TTL lease, "churn-SLOT" (asking again renews it). When the service does not
answer (killed mid-request), the answer to its last request is lost: once the service is back,
it adopts what the table says it holds (its pid's leases and its named lease), as a client that
lost an answer should, so that they are released in time.
"""

import os
import random
import sys
import time

from migctl_client import Client, MigctlError


def main():
    sock, slot = sys.argv[1], sys.argv[2]
    c = Client(sock, timeout=10)
    name = "churn-" + slot
    rng = random.Random(os.getpid())
    mine = set()
    lost = False
    while True:
        try:
            if lost:
                for l in c.leases():
                    if (l["owner"] or {}).get("pid") == os.getpid() or l["name"] == name:
                        mine.add(l["id"])
                lost = False
            x = rng.random()
            if len(mine) >= 3 or (x < 0.35 and mine):
                lid = rng.choice(sorted(mine))
                mine.discard(lid)
                c.release(lid)
            elif x < 0.55 and mine:
                c.renew(rng.choice(sorted(mine)), ttl=3600)
            elif x < 0.65:
                mine.add(c.lease(profile="1g.5gb", ttl=3600, name=name)["id"])
            elif x < 0.85:
                mine.add(c.lease(profile="1g.5gb")["id"])
            else:
                mine.add(c.lease(memory_mib=4000)["id"])
        except MigctlError as e:
            if e.http_status is None:  # the service is down: its answer is lost
                lost = True
                time.sleep(0.005)
            elif e.http_status == 400 and "ttl" in e.message:
                pass  # renewing a lease without a TTL
            elif e.http_status not in (403, 404, 409):
                print("churn_client %s: %s" % (slot, e), file=sys.stderr)
                time.sleep(0.01)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
