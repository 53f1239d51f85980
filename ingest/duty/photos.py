"""Photos of repairs taken with a phone (SPEC §11 work orders): checked to be a picture,
shrunk and saved again as a JPEG without its metadata (a phone's EXIF carries the place it
was taken and the phone's make), beside the work order in ``state_dir/duty/photos``."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from campuswatch.atomicfile import write_atomic
from ingest.duty.books import DutyError

LONGEST_PX = 1600  # enough to see a broken lock; a phone's 12 MP photo is 5-10 times that
MAX_PIXELS = 50_000_000  # a picture claiming more is refused before it is decoded
FORMATS = ("JPEG", "PNG", "WEBP")  # a phone's multi-picture JPEG opens as JPEG


class PhotoRefused(DutyError):
    """What was sent is not a photo this service keeps (the message says why)."""


class RepairPhotos:
    """The photos of work orders, one per order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, rid: int, jpeg: bytes) -> None:
        """Keep ``jpeg`` (made by :func:`clean_jpeg`) as work order ``rid``'s photo."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(self.path(rid), jpeg)

    def path(self, rid: int) -> Path:
        """Where work order ``rid``'s photo is kept."""
        return self.folder / f"{rid}.jpg"


def clean_jpeg(data: bytes) -> bytes:
    """``data`` as a JPEG of at most LONGEST_PX, its metadata dropped; PhotoRefused if it
    is not a picture (or claims to be an enormous one)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise PhotoRefused(
                        f"a photo of {image.width}×{image.height} is too big",
                        "照片太大，请换一张或调低手机相机的分辨率",
                    )
                image.thumbnail((LONGEST_PX, LONGEST_PX))
                # Upright as the phone held it (the orientation is in the EXIF dropped).
                clean = (ImageOps.exif_transpose(image) or image).convert("RGB")
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ) as exc:
        raise PhotoRefused(
            f"not a photo this service can read ({type(exc).__name__})",
            "这不是能识别的照片，请用手机相机重新拍一张",
        ) from exc
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=85)  # no exif= given: none is written
    return out.getvalue()
