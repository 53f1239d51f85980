"""TLS towards an MQTT broker, the same for the gateway's uplink and the ingest: the CA
to trust and, optionally, a client certificate."""

from __future__ import annotations

import ssl
from pathlib import Path

from campuswatch.configfile import Strict


class TlsConfig(Strict):
    """``tls: {ca_file, cert_file, key_file}`` of a broker connection."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None

    def context(self) -> ssl.SSLContext:
        """A client context that verifies the broker's certificate and host name."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca_file))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.cert_file is not None:
            key = str(self.key_file) if self.key_file else None
            context.load_cert_chain(str(self.cert_file), key)
        return context
