"""``campus-gateway``: the program each Raspberry Pi runs.

``run --config FILE`` reads the configured devices into the store-and-forward buffer and
publishes it to the central broker until SIGTERM/SIGINT; ``check --config FILE`` validates
the config and the register maps it names; ``dlt645-address --port PORT`` asks the one
DL/T 645 meter on a bus for its address (for the config's ``address:``). Exit codes:
0 ok, 2 bad config or usage, 1 runtime failure.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from campuswatch import heap
from campuswatch.configfile import load_env_file
from campuswatch.errors import ConfigError
from campuswatch.logsetup import configure_logging
from gateway.app import GatewayApp
from gateway.config import load_gateway_config
from gateway.errors import GatewayError, SourceError
from gateway.sources.dlt645 import Dlt645Port

EXIT_RUNTIME = 1
EXIT_USAGE = 2
log = logging.getLogger("gateway")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``campus-gateway``."""
    parser = argparse.ArgumentParser(prog="campus-gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "check"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--config", type=Path, required=True, help="YAML config file")
        cmd.add_argument(
            "--env-file", type=Path, help="KEY=VALUE lines for ${VAR}s (the unit's EnvironmentFile)"
        )
    discover = sub.add_parser("dlt645-address", help="read the address of the only meter on a bus")
    discover.add_argument("--port", required=True, help="serial port or pyserial URL")
    discover.add_argument("--baudrate", type=int, default=2400)
    discover.add_argument("--parity", choices=("N", "E", "O"), default="E")
    return parser


def read_dlt645_address(args: argparse.Namespace) -> int:
    """Print the address of the DL/T 645 meter on ``--port``."""
    try:
        port = Dlt645Port(args.port, args.baudrate, args.parity, timeout_s=2.0, retries=2)
    except SourceError as exc:
        print(exc, file=sys.stderr)
        return EXIT_RUNTIME
    try:
        print(port.read_address())
    except SourceError as exc:
        print(f"{args.port}: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    finally:
        port.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``campus-gateway`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "dlt645-address":
        return read_dlt645_address(args)
    try:
        if args.env_file is not None:
            load_env_file(args.env_file)
        config, profiles = load_gateway_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    if args.command == "check":
        devices = len(config.devices())
        print(f"{args.config}: ok ({len(config.sources)} source(s), {devices} device(s))")
        return 0
    configure_logging(config.log_level, config.timezone)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    app = GatewayApp(config, profiles)
    try:
        app.start()
    except GatewayError as exc:
        log.error("cannot start: %s", exc)
        return EXIT_RUNTIME
    heap.settle()
    # The kernel may hand the signal to any of the gateway's threads; its Python handler
    # then runs only once the main thread wakes, which an untimed wait never does.
    while not stop.wait(1.0):
        pass
    log.info("stopping")
    app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
