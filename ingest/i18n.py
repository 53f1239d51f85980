"""People-facing text in Simplified Chinese (the default) and English.

Each part of the service keeps its words in one :class:`Catalogue`, both languages side by
side, so a reader sees every phrase and its translation together and no module writes its
own ``if lang == "zh"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Language = Literal["zh", "en"]


class Catalogue:
    """Texts by key, each as ``(zh, en)``; ``say`` picks one and fills in its values."""

    def __init__(self, texts: Mapping[str, tuple[str, str]]) -> None:
        self._texts = dict(texts)

    def __contains__(self, key: object) -> bool:
        return key in self._texts

    def say(self, key: str, lang: str, /, **values: object) -> str:
        """The text ``key`` in ``lang`` (``zh``, else English) with ``values`` filled in."""
        zh, en = self._texts[key]
        text = zh if lang == "zh" else en
        return text.format(**values) if values else text
