"""Tamper: the lens covered or dark, out of focus, a frozen image, the camera moved.

Each condition must hold for a while before it counts (a person walking past the lens
darkens it for a moment), and clears as soon as the image is normal again. Measures are
taken on the small grey frame the motion detector also uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from gateway.sources.camera.geometry import Image

DARK_MEAN, DARK_STD = 30.0, 12.0  # a covered lens or a dead IR lamp: dark and featureless
BLUR_RATIO = 0.2  # sharpness below this share of the learnt normal = out of focus
FROZEN_DIFF = 0.05  # mean absolute pixel change below this = the same picture again
MOVED_CHANGE = 0.55  # share of pixels far from the reference view = looking elsewhere
PAN_SHARE, PAN_RESPONSE = 0.05, 0.05  # a whole-picture shift beyond 5 % of the width = turned
HOLD_S = {"covered": 2.0, "blurred": 5.0, "frozen": 3.0, "moved": 2.0}
LEARN_FRAMES = 10
RELEARN_S = 600.0  # a camera left pointing elsewhere this long: its new view is the normal


@dataclass(slots=True)
class TamperDetector:
    """Tracks the tamper conditions of one camera over time."""

    reason: str | None = None  # the condition in force, if any
    brightness: float = 0.0
    sharpness: float = 0.0
    _since: dict[str, float] = field(default_factory=dict)
    _normal_sharpness: list[float] = field(default_factory=list)
    _reference: Image | None = None
    _previous: Image | None = None
    _window: Image | None = None

    def reset(self) -> None:
        """Forget the learnt view (stream reopened)."""
        self._since.clear()
        self._normal_sharpness.clear()
        self._reference = self._previous = None
        self.reason = None

    def update(self, gray: Image, now: float, quiet: bool) -> str | None:
        """Judge one frame taken at ``now``; ``quiet`` = no motion (the view may be learnt)."""
        self.brightness = float(gray.mean())
        self.sharpness = float(cv2.Laplacian(gray, cv2.CV_32F).var())
        seen = self._conditions(gray)
        self._previous = gray
        for name in list(self._since):
            if name not in seen:
                del self._since[name]
        for name in seen:
            self._since.setdefault(name, now)
        held = [n for n in HOLD_S if n in self._since and now - self._since[n] >= HOLD_S[n]]
        self.reason = held[0] if held else None
        if self.reason == "moved" and now - self._since["moved"] >= RELEARN_S:
            self._reference = gray
            del self._since["moved"]
        if self.reason is None and not seen and quiet:
            self._learn(gray)
        return self.reason

    def _conditions(self, gray: Image) -> set[str]:
        seen = set()
        if self.brightness < DARK_MEAN and float(gray.std()) < DARK_STD:
            return {"covered"}  # a black frame is also blurred, frozen and changed
        normal = float(np.median(self._normal_sharpness)) if self._normal_sharpness else 0.0
        if len(self._normal_sharpness) >= LEARN_FRAMES and self.sharpness < BLUR_RATIO * normal:
            seen.add("blurred")
        if self._previous is not None and _mean_change(gray, self._previous) < FROZEN_DIFF:
            seen.add("frozen")
        if self._reference is not None and self._moved(gray, self._reference):
            seen.add("moved")
        return seen

    def _moved(self, gray: Image, reference: Image) -> bool:
        """The whole picture shifted (the camera was turned) or most of it is another view."""
        if self._window is None or self._window.shape != gray.shape:
            self._window = cv2.createHanningWindow(gray.shape[::-1], cv2.CV_32F)
        (dx, dy), response = cv2.phaseCorrelate(
            reference.astype(np.float32), gray.astype(np.float32), self._window
        )
        if response > PAN_RESPONSE and math.hypot(dx, dy) > PAN_SHARE * gray.shape[1]:
            return True
        far = cv2.absdiff(gray, reference) > 40
        return float(np.count_nonzero(far)) / far.size > MOVED_CHANGE

    def _learn(self, gray: Image) -> None:
        """Take the quiet, normal view as the reference and its sharpness as normal."""
        self._normal_sharpness.append(self.sharpness)
        del self._normal_sharpness[:-50]
        if self._reference is None or len(self._normal_sharpness) % 25 == 0:
            self._reference = gray


def _mean_change(a: Image, b: Image) -> float:
    return float(cv2.absdiff(a, b).mean())
