"""The ``camera`` source: one thread per camera, readings on change and every interval.

A camera's reading carries ``motion``, ``persons``, ``tamper`` and ``online`` (plus
``brightness`` and ``sharpness`` for the dashboards). It is sent when the stream opens
and the background has settled (``motion: false``), on every change, and every
``interval_s``. When motion starts or a person appears, a JPEG with the boxes drawn is
committed to the snapshot queue first and the reading names it (``snapshot``), at most
one per ``snapshot_every`` for each of the two triggers. A stream that fails is reported
``online: false`` at once and reopened with capped exponential backoff; the other cameras
are not affected.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from campuswatch.backoff import Backoff
from campuswatch.clock import Clock
from campuswatch.protocol import FieldValue
from campuswatch.worker import Worker
from gateway.config import CameraDeviceConfig, CameraSourceConfig
from gateway.errors import BufferFailure
from gateway.sources.base import Emit, SnapshotSink, make_reading
from gateway.sources.camera.analyzer import Analysis, FrameAnalyzer, snapshot_jpeg
from gateway.sources.camera.geometry import Image
from gateway.sources.camera.persons import HogPersonDetector, PersonDetector
from gateway.sources.camera.stream import CameraError, VideoStream

log = logging.getLogger(__name__)

PERSONS_HOLD_S = 1.0


@dataclass(frozen=True, slots=True)
class State:
    """What a reading reports; a change of it is sent at once."""

    motion: bool
    persons: int
    tamper: bool
    online: bool


class Camera:
    """One camera's loop: open, analyse, report, reconnect."""

    def __init__(
        self,
        device: CameraDeviceConfig,
        emit: Emit,
        snapshots: SnapshotSink,
        clock: Clock,
        tz: ZoneInfo,
        detector: PersonDetector | None,
    ) -> None:
        self.device = device
        self.emit = emit
        self.snapshots = snapshots
        self.clock = clock
        self.tz = tz
        self.detector = detector
        self.stop_event = threading.Event()
        self.stream = VideoStream(
            device.url, device.fps, device.width, device.loop, clock, self.stop_event
        )
        self.analyzer: FrameAnalyzer | None = None
        self.online = False
        self.errors = 0
        self.readings = 0
        self.frames = 0
        self._last: State | None = None
        self._next_report = 0.0
        # When the last snapshot of each trigger was taken: a person appearing gets its own
        # picture even right after the motion-start one.
        self._last_snapshot = {"motion": -1e18, "person": -1e18}
        self._recent_people: list[tuple[float, int]] = []
        self._raw_people: list[int] = []  # people found in the last three frames
        self._reconnect = Backoff(base=1.0, cap=60.0)
        self._worker = Worker(f"camera-{device.device}", self._session)

    def start(self) -> None:
        """Start the camera's thread."""
        self._worker.start()

    def stop(self) -> None:
        """Stop and release the stream."""
        self.stop_event.set()  # also ends a wait for frames
        self._worker.stop(10)
        self.stream.close()

    def _session(self) -> float:
        """Open the stream and watch it until it breaks; the delay before reopening it."""
        try:
            self.stream.open()
            self._reconnect.reset()
            log.info("camera %s: stream %s open", self.device.device, self.stream.where)
            self._watch()
        except CameraError as exc:
            if not self.stop_event.is_set():
                log.warning("camera %s: %s", self.device.device, exc)
        finally:
            # Whatever ended the session (a broken stream or a bug, which the worker logs),
            # the camera is offline now; stopping is not the camera going offline.
            if not self.stop_event.is_set():
                self.errors += 1
                self._went_offline()
        return self._reconnect.next_delay()

    def _watch(self) -> None:
        """Analyse frames until the stream breaks (CameraError) or the source stops."""
        frame = self.stream.read()
        height, width = frame.shape[:2]
        d = self.device
        if self.analyzer is None or self.analyzer.size != (width, height):
            self.analyzer = FrameAnalyzer(width, height, d.mask, d.min_area, self.detector)
        self.analyzer.reset()
        while not self.stop_event.is_set():
            now = self.clock.time()
            analysis = self.analyzer.analyse(frame, now)
            self.frames += 1
            if analysis.settled:
                self._report(frame, analysis, now)
            frame = self.stream.read()

    def _count_persons(self, found: int, now: float) -> int:
        """A person counts once seen in two of the last three frames (a single-frame find is
        usually a bush or a shadow) and stays counted for a second (the detector misses a
        walking person in some frames)."""
        self._raw_people = [*self._raw_people[-2:], found]
        confirmed = sorted(self._raw_people)[-2] if len(self._raw_people) >= 2 else 0
        self._recent_people.append((now, confirmed))
        self._recent_people = [(t, n) for t, n in self._recent_people if now - t < PERSONS_HOLD_S]
        return max(n for _, n in self._recent_people)

    def _report(self, frame: Image, analysis: Analysis, now: float) -> None:
        persons = self._count_persons(len(analysis.people), now)
        state = State(analysis.motion, persons, analysis.tamper is not None, True)
        last = self._last
        started = analysis.motion and not (last and last.motion)
        appeared = state.persons > 0 and not (last and last.persons)
        if last is not None and last.tamper != state.tamper:
            log.warning("camera %s: tamper %s", self.device.device, analysis.tamper or "cleared")
        values: dict[str, FieldValue] = {
            "motion": state.motion,
            "persons": state.persons,
            "tamper": state.tamper,
            "online": True,
            "brightness": round(analysis.brightness, 1),
            "sharpness": round(analysis.sharpness, 1),
        }
        trigger = "person" if appeared else "motion" if started else None
        every = self.device.snapshot_every.total_seconds()
        if trigger and now - self._last_snapshot[trigger] >= every:
            snapshot_id = self._take_snapshot(frame, analysis, now, trigger)
            if snapshot_id is not None:
                values["snapshot"] = snapshot_id
        if state != last or "snapshot" in values or now >= self._next_report:
            self._send(values, now)
            self._last = state
        self.online = True

    def _take_snapshot(
        self, frame: Image, analysis: Analysis, now: float, trigger: str
    ) -> str | None:
        snapshot_id = f"{int(now * 1000)}-{secrets.token_hex(3)}"
        label = self.device.name or self.device.device
        jpeg = snapshot_jpeg(frame, analysis, label, now, self.tz)
        try:
            self.snapshots(self.device.device, snapshot_id, jpeg)
        except BufferFailure as exc:  # a full or failing SD card: the reading still goes
            log.error("camera %s: snapshot not stored: %s", self.device.device, exc)
            return None
        self._last_snapshot[trigger] = now
        return snapshot_id

    def _send(self, values: dict[str, FieldValue], now: float) -> None:
        self.emit(make_reading(self.device.device, "camera", int(now * 1000), values))
        self.readings += 1
        self._next_report = now + self.device.interval_s

    def _went_offline(self) -> None:
        """Report ``online: false`` at once, then every ``interval_s`` while it lasts."""
        now = self.clock.time()
        if self._last is not None and not self._last.online and now < self._next_report:
            return
        self._send({"motion": False, "persons": 0, "online": False}, now)
        self._last = State(False, 0, False, False)
        self.online = False


class CameraSource:
    """Every camera of one ``camera`` source entry."""

    def __init__(
        self,
        config: CameraSourceConfig,
        timezone: str,
        clock: Clock,
        snapshots: SnapshotSink,
        detector: Callable[[], PersonDetector] = HogPersonDetector,
    ) -> None:
        self.name = "camera"
        self.config = config
        self.clock = clock
        self.tz = ZoneInfo(timezone)
        self.snapshots = snapshots
        self.detector = detector
        self.cameras: list[Camera] = []

    def start(self, emit: Emit) -> None:
        """Start one thread per camera."""
        self.cameras = [
            Camera(
                d, emit, self.snapshots, self.clock, self.tz, self.detector() if d.persons else None
            )
            for d in self.config.devices
        ]
        for camera in self.cameras:
            camera.start()

    def stop(self) -> None:
        """Stop every camera."""
        for camera in self.cameras:
            camera.stop_event.set()
        for camera in self.cameras:
            camera.stop()

    def stats(self) -> dict[str, int]:
        """Readings, stream errors and cameras offline, for the health readings."""
        return {
            "readings": sum(c.readings for c in self.cameras),
            "errors": sum(c.errors for c in self.cameras),
            "unavailable": sum(1 for c in self.cameras if not c.online),
        }
