"""The loss-free path of every MQTT message: consumer (manual acks) -> handler (validate,
encode, live listeners) -> spool (fsync, then acknowledge) -> writer (batches into
InfluxDB); refused input becomes dead letters."""
