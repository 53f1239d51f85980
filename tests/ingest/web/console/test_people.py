"""People, sessions and the login throttle on a manual clock; the ``users`` commands."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from ingest.config.console import ConsoleConfig
from ingest.people.checks import PeopleError
from ingest.people.store import LoginRefused, PeopleStore, Person, PersonExists
from tests.clock import ManualClock

CONFIG = ConsoleConfig(
    session_idle=timedelta(hours=1),
    session_max=timedelta(days=1),
    slow_after=3,
    lock_after=6,
    lockout=timedelta(minutes=15),
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_796_000_000.0)


@pytest.fixture
def people(tmp_path: Path, clock: ManualClock) -> Iterator[PeopleStore]:
    store = PeopleStore(tmp_path / "people.db", CONFIG, clock)
    store.open()
    store.add("zhang", "张师傅", "guard", "correct horse")
    yield store
    store.close()


def _refusal(store: PeopleStore, login: str, password: str) -> LoginRefused:
    with pytest.raises(LoginRefused) as caught:
        store.log_in(login, password)
    return caught.value


def test_passwords_are_argon2id_hashes_and_sessions_only_hashes(
    people: PeopleStore, tmp_path: Path
) -> None:
    session = people.log_in("zhang", "correct horse")
    with sqlite3.connect(tmp_path / "people.db") as db:
        (digest,) = db.execute("SELECT password_hash FROM people").fetchone()
        (stored,) = db.execute("SELECT token_hash FROM sessions").fetchone()
    assert digest.startswith("$argon2id$")
    assert "correct horse" not in digest
    assert stored != session.token
    assert session.token not in stored
    assert people.session(session.token) == session


def test_wrong_and_unknown_logins_say_the_same_then_slow_down_then_lock(
    people: PeopleStore, clock: ManualClock
) -> None:
    assert _refusal(people, "zhang", "wrong").reason == "wrong"
    assert str(_refusal(people, "nobody", "x")) == str(_refusal(people, "zhang", "bad"))
    _refusal(people, "zhang", "wrong")  # the third failure in a row
    waiting = _refusal(people, "zhang", "correct horse")  # even the right password waits
    assert (waiting.reason, waiting.retry_after_s) == ("wait", 1)
    for _ in range(3):  # waiting 1, 2, 4 s between the next failures
        clock.advance(10)
        _refusal(people, "zhang", "wrong")
    locked = _refusal(people, "zhang", "correct horse")
    assert locked.reason == "locked"
    assert 14 * 60 < locked.retry_after_s <= 15 * 60
    clock.advance(15 * 60 + 1)
    assert people.log_in("zhang", "correct horse").person.name == "张师傅"
    assert people.log_in("zhang", "correct horse")  # a success forgets the failures


def test_sessions_end_idle_at_logout_and_when_disabled_or_the_password_changes(
    people: PeopleStore, clock: ManualClock
) -> None:
    first = people.log_in("zhang", "correct horse")
    clock.advance(59 * 60)
    assert people.session(first.token) is not None  # used: the idle time starts again
    clock.advance(59 * 60)
    assert people.session(first.token) is not None
    clock.advance(61 * 60)
    assert people.session(first.token) is None  # idle for more than an hour
    second = people.log_in("zhang", "correct horse")
    people.log_out(second.token)
    assert people.session(second.token) is None
    third = people.log_in("zhang", "correct horse")
    people.set_disabled("zhang", True)
    assert people.session(third.token) is None
    # No password oracle: the right and a wrong password get the same answer.
    assert str(_refusal(people, "zhang", "correct horse")) == str(_refusal(people, "zhang", "x"))
    people.set_disabled("zhang", False)
    fourth = people.log_in("zhang", "correct horse")
    people.set_password("zhang", "a new password")
    assert people.session(fourth.token) is None
    assert people.log_in("zhang", "a new password")


def test_every_session_ends_after_session_max(people: PeopleStore, clock: ManualClock) -> None:
    session = people.log_in("zhang", "correct horse")
    for _ in range(25):
        clock.advance(3600 - 1)
        people.session(session.token)
    assert people.session(session.token) is None


@pytest.mark.parametrize(
    ("login", "name", "role", "password", "why"),
    [
        ("a b", "x", "guard", "long enough", "login"),
        ("ok", "", "guard", "long enough", "name"),
        ("ok", "x" * 65, "guard", "long enough", "name"),
        ("ok", "tab\there", "guard", "long enough", "name"),
        ("ok", "x", "root", "long enough", "role"),
        ("ok", "x", "guard", "short", "password"),
    ],
)
def test_bad_people_are_refused(
    people: PeopleStore, login: str, name: str, role: str, password: str, why: str
) -> None:
    with pytest.raises(PeopleError, match=why):
        people.add(login, name, role, password)


def test_adding_a_login_that_exists_changes_nothing(people: PeopleStore) -> None:
    with pytest.raises(PersonExists, match="exists already"):
        people.add("zhang", "张三", "viewer", "a typo's password")
    assert people.person("zhang") == Person("zhang", "张师傅", "guard")
    assert people.log_in("zhang", "correct horse")  # the night guard can still log in
    session = people.log_in("zhang", "correct horse")
    people.change("zhang", "张师傅（夜班）", "guard", ["gate"])  # new name, areas: still in
    still = people.session(session.token)
    assert still is not None
    assert still.person.areas == ("gate",)  # at once, in the same session
    people.change("zhang", "张师傅（夜班）", "viewer")  # a lower role: logged out
    assert people.session(session.token) is None
    assert people.person("zhang") == Person("zhang", "张师傅（夜班）", "viewer")


@pytest.mark.parametrize("areas", [["a\x00b"], ["x" * 65], [f"b{i}" for i in range(51)]])
def test_bad_areas_are_refused(people: PeopleStore, areas: list[str]) -> None:
    with pytest.raises(PeopleError, match="area"):
        people.add("zhao", "赵阿姨", "guard", "long enough", areas)
    assert people.person("zhao") is None


def _users(
    config: Path, *args: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli", "users", *args, "--config", str(config)],
        input=password,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_users_commands(tmp_path: Path, clock: ManualClock) -> None:
    config = tmp_path / "ingest.yaml"
    config.write_text(yaml.safe_dump({"site": {"id": "s1"}, "state_dir": str(tmp_path / "state")}))
    added = _users(
        config, "add", "li", "--name", "李老师", "--role", "viewer", password="pipe pass 1\n"
    )
    assert added.returncode == 0, added.stderr
    listed = _users(config, "list")
    assert "li" in listed.stdout
    assert "李老师" in listed.stdout
    again = _users(
        config, "add", "li", "--name", "李四", "--role", "admin", password="pipe pass 2\n"
    )
    assert again.returncode == 2
    assert "exists already" in again.stderr
    assert "李老师" in _users(config, "list").stdout  # unchanged
    canteen = _users(
        config,
        "add",
        "zhao",
        "--name",
        "赵阿姨",
        "--role",
        "guard",
        "--areas",
        "canteen, main",
        password="canteen pass\n",
    )
    assert canteen.returncode == 0, canteen.stderr
    assert "areas canteen,main" in canteen.stdout
    assert "canteen,main" in _users(config, "list").stdout
    assert _users(config, "passwd", "li", password="another one\n").returncode == 0
    store = PeopleStore(tmp_path / "state" / "people.db", CONFIG, clock)
    store.open()
    assert store.log_in("li", "another one").person.role == "viewer"
    store.close()
    short = _users(config, "passwd", "li", password="short\n")
    assert short.returncode == 2
    assert "8 to 1024" in short.stderr
    assert _users(config, "remove", "nobody").returncode == 2
    assert _users(config, "remove", "li").returncode == 0
    assert "li" not in _users(config, "list").stdout.split()


def test_concurrent_wrong_passwords_cannot_race_past_the_lock(tmp_path: Path) -> None:
    """Item 5: 20 concurrent wrong passwords with ``lock_after: 10`` were all checked;
    each attempt is now counted before its password is, so at most 10 are."""
    config = CONFIG.model_copy(update={"slow_after": 50, "lock_after": 10})
    store = PeopleStore(tmp_path / "people.db", config, ManualClock(1_796_000_000.0))
    store.open()
    store.add("zhang", "张师傅", "guard", "correct horse")
    try:
        with ThreadPoolExecutor(20) as pool:
            reasons = list(
                pool.map(lambda i: _refusal(store, "zhang", f"guess {i}").reason, range(20))
            )
    finally:
        store.close()
    assert reasons.count("wrong") <= 10
    assert reasons.count("locked") >= 10


def test_passwords_use_owasp_parameters_and_old_hashes_are_renewed(
    people: PeopleStore, tmp_path: Path
) -> None:
    from argon2 import PasswordHasher  # noqa: PLC0415

    old = PasswordHasher().hash("old horse pw")  # argon2-cffi's default: 64 MiB
    with sqlite3.connect(tmp_path / "people.db") as db:
        db.execute("UPDATE people SET password_hash = ?", (old,))
    other = people.log_in("zhang", "old horse pw")
    session = people.log_in("zhang", "old horse pw")  # renewed at the first of them
    assert people.session(session.token) is not None  # renewing ends no session
    assert people.session(other.token) is not None
    with sqlite3.connect(tmp_path / "people.db") as db:
        (digest,) = db.execute("SELECT password_hash FROM people").fetchone()
    assert digest.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
