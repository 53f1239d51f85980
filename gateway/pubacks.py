"""Matching the broker's PUBACKs to what was published: one slot per MQTT message id.

paho calls ``on_publish`` on its network thread, and the broker's PUBACK can be handled
there before ``publish()`` has even returned the message id to the publishing thread.
So whichever side comes first creates the slot of that id and the other completes it
(as Home Assistant's MQTT client does with one future per message id). Every QoS 1
publish of a connection takes a slot, also the status and meta messages that have nothing
to acknowledge, so no PUBACK is ever left over to be taken for a later message that reuses
its id (ids wrap at 65535). Slots belong to one connection: ``clear()`` on a new one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Slot(Generic[T]):
    item: T | None
    acknowledged: bool


class AckSlots(Generic[T]):
    """The in-flight messages of one connection by message id; thread-safe."""

    def __init__(self) -> None:
        self._slots: dict[int, _Slot[T]] = {}
        self._lock = threading.Lock()
        self._waiting = 0  # published items whose PUBACK has not come

    @property
    def waiting(self) -> int:
        """Published items (``item`` not None) the broker has not acknowledged yet."""
        return self._waiting

    def published(self, mid: int, item: T | None) -> bool:
        """The publisher's side of ``mid``; True when its PUBACK already came (slot done)."""
        with self._lock:
            slot = self._slots.pop(mid, None)
            if slot is not None and slot.acknowledged:
                return True
            self._slots[mid] = _Slot(item, acknowledged=False)
            if item is not None:
                self._waiting += 1
            return False

    def acknowledged(self, mid: int) -> T | None:
        """The broker's side of ``mid``: the item published under it, if the publisher came
        first (else None, and the slot waits for the publisher)."""
        with self._lock:
            slot = self._slots.pop(mid, None)
            if slot is None:
                self._slots[mid] = _Slot(None, acknowledged=True)
                return None
            if slot.item is not None:
                self._waiting -= 1
            return slot.item

    def clear(self) -> None:
        """Forget every slot (a new connection numbers its messages afresh)."""
        with self._lock:
            self._slots.clear()
            self._waiting = 0
