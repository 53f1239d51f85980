"""The install's settings file, /etc/campuswatch/ingest.env, read and written as data.

    envfile.py make FILE --site S --name N --public-url U --tls-dir D   (once; secrets made)
    envfile.py get FILE KEY
    envfile.py set FILE KEY VALUE                                        (made if missing)

Every value is written as ``KEY="VALUE"`` and read back by ``campus-ingest --env-file``
(one pair of quotes removed, nothing expanded), never by a shell: a campus name with
spaces, quotes or ``$(...)`` is just text. A value with a line break or another control
character is refused (exit 2); the file is replaced atomically with mode 0640.
Python's standard library only: it runs before the virtualenv exists.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from pathlib import Path

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Control and invisible characters (campuswatch.protocol.kinds.UNSAFE_TEXT; this script
# runs before the package is installed).
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)


def read(path: Path) -> dict[str, str]:
    """The file's pairs (a pair of quotes around a value removed, as the service does)."""
    pairs: dict[str, str] = {}
    if not path.exists():
        return pairs
    for line in path.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and _KEY.fullmatch(key):
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            pairs[key] = value
    return pairs


def write(path: Path, pairs: dict[str, str]) -> None:
    """Replace the file with ``pairs``, each ``KEY="VALUE"``; a file that was there keeps
    its owner, group and mode (the service's group must go on reading it)."""
    for key, value in pairs.items():
        if not _KEY.fullmatch(key) or _CONTROL.search(value):
            print(
                f"{path}: {key}: a value is one line without control or invisible characters",
                file=sys.stderr,
            )
            sys.exit(2)
    text = "".join(f'{key}="{value}"\n' for key, value in pairs.items())
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "w") as handle:
        if path.exists():
            before = path.stat()
            os.fchown(handle.fileno(), before.st_uid, before.st_gid)
            os.fchmod(handle.fileno(), before.st_mode & 0o7777)
        handle.write(text)
    os.replace(tmp, path)


def make(path: Path, args: argparse.Namespace) -> None:
    """A new settings file with fresh secrets."""
    secret = lambda: secrets.token_urlsafe(24)  # noqa: E731
    write(
        path,
        {
            "CAMPUSWATCH_SITE": args.site,
            "CAMPUSWATCH_SITE_NAME": args.name,
            "CAMPUSWATCH_PUBLIC_URL": args.public_url,
            "CAMPUSWATCH_TLS_DIR": args.tls_dir,
            "CAMPUSWATCH_API_TOKEN": secret(),
            "MQTT_HOST": "127.0.0.1",
            "MQTT_PORT": "8883",
            "MQTT_PASSWORD": "",
            "INFLUX_URL": "http://127.0.0.1:8086",
            "INFLUX_PASSWORD": secret(),
            "INFLUX_ADMIN_PASSWORD": secret(),
            "GRAFANA_INFLUX_PASSWORD": secret(),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["make", "get", "set"])
    parser.add_argument("file", type=Path)
    parser.add_argument("key", nargs="?")
    parser.add_argument("value", nargs="?")
    for option in ("--site", "--name", "--public-url", "--tls-dir"):
        parser.add_argument(option, default="")
    args = parser.parse_args()
    if args.action == "make":
        make(args.file, args)
    elif args.action == "get":
        sys.stdout.write(read(args.file).get(args.key or "", "") + "\n")
    else:
        write(args.file, {**read(args.file), args.key or "": args.value or ""})


if __name__ == "__main__":
    main()
