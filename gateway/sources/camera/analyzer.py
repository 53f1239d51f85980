"""One frame in, one judgement out: motion regions, people, tamper; and the snapshot JPEG."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import cv2

from gateway.sources.camera.geometry import Box, Image, ignore_mask
from gateway.sources.camera.motion import MotionDetector
from gateway.sources.camera.persons import PersonDetector
from gateway.sources.camera.tamper import TamperDetector

JPEG_QUALITY = 80
GLOBAL_CHANGE = 0.5  # share of the frame changing at once
_MOTION_COLOUR, _PERSON_COLOUR = (0, 200, 255), (0, 0, 255)  # BGR: amber, red


@dataclass(frozen=True, slots=True)
class Analysis:
    """What one frame showed."""

    settled: bool  # the background model is ready; before that nothing is reported
    regions: list[Box] = field(default_factory=list)  # moving regions, frame pixels
    people: list[Box] = field(default_factory=list)
    tamper: str | None = None
    brightness: float = 0.0
    sharpness: float = 0.0

    @property
    def motion(self) -> bool:
        """Something moved."""
        return bool(self.regions)


class FrameAnalyzer:
    """Motion on a half-size grey copy, people on the full frame inside the moving regions."""

    def __init__(
        self,
        width: int,
        height: int,
        mask: list[list[list[int]]],
        min_area: float,
        detector: PersonDetector | None,
    ) -> None:
        half = [[[x // 2, y // 2] for x, y in polygon] for polygon in mask]
        self.size = (width, height)
        self.motion = MotionDetector(ignore_mask(half, width // 2, height // 2), min_area)
        self.tamper = TamperDetector()
        self.detector = detector

    def reset(self) -> None:
        """Start learning afresh (the stream was reopened)."""
        self.motion.reset()
        self.tamper.reset()

    def analyse(self, frame: Image, now: float) -> Analysis:
        """Judge one frame (already scaled to the configured width) taken at ``now``."""
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        small = cv2.resize(
            gray, (self.size[0] // 2, self.size[1] // 2), interpolation=cv2.INTER_AREA
        )
        regions = [r.scaled(2) for r in self.motion.detect(small)]
        tamper = self.tamper.update(small, now, quiet=not regions)
        if tamper is not None or self.motion.foreground > GLOBAL_CHANGE:
            # The whole picture changed at once (covered, turned, lights switched): that is
            # a tamper candidate or lighting, not someone moving.
            regions = []
        people = self.detector.detect(frame, regions) if regions and self.detector else []
        return Analysis(
            self.motion.settled,
            regions,
            people,
            tamper,
            self.tamper.brightness,
            self.tamper.sharpness,
        )


def snapshot_jpeg(frame: Image, analysis: Analysis, label: str, at: float, tz: ZoneInfo) -> bytes:
    """The frame with moving regions (amber) and people (red) boxed, stamped, as JPEG."""
    picture = frame.copy()
    for box, colour in [(b, _MOTION_COLOUR) for b in analysis.regions] + [
        (b, _PERSON_COLOUR) for b in analysis.people
    ]:
        cv2.rectangle(picture, (box.x, box.y), (box.x + box.w, box.y + box.h), colour, 2)
    stamp = f"{label} {datetime.fromtimestamp(at, tz):%Y-%m-%d %H:%M:%S}"
    cv2.putText(picture, stamp, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3)
    cv2.putText(picture, stamp, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    ok, encoded = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("OpenCV could not encode the snapshot")
    return encoded.tobytes()
