"""The campuses of a district test: a gateway per site as the broker sees it, and what it
had acknowledged (SPEC §13)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from campuswatch.brokers import BrokerRotation, parse_host_port
from tests.harness import envelope, reading

ALARM_S = 2.0  # the smoke detector is on this long, then off as long


@dataclass
class Sent:
    """One envelope: its reading time, when it was published, and paho's receipt."""

    seq: int
    ts: int
    smoke: bool
    at: float
    info: mqtt.MQTTMessageInfo

    @property
    def acked(self) -> bool:
        """The broker acknowledged it (one published while paho knew it was not connected
        counts as not: its receipt cannot say)."""
        return self.info.rc == mqtt.MQTT_ERR_SUCCESS and self.info.is_published()


@dataclass
class SiteGateway:
    """Publishes QoS 1 envelopes of one site's gateway (a fridge and a smoke detector that
    goes on and off) to the cluster, moving to the next node when its node fails. It does
    not retry what was not acknowledged: whatever the broker acknowledged must be stored."""

    site: str
    hosts: list[str]
    root: str
    per_second: float
    password: str
    fridges: int = 1  # readings per envelope besides the smoke detector's
    sent: list[Sent] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._brokers = BrokerRotation([parse_host_port(h) for h in self.hosts])
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-{self.site}")
        self.client.username_pw_set(f"{self.site}/gw-1", self.password)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(1, 2)
        self.client.on_disconnect = self._lost
        self.client.on_connect_fail = self._lost
        self.client.connect_async(*self._brokers.current)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _lost(self, client: mqtt.Client, *_args: Any) -> None:
        if not self._stop.is_set():
            self._brokers.reconnect_next(client, 60)

    def _run(self) -> None:
        topic = f"{self.root}/{self.site}/gw-1/readings"
        seq = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            seq += 1
            ts = int(time.time() * 1000)
            smoke = int(seq / self.per_second / ALARM_S) % 2 == 1
            payload = envelope(
                "gw-1",
                seq,
                [
                    *(
                        reading(f"fridge-{n}", "temperature", ts, celsius=4.0 + seq % 3)
                        for n in range(1, self.fridges + 1)
                    ),
                    reading("smoke-1", "smoke", ts, smoke=smoke),
                ],
            )
            info = self.client.publish(topic, payload, qos=1)
            self.sent.append(Sent(seq, ts, smoke, time.perf_counter(), info))
            next_at += 1 / self.per_second
            time.sleep(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        """Stop publishing; wait a little for the last acknowledgements; disconnect."""
        self._stop.set()
        self._thread.join(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(
            s.acked for s in self.sent if s.info.rc == mqtt.MQTT_ERR_SUCCESS
        ):
            time.sleep(0.1)
        self.client.disconnect()
        self.client.loop_stop()

    def acked(self) -> list[Sent]:
        """The envelopes the broker acknowledged."""
        return [s for s in self.sent if s.acked]

    def episodes(self) -> list[tuple[int, int]]:
        """(first, last) reading time of each run of alarm envelopes with one acknowledged."""
        runs: list[list[Sent]] = []
        for sent in self.sent:
            if sent.smoke and runs and runs[-1][-1].seq == sent.seq - 1:
                runs[-1].append(sent)
            elif sent.smoke:
                runs.append([sent])
        return [(r[0].ts, r[-1].ts) for r in runs if any(s.acked for s in r)]
