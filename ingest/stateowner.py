"""Commands that write the service's state run as the user who owns it.

``sudo campus-ingest links rotate`` once left ``links.key`` root-owned with mode 0600,
which the service (user ``campuswatch``) could not read: every alarm then failed to sign
its ack link. So a command that writes into ``state_dir`` first becomes the owner of
that directory when it runs as root, and refuses, with a clear message, when it runs as
some other user; files it makes then have the owner and mode (umask 077) the service's
own files have.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from ingest.errors import IngestError


class WrongUser(IngestError):
    """The command runs as a user who must not write the state directory."""


def become_state_owner(state_dir: Path) -> None:
    """Run on as the owner of ``state_dir`` (root switches; others must be the owner)."""
    try:
        info = state_dir.stat()
    except FileNotFoundError:
        return  # nothing there yet: the first files are made by whoever sets it up
    except PermissionError as exc:
        raise WrongUser(f"{state_dir}: {exc.strerror}: run this command as its owner") from exc
    euid = os.geteuid()
    if euid == info.st_uid:
        return
    owner = _user_name(info.st_uid)
    if euid != 0:
        raise WrongUser(
            f"{state_dir} belongs to {owner}, not to {_user_name(euid)}: run this command"
            f" as {owner} (sudo -u {owner} campus-ingest ...) so the service can read what"
            " it writes"
        )
    os.setgroups([])
    os.setgid(info.st_gid)
    os.setuid(info.st_uid)
    os.umask(0o077)


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
