"""Exceptions of the ingest package; library errors are translated into these at the edge."""

from __future__ import annotations

from campuswatch.errors import CampuswatchError


class IngestError(CampuswatchError):
    """Base class of every error the ingest service raises on purpose."""


class StorageError(IngestError):
    """InfluxDB refused or could not take a request."""


class InfluxUnavailable(StorageError):
    """Connection error, timeout or 5xx: retry later with backoff."""


class InfluxDatabaseMissing(StorageError):
    """The database does not exist (404): create it, then retry."""


class InfluxBadRequest(StorageError):
    """400: some points of the batch can never be written (type conflict, bad line)."""


class InfluxRejected(StorageError):
    """401/403: credentials are wrong; retrying helps only after the operator fixes them."""


class SpoolError(IngestError):
    """The local durable spool could not be written or read."""
