"""Scheduled jobs (APScheduler): the weekly usage feedback, the daily meter readings, the
daily cold-chain log and the nightly lock checks.

Jobs run in APScheduler's own worker thread, so a slow report never holds up ingest.
Each delivery goes into the alerts' durable outbox, so a channel that is down gets it
later. The time of the last handled run of each job is kept in ``state_dir``: when the
service was down at a scheduled time, the job runs once when it comes back (for the
latest missed time only, however many were missed).

A run that fails (InfluxDB down at 07:30 on Monday) is retried with capped backoff until
it succeeds or the day of its first failure ends, and the failure is a health problem
until the job next succeeds; it is never silently skipped until the next week.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from campuswatch.atomicfile import write_atomic
from campuswatch.backoff import Backoff
from campuswatch.clock import Clock, now_ms
from ingest.config import IngestConfig
from ingest.config.reports import DailyJobConfig
from ingest.health import Problems
from ingest.outbox import REPORT, Notification, Outbox
from ingest.reports.lock_check import LockCheck, as_body
from ingest.reports.periods import week_of
from ingest.reports.service import ReportName, Reports
from ingest.rules.schedules import ScheduleBook

log = logging.getLogger(__name__)

RETRY_CHECK_S = 15  # how often due retries are looked for
# A failed run is tried again after 30-60 s, 1-2 min, ... up to 15-30 min (half jitter).
RETRY_BASE_S, RETRY_CAP_S = 60.0, 1800.0


@dataclass(frozen=True, slots=True)
class Job:
    """Something made on a schedule and sent to channels: ``make(due)`` gives the
    notification body, or None when there is nothing to send that day."""

    id: str
    trigger: CronTrigger
    channels: tuple[str, ...]
    make: Callable[[datetime], dict[str, Any] | None]


@dataclass(slots=True)
class Retry:
    """A failed run waiting to be tried again."""

    job: Job
    due: datetime
    at: float  # clock time of the next try
    until: float  # the end of the day of the first failure: given up after that
    backoff: Backoff


class ReportJobs:
    """The scheduler of the jobs, their catch-up after downtime and their retries."""

    def __init__(
        self,
        config: IngestConfig,
        reports: Reports,
        outbox: Outbox,
        wake: Callable[[set[str]], None],
        clock: Clock,
        lock_check: LockCheck | None = None,
        problems: Problems | None = None,
    ) -> None:
        self.config = config
        self.problems = problems or Problems()
        self.retries: dict[str, Retry] = {}
        # Runs and retries one at a time: the scheduler's thread and a caller's.
        self._retry_lock = threading.RLock()
        self.reports = reports
        self.lock_check = lock_check
        self.outbox = outbox
        self.wake = wake
        self.clock = clock
        self.tz = ZoneInfo(config.site.timezone)
        self._calendar = ScheduleBook({}, config.calendar, config.site.timezone)
        self.jobs = self._report_jobs() + self._lock_check_jobs()
        self._state_path = config.state_dir / "report-jobs.json"
        self._lock = threading.Lock()
        self._scheduler = BackgroundScheduler(
            timezone=self.tz,
            executors={"default": {"type": "threadpool", "max_workers": 1}},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )

    def start(self) -> None:
        """Schedule the jobs and run, once, those missed while the service was down."""
        for job in self.jobs:
            self._scheduler.add_job(self._fire, job.trigger, args=[job], id=job.id)
        self._scheduler.add_job(self.retry_due, "interval", seconds=RETRY_CHECK_S, id="retries")
        self._scheduler.start()
        for job, due in self.missed():
            self._scheduler.add_job(self._run, args=[job, due], id=f"{job.id}-catch-up")

    def stop(self) -> None:
        """Stop scheduling; a report being made is finished first."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def missed(self) -> list[tuple[Job, datetime]]:
        """Jobs whose latest scheduled time passed without a run, with that time."""
        now = datetime.fromtimestamp(self.clock.time(), self.tz)
        state = self._load_state()
        missed = []
        for job in self.jobs:
            latest = _latest_fire_time(job.trigger, now)
            last = state.get(job.id)
            if latest is None:
                continue
            if last is None:  # first start: nothing was promised before it
                self._save_run(job.id, latest)
            elif latest > last:
                missed.append((job, latest))
        return missed

    def _fire(self, job: Job) -> None:
        due = _latest_fire_time(job.trigger, datetime.fromtimestamp(self.clock.time(), self.tz))
        self._run(job, due or datetime.fromtimestamp(self.clock.time(), self.tz))

    def _run(self, job: Job, due: datetime) -> bool:
        """Make what ``job`` sends for ``due`` and queue it to its channels; False (and a
        retry booked) when that failed. Once queued it is never queued again."""
        with self._retry_lock:
            return self._run_once(job, due)

    def _run_once(self, job: Job, due: datetime) -> bool:
        try:
            body = job.make(due)
            if body is not None:
                notification = Notification(body, priority=REPORT)
                with self.outbox.transaction():
                    for channel in job.channels:
                        self.outbox.add(channel, notification, now_ms(self.clock))
        except Exception as exc:  # any failure of a job is retried, never the end of it
            log.exception("job %s (due %s) failed", job.id, due.isoformat())
            self._retry_later(job, due, exc)
            return False
        if body is not None:
            self.wake(set(job.channels))
            log.info("job %s (due %s) sent to %s", job.id, due.isoformat(), list(job.channels))
        self.retries.pop(job.id, None)
        self.problems.clear(f"job {job.id}")
        try:
            self._save_run(job.id, due)
        except OSError as exc:  # queued already: a retry would send it twice
            log.error(
                "job %s (due %s) sent but not recorded (%s): it may be sent again after a restart",
                job.id,
                due.isoformat(),
                exc,
            )
        return True

    def _retry_later(self, job: Job, due: datetime, exc: Exception) -> None:
        retry = self.retries.get(job.id)
        if retry is not None and retry.due != due:  # a newer run failed too: that one counts
            log.error(
                "job %s: the run due %s was not sent; the run due %s replaces it",
                job.id,
                retry.due.isoformat(),
                due.isoformat(),
            )
        if retry is None or retry.due != due:
            now = datetime.fromtimestamp(self.clock.time(), self.tz)
            until = datetime.combine(now.date() + timedelta(days=1), time(), self.tz).timestamp()
            backoff = Backoff(RETRY_BASE_S, RETRY_CAP_S)
            retry = self.retries[job.id] = Retry(job, due, 0.0, until, backoff)
        elif self.clock.time() >= retry.until:  # that was the last try
            del self.retries[job.id]
            self.problems.report(
                f"job {job.id}",
                f"the run due {due:%Y-%m-%d %H:%M} failed"
                " until the end of the day and was not sent",
            )
            return
        # The last try is just before the deadline, never after it.
        retry.at = min(self.clock.time() + retry.backoff.next_delay(), retry.until - 1)
        again = datetime.fromtimestamp(retry.at, self.tz)
        self.problems.report(
            f"job {job.id}",
            f"the run due {due:%Y-%m-%d %H:%M} failed ({exc}); trying again at {again:%H:%M:%S}",
        )

    def retry_due(self) -> None:
        """Try again the failed runs whose time has come; give up when their day is over."""
        with self._retry_lock:
            for job_id in list(self.retries):
                self._retry(job_id)

    def _retry(self, job_id: str) -> None:
        retry = self.retries[job_id]
        if retry.at <= self.clock.time():
            log.warning("job %s (due %s): trying again", job_id, retry.due.isoformat())
            self._run(retry.job, retry.due)

    def report(self, name: ReportName, trigger: CronTrigger, channels: tuple[str, ...]) -> Job:
        """The job that sends report ``name`` (for the period before each time it runs)."""
        return Job(name, trigger, channels, lambda due: self.message(name, due))

    def _report_jobs(self) -> list[Job]:
        reports, tz = self.config.reports, self.tz
        jobs = []
        weekly = reports.weekly_usage
        if weekly.enabled and weekly.notify:
            trigger = CronTrigger(
                day_of_week=weekly.day, hour=weekly.at.hour, minute=weekly.at.minute, timezone=tz
            )
            jobs.append(self.report("weekly-usage", trigger, tuple(weekly.notify)))
        daily_jobs: tuple[tuple[ReportName, DailyJobConfig], ...] = (
            ("daily-readings", reports.daily_readings),
            ("cold-chain", reports.cold_chain),
        )
        for name, daily in daily_jobs:
            if daily.enabled and daily.notify:
                trigger = CronTrigger(hour=daily.at.hour, minute=daily.at.minute, timezone=tz)
                jobs.append(self.report(name, trigger, tuple(daily.notify)))
        return jobs

    def _lock_check_jobs(self) -> list[Job]:
        """One job a day per time of ``lock_check.at``; it sends only on its days."""
        config = self.config.lock_check
        if config is None or self.lock_check is None:
            return []
        jobs = []
        for index, entry in enumerate(config.at):
            trigger = CronTrigger(hour=entry.time.hour, minute=entry.time.minute, timezone=self.tz)
            make = partial(self._lock_check, frozenset(entry.days))
            jobs.append(Job(f"lock-check-{index}", trigger, tuple(config.notify), make))
        return jobs

    def _lock_check(self, days: frozenset[str], due: datetime) -> dict[str, Any] | None:
        assert self.lock_check is not None
        if self._calendar.weekday(due.date()) not in days:
            return None  # not one of its days (a holiday, a make-up day)
        result = self.lock_check.check(due)
        title, text = self.lock_check.message(result)
        return as_body(title, text, self.config.site.id, due)

    def message(self, report: ReportName, due: datetime) -> dict[str, Any]:
        """The notification body of ``report`` made at ``due``."""
        site = self.config.site
        if report == "weekly-usage":
            period = week_of(due.date() - timedelta(days=7), self.tz).label
        else:
            period = (due.date() - timedelta(days=1)).isoformat()
        made = self.reports.delivery(report, period)
        link = self.reports.link(report, period)
        return {
            "alert_id": 0,
            "rule": f"report:{report}",
            "device": "",
            "gateway": "",
            "name": None,
            "site": site.id,
            "severity": "info",
            "state": "report",
            "title": made.title,
            "message": f"{made.text}\n{link}",
            "value": None,
            "started_at": due.isoformat(timespec="seconds"),
            "tags": {},
            "report": report,
            "period": period,
            "url": link,
            # The page and the table for the channels that show them (WeCom, e-mail).
            "html": made.html,
            "csv": made.csv,
            "csv_name": f"{report}-{period}.csv",
        }

    def _load_state(self) -> dict[str, datetime]:
        with self._lock:
            if not self._state_path.exists():
                return {}
            raw = orjson.loads(self._state_path.read_bytes())
        return {name: datetime.fromisoformat(iso) for name, iso in raw.items()}

    def _save_run(self, job_id: str, due: datetime) -> None:
        state = self._load_state()
        state[job_id] = due
        data = orjson.dumps({k: v.isoformat() for k, v in state.items()})
        with self._lock:
            write_atomic(self._state_path, data)


def _latest_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The last time ``trigger`` fired at or before ``now`` (looking back 8 days)."""
    cursor = now - timedelta(days=8)
    latest = None
    while True:
        fire = trigger.get_next_fire_time(None, cursor)
        if fire is None or fire > now:
            return latest
        latest, cursor = fire, fire + timedelta(seconds=1)
