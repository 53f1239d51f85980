"""A TCP proxy a test controls, for network faults between a gateway and its broker: while
``cut``, every connection through it is closed and new ones are refused at once (as a
pulled cable looks to the client after its keepalive), until ``restore``; while
``stalled``, connections stay open but nothing flows either way (a link that hangs), until
``resume``; ``reset`` closes the open connections once (a NAT that forgot them)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from demo.services import free_port


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target_port``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._cut = threading.Event()
        self._flowing = threading.Event()
        self._flowing.set()
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def cut(self) -> None:
        """Close every connection through the proxy and refuse new ones."""
        self._cut.set()
        self.reset()

    def reset(self) -> None:
        """Close every connection through the proxy (new ones are let through)."""
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        """Let connections through again."""
        self._cut.clear()

    def stall(self) -> None:
        """Hold every byte, both ways, on every connection (open ones stay open)."""
        self._flowing.clear()

    def resume(self) -> None:
        """Let the held bytes flow again."""
        self._flowing.set()

    def close(self) -> None:
        """Stop the proxy."""
        self._stop.set()
        self._flowing.set()
        self.cut()
        self._thread.join(5)
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._cut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open = [s for s in self._open if s.fileno() != -1] + [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                self._flowing.wait()
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        source.close()  # each direction's thread closes the socket it read


@contextmanager
def tcp_proxy(target_port: int) -> Iterator[TcpProxy]:
    """A proxy to ``target_port`` for the test's life."""
    proxy = TcpProxy(target_port)
    try:
        yield proxy
    finally:
        proxy.close()
