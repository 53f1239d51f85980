"""Grafana dashboards as code: night patrol, water & electricity, cold chain, device health.

``python -m dashboards.build`` (``make dashboards``) writes the JSON into
``dashboards/json/``, which Grafana's file provisioning reads
(``deploy/grafana/provisioning/``); ``push`` (``campus-ingest dashboards push``) uploads
them to a running Grafana instead.
"""
