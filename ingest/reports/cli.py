"""``campus-ingest report ...``: a report in the terminal (rich table), as CSV or as HTML."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from campuswatch.clock import SystemClock
from ingest.config import IngestConfig
from ingest.config.places import Places
from ingest.errors import StorageError
from ingest.links import LinkSigner
from ingest.registry import Registry
from ingest.reports import render
from ingest.reports.periods import PeriodError
from ingest.reports.report_text import say
from ingest.reports.service import ReportName, Reports
from ingest.rules.store import AlertStore
from ingest.storage.dirty import DirtyHours
from ingest.storage.influx import InfluxClient
from ingest.storage.meter_hours import MeterHours
from ingest.storage.rollups import derived_keys

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
_TITLE_KEYS = {
    "weekly-usage": "report.weekly",
    "daily-readings": "report.daily",
    "cold-chain": "report.cold_chain",
}


def _reports(config: IngestConfig) -> tuple[Reports, AlertStore]:
    clock = SystemClock()
    influx = InfluxClient.configured(config.influx)
    registry = Registry(config.state_dir / "registry.json", clock)
    registry.load()
    alerts = AlertStore(config.state_dir / "alerts.db", config.site.id)
    alerts.open()
    meter_hours = MeterHours(influx, config.site.timezone)
    # The service's book of hours not yet recomputed: those are computed from raw data here.
    # Read only: the service saves its book; this process must never write its old copy.
    dirty = DirtyHours(config.state_dir / "dirty-hours.json", derived_keys(), writable=False)
    reports = Reports(
        config,
        influx,
        registry,
        alerts,
        meter_hours,
        clock,
        LinkSigner(config, clock),
        Places(config.places),
        dirty,
    )
    return reports, alerts


def _table(reports: Reports, name: ReportName, period: str) -> tuple[list[str], list[list[object]]]:
    lang = reports.lang
    if name == "weekly-usage":
        return render.WEEKLY_COLUMNS[lang], render.weekly_rows(reports.usage.weekly(period))
    if name == "daily-readings":
        return render.DAILY_COLUMNS[lang], render.daily_rows(reports.usage.daily(period))
    return render.COLD_COLUMNS[lang], render.cold_rows(reports.cold_chain.day(period))


def run_report(config: IngestConfig, name: ReportName, period: str, fmt: str) -> int:
    """Print report ``name`` of ``period`` to stdout; the exit code."""
    reports, alerts = _reports(config)
    try:
        if fmt == "table":
            header, rows = _table(reports, name, period)
            table = Table(title=f"{say(_TITLE_KEYS[name], reports.lang)} {period}")
            for column in header:
                table.add_column(column, overflow="fold")
            for row in rows:
                table.add_row(*("" if v is None else str(v) for v in row))
            Console().print(table)
        else:
            sys.stdout.write(reports.render(name, period, fmt).body)  # type: ignore[arg-type]
    except PeriodError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except StorageError as exc:
        print(f"the database cannot answer: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        alerts.close()
    return EXIT_OK
