"""Person detection on moving regions: one interface, OpenCV's built-in HOG people detector.

HOG needs no model download. A user-supplied detector (a DNN model file, say) implements
``PersonDetector`` and is handed to the camera source instead.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from gateway.sources.camera.geometry import Box, Image

WINDOW_W, WINDOW_H = 64, 128  # the HOG people detector's window
MIN_WEIGHT = 0.8  # SVM score below which a detection is not believed (people score 1-2.5)
MARGIN = 0.25  # a moving region is widened by this much before looking for a person


class PersonDetector(Protocol):
    """Finds people inside given regions of a frame."""

    def detect(self, frame: Image, regions: list[Box]) -> list[Box]:
        """Boxes of people in ``frame`` (BGR), looked for only inside ``regions``."""
        ...


class HogPersonDetector:
    """OpenCV's default HOG + linear SVM pedestrian detector, run per region."""

    def __init__(self) -> None:
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(
            np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32)
        )

    def detect(self, frame: Image, regions: list[Box]) -> list[Box]:
        """People found in the regions, in frame pixels, overlapping finds merged."""
        height, width = frame.shape[:2]
        found: list[Box] = []
        for region in regions:
            roi = region.grown(MARGIN, WINDOW_W + 16, WINDOW_H + 16, width, height)
            if roi.w < WINDOW_W or roi.h < WINDOW_H:
                continue
            crop = frame[roi.y : roi.y + roi.h, roi.x : roi.x + roi.w]
            rects, weights = self._hog.detectMultiScale(
                crop, winStride=(8, 8), padding=(8, 8), scale=1.05
            )
            for (x, y, w, h), weight in zip(rects, np.ravel(weights), strict=True):
                if weight >= MIN_WEIGHT:
                    found.append(Box(int(x) + roi.x, int(y) + roi.y, int(w), int(h)))
        return _suppress(found)


def _suppress(boxes: list[Box]) -> list[Box]:
    """Keep one box per person: drop boxes mostly inside a larger one."""
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: b.area, reverse=True):
        if not any(_overlap_ratio(box, k) > 0.3 for k in kept):
            kept.append(box)
    return kept


def _overlap_ratio(small: Box, big: Box) -> float:
    w = min(small.x + small.w, big.x + big.w) - max(small.x, big.x)
    h = min(small.y + small.h, big.y + big.h) - max(small.y, big.y)
    return max(0, w) * max(0, h) / small.area if small.area else 0.0
