"""Boxes and masks in frame pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

Image = np.ndarray[Any, np.dtype[Any]]  # a frame as OpenCV hands it out (BGR or grey, uint8)


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box ``(x, y)`` .. ``(x + w, y + h)`` in pixels."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        """Pixels covered."""
        return self.w * self.h

    def scaled(self, factor: float) -> Box:
        """The box in a frame ``factor`` times as large."""
        return Box(*(round(v * factor) for v in (self.x, self.y, self.w, self.h)))

    def grown(self, margin: float, min_w: int, min_h: int, width: int, height: int) -> Box:
        """The box enlarged by ``margin`` of its size (at least ``min_w`` × ``min_h``), clipped."""
        w = max(min_w, round(self.w * (1 + 2 * margin)))
        h = max(min_h, round(self.h * (1 + 2 * margin)))
        x = max(0, self.x + self.w // 2 - w // 2)
        y = max(0, self.y + self.h // 2 - h // 2)
        return Box(x, y, min(w, width - x), min(h, height - y))

    def overlaps(self, other: Box) -> bool:
        """True when the boxes share any pixel."""
        return not (
            self.x + self.w <= other.x
            or other.x + other.w <= self.x
            or self.y + self.h <= other.y
            or other.y + other.h <= self.y
        )

    def union(self, other: Box) -> Box:
        """The smallest box holding both."""
        x, y = min(self.x, other.x), min(self.y, other.y)
        right = max(self.x + self.w, other.x + other.w)
        bottom = max(self.y + self.h, other.y + other.h)
        return Box(x, y, right - x, bottom - y)


def merge_overlapping(boxes: list[Box]) -> list[Box]:
    """Join boxes that overlap until none do (one person's parts become one region)."""
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                if merged[i].overlaps(merged[j]):
                    merged[i] = merged[i].union(merged.pop(j))
                    changed = True
                    break
            if changed:
                break
    return merged


def ignore_mask(polygons: list[list[list[int]]], width: int, height: int) -> Image:
    """255 where motion counts, 0 inside the ignore polygons."""
    mask = np.full((height, width), 255, np.uint8)
    for polygon in polygons:
        cv2.fillPoly(mask, [np.array(polygon, np.int32)], 0)
    return mask
