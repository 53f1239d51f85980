"""The server config (SPEC §4) as pydantic models; unknown keys are errors everywhere."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    model_validator,
)

from campuswatch.brokers import BrokerAddresses
from campuswatch.configfile import Port, Strict, Url
from campuswatch.durations import ClockTime, Duration
from campuswatch.mqtttls import TlsConfig
from ingest.config.base import Identifier, Name, Role, Weekday
from ingest.config.channels import ChannelConfig
from ingest.config.console import ConsoleConfig
from ingest.config.duty import DutyConfig
from ingest.config.places import PlaceKey, PlaceName
from ingest.config.reports import LockCheckConfig, ReportsConfig
from ingest.config.rules import RuleConfig
from ingest.config.types import (
    DateRange,
    check_timezone,
)


def _comma_separated(value: object) -> object:
    """``"a, b"`` -> ``["a", "b"]`` (an empty text: none); anything else unchanged."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class SiteConfig(Strict):
    """The campus this service watches."""

    id: Identifier
    name: str = ""
    timezone: Annotated[str, AfterValidator(check_timezone)] = "Asia/Shanghai"
    language: Literal["zh", "en"] = "zh"
    # Other sites whose gateways this service takes (one service for several campuses);
    # messages of any other site are refused, so a gateway cannot move site unnoticed.
    # Also "site-2,site-3": one config for several processes, each given its sites in
    # the environment (deploy/district).
    also_serves: Annotated[list[Identifier], BeforeValidator(_comma_separated)] = Field(
        default_factory=list
    )

    def serves(self, site: str) -> bool:
        """True for this site and those of ``also_serves``."""
        return site == self.id or site in self.also_serves


class MqttConfig(BrokerAddresses):
    """The central broker: ``host`` and ``port``, or the nodes of a cluster in ``hosts``."""

    host: str | None = "127.0.0.1"
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
    # Largest write to InfluxDB while readings wait in the spool. Under load each write
    # waits for the MQTT thread's lock on Python, so fewer, larger writes keep storage
    # up with the readings (bench_ingest, three runs each, alternated: 50-reading
    # envelopes at 173,000-179,000 readings/s with 2 MB, 161,000-170,000 with 1 MB).
    batch_kb: Annotated[int, Field(ge=16, le=65536)] = 2048
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
    # What one client may cost: a bigger body is refused before it is read (413); request
    # headers and bodies must arrive within their timeouts; beyond max_connections open
    # at once, new requests get 503 (each open console holds one), and so do a client
    # address's beyond max_connections_per_address (behind a reverse proxy every client
    # has the proxy's address: raise it to max_connections and limit per client there).
    max_body_kb: Annotated[int, Field(ge=1, le=65536)] = 64
    # A phone's photo of a repair (POST /duty/workorders, logged in only) may be this big.
    max_upload_kb: Annotated[int, Field(ge=64, le=65536)] = 12288
    header_timeout: Duration = timedelta(seconds=10)
    body_timeout: Duration = timedelta(seconds=30)
    max_connections: Annotated[int, Field(ge=8)] = 256
    max_connections_per_address: Annotated[int, Field(ge=2)] = 64

    def base_url(self) -> str:
        """``public_url`` without a trailing slash, or this listener's address."""
        scheme = "https" if self.tls else "http"
        return (self.public_url or f"{scheme}://{self.host}:{self.port}").rstrip("/")


class SpoolConfig(Strict):
    """The local durable spool between MQTT and InfluxDB (see ingest/pipeline/spool.py)."""

    max_mb: Annotated[int, Field(ge=16)] = 4096
    segment_mb: Annotated[int, Field(ge=1, le=1024)] = 64
    # Free space on the state volume readings never take: the alert database, people and
    # links keep working on a full disk (readings then wait at the broker).
    reserve_mb: Annotated[int, Field(ge=0)] = 64
    # While the spool cannot write, readings are held in memory up to this much (and
    # acknowledged, so the broker keeps sending and alarms keep coming); beyond it they
    # are evaluated but lost, counted and named in health (ingest/pipeline/overflow.py).
    memory_mb: Annotated[int, Field(ge=1, le=4096)] = 64


class DeadLettersConfig(Strict):
    """Refused input kept under ``state_dir/deadletters``: the older and the oldest go."""

    max_mb: Annotated[int, Field(ge=1)] = 256
    keep_days: Annotated[int, Field(ge=1, le=3650)] = 90


class LimitsConfig(Strict):
    """What one gateway may announce: a bigger meta is refused, devices beyond the limit
    are not tracked (their readings are still stored), and both are counted."""

    meta_kb: Annotated[int, Field(ge=1, le=4096)] = 256
    devices_per_gateway: Annotated[int, Field(ge=1, le=100_000)] = 500


class SnapshotsConfig(Strict):
    """Camera snapshots kept under ``state_dir/snapshots``: the older and the oldest go."""

    keep_days: Annotated[int, Field(ge=1, le=3650)] = 30
    max_mb: Annotated[int, Field(ge=1)] = 2048
    # How long at most the snapshot link in a camera alert opens the picture without a
    # login (children's pictures): it also stops an hour after its alert ended.
    link_valid: Duration = timedelta(hours=24)


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
    """Days off and make-up working days, overriding the weekdays of schedules.

    ``official: cn`` takes China's public holidays and make-up working days from the
    installed holiday data (SPEC §4 v2); ``closed`` and ``open`` apply on top of it.
    """

    official: Literal["cn"] | None = None
    closed: list[DateRange] = Field(default_factory=list)
    open: list[DateRange] = Field(default_factory=list)


class WatchdogConfig(Strict):
    """How long the oldest work of each stage may wait before health says the stage is
    stuck (``ingest/watchdog.py``)."""

    consumer: Duration = timedelta(seconds=30)  # a message received, not yet made durable
    writer: Duration = timedelta(minutes=5)  # readings in the spool, not yet in InfluxDB
    held: Duration = timedelta(seconds=30)  # readings held in memory (the spool refused)
    derived: Duration = timedelta(hours=1)  # hours of rollups or meter buckets to redo
    channels: Duration = timedelta(minutes=10)  # a notification not yet delivered
    rules: Duration = timedelta(seconds=10)  # since the rules engine's last tick
    rollups: Duration = timedelta(minutes=5)  # since the rollup job's last round


# Names pydantic puts into error locations for union members (not keys of the file).
UNION_TAGS = frozenset(
    {
        "condition",
        "silent",
        "gateway_offline",
        "round_missed",
        "sample_excursion",
        "compare",
        "any",
        "all",
    }
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
    dead_letters: DeadLettersConfig = DeadLettersConfig()
    limits: LimitsConfig = LimitsConfig()
    state_dir: Path = Path("var/ingest")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    schedules: dict[Name, ScheduleConfig] = Field(default_factory=dict)
    calendar: CalendarConfig = CalendarConfig()
    channels: dict[Name, ChannelConfig] = Field(default_factory=dict)
    rules: list[RuleConfig] = Field(default_factory=list)
    reports: ReportsConfig = ReportsConfig()
    lock_check: LockCheckConfig | None = None
    console: ConsoleConfig = ConsoleConfig()
    watchdog: WatchdogConfig = WatchdogConfig()
    # The names people read for buildings and rooms (SPEC §4 v3; config/places.py).
    places: dict[PlaceKey, PlaceName] = Field(default_factory=dict)
    # The duty books: roster, rounds, handover, repairs, samples, visitors (SPEC §11 v3).
    duty: DutyConfig | None = None
