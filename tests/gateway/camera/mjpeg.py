"""A network camera: an HTTP MJPEG server (multipart/x-mixed-replace) that can be cut."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from demo.videos import FPS, Frame


class MjpegCamera:
    """Serves ``frame(n)`` as MJPEG at 10 fps on ``/video.mjpg`` until stopped."""

    def __init__(self, port: int, frame: Frame) -> None:
        self.port = port
        self.frame = frame
        self.server: ThreadingHTTPServer | None = None
        self.clients = 0

    @property
    def url(self) -> str:
        """The camera's stream URL."""
        return f"http://127.0.0.1:{self.port}/video.mjpg"

    def start(self) -> None:
        """Start serving (again, on the same port)."""
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                camera.clients += 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                rng = np.random.default_rng(1)
                n = 0
                try:
                    while camera.server is not None:
                        _ok, jpeg = cv2.imencode(".jpg", camera.frame(n, rng))
                        data = jpeg.tobytes()
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n")
                        self.wfile.write(f"Content-Length: {len(data)}\r\n\r\n".encode())
                        self.wfile.write(data + b"\r\n")
                        n += 1
                        time.sleep(1 / FPS)
                except OSError:
                    pass  # the client went away or the server was cut

            def log_message(self, *_args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def cut(self) -> None:
        """Drop the server and every open stream (a camera losing power)."""
        server, self.server = self.server, None
        if server is not None:
            server.shutdown()
            server.server_close()


@contextmanager
def mjpeg_camera(port: int, frame: Frame) -> Iterator[MjpegCamera]:
    """A running MJPEG camera, cut at the end."""
    camera = MjpegCamera(port, frame)
    camera.start()
    try:
        yield camera
    finally:
        camera.cut()
