"""The core both programs share: the wire protocol, clocks, durations, backoff, durable
SQLite files, atomic file writes, config loading, logging, the background worker and the
base exceptions.

``gateway`` (on each Raspberry Pi) and ``ingest`` (the central service) import this
package and never each other; it imports neither (``make lint`` checks both).
"""
