"""Motion by background subtraction (MOG2) on a half-size grey frame, outside ignore masks."""

from __future__ import annotations

import cv2
import numpy as np

from gateway.sources.camera.geometry import Box, Image, merge_overlapping

SETTLE_FRAMES = 15  # frames learnt fast before the model counts as settled
_FAST_RATE = 0.3


class MotionDetector:
    """Moving regions of each frame, as boxes in the analysed (half-size) frame."""

    def __init__(self, mask: Image, min_area: float) -> None:
        self.mask = mask
        self.min_pixels = max(4, int(min_area * mask.shape[0] * mask.shape[1]))
        self.foreground = 0.0  # fraction of the frame that changed, last frame
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self.reset()

    @property
    def settled(self) -> bool:
        """True once the background model has seen enough frames to be trusted."""
        return self.frames >= SETTLE_FRAMES

    def reset(self) -> None:
        """Forget the background (stream reopened, camera moved)."""
        self.frames = 0
        self._model = cv2.createBackgroundSubtractorMOG2(
            history=300, varThreshold=32, detectShadows=False
        )

    def detect(self, gray: Image) -> list[Box]:
        """Regions that moved in ``gray`` (same size as the mask)."""
        rate = _FAST_RATE if self.frames < SETTLE_FRAMES else -1
        self.frames += 1
        fg = self._model.apply(gray, learningRate=rate)
        fg = cv2.bitwise_and(fg, self.mask)
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._kernel)
        fg = cv2.dilate(fg, self._kernel, iterations=2)
        self.foreground = float(np.count_nonzero(fg)) / fg.size
        if not self.settled:
            return []
        contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        boxes = [
            Box(*cv2.boundingRect(c)) for c in contours if cv2.contourArea(c) >= self.min_pixels
        ]
        return merge_overlapping(boxes)
