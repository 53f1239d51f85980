"""Gate videos drawn with OpenCV, for the demo's camera and the tests: a street scene, a
person walking through, and the ways a camera gets tampered with. Every frame carries
sensor noise, as a real camera's does (a noiseless picture would look frozen)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from gateway.sources.camera.geometry import Image

W, H, FPS = 640, 360, 10
Frame = Callable[[int, np.random.Generator], Image]  # frame number -> picture


def _panorama() -> Image:
    """What the camera could see if turned: a street twice as wide as the picture."""
    rng = np.random.default_rng(7)
    img = np.full((H, 2 * W, 3), (120, 130, 125), np.uint8)
    for _ in range(60):  # buildings, trees, signs
        x, y = int(rng.integers(0, 2 * W - 60)), int(rng.integers(20, 200))
        colour = tuple(int(c) for c in rng.integers(40, 220, 3))
        cv2.rectangle(
            img, (x, y), (x + int(rng.integers(15, 70)), y + int(rng.integers(20, 90))), colour, -1
        )
    cv2.rectangle(img, (0, int(H * 0.7)), (2 * W, H), (90, 90, 95), -1)  # the road
    return img


PANORAMA = _panorama()


def gate_scene(rng: np.random.Generator, shift: int = 0) -> Image:
    """The gate as the camera sees it (turned by ``shift`` pixels), noisy like a sensor."""
    img = PANORAMA[:, shift : shift + W].astype(np.float64)
    noise = rng.normal(0, 3, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def draw_person(img: Image, cx: int, foot: int = 330, height: int = 200, step: float = 0) -> Image:
    """A walking figure HOG recognises as a pedestrian (head, torso, swinging arms and legs)."""
    h, colour = height, (40, 40, 50)
    top, head = foot - h, int(h * 0.13)
    cv2.circle(img, (cx, top + head // 2 + 2), head // 2, (150, 170, 200), -1)
    cv2.ellipse(
        img, (cx, top + head // 2 - 2), (head // 2, head // 3), 0, 180, 360, (20, 20, 20), -1
    )
    shoulders, hip = top + head + 4, top + int(h * 0.55)
    cv2.rectangle(img, (cx - int(h * 0.12), shoulders), (cx + int(h * 0.12), hip), colour, -1)
    swing = int(h * 0.08 * np.sin(step))
    for side in (-1, 1):
        cv2.line(
            img,
            (cx + side * int(h * 0.12), shoulders + 5),
            (cx + side * (int(h * 0.16) + swing), hip - 5),
            colour,
            int(h * 0.05),
        )
        leg = (cx + side * (int(h * 0.07) - swing), foot)
        cv2.line(img, (cx + side * int(h * 0.06), hip), leg, (60, 50, 40), int(h * 0.07))
    return img


def write_video(path: Path, seconds: float, frame: Frame, seed: int = 1) -> Path:
    """Write ``seconds`` of ``frame(n)`` at 10 fps as MJPEG in AVI."""
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), FPS, (W, H))
    for n in range(int(seconds * FPS)):
        writer.write(frame(n, rng))
    writer.release()
    return path


def walk(enter_s: float, cross_s: float = 6.0) -> Frame:
    """Empty gate, then from ``enter_s`` a person crosses the picture in ``cross_s``."""

    def frame(n: int, rng: np.random.Generator) -> Image:
        img = gate_scene(rng)
        t = n / FPS - enter_s
        if 0 <= t <= cross_s:
            draw_person(img, int(40 + t / cross_s * (W - 80)), step=t * 6)
        return img

    return frame


def leaves_in(box: tuple[int, int, int, int]) -> Frame:
    """Flickering blobs (leaves in the wind) inside ``box`` (x0, y0, x1, y1), nothing else."""

    def frame(n: int, rng: np.random.Generator) -> Image:
        img = gate_scene(rng)
        x0, y0, x1, y1 = box
        for _ in range(12):
            x, y = int(rng.integers(x0 + 10, x1 - 10)), int(rng.integers(y0 + 10, y1 - 10))
            cv2.circle(
                img, (x, y), int(rng.integers(5, 12)), (40, int(rng.integers(90, 160)), 40), -1
            )
        return img

    return frame


def covered_from(at_s: float) -> Frame:
    """Normal, then from ``at_s`` a hand or tape over the lens: almost black."""

    def frame(n: int, rng: np.random.Generator) -> Image:
        if n / FPS < at_s:
            return gate_scene(rng)
        return np.clip(rng.normal(6, 2, (H, W, 3)), 0, 255).astype(np.uint8)

    return frame


def frozen_from(at_s: float) -> Frame:
    """Normal, then from ``at_s`` the same picture over and over (a hung encoder)."""
    still: list[Image] = []

    def frame(n: int, rng: np.random.Generator) -> Image:
        if n / FPS < at_s:
            return gate_scene(rng)
        if not still:
            still.append(gate_scene(rng))
        return still[0].copy()

    return frame


def blurred_from(at_s: float) -> Frame:
    """Normal, then from ``at_s`` out of focus (knocked lens, fogged or smeared cover)."""

    def frame(n: int, rng: np.random.Generator) -> Image:
        img = gate_scene(rng)
        return img if n / FPS < at_s else cv2.GaussianBlur(img, (0, 0), 6)

    return frame


def shifted_from(at_s: float, pixels: int = 120) -> Frame:
    """Normal, then from ``at_s`` the camera points elsewhere (turned by ``pixels``)."""

    def frame(n: int, rng: np.random.Generator) -> Image:
        if n / FPS < at_s:
            return gate_scene(rng)
        return gate_scene(rng, shift=pixels)

    return frame
