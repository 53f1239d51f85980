"""The watchdog: every stage that can stall says how old its oldest pending work is, and
health turns ``degraded``, naming the stage in words, when an age passes its limit.

A service whose storage loops on one batch, whose commit thread hangs on a disk, whose
rules engine is stuck on a lock or whose robot stopped answering once went on saying
``ok``. Each stage now gives an age function (seconds; 0 when nothing waits); the
watchdog reads them every few seconds and at each ``/api/health``, keeps the ages in
``campus_stage_age_seconds{stage}`` and reports a stage past its limit as the problem
``stalled STAGE``, cleared when it moves again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from campuswatch.quietlog import QuietLog
from campuswatch.worker import Worker
from ingest.health import Problems
from ingest.metrics import Metrics

log = logging.getLogger(__name__)

CHECK_EVERY_S = 5.0


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage: its key, what it is in words, its age function and limit."""

    key: str
    words: str
    age_s: Callable[[], float]
    limit_s: float


class Watchdog:
    """Reads the stages' ages and reports the stalled ones; thread-safe enough (each
    report goes through :class:`Problems`)."""

    def __init__(self, problems: Problems, metrics: Metrics) -> None:
        self.problems = problems
        self.metrics = metrics
        self.stages: list[Stage] = []
        self._worker = Worker("watchdog", self._round)
        self._quiet = QuietLog(log, logging.ERROR, every_s=60.0)

    def watch(self, key: str, words: str, age_s: Callable[[], float], limit_s: float) -> None:
        """Watch a stage (before :meth:`start`)."""
        self.stages.append(Stage(key, words, age_s, limit_s))

    def start(self) -> None:
        """Check every few seconds, so a stall is logged even when nobody asks."""
        self._worker.start()

    def stop(self) -> None:
        """Stop checking."""
        self._worker.stop(5)

    def check(self) -> dict[str, float]:
        """Every stage's age in seconds (rounded), its problem reported or cleared."""
        ages: dict[str, float] = {}
        for stage in self.stages:
            age = self._age(stage)
            ages[stage.key] = round(age, 1) if math.isfinite(age) else -1.0
            self.metrics.stage_age.labels(stage.key).set(age if math.isfinite(age) else -1)
            problem = f"stalled {stage.key}"
            if age > stage.limit_s:
                self.problems.report(
                    problem,
                    f"{stage.words}: its oldest work has waited more than {stage.limit_s:g} s",
                )
            else:
                self.problems.clear(problem)
        return ages

    def _age(self, stage: Stage) -> float:
        try:
            return max(0.0, stage.age_s())
        except Exception as exc:  # noqa: BLE001 (a broken or blocked age: counts as stuck)
            self._quiet.log("the age of stage %s cannot be read: %r", stage.key, exc)
            return math.inf

    def _round(self) -> float:
        self.check()
        return CHECK_EVERY_S
