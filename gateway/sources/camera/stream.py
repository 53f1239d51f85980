"""Reading frames with OpenCV from RTSP, HTTP MJPEG, a video file or a USB camera.

Frames are taken at the configured rate: from a live stream every frame is grabbed (so
the picture is current) but only the sampled ones are decoded (``grab``/``retrieve``);
from a file, frames in between are skipped and playback is paced in real time, looping
at the end when asked (demos and tests use files as cameras). OpenCV's errors and silent
failures become ``CameraError``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2

from campuswatch.clock import Clock
from gateway.errors import SourceError
from gateway.sources.camera.geometry import Image

OPEN_TIMEOUT_MS = READ_TIMEOUT_MS = 5000


class CameraError(SourceError):
    """The stream could not be opened, or stopped giving frames."""


class VideoStream:
    """One camera's frames at ``fps``, scaled to ``width``."""

    def __init__(
        self,
        url: str | int,
        fps: float,
        width: int,
        loop: bool,
        clock: Clock,
        stop: threading.Event,
    ) -> None:
        self.url = url
        self.fps = fps
        self.width = width
        self.loop = loop
        self.clock = clock
        self._stop = stop
        self.is_file = isinstance(url, str) and "://" not in url
        self._capture: cv2.VideoCapture | None = None
        self._next_due = 0.0
        self._source_fps = 0.0
        self._played = 0  # file frames consumed since playback (re)started
        self._started = 0.0
        self.opened_at = 0.0  # when the stream was last opened (clock time)

    @property
    def where(self) -> str:
        """The URL without credentials, for logs."""
        return mask_credentials(str(self.url))

    def open(self) -> None:
        """Open the stream (CameraError if it does not give a first frame)."""
        self.close()
        if self.is_file and not Path(str(self.url)).exists():
            raise CameraError(f"video file {self.url} does not exist")
        if isinstance(self.url, int) or self.is_file:
            capture = cv2.VideoCapture(self.url)
        else:
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                OPEN_TIMEOUT_MS,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                READ_TIMEOUT_MS,
            ]
            capture = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG, params)
        if not capture.isOpened():
            capture.release()
            raise CameraError(f"cannot open {self.where}")
        self._capture = capture
        fps = capture.get(cv2.CAP_PROP_FPS)
        self._source_fps = fps if 0 < fps < 240 else self.fps  # MJPEG often reports none
        self._next_due = self._started = self.opened_at = self.clock.time()
        self._played = 0

    def close(self) -> None:
        """Release the stream."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def read(self) -> Image:
        """The next sampled frame, scaled (CameraError when the stream ended or broke)."""
        frame = self._next_file_frame() if self.is_file else self._next_live_frame()
        if frame.ndim == 2:  # some USB and IR cameras hand out grey frames
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        height, width = frame.shape[:2]
        if width != self.width:
            size = (self.width, max(2, round(height * self.width / width / 2) * 2))
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        return frame

    def _grab(self) -> bool:
        assert self._capture is not None
        try:
            return bool(self._capture.grab())
        except cv2.error as exc:
            raise CameraError(f"{self.where}: {exc}") from exc

    def _retrieve(self) -> Image:
        assert self._capture is not None
        ok, frame = self._capture.retrieve()
        if not ok or frame is None:
            raise CameraError(f"{self.where}: a frame could not be decoded")
        return frame

    def _next_live_frame(self) -> Image:
        while not self._stop.is_set():
            if not self._grab():
                raise CameraError(f"{self.where}: the stream stopped giving frames")
            now = self.clock.time()
            if now >= self._next_due:
                self._next_due = max(self._next_due + 1 / self.fps, now)
                return self._retrieve()
        raise CameraError("stopping")

    def _next_file_frame(self) -> Image:
        step = max(1, round(self._source_fps / self.fps))
        for _ in range(step):
            if not self._grab():
                if not self.loop or self._played == 0:
                    raise CameraError(f"{self.where}: end of the video")
                assert self._capture is not None
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                self._started, self._played = self.clock.time(), 0
                if not self._grab():
                    raise CameraError(f"{self.where}: the video cannot be replayed")
            self._played += 1
        frame = self._retrieve()
        # Real time: frame n of the file is shown n / fps seconds after playback began.
        wait = self._started + self._played / self._source_fps - self.clock.time()
        if wait > 0:
            self._stop.wait(wait)
        return frame


def mask_credentials(url: str) -> str:
    """``rtsp://…@host/path`` for ``rtsp://user:pass@host/path``: the whole user info goes,
    also when the password holds an ``@`` (it ends at the last ``@`` before the path)."""
    if "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    return f"{scheme}://…@{authority.rsplit('@', 1)[1]}{slash}{path}"
