"""The network thread waits when the commit thread has fallen behind by the queue's
byte bound (a burst's memory stays small), and goes on once a commit round took the
queue: nothing is dropped or reordered meanwhile."""

from __future__ import annotations

import threading
from pathlib import Path

import paho.mqtt.client as mqtt

from tests.bench.bench_hotpath import GATEWAY, SITE, build_service, fresh_envelopes
from tests.harness import wait_for


def _message(mid: int, payload: bytes) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(mid, f"campus/{SITE}/{GATEWAY}/readings".encode())
    msg.payload, msg.qos = payload, 1
    return msg


def test_a_full_queue_holds_the_network_thread_until_a_commit(tmp_path: Path) -> None:
    service = build_service(tmp_path / "state")
    consumer = service.consumer
    try:
        payloads = fresh_envelopes(12, 50)
        consumer.max_queued_bytes = 3 * 5_000  # the records of three envelopes, about
        delivered = threading.Event()

        def network_thread() -> None:
            for mid, payload in enumerate(payloads, 1):
                consumer._on_message(consumer._client, None, _message(mid, payload))
            delivered.set()

        thread = threading.Thread(target=network_thread, daemon=True)
        thread.start()
        wait_for(consumer._full, 30)  # nothing commits: the queue fills to its bound
        assert not delivered.wait(0.5)  # and the thread is held there
        assert 3 <= len(consumer._queue) < len(payloads)
        assert consumer._queued_bytes >= consumer.max_queued_bytes
        rounds = 0
        while not delivered.is_set():  # each round takes the queue and frees the thread
            consumer._commit_round()
            rounds += 1
            delivered.wait(0.2)
        consumer._commit_round()
        thread.join(5)
        assert rounds >= 2
        assert (consumer._queue, consumer._queued_bytes) == ([], 0)
        batch = service.spool.read(64 << 20, 0)
        assert batch is not None
        lines = b"\n".join(batch.records).split(b"\n")
        stamps = [int(line.rsplit(b" ", 1)[1]) for line in lines]
        assert len(stamps) == 12 * 50
        assert stamps == sorted(stamps)  # in the order received
    finally:
        service.spool.close()
        service.alert_store.close()
