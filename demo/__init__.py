"""The demo and the development servers: tooling that runs from a checkout, not the product.

``campus-ingest demo`` (``make demo``) runs mosquitto, influxd, the ingest and simulated
gateways on this machine (``run``) with a scenario (``scenario``) and weeks of simulated
history (``history``), drawn camera videos (``videos``) and Grafana when installed
(``grafana``); ``services`` starts and stops the real broker and database for the demo,
the tests and the benchmarks.
"""
