"""The central broker's accounts (SPEC §10): Mosquitto password and ACL files written by
``campus-ingest broker`` (one account per gateway, confined to its own topics, and one for
the ingest), and a small private CA for the broker's TLS listener."""
