"""The local siren of SPEC §12: a payload published on the gateway's own broker (e.g. a
Zigbee2MQTT siren's ``set`` topic) while the central server is out of reach."""

from __future__ import annotations

import logging
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway.config.edge import SirenConfig

log = logging.getLogger(__name__)


def sound(siren: SirenConfig, tries: int = 3) -> bool:
    """Publish the siren's payload (QoS 1) until the local broker acknowledges it, a few
    tries; whether it did. Best effort: a failure is logged, never raised."""
    for attempt in range(tries):
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="")
        if siren.username:
            client.username_pw_set(siren.username, siren.password)
        try:
            client.connect(siren.host, siren.port, keepalive=10)
            client.loop_start()
            info = client.publish(siren.topic, siren.payload, qos=1)
            info.wait_for_publish(5)
            if info.is_published():
                log.warning("edge alarm: siren %s sounded", siren.topic)
                return True
            log.error("edge siren %s (try %d): not acknowledged", siren.topic, attempt + 1)
        except (OSError, ValueError, RuntimeError) as exc:
            log.error("edge siren %s (try %d): %s", siren.topic, attempt + 1, exc)
        finally:
            client.loop_stop()
            client.disconnect()
        time.sleep(2.0)
    return False
