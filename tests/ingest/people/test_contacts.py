"""People's own contacts (SPEC §11): checked with full matches, kept with the person, gone
with them; phone numbers shown masked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campuswatch.clock import SystemClock
from ingest.config.console import ConsoleConfig
from ingest.people.checks import PeopleError
from ingest.people.contacts import Contacts, mask_phone
from ingest.people.store import PeopleStore


@pytest.fixture
def people(tmp_path: Path) -> Iterator[PeopleStore]:
    store = PeopleStore(tmp_path / "people.db", ConsoleConfig(), SystemClock())
    store.open()
    yield store
    store.close()


def test_contacts_are_kept_with_the_person_and_go_with_them(people: PeopleStore) -> None:
    contacts = Contacts.checked(
        phone="138 1234 5678", email="zhang@example.cn", wecom_userid="ZhangSan"
    )
    people.add("zhang", "张师傅", "guard", "guard password 1", contacts=contacts)
    assert people.contacts(["zhang", "nobody"]) == {"zhang": contacts}
    people.set_contacts("zhang", Contacts.checked(dingtalk_mobile="13812345678"))
    assert people.contacts(["zhang"])["zhang"].email == ""
    people.remove("zhang")
    assert people.contacts(["zhang"]) == {}
    with pytest.raises(PeopleError, match="nobody has the login"):
        people.set_contacts("zhang", Contacts())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "zhang@example.cn\nBcc: all@example.cn"),
        ("email", "<script>@x.cn"),
        ("wecom_userid", "@all"),
        ("wecom_userid", "a b"),
        ("dingtalk_mobile", "138-1234"),
        ("phone", "call me"),
    ],
)
def test_anything_but_a_contact_is_refused(field: str, value: str) -> None:
    with pytest.raises(PeopleError, match=field):
        Contacts.checked(**{field: value})


def test_phones_are_masked() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("138 1234 5678") == "138****5678"
    assert mask_phone("12345") == "*****"
