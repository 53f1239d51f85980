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

from campuswatch.configfile import Strict
from campuswatch.durations import ClockTime, Duration
from campuswatch.mqtttls import TlsConfig
from ingest.config.base import Identifier, Name, Port, Role, Severity, Url, Weekday
from ingest.config.console import ConsoleConfig
from ingest.config.reports import ReportsConfig
from ingest.config.types import (
    DateRange,
    SilentFor,
    check_timezone,
)


class SiteConfig(Strict):
    """The campus this service watches."""

    id: Identifier
    name: str = ""
    timezone: Annotated[str, AfterValidator(check_timezone)] = "Asia/Shanghai"
    language: Literal["zh", "en"] = "zh"


class MqttConfig(Strict):
    """The central broker."""

    host: str = "127.0.0.1"
    port: Port = 1883
    username: str | None = None
    password: str | None = None
    topic_root: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")] = (
        "campus"
    )
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "campus-ingest"
    # SPEC §4: connect over TLS (the broker's TLS listener, 8883).
    tls: TlsConfig | None = None


class InfluxConfig(Strict):
    """The InfluxDB server, spoken to through the v1 HTTP API."""

    url: Url = "http://127.0.0.1:8086"
    database: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "campus"
    username: str | None = None
    password: str | None = None
    token: str | None = None
    retention_policy: str | None = None
    timeout: Duration = timedelta(seconds=10)
    batch_kb: Annotated[int, Field(ge=16, le=65536)] = 1024
    # How long readings (and everything made from them) are kept; 0 keeps them forever.
    # 400 days: a school year, the summer, and the same month of last year.
    keep_days: Annotated[int, Field(ge=0, le=36_500)] = 400
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
    def _one_auth(self) -> InfluxConfig:
        if self.token and self.username:
            raise ValueError("give either username/password or token, not both")
        return self


class ApiTokenConfig(Strict):
    """A bearer token for the HTTP API."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    token: Annotated[str, StringConstraints(min_length=8)]
    role: Role


class ApiTlsConfig(Strict):
    """HTTPS for the API and the console: the server's certificate (chain) and key."""

    cert_file: Path
    key_file: Path


class ApiConfig(Strict):
    """The HTTP API listener and its tokens."""

    host: str = "127.0.0.1"
    port: Port = 8000
    tokens: list[ApiTokenConfig] = Field(default_factory=list)
    # Where people open the console from their phones; every link in a notification or
    # report starts with it (default: http://HOST:PORT of this listener).
    public_url: Url | None = None
    # Serve HTTPS (phones trust the campus CA, e.g. the one of ``broker certs``).
    tls: ApiTlsConfig | None = None

    def base_url(self) -> str:
        """``public_url`` without a trailing slash, or this listener's address."""
        scheme = "https" if self.tls else "http"
        return (self.public_url or f"{scheme}://{self.host}:{self.port}").rstrip("/")


class SpoolConfig(Strict):
    """The local durable spool between MQTT and InfluxDB (see ingest/pipeline/spool.py)."""

    max_mb: Annotated[int, Field(ge=16)] = 4096
    segment_mb: Annotated[int, Field(ge=1, le=1024)] = 64


class SnapshotsConfig(Strict):
    """Camera snapshots kept under ``state_dir/snapshots``: the older and the oldest go."""

    keep_days: Annotated[int, Field(ge=1, le=3650)] = 30
    max_mb: Annotated[int, Field(ge=1)] = 2048


class ScheduleConfig(Strict):
    """A named weekly window; ``to`` earlier than ``from`` crosses midnight."""

    days: list[Weekday] = Field(min_length=1)
    from_: ClockTime = Field(alias="from")
    to: ClockTime

    @model_validator(mode="after")
    def _not_empty(self) -> ScheduleConfig:
        if self.from_ == self.to:
            raise ValueError("from and to are equal: the window would be empty")
        return self


class CalendarConfig(Strict):
    """Days off and make-up working days, overriding the weekdays of schedules."""

    closed: list[DateRange] = Field(default_factory=list)
    open: list[DateRange] = Field(default_factory=list)


# --------------------------------------------------------------------------- channels


class WebhookChannelConfig(Strict):
    """POST the SPEC §5 JSON body to a URL."""

    type: Literal["webhook"]
    url: Url
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = timedelta(seconds=10)


class WecomChannelConfig(Strict):
    """A WeCom (企业微信) group robot."""

    type: Literal["wecom"]
    url: Url
    mentioned_mobiles: list[str] = Field(default_factory=list)


class DingtalkChannelConfig(Strict):
    """A DingTalk (钉钉) group robot, optionally with a signing secret."""

    type: Literal["dingtalk"]
    url: Url
    secret: str | None = None
    at_mobiles: list[str] = Field(default_factory=list)


class FeishuChannelConfig(Strict):
    """A Feishu / Lark (飞书) group robot, optionally with a signing secret."""

    type: Literal["feishu"]
    url: Url
    secret: str | None = None


class EmailChannelConfig(Strict):
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


class MqttChannelConfig(Strict):
    """Publish to an MQTT topic (sirens, LED signs)."""

    type: Literal["mqtt"]
    topic: Annotated[str, StringConstraints(min_length=1, pattern=r"^[^#+]+$")]
    qos: Literal[0, 1, 2] = 1
    retain: bool = False


class LogChannelConfig(Strict):
    """Write notifications to the service log."""

    type: Literal["log"]


ChannelConfig = Annotated[
    WebhookChannelConfig
    | WecomChannelConfig
    | DingtalkChannelConfig
    | FeishuChannelConfig
    | EmailChannelConfig
    | MqttChannelConfig
    | LogChannelConfig,
    Field(discriminator="type"),
]

# --------------------------------------------------------------------------- rules

Comparator = Literal["eq", "ne", "gt", "ge", "lt", "le"]
COMPARATORS: tuple[Comparator, ...] = ("eq", "ne", "gt", "ge", "lt", "le")
Scalar = bool | int | float | str


class ComparisonConfig(Strict):
    """``{field: celsius, gt: 8}``: exactly one comparator."""

    field: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,64}$")]
    eq: Scalar | None = None
    ne: Scalar | None = None
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    @model_validator(mode="after")
    def _one_comparator(self) -> ComparisonConfig:
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


class AnyOfConfig(Strict):
    """True when any condition is true."""

    any: list[ConditionConfig] = Field(min_length=1)


class AllOfConfig(Strict):
    """True when all conditions are true."""

    all: list[ConditionConfig] = Field(min_length=1)


def _condition_form(value: Any) -> str:
    if isinstance(value, dict):
        if "any" in value:
            return "any"
        if "all" in value:
            return "all"
    return "compare"


ConditionConfig = Annotated[
    Annotated[ComparisonConfig, Tag("compare")]
    | Annotated[AnyOfConfig, Tag("any")]
    | Annotated[AllOfConfig, Tag("all")],
    Discriminator(_condition_form),
]


class ActiveConfig(Strict):
    """When a rule applies: during or outside a named schedule."""

    during: str | None = None
    outside: str | None = None

    @model_validator(mode="after")
    def _one(self) -> ActiveConfig:
        if (self.during is None) == (self.outside is None):
            raise ValueError("give exactly one of during or outside")
        return self

    @property
    def schedule(self) -> str:
        """The schedule named."""
        return self.during or self.outside or ""


class EscalateConfig(Strict):
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
    escalate: EscalateConfig | None = None
    active: ActiveConfig | None = None
    where: dict[str, str] = Field(default_factory=dict)


class ConditionRuleConfig(_RuleBase):
    """Fires when a reading of ``kind`` matches ``when`` for ``for``."""

    kind: KindOrAny
    when: ConditionConfig
    for_: Duration | None = Field(default=None, alias="for")


class SilentRuleConfig(_RuleBase):
    """Fires when a device sends nothing for ``silent_for``."""

    kind: KindOrAny = "*"
    silent_for: SilentFor


class GatewayOfflineRuleConfig(_RuleBase):
    """Fires when a gateway is offline (last will or silence) for ``gateway_offline``."""

    gateway_offline: Duration


def _rule_form(value: Any) -> str:
    if isinstance(value, dict):
        if "gateway_offline" in value:
            return "gateway_offline"
        if "silent_for" in value:
            return "silent"
    return "condition"


RuleConfig = Annotated[
    Annotated[ConditionRuleConfig, Tag("condition")]
    | Annotated[SilentRuleConfig, Tag("silent")]
    | Annotated[GatewayOfflineRuleConfig, Tag("gateway_offline")],
    Discriminator(_rule_form),
]
# Names pydantic puts into error locations for union members (not keys of the file).
UNION_TAGS = frozenset(
    {"condition", "silent", "gateway_offline", "compare", "any", "all"}
    | {"webhook", "wecom", "dingtalk", "feishu", "email", "mqtt", "log"}
)


class IngestConfig(Strict):
    """The whole ``campus-ingest`` configuration file."""

    site: SiteConfig
    mqtt: MqttConfig = MqttConfig()
    influx: InfluxConfig = InfluxConfig()
    api: ApiConfig = ApiConfig()
    spool: SpoolConfig = SpoolConfig()
    snapshots: SnapshotsConfig = SnapshotsConfig()
    state_dir: Path = Path("var/ingest")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    schedules: dict[Name, ScheduleConfig] = Field(default_factory=dict)
    calendar: CalendarConfig = CalendarConfig()
    channels: dict[Name, ChannelConfig] = Field(default_factory=dict)
    rules: list[RuleConfig] = Field(default_factory=list)
    reports: ReportsConfig = ReportsConfig()
    console: ConsoleConfig = ConsoleConfig()
