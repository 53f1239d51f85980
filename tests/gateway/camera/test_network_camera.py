"""A network camera over HTTP MJPEG: online, offline when it drops, back when it returns."""

from __future__ import annotations

import time
from typing import Any
from zoneinfo import ZoneInfo

from campuswatch.clock import SystemClock
from demo.services import free_port
from demo.videos import walk
from gateway.config import CameraDeviceConfig
from gateway.sources.camera.source import Camera
from tests.gateway.camera.mjpeg import mjpeg_camera
from tests.harness import wait_for


def test_mjpeg_camera_goes_offline_and_comes_back() -> None:
    readings: list[dict[str, Any]] = []
    with mjpeg_camera(free_port(), walk(enter_s=3.5, cross_s=4.0)) as server:
        device = CameraDeviceConfig(device="cam-gate", url=server.url, fps=5)
        camera = Camera(
            device, readings.append, lambda *_: None, SystemClock(), ZoneInfo("Asia/Shanghai"), None
        )
        camera.start()
        try:
            wait_for(lambda: any(r["values"]["online"] for r in readings), 15)
            wait_for(lambda: any(r["values"]["motion"] for r in readings), 15)
            cut_at = time.time()
            server.cut()
            wait_for(lambda: readings[-1]["values"]["online"] is False, 15)
            assert readings[-1]["ts"] / 1000 - cut_at < 6  # the read timeout is 5 s
            assert camera.online is False
            server.start()  # the camera is back on the same address
            wait_for(lambda: readings[-1]["values"]["online"] is True, 30)
        finally:
            camera.stop()
    assert server.clients >= 2  # it reconnected
    assert camera.errors >= 1
    offline = [r for r in readings if r["values"]["online"] is False]
    assert len(offline) == 1  # once (and then every interval_s), however many retries failed
