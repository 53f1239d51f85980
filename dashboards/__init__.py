"""Grafana dashboards as code: night patrol, water & electricity, cold chain, device health.

``python -m dashboards.build`` (``make dashboards``) writes the JSON into
``dashboards/json/``, which Grafana's file provisioning reads
(``deploy/grafana/provisioning/``).
"""
