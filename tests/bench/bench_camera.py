"""Camera analysis benchmark: frames analysed per second on one core, and CPU per camera.

Run with ``python -m tests.bench.bench_camera`` (also in ``make bench``). Draws a 640x360
gate video with a person walking through (the person is in the picture 60 % of the time),
then, with OpenCV held to one thread:

- raw limits: decoding the frames as JPEG (what an MJPEG camera costs before any analysis),
  and only converting them to grey and scaling them;
- motion only (MOG2 on the half-size frame, contours);
- the full analysis: motion, tamper measures and the HOG person detector on moving regions;
- one camera source watching the video at 5 fps in real time for 20 s (decoding the file,
  analysing, reporting): CPU used as a share of one core.

Goals (issue #6): >= 25 frames/s per core; <= 25 % of one core per camera at 5 fps.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from campuswatch.clock import SystemClock
from demo import videos
from gateway.config import CameraDeviceConfig
from gateway.sources.camera.analyzer import FrameAnalyzer
from gateway.sources.camera.persons import HogPersonDetector
from gateway.sources.camera.source import Camera

FPS_GOAL, CPU_GOAL = 25.0, 0.25


def _frames(seconds: float) -> list[np.ndarray]:  # type: ignore[type-arg]
    rng = np.random.default_rng(1)
    scene = videos.walk(enter_s=seconds * 0.2, cross_s=seconds * 0.6)
    return [scene(n, rng) for n in range(int(seconds * videos.FPS))]


def _per_second(frames: list[np.ndarray], work: object) -> float:  # type: ignore[type-arg]
    started = time.process_time()
    for i, frame in enumerate(frames):
        work(frame, i / 5)  # type: ignore[operator]
    return len(frames) / (time.process_time() - started)


def main() -> None:
    """Print the figures."""
    cv2.setNumThreads(1)
    frames = _frames(30)
    jpegs = [cv2.imencode(".jpg", f)[1] for f in frames]
    decode = _per_second(jpegs, lambda j, _t: cv2.imdecode(j, cv2.IMREAD_COLOR))
    print(f"raw: decoding the 640x360 JPEG frames: {decode:,.0f} frames/s per core")
    raw = _per_second(
        frames, lambda f, _t: cv2.resize(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), (320, 180))
    )
    print(f"raw: grey + scale only: {raw:,.0f} frames/s per core")
    motion_only = FrameAnalyzer(640, 360, [], 0.003, None)
    print(f"motion + tamper: {_per_second(frames, motion_only.analyse):,.0f} frames/s per core")
    full = FrameAnalyzer(640, 360, [], 0.003, HogPersonDetector())
    people = 0

    def analyse(frame: np.ndarray, t: float) -> None:  # type: ignore[type-arg]
        nonlocal people
        people += bool(full.analyse(frame, t).people)

    rate = _per_second(frames, analyse)
    print(
        f"motion + tamper + HOG persons on moving regions: {rate:,.0f} frames/s per core"
        f" (goal >= {FPS_GOAL:.0f}); person in {people} of {len(frames)} frames"
    )

    with tempfile.TemporaryDirectory() as tmp:
        video = videos.write_video(Path(tmp) / "gate.avi", 20, videos.walk(4.0, 10.0))
        device = CameraDeviceConfig(device="cam", url=str(video), fps=5)
        emitted: list[object] = []
        camera = Camera(
            device,
            emitted.append,
            lambda *_: None,
            SystemClock(),
            ZoneInfo("Asia/Shanghai"),
            HogPersonDetector(),
        )
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        camera.start()
        threading.Event().wait(20)
        camera.stop()
        cpu = time.process_time() - cpu_before
        wall = time.perf_counter() - wall_before
    print(
        f"one camera at 5 fps for {wall:.0f} s: {cpu / wall:.1%} of one core"
        f" (goal <= {CPU_GOAL:.0%}); {camera.frames} frames analysed"
    )


if __name__ == "__main__":
    main()
