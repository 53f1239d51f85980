"""``places`` (SPEC §4, v3): the names people read for buildings and rooms.

``{main: 主楼, main/101: 小一班教室, canteen: 食堂, canteen/kitchen: 厨房}``: a building id,
or ``BUILDING/ROOM``. Wherever a building or room is shown to a person, its name replaces
the id; an id without a name is shown as it is. Ids stay in URLs, JSON, CSV and the
webhook's ``tags``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from campuswatch.protocol.kinds import refuse_unsafe

# A building tag, or building and room tags joined by "/" (tags are names of up to 64).
PlaceKey = Annotated[
    str, StringConstraints(pattern=r"^[^/]{1,64}(/[^/]{1,64})?$"), AfterValidator(refuse_unsafe)
]
PlaceName = Annotated[
    str, StringConstraints(min_length=1, max_length=64), AfterValidator(refuse_unsafe)
]


def in_place(tags: Mapping[str, str], place: str) -> bool:
    """Whether a device's tags put it in ``place`` (``BUILDING`` or ``BUILDING/ROOM``)."""
    building, _, room = place.partition("/")
    return tags.get("building") == building and (not room or tags.get("room") == room)


class Places:
    """Names of buildings and rooms, by id."""

    def __init__(self, names: Mapping[str, str] | None = None) -> None:
        self._names = dict(names or {})

    def building(self, building: str) -> str:
        """A building's name (its id when it has none)."""
        return self._names.get(building, building)

    def room(self, building: str, room: str) -> str:
        """A room's name (``BUILDING/ROOM``), else its id."""
        return self._names.get(f"{building}/{room}", room)

    def where(self, tags: Mapping[str, str]) -> str:
        """Building and room of a device's tags, as people read them: "主楼 小一班教室"."""
        building, room = tags.get("building", ""), tags.get("room", "")
        parts = [self.building(building) if building else ""]
        parts.append(self.room(building, room) if room else "")
        return " ".join(p for p in parts if p)
