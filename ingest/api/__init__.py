"""The HTTP API (FastAPI): health, devices, and later alerts and reports."""
