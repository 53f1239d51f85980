"""Camera analysis on videos drawn in the test, played in real time as camera streams."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from campuswatch.clock import SystemClock
from demo import videos
from gateway.config import CameraDeviceConfig, CameraSourceConfig
from gateway.sources.camera.source import CameraSource

RUN_S = 12.5  # each video is 14 s long; the cameras watch the first 12.5 s
CHANGE_S = 5.0  # when the person enters, the lens is covered, the picture freezes, ...
MASK = [[[0, 0], [220, 0], [220, 140], [0, 140]]]  # where the "leaves" are


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Seven cameras watching seven videos at once; their readings and snapshots."""
    folder = tmp_path_factory.mktemp("videos")
    scenes = {
        "walk": videos.walk(CHANGE_S),
        "leaves-masked": videos.leaves_in((10, 10, 210, 130)),
        "leaves": videos.leaves_in((10, 10, 210, 130)),
        "cover": videos.covered_from(CHANGE_S),
        "frozen": videos.frozen_from(CHANGE_S),
        "blurred": videos.blurred_from(CHANGE_S),
        "turned": videos.shifted_from(CHANGE_S),
    }
    devices = [
        CameraDeviceConfig(
            device=name,
            url=str(videos.write_video(folder / f"{name}.avi", 14, frame)),
            loop=False,
            mask=MASK if name == "leaves-masked" else [],
        )
        for name, frame in scenes.items()
    ]
    readings: dict[str, list[dict[str, Any]]] = defaultdict(list)
    snapshots: dict[str, bytes] = {}
    lock = threading.Lock()

    def emit(reading: dict[str, Any]) -> None:
        with lock:
            readings[reading["device"]].append(reading)

    def keep(_device: str, snapshot_id: str, jpeg: bytes) -> None:
        snapshots[snapshot_id] = jpeg

    source = CameraSource(
        CameraSourceConfig(type="camera", devices=devices), "Asia/Shanghai", SystemClock(), keep
    )
    source.start(emit)
    time.sleep(RUN_S)
    opened = {c.device.device: c.stream.opened_at for c in source.cameras}
    stats = source.stats()
    source.stop()
    return {"readings": readings, "snapshots": snapshots, "opened": opened, "stats": stats}


def _video_time(watched: dict[str, Any], device: str, reading: dict[str, Any]) -> float:
    """When in the video the reading was taken (seconds from the first frame)."""
    return float(reading["ts"] / 1000 - watched["opened"][device])


def _first(watched: dict[str, Any], device: str, **values: Any) -> dict[str, Any] | None:
    for reading in watched["readings"][device]:
        if all(reading["values"].get(k) == v for k, v in values.items()):
            return reading
    return None


def test_first_reading_reports_a_settled_quiet_scene(watched: dict[str, Any]) -> None:
    for device in ("walk", "leaves-masked", "cover", "frozen", "blurred", "turned"):
        first = watched["readings"][device][0]["values"]
        assert first["motion"] is False, device
        assert first["online"] is True
        assert first["persons"] == 0
        assert first["tamper"] is False


def test_person_walking_through_is_seen_within_a_second_with_a_snapshot(
    watched: dict[str, Any],
) -> None:
    seen = next(r for r in watched["readings"]["walk"] if r["values"]["persons"] >= 1)
    assert CHANGE_S <= _video_time(watched, "walk", seen) <= CHANGE_S + 1.0
    assert seen["values"]["motion"] is True
    snapshot_id = seen["values"]["snapshot"]
    picture = cv2.imdecode(np.frombuffer(watched["snapshots"][snapshot_id], np.uint8), 1)
    assert picture.shape == (360, 640, 3)
    red = (picture[:, :, 2] > 200) & (picture[:, :, 1] < 60) & (picture[:, :, 0] < 60)
    assert red.sum() > 100, "the person's box is drawn on the snapshot"
    gone = next(
        r
        for r in watched["readings"]["walk"]
        if r is not seen and _video_time(watched, "walk", r) > CHANGE_S + 6.5
    )
    assert gone["values"]["persons"] == 0  # the person left the picture at 11 s
    assert not _first(watched, "walk", tamper=True)


def test_leaves_inside_an_ignore_mask_are_no_event(watched: dict[str, Any]) -> None:
    assert not _first(watched, "leaves-masked", motion=True)
    assert _first(watched, "leaves", motion=True), "without the mask the leaves do move"
    assert not _first(watched, "leaves", persons=1)


@pytest.mark.parametrize(
    ("device", "hold_s"), [("cover", 2.0), ("frozen", 3.0), ("blurred", 5.0), ("turned", 2.0)]
)
def test_tamper_is_reported_after_its_hold_time(
    watched: dict[str, Any], device: str, hold_s: float
) -> None:
    tampered = _first(watched, device, tamper=True)
    assert tampered is not None, watched["readings"][device]
    assert CHANGE_S + hold_s <= _video_time(watched, device, tampered) <= CHANGE_S + hold_s + 1.0
    before = [r for r in watched["readings"][device] if r["ts"] < tampered["ts"]]
    assert not any(r["values"]["persons"] for r in before)


def test_a_covered_lens_is_no_motion_event(watched: dict[str, Any]) -> None:
    assert not _first(watched, "cover", motion=True)


def test_stats_for_health_readings(watched: dict[str, Any]) -> None:
    assert watched["stats"]["readings"] >= 12
    assert watched["stats"]["errors"] == 0


def test_stopping_is_not_reported_as_the_camera_going_offline(tmp_path: Path) -> None:
    video = videos.write_video(tmp_path / "gate.avi", 8, videos.walk(enter_s=100))
    readings: list[dict[str, Any]] = []
    device = CameraDeviceConfig(device="cam-gate", url=str(video), fps=5)
    source = CameraSource(
        CameraSourceConfig(type="camera", devices=[device]),
        "Asia/Shanghai",
        SystemClock(),
        lambda *_: None,
    )
    source.start(readings.append)
    deadline = time.monotonic() + 10
    while not readings and time.monotonic() < deadline:
        time.sleep(0.1)
    source.stop()
    assert readings, "the camera reported"
    assert all(r["values"]["online"] for r in readings), readings


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rtsp://admin:p@ss@192.168.1.64:554/stream2", "rtsp://…@192.168.1.64:554/stream2"),
        ("rtsp://admin:secret@cam/a@b", "rtsp://…@cam/a@b"),
        ("http://cam.local/mjpeg", "http://cam.local/mjpeg"),
        ("/var/videos/gate.avi", "/var/videos/gate.avi"),
    ],
)
def test_camera_urls_are_logged_without_any_part_of_the_password(url: str, shown: str) -> None:
    from gateway.sources.camera.stream import mask_credentials  # noqa: PLC0415

    assert mask_credentials(url) == shown
