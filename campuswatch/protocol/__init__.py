"""Wire protocol version 1 (SPEC §2): topics, readings envelopes, meta and status.

Both programs use it: the gateway builds messages with the pydantic models
(``messages``), the ingest validates what arrives with :func:`parse_meta`,
:func:`parse_status`, :func:`parse_edge` and, for readings envelopes,
``campuswatch.protocol.readings`` (not imported here: it needs msgspec, which only the
server installs); ``kinds`` says what each kind of reading carries, ``topics`` where
messages go and ``edge`` what a gateway told on its own while cut off (SPEC §12).
"""

from campuswatch.protocol.edge import ALARM_FIELDS, EDGE_KINDS, EdgeTold, edge_topic, parse_edge
from campuswatch.protocol.kinds import (
    DEFAULT_INTERVAL_S,
    GATEWAY_HEALTH_FIELDS,
    ID_PATTERN,
    KINDS,
    MAX_ENVELOPE_BYTES,
    MAX_READINGS,
    MIN_TS_MS,
    PROTOCOL_VERSION,
    FieldType,
    FieldValue,
    Kind,
    KindSpec,
    Problem,
    check_text,
)
from campuswatch.protocol.messages import (
    DeviceInfo,
    Meta,
    ParsedMeta,
    ReadingModel,
    ReadingsEnvelope,
    Status,
    parse_meta,
    parse_status,
)
from campuswatch.protocol.topics import (
    CHANNELS,
    SNAPSHOTS,
    DeviceRef,
    Topic,
    meta_topic,
    parse_topic,
    readings_topic,
    snapshot_topic,
    status_topic,
)

__all__ = [
    "ALARM_FIELDS",
    "CHANNELS",
    "DEFAULT_INTERVAL_S",
    "EDGE_KINDS",
    "GATEWAY_HEALTH_FIELDS",
    "ID_PATTERN",
    "KINDS",
    "MAX_ENVELOPE_BYTES",
    "MAX_READINGS",
    "MIN_TS_MS",
    "PROTOCOL_VERSION",
    "SNAPSHOTS",
    "DeviceInfo",
    "DeviceRef",
    "EdgeTold",
    "FieldType",
    "FieldValue",
    "Kind",
    "KindSpec",
    "Meta",
    "ParsedMeta",
    "Problem",
    "ReadingModel",
    "ReadingsEnvelope",
    "Status",
    "Topic",
    "check_text",
    "edge_topic",
    "meta_topic",
    "parse_edge",
    "parse_meta",
    "parse_status",
    "parse_topic",
    "readings_topic",
    "snapshot_topic",
    "status_topic",
]
