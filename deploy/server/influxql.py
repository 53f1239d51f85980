"""Run one InfluxQL statement, read from standard input, as InfluxDB's admin.

The install used ``influx -password ... -execute "CREATE USER ... PASSWORD '...'"``: both
passwords were on a command line, visible to every user in ``ps``. Here the statement
comes on standard input and the admin password in the environment
(``INFLUX_ADMIN_PASSWORD``; empty: no credentials, for creating the first admin).
Python's standard library only. Exit 1 with InfluxDB's error when it refuses.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import urllib.parse
import urllib.request

URL = os.environ.get("INFLUX_URL", "http://127.0.0.1:8086")


def main() -> None:
    statement = sys.stdin.read().strip()
    request = urllib.request.Request(  # noqa: S310 (the install's own local database)
        URL + "/query", data=urllib.parse.urlencode({"q": statement}).encode(), method="POST"
    )
    password = os.environ.get("INFLUX_ADMIN_PASSWORD", "")
    if password:
        token = base64.b64encode(f"admin:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            results = json.load(answer).get("results", [])
    except OSError as exc:
        sys.exit(f"InfluxDB: {exc}")
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        sys.exit(f"InfluxDB: {errors[0]}")


if __name__ == "__main__":
    main()
