"""The writer books what a batch changed for the derived series only once InfluxDB took
it (the spans the handler noted, or the lines read again when none were noted), so a
rollup computed meanwhile can never mark those hours done without the new points."""

from __future__ import annotations

from pathlib import Path

from demo.services import InfluxServer
from ingest.metrics import Metrics
from ingest.pipeline.deadletters import DeadLetterStore
from ingest.pipeline.spool import Spool
from ingest.pipeline.writer import InfluxWriter
from ingest.storage.dirty import DirtyHours
from ingest.storage.influx import InfluxClient
from tests.harness import BASE_TS, count_points, unique, wait_for
from tests.proxy import TcpProxy

HOUR = BASE_TS // 3_600_000


def test_spans_are_booked_after_the_write_and_lines_read_when_none_were_noted(
    influxd: InfluxServer, tmp_path: Path
) -> None:
    proxy = TcpProxy(int(influxd.url.rsplit(":", 1)[1]))
    database = unique("db")
    client = InfluxClient(f"http://127.0.0.1:{proxy.port}", database, timeout_s=2)
    direct = InfluxClient(influxd.url, database)
    direct.create_database()
    spool = Spool(tmp_path / "spool")
    spool.open()
    dirty = DirtyHours(None, {"temperature": ["temperature"], "door": ["door"]})
    writer = InfluxWriter(client, spool, DeadLetterStore(tmp_path / "dead"), Metrics(), dirty=dirty)
    noted = f"temperature,device=f1 celsius=4.5 {BASE_TS}".encode()
    unnoted = f"door,device=d1 open=1i {BASE_TS + 3_600_000}".encode()
    spool.append([noted], {("temperature", BASE_TS // 300_000)})
    spool.append([unnoted])  # as the alert events and records from before a restart
    proxy.cut()  # InfluxDB out of reach: nothing may be booked yet
    writer.start()
    try:
        wait_for(lambda: writer.pending_age_s() > 1.0, 10)
        assert dirty.waiting() == 0
        proxy.restore()
        wait_for(lambda: spool.pending_bytes() == 0, 30)
    finally:
        writer.stop()
        proxy.close()
        client.close()
    assert count_points(direct, "temperature", "celsius") == 1
    assert count_points(direct, "door", "open") == 1
    noted_start = BASE_TS // 300_000 * 300  # from the span on, to the end of its hour
    read_start = (BASE_TS + 3_600_000) // 300_000 * 300  # the same, read from its line
    assert dirty.take().runs == {
        "temperature": [(noted_start, (HOUR + 1) * 3600)],
        "door": [(read_start, (HOUR + 2) * 3600)],
    }
    direct.close()
