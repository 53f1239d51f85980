"""Wire protocol version 1 (SPEC §2): topics, readings envelopes, meta and status.

Both programs use it: the gateway builds messages with the pydantic models
(``messages``), the ingest validates what arrives with :func:`parse_envelope`
(``readings``), :func:`parse_meta` and :func:`parse_status`; ``kinds`` says what each kind
of reading carries and ``topics`` where messages go.
"""

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
from campuswatch.protocol.readings import ParsedEnvelope, Reading, parse_envelope, validate_reading
from campuswatch.protocol.topics import (
    DeviceRef,
    Topic,
    meta_topic,
    parse_topic,
    readings_topic,
    snapshot_topic,
    status_topic,
)

__all__ = [
    "DEFAULT_INTERVAL_S",
    "GATEWAY_HEALTH_FIELDS",
    "ID_PATTERN",
    "KINDS",
    "MAX_ENVELOPE_BYTES",
    "MAX_READINGS",
    "MIN_TS_MS",
    "PROTOCOL_VERSION",
    "DeviceInfo",
    "DeviceRef",
    "FieldType",
    "FieldValue",
    "Kind",
    "KindSpec",
    "Meta",
    "ParsedEnvelope",
    "ParsedMeta",
    "Problem",
    "Reading",
    "ReadingModel",
    "ReadingsEnvelope",
    "Status",
    "Topic",
    "check_text",
    "meta_topic",
    "parse_envelope",
    "parse_meta",
    "parse_status",
    "parse_topic",
    "readings_topic",
    "snapshot_topic",
    "status_topic",
    "validate_reading",
]
