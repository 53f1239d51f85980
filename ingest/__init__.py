"""The central service (``campus-ingest``): MQTT in, InfluxDB, alerts, notifications, API.

Layers, each importing only those below it (``make lint`` checks): ``api`` (HTTP) and
``cli``; ``app`` (wiring only); ``reports`` and ``notify`` (outbox delivery); ``rules``
(engine, schedules, alert store, wording); ``pipeline`` (consumer, handler, spool, writer);
``registry`` (gateways and devices); ``storage`` (InfluxDB, rollups, hourly use,
snapshots); ``links``, ``config``, ``metrics``, ``i18n``, ``errors``; and the shared core
``campuswatch``. It never imports ``gateway``.
"""
