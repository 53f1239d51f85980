"""What the service keeps: the InfluxDB v1 client and line protocol, the downsampled
rollups and hourly meter use it computes, and the camera snapshots on disk."""
