"""The gateway (``campus-gateway``) each Raspberry Pi runs: sources read the devices
(``sources/``: Modbus RTU, DL/T 645, Zigbee2MQTT, MQTT JSON, cameras, simulated), the
store-and-forward ``buffer`` keeps every reading on disk and the ``uplink`` is the only
publisher to the central broker; ``app`` wires them, ``config`` describes them. It shares
code with the central service only through ``campuswatch`` and never imports ``ingest``.
"""
