"""The HTTP API (FastAPI): health, devices, alerts, reports and snapshots; ``deps`` holds
authentication and roles, ``routes/`` one module per resource."""
