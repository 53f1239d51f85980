"""End-to-end ingest benchmark: QoS 1 publish -> visible in InfluxDB.

Run with ``make bench`` (or ``python -m tests.bench.bench_ingest``). Prints, from one run
on this machine, the raw limits beside the ingest's figures:

- raw MQTT: C ``mosquitto_pub`` -> ``mosquitto_sub``, QoS 1, messages/s;
- raw InfluxDB: batched ``/write`` of 5,000-point batches from Python, points/s: the
  very lines the ingest stores for these readings (two fields each), and beside them
  the single-field points this benchmark first compared with;
- a paho subscriber alone (QoS 1, manual acks), plain ``Client`` beside the ingest's
  ``BufferedClient`` (ingest/pipeline/mqttclient.py): what overriding paho's reads buys;
- ingest, single-reading envelopes and 50-reading envelopes: readings/s from the first
  publish until every reading is queryable, the ingest's CPU time (user + system, every
  thread) per stored reading, steadier than a rate on a noisy machine, and its peak RSS.

Goals (issue 25), as ratios to the limits measured in the same run: single readings
>= 0.65x the C clients and >= 0.9x the bare paho subscriber; 50-reading envelopes
>= 0.5x the direct write of the same lines; peak RSS <= 150 MB. ``--profile DIR``
samples the ingest with py-spy meanwhile (``python -m tests.bench.profile_summary
DIR/single.txt`` reads it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from demo.services import InfluxServer, MosquittoServer, find_program
from ingest.pipeline.mqttclient import BufferedClient
from ingest.storage.influx import InfluxClient, quote_ident
from tests.harness import (
    BASE_TS,
    VIEWER_AUTH,
    IngestProcess,
    config_dict,
    count_points,
    unique,
)


def raw_mqtt(broker: MosquittoServer, workdir: Path, messages: int) -> float:
    """Messages/s from mosquitto_pub to mosquitto_sub at QoS 1 (both C clients)."""
    payload = orjson.dumps(_envelope("gw-raw", 1, 1, 0)).decode()
    lines = workdir / "raw.txt"
    lines.write_text((payload + "\n") * messages)
    sub = subprocess.Popen(
        [
            find_program("mosquitto_sub"),
            "-p",
            str(broker.port),
            "-q",
            "1",
            "-t",
            "raw/bench",
            "-C",
            str(messages),
        ],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    started = time.perf_counter()
    _mosquitto_pub(broker, "raw/bench", lines)
    sub.wait(120)
    return messages / (time.perf_counter() - started)


def paho_subscriber(
    broker: MosquittoServer, workdir: Path, messages: int, client_class: type[mqtt.Client]
) -> tuple[float, float]:
    """Messages/s a paho subscriber of ``client_class`` takes at QoS 1 from
    ``mosquitto_pub``, acknowledging as the ingest does (after its spool: a plain client
    one ``ack`` per message, the ingest's client ``ack_many`` per batch of 200), and the
    CPU time it spends per message in microseconds (the publisher, a separate process,
    is not counted: the rate is capped by the publisher, the CPU time is the client's)."""
    payload = orjson.dumps(_envelope("gw-raw", 1, 1, 0)).decode()
    lines = workdir / "paho.txt"
    lines.write_text((payload + "\n") * messages)
    done, received = threading.Event(), [0]
    client = client_class(
        CallbackAPIVersion.VERSION2,
        client_id=unique("paho"),
        protocol=mqtt.MQTTv311,
        manual_ack=True,
    )

    batch: list[int] = []

    def on_message(c: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        received[0] += 1
        last = received[0] == messages
        if isinstance(c, BufferedClient):
            batch.append(msg.mid)
            if len(batch) == 200 or last:  # within the broker's 1,000 in flight
                c.ack_many(batch)
                batch.clear()
        else:
            c.ack(msg.mid, msg.qos)
        if last:
            done.set()

    client.on_message = on_message
    client.connect("127.0.0.1", broker.port)
    client.subscribe("paho/bench", qos=1)
    client.loop_start()
    time.sleep(0.5)
    started, cpu = time.perf_counter(), time.process_time()
    _mosquitto_pub(broker, "paho/bench", lines)
    done.wait(300)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    client.loop_stop()
    client.disconnect()
    return received[0] / elapsed, cpu / max(received[0], 1) * 1e6


def raw_influx(influx: InfluxServer, points: int, *, as_ingest: bool) -> float:
    """Points/s of 5,000-point line-protocol batches written straight to /write, the
    median of three runs (one run varies by a quarter here).

    ``as_ingest``: the very lines the ingest stores for the benchmark's readings (its
    tags, two fields); else the single-field points this benchmark measured first
    (about a fifth faster for InfluxDB: each field is a series of its own)."""
    rates = []
    for _attempt in range(3):
        client = InfluxClient(influx.url, unique("rawbench"))
        client.create_database()
        body = _raw_line if as_ingest else _single_field_line
        batches = [
            "\n".join(body(i) for i in range(start, start + 5000)).encode()
            for start in range(0, points, 5000)
        ]
        started = time.perf_counter()
        for batch in batches:
            client.write(batch)
        rates.append(points / (time.perf_counter() - started))
        # The ingest's runs share this influxd: no database of points left behind.
        client._query_raw("DROP DATABASE " + quote_ident(client.database), write=True, db=None)
        client.close()
    return statistics.median(rates)


def _single_field_line(i: int) -> str:
    return (
        f"temperature,device=dev-{i % 500},gateway=gw-raw,site=s celsius={i % 40}.5 {BASE_TS + i}"
    )


def _raw_line(i: int) -> str:
    """Line ``i`` as the ingest writes reading ``i`` of ``_envelope`` (the bench checks
    that it does: ``test_raw_lines_are_the_ingests``)."""
    return (
        f"temperature,device=fridge-{i % 500},gateway=gw-bench,site=sunshine-kg "
        f"celsius=4.25,humidity=61.5 {BASE_TS + i}"
    )


def _envelope(gateway: str, seq: int, size: int, first: int) -> dict[str, object]:
    return {
        "v": 1,
        "gateway": gateway,
        "seq": seq,
        "readings": [
            {
                "device": f"fridge-{i % 500}",
                "kind": "temperature",
                "ts": BASE_TS + i,
                "values": {"celsius": 4.25, "humidity": 61.5},
            }
            for i in range(first, first + size)
        ],
    }


def _mosquitto_pub(broker: MosquittoServer, topic: str, lines: Path, chunk: int = 10_000) -> None:
    """Publish every line of ``lines`` at QoS 1 with the C client.

    ``mosquitto_pub -l`` 2.0.11 silently skips lines when fed much more than its queue
    holds at once (measured here: 34,485 of 100,000 lines sent), so it is fed in chunks.
    """
    data = lines.read_bytes().splitlines(keepends=True)
    for start in range(0, len(data), chunk):
        subprocess.run(
            [find_program("mosquitto_pub"), "-p", str(broker.port), "-q", "1", "-t", topic, "-l"],
            input=b"".join(data[start : start + chunk]),
            check=True,
        )


@dataclass(frozen=True)
class IngestRun:
    """One end-to-end measurement of the ingest."""

    rate: float  # readings/s from the first publish until every reading is stored
    cpu_us: float  # user + system CPU of the ingest process per stored reading
    rss_mb: float  # peak resident memory


def ingest_rate(
    broker: MosquittoServer,
    influx: InfluxServer,
    workdir: Path,
    envelopes: int,
    size: int,
    *,
    backlog: bool = False,
    profile: Path | None = None,
    native: bool = False,
) -> IngestRun:
    """Readings/s end to end, CPU per reading and peak RSS of the ingest.

    With ``backlog`` the messages are published while the ingest is stopped (its
    persistent session queues them) and the clock starts when it starts again: the
    rate at which it drains a backlog, with the publisher no longer the limit.
    With ``profile`` py-spy samples the ingest meanwhile into that file (collapsed
    stacks; ``native`` adds C frames, such as the garbage collector's).
    """
    config = config_dict(workdir / "state", broker, influx)
    proc = IngestProcess(config, workdir)
    proc.start()
    root = config["mqtt"]["topic_root"]
    lines = workdir / "envelopes.txt"
    with lines.open("wb") as fh:
        for seq in range(envelopes):
            fh.write(orjson.dumps(_envelope("gw-bench", seq + 1, size, seq * size)) + b"\n")
    total = envelopes * size
    db = InfluxClient(influx.url, config["influx"]["database"])
    topic = f"{root}/sunshine-kg/gw-bench/readings"
    if backlog:
        proc.stop()
        _mosquitto_pub(broker, topic, lines)
        started, cpu = time.perf_counter(), 0.0
        proc.start()
    assert proc.proc is not None
    pid = proc.proc.pid
    spy = _profile(pid, profile, native) if profile else None
    # Poll the ingest's own counter of points InfluxDB acknowledged (cheap), so the
    # measurement does not load influxd with count queries; then verify with one query.
    # One kept-alive connection (a new one per poll cost the ingest a millisecond of CPU
    # more each), polled every 50 ms (each poll costs it 2 ms), first before the clock
    # starts: FastAPI builds a route on its first request (0.1 s of CPU here).
    with httpx.Client(base_url=proc.api, headers=VIEWER_AUTH, timeout=5) as api:
        if not backlog:
            _stored(api)
            started, cpu = time.perf_counter(), _cpu_s(pid)
            _mosquitto_pub(broker, topic, lines)
        deadline = time.monotonic() + 300
        while _stored(api) < total:
            if time.monotonic() > deadline:
                raise SystemExit("the ingest did not store every reading within 300 s")
            time.sleep(0.05)
    elapsed, cpu = time.perf_counter() - started, _cpu_s(pid) - cpu
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        spy.wait(60)
    stored = count_points(db, "temperature", "celsius")
    if stored != total:
        raise SystemExit(f"InfluxDB holds {stored:,} of {total:,} readings")
    rss_kb = _peak_rss_kb(pid)
    proc.stop()
    db.close()
    return IngestRun(total / elapsed, cpu / total * 1e6, rss_kb / 1024)


def _stored(api: httpx.Client) -> float:
    """The ingest's count of readings InfluxDB acknowledged."""
    for line in api.get("/metrics").text.splitlines():
        if line.startswith("campus_readings_stored_total "):
            return float(line.split()[1])
    return 0.0


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _profile(pid: int, path: Path, native: bool) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` into collapsed stacks (one line per stack and its count;
    ``python -m tests.bench.profile_summary`` reads them, flamegraph.pl draws them).
    Only samples holding the GIL: the Python work, not the waits for it."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [spy, "record", "--pid", str(pid), "--rate", "200", "--threads", "--gil"]
    command += ["--format", "raw", "--output", str(path), *(["--native"] if native else [])]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    """Run every measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--single", type=int, default=100_000, help="single-reading envelopes")
    parser.add_argument("--batched", type=int, default=8_000, help="50-reading envelopes")
    parser.add_argument(
        "--profile", type=Path, help="a directory for py-spy's collapsed stacks of each run"
    )
    parser.add_argument("--native", action="store_true", help="profiles with C frames too")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    def spied(name: str) -> Path | None:
        return args.profile / f"{name}.txt" if args.profile else None

    with tempfile.TemporaryDirectory(prefix="campus-bench-") as tmp:
        work = Path(tmp)
        broker, influx = MosquittoServer(work / "mq"), InfluxServer(work / "influx")
        broker.start()
        influx.start()
        try:
            mqtt_rate = raw_mqtt(broker, work, args.single)
            influx_rate = raw_influx(influx, 500_000, as_ingest=True)
            single_field = raw_influx(influx, 500_000, as_ingest=False)
            plain = paho_subscriber(broker, work, args.single // 2, mqtt.Client)
            buffered = paho_subscriber(broker, work, args.single // 2, BufferedClient)
            single = ingest_rate(
                broker,
                influx,
                _fresh(work, "single"),
                args.single,
                1,
                profile=spied("single"),
                native=args.native,
            )
            batched = ingest_rate(
                broker,
                influx,
                _fresh(work, "batched"),
                args.batched,
                50,
                profile=spied("batched"),
                native=args.native,
            )
            drain = ingest_rate(
                broker, influx, _fresh(work, "backlog"), args.single, 1, backlog=True
            )
        finally:
            broker.stop()
            influx.stop()
    print(f"raw MQTT QoS 1 (mosquitto_pub -> mosquitto_sub): {mqtt_rate:>10,.0f} messages/s")
    print(
        f"raw InfluxDB /write, 5,000-point batches, median of 3: the ingest's lines "
        f"{influx_rate:,.0f} points/s, single-field points {single_field:,.0f} points/s"
    )
    print(
        f"paho subscriber alone, QoS 1: plain Client {plain[0]:,.0f} messages/s and "
        f"{plain[1]:.1f} us CPU per message, BufferedClient {buffered[0]:,.0f} messages/s and "
        f"{buffered[1]:.1f} us CPU per message ({plain[1] / buffered[1]:.1f}x less CPU)"
    )
    print(
        f"ingest, {args.single:,} single-reading envelopes:   {single.rate:>10,.0f} readings/s "
        f"= {single.rate / mqtt_rate:.2f}x the C clients (goal 0.65x), "
        f"{single.rate / plain[0]:.2f}x the bare paho subscriber (goal 0.9x); "
        f"{single.cpu_us:.1f} us CPU per reading, peak RSS {single.rss_mb:.0f} MB"
    )
    print(
        f"ingest, {args.batched:,} 50-reading envelopes:       {batched.rate:>10,.0f} readings/s "
        f"= {batched.rate / influx_rate:.2f}x the direct write of the same lines (goal 0.5x), "
        f"{batched.rate / single_field:.2f}x of single-field points; "
        f"{batched.cpu_us:.1f} us CPU per reading, peak RSS {batched.rss_mb:.0f} MB"
    )
    print(
        f"ingest, draining {args.single:,} queued single-reading envelopes (start-up included): "
        f"{drain.rate:,.0f} readings/s, {drain.cpu_us:.1f} us CPU per reading, "
        f"peak RSS {drain.rss_mb:.0f} MB"
    )
    if args.profile:
        print(f"profiles: {args.profile}/single.txt, batched.txt (py-spy collapsed stacks)")


def _fresh(work: Path, name: str) -> Path:
    path = work / f"{name}-{unique('')}"
    path.mkdir()
    return path


if __name__ == "__main__":
    main()
