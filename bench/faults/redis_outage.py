"""Scenario 2: the Redis broker stopped for a while during saves that raise alerts.

A private Redis (tests.alerts.worker.PrivateBroker) is the broker of this process and of a real
Celery worker; a beat stand-in sends the reconciliation every few seconds. Subjects on
blinatumomab get ALT 6 x ULN on day 14 (AL-HEP): a few with the broker up, then one save every
`save_every` seconds while Redis is down.

Invariants: every save during the outage succeeds within 5 s and leaves its subject marked, with
no alert yet; after Redis returns, every subject has exactly one AL-HEP alert (none lost, none
doubled) and no mark is left.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field

SAVE_LIMIT = 5.0


@dataclass
class Result:
    outage: float = 0.0
    saves_before: int = 0
    outage_saves: list[float] = field(default_factory=list)  # seconds per save
    marks_during: int = 0
    alerts_during: int = 0
    worker_back: float = 0.0  # seconds after Redis returned
    all_alerts_after: float = 0.0
    counts: dict[int, int] = field(default_factory=dict)
    history_max: int = 0
    beat_failed: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        saves = self.outage_saves
        once = sum(1 for n in self.counts.values() if n == 1)
        return (
            f"Redis outage: {self.outage:.0f} s down, {len(saves)} alert-raising saves during it "
            f"all succeeded (max {max(saves, default=0) * 1000:.0f} ms, "
            f"mean {sum(saves) / max(len(saves), 1) * 1000:.0f} ms), {self.marks_during} marks "
            f"kept, {self.alerts_during} alerts while down; worker back {self.worker_back:.1f} s "
            f"after Redis; all {len(self.counts)} expected alerts (incl. {self.saves_before} "
            f"saved before the outage) present {self.all_alerts_after:.1f} s after Redis "
            f"returned, {once} exactly once, {len(self.counts) - once} lost or doubled"
        )


def run(
    *,
    outage: float = 60.0,
    save_every: float = 2.0,
    saves_before: int = 2,
    reconcile_every: float = 5.0,
    older_than_seconds: int = 0,
    settle: float = 60.0,
    log=print,
) -> Result:
    from alerts.models import Alert, EvaluationMark
    from blinacell_site.celery import app
    from tests.alerts.worker import PrivateBroker, Worker, wait_for

    from .study import (
        Beat,
        alert_counts,
        alert_history_max,
        hepatotoxic_save,
        site_and_investigator,
        subjects_on_infusion,
    )

    result = Result()
    during = max(1, int(outage / save_every))
    site, investigator = site_and_investigator("redis")
    broker = PrivateBroker().start()
    broker.use()
    worker = beat = None
    try:
        worker = Worker(CELERY_BROKER_URL=broker.url).start()
        subjects = subjects_on_infusion(site, investigator, saves_before + during)
        wait_for(lambda: not EvaluationMark.objects.filter(subject__in=subjects).exists(), 30)
        beat = Beat(reconcile_every, older_than_seconds)
        beat.start()
        before, outage_subjects = subjects[:saves_before], subjects[saves_before:]
        for subject in before:
            hepatotoxic_save(subject, investigator)
        wait_for(lambda: all(alert_counts(before).values()), 30)
        result.saves_before = len(before)

        broker.stop()
        down_at = time.monotonic()
        log(f"  Redis stopped; {during} saves, one every {save_every:.1f} s")
        for n, subject in enumerate(outage_subjects):
            target = down_at + n * save_every
            time.sleep(max(0.0, target - time.monotonic()))
            seconds = hepatotoxic_save(subject, investigator)
            result.outage_saves.append(seconds)
            if not EvaluationMark.objects.filter(subject=subject).exists():
                result.failures.append(f"{subject.study_id}: no mark after a save while down")
        time.sleep(max(0.0, down_at + outage - time.monotonic()))
        result.marks_during = EvaluationMark.objects.filter(subject__in=outage_subjects).count()
        result.alerts_during = Alert.objects.filter(
            subject__in=outage_subjects, rule="AL-HEP"
        ).count()
        broker.start()
        up_at = time.monotonic()
        result.outage = up_at - down_at
        log(f"  Redis back after {result.outage:.1f} s")
        wait_for(lambda: app.control.ping(timeout=0.5), timeout=settle)
        result.worker_back = time.monotonic() - up_at
        try:
            wait_for(lambda: all(alert_counts(outage_subjects).values()), settle, 0.2)
        except AssertionError:
            result.failures.append(f"not every alert within {settle:.0f} s of Redis' return")
        result.all_alerts_after = time.monotonic() - up_at
        # Let every mark be reconciled (and any redelivered message run) before counting.
        try:
            wait_for(lambda: not EvaluationMark.objects.filter(subject__in=subjects).exists(), 30)
        except AssertionError:
            result.failures.append("marks left after the reconciliation")
        time.sleep(min(2.0, reconcile_every))
        result.counts = alert_counts(subjects)
        result.history_max = alert_history_max(subjects)
        result.beat_failed = beat.failed
    finally:
        if beat:
            beat.stop()
        if worker:
            worker.stop()
        broker.release()
        broker.stop()
        shutil.rmtree(broker.dir, ignore_errors=True)
    slow = [s for s in result.outage_saves if s >= SAVE_LIMIT]
    if slow:
        result.failures.append(f"{len(slow)} saves took {SAVE_LIMIT:.0f} s or more while down")
    if result.alerts_during:
        result.failures.append(f"{result.alerts_during} alerts appeared while Redis was down")
    if result.marks_during != len(result.outage_saves):
        result.failures.append(
            f"{result.marks_during} marks for {len(result.outage_saves)} saves while down"
        )
    wrong = {k: n for k, n in result.counts.items() if n != 1}
    if wrong:
        result.failures.append(f"subjects without exactly one AL-HEP: {wrong}")
    if result.history_max > 2:
        result.failures.append(f"an alert has {result.history_max} history rows (> 2)")
    return result
