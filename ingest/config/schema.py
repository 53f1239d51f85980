"""The server config (SPEC §4) as pydantic models; unknown keys are errors everywhere."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)

from gateway.durations import ClockTime, Duration
from ingest.config.base import Identifier, Name, Port, Role, Severity, Strict, Url, Weekday
from ingest.config.reports import ReportSettings
from ingest.config.types import (
    DateRange,
    SilentFor,
    check_timezone,
)


class SiteSettings(Strict):
    """The campus this service watches."""

    id: Identifier
    name: str = ""
    timezone: Annotated[str, AfterValidator(check_timezone)] = "Asia/Shanghai"
    language: Literal["zh", "en"] = "zh"


class MqttSettings(Strict):
    """The central broker."""

    host: str = "127.0.0.1"
    port: Port = 1883
    username: str | None = None
    password: str | None = None
    topic_root: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")] = (
        "campus"
    )
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "campus-ingest"


class InfluxSettings(Strict):
    """The InfluxDB server, spoken to through the v1 HTTP API."""

    url: Url = "http://127.0.0.1:8086"
    database: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "campus"
    username: str | None = None
    password: str | None = None
    token: str | None = None
    retention_policy: str | None = None
    timeout: Duration = timedelta(seconds=10)
    batch_kb: Annotated[int, Field(ge=16, le=65536)] = 1024
    # gzip request bodies; default: only when InfluxDB is on another host (on loopback
    # compression costs both processes CPU and saves nothing).
    gzip: bool | None = None

    @property
    def use_gzip(self) -> bool:
        """Whether writes are compressed (``gzip``, or automatic by host)."""
        if self.gzip is not None:
            return self.gzip
        host = urlsplit(self.url).hostname or ""
        return not (host in ("localhost", "::1") or host.startswith("127."))

    @model_validator(mode="after")
    def _one_auth(self) -> InfluxSettings:
        if self.token and self.username:
            raise ValueError("give either username/password or token, not both")
        return self


class ApiToken(Strict):
    """A bearer token for the HTTP API."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    token: Annotated[str, StringConstraints(min_length=8)]
    role: Role


class ApiSettings(Strict):
    """The HTTP API listener and its tokens."""

    host: str = "127.0.0.1"
    port: Port = 8000
    tokens: list[ApiToken] = Field(default_factory=list)


class SpoolSettings(Strict):
    """The local durable spool between MQTT and InfluxDB (see ingest/spool.py)."""

    max_mb: Annotated[int, Field(ge=16)] = 4096
    segment_mb: Annotated[int, Field(ge=1, le=1024)] = 64


class SnapshotSettings(Strict):
    """Camera snapshots kept under ``state_dir/snapshots``: the older and the oldest go."""

    keep_days: Annotated[int, Field(ge=1, le=3650)] = 30
    max_mb: Annotated[int, Field(ge=1)] = 2048


class Schedule(Strict):
    """A named weekly window; ``to`` earlier than ``from`` crosses midnight."""

    days: list[Weekday] = Field(min_length=1)
    from_: ClockTime = Field(alias="from")
    to: ClockTime

    @model_validator(mode="after")
    def _not_empty(self) -> Schedule:
        if self.from_ == self.to:
            raise ValueError("from and to are equal: the window would be empty")
        return self


class Calendar(Strict):
    """Days off and make-up working days, overriding the weekdays of schedules."""

    closed: list[DateRange] = Field(default_factory=list)
    open: list[DateRange] = Field(default_factory=list)


# --------------------------------------------------------------------------- channels


class WebhookChannel(Strict):
    """POST the SPEC §5 JSON body to a URL."""

    type: Literal["webhook"]
    url: Url
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = timedelta(seconds=10)


class WecomChannel(Strict):
    """A WeCom (企业微信) group robot."""

    type: Literal["wecom"]
    url: Url
    mentioned_mobiles: list[str] = Field(default_factory=list)


class DingtalkChannel(Strict):
    """A DingTalk (钉钉) group robot, optionally with a signing secret."""

    type: Literal["dingtalk"]
    url: Url
    secret: str | None = None
    at_mobiles: list[str] = Field(default_factory=list)


class FeishuChannel(Strict):
    """A Feishu / Lark (飞书) group robot, optionally with a signing secret."""

    type: Literal["feishu"]
    url: Url
    secret: str | None = None


class EmailChannel(Strict):
    """E-mail through an SMTP server."""

    type: Literal["email"]
    host: str
    port: Port = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    sender: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]
    to: list[Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    # A private CA for the SMTP server's certificate (default: the system's CAs).
    ca_file: Path | None = None
    timeout: Duration = timedelta(seconds=15)


class MqttChannel(Strict):
    """Publish to an MQTT topic (sirens, LED signs)."""

    type: Literal["mqtt"]
    topic: Annotated[str, StringConstraints(min_length=1, pattern=r"^[^#+]+$")]
    qos: Literal[0, 1, 2] = 1
    retain: bool = False


class LogChannel(Strict):
    """Write notifications to the service log."""

    type: Literal["log"]


Channel = Annotated[
    WebhookChannel
    | WecomChannel
    | DingtalkChannel
    | FeishuChannel
    | EmailChannel
    | MqttChannel
    | LogChannel,
    Field(discriminator="type"),
]

# --------------------------------------------------------------------------- rules

Comparator = Literal["eq", "ne", "gt", "ge", "lt", "le"]
COMPARATORS: tuple[Comparator, ...] = ("eq", "ne", "gt", "ge", "lt", "le")
Scalar = bool | int | float | str


class Comparison(Strict):
    """``{field: celsius, gt: 8}``: exactly one comparator."""

    field: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,64}$")]
    eq: Scalar | None = None
    ne: Scalar | None = None
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    @model_validator(mode="after")
    def _one_comparator(self) -> Comparison:
        given = [op for op in COMPARATORS if getattr(self, op) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of eq ne gt ge lt le (got {given or 'none'})")
        return self

    @property
    def operator(self) -> tuple[Comparator, Scalar]:
        """The comparator given and its operand."""
        for op in COMPARATORS:
            operand = getattr(self, op)
            if operand is not None:
                return op, operand
        raise AssertionError("validated to have one comparator")


class AnyOf(Strict):
    """True when any condition is true."""

    any: list[Condition] = Field(min_length=1)


class AllOf(Strict):
    """True when all conditions are true."""

    all: list[Condition] = Field(min_length=1)


def _condition_form(value: Any) -> str:
    if isinstance(value, dict):
        if "any" in value:
            return "any"
        if "all" in value:
            return "all"
    return "compare"


Condition = Annotated[
    Annotated[Comparison, Tag("compare")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[AllOf, Tag("all")],
    Discriminator(_condition_form),
]


class Active(Strict):
    """When a rule applies: during or outside a named schedule."""

    during: str | None = None
    outside: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Active:
        if (self.during is None) == (self.outside is None):
            raise ValueError("give exactly one of during or outside")
        return self

    @property
    def schedule(self) -> str:
        """The schedule named."""
        return self.during or self.outside or ""


class Escalate(Strict):
    """Notify more people when an alert stays unacknowledged."""

    after: Duration
    notify: list[Name] = Field(min_length=1)


KindOrAny = Literal[
    "door", "smoke", "temperature", "electricity", "water", "camera", "gateway", "*"
]


class _RuleBase(Strict):
    id: Name
    # Overrides the default title of the rule's kind in notifications ("门未上锁").
    title: Annotated[str, StringConstraints(min_length=1, max_length=80)] | None = None
    severity: Severity = "warning"
    notify: list[Name] = Field(default_factory=list)
    repeat: Duration | None = None
    escalate: Escalate | None = None
    active: Active | None = None
    where: dict[str, str] = Field(default_factory=dict)


class ConditionRule(_RuleBase):
    """Fires when a reading of ``kind`` matches ``when`` for ``for``."""

    kind: KindOrAny
    when: Condition
    for_: Duration | None = Field(default=None, alias="for")


class SilentRule(_RuleBase):
    """Fires when a device sends nothing for ``silent_for``."""

    kind: KindOrAny = "*"
    silent_for: SilentFor


class GatewayOfflineRule(_RuleBase):
    """Fires when a gateway is offline (last will or silence) for ``gateway_offline``."""

    gateway_offline: Duration


def _rule_form(value: Any) -> str:
    if isinstance(value, dict):
        if "gateway_offline" in value:
            return "gateway_offline"
        if "silent_for" in value:
            return "silent"
    return "condition"


Rule = Annotated[
    Annotated[ConditionRule, Tag("condition")]
    | Annotated[SilentRule, Tag("silent")]
    | Annotated[GatewayOfflineRule, Tag("gateway_offline")],
    Discriminator(_rule_form),
]
# Names pydantic puts into error locations for union members (not keys of the file).
UNION_TAGS = frozenset(
    {"condition", "silent", "gateway_offline", "compare", "any", "all"}
    | {"webhook", "wecom", "dingtalk", "feishu", "email", "mqtt", "log"}
)


class IngestConfig(Strict):
    """The whole ``campus-ingest`` configuration file."""

    site: SiteSettings
    mqtt: MqttSettings = MqttSettings()
    influx: InfluxSettings = InfluxSettings()
    api: ApiSettings = ApiSettings()
    spool: SpoolSettings = SpoolSettings()
    snapshots: SnapshotSettings = SnapshotSettings()
    state_dir: Path = Path("var/ingest")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    schedules: dict[Name, Schedule] = Field(default_factory=dict)
    calendar: Calendar = Calendar()
    channels: dict[Name, Channel] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    reports: ReportSettings = ReportSettings()
