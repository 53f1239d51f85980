"""Gate cameras: OpenCV stream reading, motion and person detection, tamper and offline."""
