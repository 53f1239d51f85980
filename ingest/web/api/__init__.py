"""The HTTP API (SPEC §6): one router per resource (health, session, devices, alerts,
reports, cameras); callers and roles come from ``ingest.web.deps``."""
