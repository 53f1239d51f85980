"""What the duty books' API routes share: time windows and months in the site's time,
records found or 404, a record's addenda, and CSV a spreadsheet opens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Path, Query, Response, status

from campuswatch.clock import now_ms
from ingest.app import IngestService
from ingest.duty.books import Record
from ingest.reports.render import csv_text

RecordId = Annotated[int, Path(ge=1)]
Ms = Annotated[int | None, Query(ge=0, description="epoch milliseconds")]
DEFAULT_SPAN = timedelta(days=7)
MonthQuery = Annotated[
    str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (site time)")
]
FormatQuery = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]
HANDOVER_COLUMNS = [
    "编号",
    "交班时间",
    "交班人",
    "班次",
    "交班备注",
    "本班告警",
    "未处理告警",
    "在园访客",
    "未完成维修",
    "接班人",
    "接班时间",
    "接班备注",
]
ORDER_COLUMNS = [
    "编号",
    "报修时间",
    "报修人",
    "问题",
    "设备",
    "状态",
    "完成时间",
    "用时（分钟）",
    "备注",
]


def addenda(service: IngestService, book: str, rid: int) -> list[dict[str, Any]]:
    return [r.as_json() for r in service.duty.books.about(f"{book}.addenda", rid)]


def window(service: IngestService, start: int | None, end: int | None) -> tuple[int, int]:
    end = end if end is not None else now_ms(service.clock) + 1
    start = start if start is not None else end - int(DEFAULT_SPAN.total_seconds() * 1000)
    if end <= start:
        raise HTTPException(422, "'to' must be after 'from'")
    return start, end


def month_span(service: IngestService, month: str) -> tuple[int, int]:
    """[first, next first) of ``YYYY-MM`` in the site's time, in epoch ms."""
    tz = ZoneInfo(service.config.site.timezone)
    year, number = (int(x) for x in month.split("-"))
    first = datetime(year, number, 1, tzinfo=tz)
    after = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz)
    return int(first.timestamp() * 1000), int(after.timestamp() * 1000)


def when_iso(service: IngestService, ms: int | None) -> str:
    """A time for a spreadsheet: ``2026-12-07 21:05`` in the site's time."""
    if ms is None:
        return ""
    tz = ZoneInfo(service.config.site.timezone)
    return datetime.fromtimestamp(ms / 1000, tz).strftime("%Y-%m-%d %H:%M")


def first_day(service: IngestService, records: list[Record]) -> str:
    """The day of the first record (for a file name)."""
    return when_iso(service, records[0].at_ms)[:10] if records else "none"


def csv_response(header: list[str], rows: list[list[Any]], filename: str) -> Response:
    """A CSV download (see render.csv_text)."""
    disposition = f'attachment; filename="{filename}"'
    return Response(
        csv_text(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )


def found(record: Record | None, book: str, rid: int) -> Record:
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no record {rid} in {book}")
    return record
