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

    def word(self, prefix: str, key: str | None, lang: str, fallback: str | None = None) -> str:
        """``prefix.key`` in words (``class.refrigerator``: 冷藏柜), else ``fallback``'s words;
        when none is known, ``key`` itself (or nothing when a fallback was given, so the
        caller chooses what to show)."""
        for candidate in (f"{prefix}.{key}" if key else None, fallback):
            if candidate and candidate in self._texts:
                return self.say(candidate, lang)
        return "" if fallback else (key or "")


# What devices are, in words: pages, reports and messages say 冷藏柜 and 门, never ids.
DEVICE_WORDS = {
    "class.refrigerator": ("冷藏柜", "refrigerator"),
    "class.freezer": ("冷冻柜", "freezer"),
    "class.sample_fridge": ("留样柜", "food-sample fridge"),
    "class.medicine_fridge": ("药品冰箱", "medicine fridge"),
    "kind.door": ("门", "door"),
    "kind.smoke": ("烟感", "smoke detector"),
    "kind.temperature": ("温度", "temperature"),
    "kind.leak": ("漏水", "leak sensor"),
    "kind.panic": ("一键报警", "panic button"),
    "kind.motion": ("人体感应", "motion sensor"),
    "kind.camera": ("摄像头", "camera"),
    "kind.electricity": ("电表", "electricity meter"),
    "kind.water": ("水表", "water meter"),
    "kind.gateway": ("网关", "gateway"),
}
