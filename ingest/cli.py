"""``campus-ingest``: run the central service, check a config, or run the demo.

Exit codes: 0 ok, 2 bad config or usage, 1 runtime failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from campuswatch import heap
from campuswatch.configfile import load_env_file
from campuswatch.errors import ConfigError
from campuswatch.logsetup import configure_logging
from ingest.broker.cli import add_parser as add_broker_parser
from ingest.config import IngestConfig, load_config
from ingest.duty.cli import add_parser as add_duty_parser
from ingest.people.cli import add_parser as add_users_parser
from ingest.stateowner import WrongUser, become_state_owner

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2

DEFAULT_ENV_FILE = "ingest.env"  # the install writes it beside ingest.yaml


def _load_or_exit(path: Path) -> IngestConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        sys.exit(EXIT_CONFIG)


def _load_as_state_owner(path: Path) -> IngestConfig:
    """The config, the process then running as its state directory's owner (exit 2 when
    it runs as another user): for the commands that write the service's state."""
    config = _load_or_exit(path)
    try:
        become_state_owner(config.state_dir)
    except WrongUser as exc:
        print(exc, file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    return config


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a config file."""
    config = _load_or_exit(args.config)
    print(f"{args.config}: OK ({len(config.rules)} rules, {len(config.channels)} channels)")
    if config.calendar.official == "cn":
        print(_official_coverage(_this_year(config)))
    return EXIT_OK


def _this_year(config: IngestConfig) -> int:
    from datetime import datetime  # noqa: PLC0415
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    return datetime.now(ZoneInfo(config.site.timezone)).year


def _official_coverage(this_year: int) -> str:
    from ingest.rules.holidays import OfficialCalendar  # noqa: PLC0415

    official = OfficialCalendar()
    text = f"calendar.official cn: the installed holiday data covers {official.covered()}"
    missing = [y for y in (this_year, this_year + 1) if y not in official.years]
    if missing:
        text += (
            f"; for {' and '.join(map(str, missing))} the weekdays apply until the"
            " chinesecalendar package is updated"
        )
    return text


def cmd_calendar(args: argparse.Namespace) -> int:
    """Print the days off and make-up working days of a year."""
    from ingest.rules.holidays import calendar_days  # noqa: PLC0415

    config = _load_or_exit(args.config)
    year = args.year or _this_year(config)
    print(f"{year} · {config.site.name or config.site.id} · {config.site.timezone}")
    if config.calendar.official == "cn":
        print(_official_coverage(year))
    days = calendar_days(config.calendar, year)
    for day, closed, source in days:
        what = "closed (放假)" if closed else "make-up working day (调休上班)"
        print(f"{day.isoformat()} {day.strftime('%a')}  {what:28} {source}")
    if not days:
        print("no closed or make-up days: the weekdays apply all year")
    return EXIT_OK


def _note_stop_signal(signum: int, _frame: FrameType | None) -> None:
    log.info("received %s: stopping", signal.Signals(signum).name)


def cmd_run(args: argparse.Namespace) -> int:
    """Run the service until SIGINT/SIGTERM."""
    config = _load_or_exit(args.config)
    configure_logging(config.log_level, config.site.timezone)
    from ingest.app import IngestService  # noqa: PLC0415
    from ingest.web.server import make_server  # noqa: PLC0415 - keep `check` fast

    service = IngestService(config)
    try:
        service.start()
    except Exception:
        log.exception("the ingest service could not start")
        return EXIT_FAILURE
    server = make_server(service)
    heap.settle()
    # uvicorn re-raises the stop signal after its own shutdown; with these handlers in
    # place that no longer kills the process before the service has stopped cleanly.
    signal.signal(signal.SIGTERM, _note_stop_signal)
    signal.signal(signal.SIGINT, _note_stop_signal)
    try:
        server.run()  # returns on SIGINT/SIGTERM
    finally:
        service.stop()
    return EXIT_OK if server.started else EXIT_FAILURE


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the whole system locally with a simulated campus (from a source checkout)."""
    try:
        from demo.run import run_demo  # noqa: PLC0415 - tooling beside the product
    except ImportError as exc:
        print(
            f"the demo runs from a source checkout with the gateway extra ({exc}):"
            " run `make demo` there",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    configure_logging("info")
    return run_demo(Path(args.dir), duration_s=args.duration, api_port=args.port)


def cmd_dashboards_push(args: argparse.Namespace) -> int:
    """Create or update the dashboards, their folder and data source in Grafana."""
    from dashboards.build import SiteSettings, render_all  # noqa: PLC0415
    from dashboards.push import DashboardPusher, GrafanaError  # noqa: PLC0415

    site = None
    if args.config:  # drawn for this campus: its timezone, console address, class limits
        config = _load_or_exit(Path(args.config))
        limits = {k: (v.min, v.max) for k, v in config.reports.class_limits().items()}
        site = SiteSettings(config.site.timezone, config.api.base_url(), limits)
    if not args.token:
        print(
            "give --token or set GRAFANA_TOKEN (a Grafana service account token)", file=sys.stderr
        )
        return EXIT_CONFIG
    pusher = DashboardPusher(args.grafana_url, args.token, args.influx_url, args.database)
    try:
        changes = pusher.push(list(render_all(site).values()), args.folder)
    except GrafanaError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILURE
    for change in changes:
        print(change)
    print(f"{len(changes)} change(s)" if changes else "Grafana is up to date: nothing changed")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Print a report."""
    from ingest.reports.cli import run_report  # noqa: PLC0415

    config = _load_or_exit(Path(args.config))
    configure_logging("warning")
    return run_report(config, args.report, args.period, args.format)


def cmd_users(args: argparse.Namespace) -> int:
    """Add, list, change or remove the people who log in to the console."""
    from ingest.people.cli import run_users  # noqa: PLC0415

    config = _load_as_state_owner(Path(args.config))
    return run_users(config, args)


def cmd_duty(args: argparse.Namespace) -> int:
    """``duty verify``."""
    from ingest.duty.cli import run_duty  # noqa: PLC0415

    return run_duty(_load_or_exit(Path(args.config)), args)


def cmd_backup(args: argparse.Namespace) -> int:
    """Back up (or restore) the service's state and, with --influx-rpc, its readings."""
    from ingest.backup import BackupError, backup, restore  # noqa: PLC0415

    config = _load_or_exit(Path(args.config))
    configure_logging("warning")
    try:
        if args.command == "backup":
            done = backup(config, Path(args.dir), args.influx_rpc)
        else:
            done = restore(config, Path(args.dir), args.influx_rpc, args.force)
    except (BackupError, OSError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILURE
    print(f"{args.command}: {len(done)} item(s) in {args.dir}")
    return EXIT_OK


def cmd_links(args: argparse.Namespace) -> int:
    """Revoke every signed link sent so far by replacing the link key."""
    from ingest.links import rotate_key  # noqa: PLC0415

    config = _load_as_state_owner(Path(args.config))
    path = config.state_dir / "links.key"
    try:
        rotate_key(path)
    except OSError as exc:
        print(f"{path}: cannot write a new link key: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(
        f"{path}: new link key. Every link sent before (ack links, report and snapshot links)"
        " no longer opens; the running service uses the new key at once."
    )
    return EXIT_OK


def _add_links_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    links = sub.add_parser("links", help="signed links in messages")
    actions = links.add_subparsers(dest="action", required=True)
    rotate = actions.add_parser("rotate", help="new link key: revokes every link sent")
    rotate.add_argument("--config", required=True, help="the service's YAML config file")
    rotate.set_defaults(func=cmd_links)


def _add_backup_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, help_text in (
        ("backup", "back up the state (and readings) into DIR"),
        ("restore", "restore a backup into a stopped service"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("dir", help="the backup folder")
        cmd.add_argument("--config", required=True, help="the service's YAML config file")
        cmd.add_argument(
            "--influx-rpc", help="InfluxDB's backup port, e.g. 127.0.0.1:8088 (readings too)"
        )
        if name == "restore":
            cmd.add_argument("--force", action="store_true", help="replace a state that is there")
        cmd.set_defaults(func=cmd_backup)


def _add_dashboards_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from dashboards.model import FOLDER  # noqa: PLC0415 - light: the client loads on push

    dashboards = sub.add_parser("dashboards", help="Grafana dashboards")
    actions = dashboards.add_subparsers(dest="action", required=True)
    push = actions.add_parser("push", help="create or update the dashboards in a Grafana")
    push.add_argument("--grafana-url", required=True, help="e.g. http://127.0.0.1:3000")
    push.add_argument(
        "--token",
        default=os.environ.get("GRAFANA_TOKEN"),
        help="service account token (default: $GRAFANA_TOKEN)",
    )
    push.add_argument("--folder", default=FOLDER, help=f"folder (default {FOLDER!r})")
    push.add_argument("--influx-url", default="http://127.0.0.1:8086", help="for a new data source")
    push.add_argument("--database", default="campus", help="for a new data source")
    push.add_argument(
        "--config",
        help="the service's config: its timezone, console address and"
        " cold-chain limits go into the dashboards",
    )
    push.set_defaults(func=cmd_dashboards_push)


def _add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``report`` command and its three reports."""
    report = sub.add_parser("report", help="print a report (weekly usage, readings, cold chain)")
    kinds = report.add_subparsers(dest="report", required=True)
    for name, key, example in (
        ("weekly-usage", "--week", "2026-W47"),
        ("daily-readings", "--date", "2026-11-23"),
        ("cold-chain", "--date", "2026-11-23"),
    ):
        cmd = kinds.add_parser(name, help=f"the {name} report")
        cmd.add_argument("--config", required=True, help="the service's YAML config file")
        cmd.add_argument(key, required=True, dest="period", help=f"e.g. {example} (site time)")
        cmd.add_argument("--format", choices=("table", "csv", "html", "json"), default="table")
        cmd.set_defaults(func=cmd_report)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``campus-ingest``."""
    parser = argparse.ArgumentParser(prog="campus-ingest", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, help_text in (
        ("run", cmd_run, "run the central service"),
        ("check", cmd_check, "validate a config file and exit"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--config", type=Path, required=True, help="YAML config file")
        cmd.set_defaults(func=func)
    calendar = sub.add_parser("calendar", help="print a year's days off and make-up days")
    calendar.add_argument("--config", type=Path, required=True, help="YAML config file")
    calendar.add_argument("year", type=int, nargs="?", help="default: this year")
    calendar.set_defaults(func=cmd_calendar)
    demo = sub.add_parser("demo", help="run broker, database, ingest and a simulated campus")
    demo.add_argument("--dir", default="var/demo", help="working directory (default var/demo)")
    demo.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop after this many seconds (default: run until Ctrl-C)",
    )
    demo.add_argument("--port", type=int, default=8000, help="API port (default 8000)")
    demo.set_defaults(func=cmd_demo)
    _add_dashboards_parser(sub)
    _add_report_parser(sub)
    add_users_parser(sub)
    add_duty_parser(sub)
    add_broker_parser(sub)
    _add_backup_parsers(sub)
    _add_links_parser(sub)
    sub.choices["users"].set_defaults(func=cmd_users)
    sub.choices["duty"].set_defaults(func=cmd_duty)
    _add_env_file(parser)
    return parser


def _add_env_file(parser: argparse.ArgumentParser) -> None:
    """``--env-file`` beside every ``--config``: the installed config takes its secrets
    from ``${VAR}``s, kept in a file that is read as data and never run by a shell."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                _add_env_file(command)
        elif "--config" in action.option_strings:
            parser.add_argument(
                "--env-file",
                type=Path,
                help="KEY=VALUE lines for the config's ${VAR}s (default: ingest.env beside"
                " the config file, if there is one: the install's /etc/campuswatch/ingest.env)",
            )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``campus-ingest`` console script."""
    args = build_parser().parse_args(argv)
    env_file = _env_file(args)
    if env_file is not None:
        try:
            load_env_file(env_file)
        except ConfigError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            return EXIT_CONFIG
    if args.command != "broker":  # its certificates and the broker's files set their modes
        os.umask(0o077)  # alerts, people, snapshots, dead letters: the service's user only
    result: int = args.func(args)
    return result


def _env_file(args: argparse.Namespace) -> Path | None:
    """The settings file to read: ``--env-file``, else ``ingest.env`` beside ``--config``
    (so the commands an installed server documents work with or without the option)."""
    given: Path | None = getattr(args, "env_file", None)
    config = getattr(args, "config", None)
    if given is not None or config is None:
        return given
    beside = Path(config).parent / DEFAULT_ENV_FILE
    return beside if beside.is_file() else None


if __name__ == "__main__":
    sys.exit(main())
