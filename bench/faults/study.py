"""In-process helpers of the Redis and worker scenarios (Django configured, on the test or bench
database): subjects on blinatumomab, the save that raises AL-HEP, a beat stand-in."""

from __future__ import annotations

import datetime
import threading
import time


def site_and_investigator(tag: str):
    from crf.models import Role, Site
    from tests.factories import SiteFactory, user_with_role

    number = (Site.objects.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    site = SiteFactory(number=number, city=f"Faults {tag}")
    return site, user_with_role(Role.INVESTIGATOR, site, username=f"faults.{tag}.{number}")


def subjects_on_infusion(site, investigator, count: int) -> list:
    """Subjects on day 21 of the study with blinatumomab running since day 12."""
    from django.utils import timezone

    from tests.factories import baseline_for, day11_for, enrol, infusion_started_for

    today = timezone.localdate()
    subjects = []
    for _ in range(count):
        subject = enrol(site, by=investigator, day1_date=today - datetime.timedelta(days=20))
        baseline_for(subject, by=investigator)
        day11_for(subject, by=investigator)
        infusion_started_for(subject, by=investigator)
        subjects.append(subject)
    return subjects


def hepatotoxic_save(subject, investigator) -> float:
    """ALT 6 x ULN on study day 14, during the infusion: AL-HEP for this lab value. Returns the
    save's duration in seconds."""
    from tests.factories import lab_panel_for

    started = time.monotonic()
    lab_panel_for(subject, by=investigator, alt="240", uln="40", days=13)
    return time.monotonic() - started


def alert_counts(subjects, rule: str = "AL-HEP") -> dict[int, int]:
    from django.db.models import Count

    from alerts.models import Alert

    rows = (
        Alert.objects.filter(subject__in=subjects, rule=rule)
        .values("subject")
        .annotate(n=Count("id"))
    )
    counts = {s.pk: 0 for s in subjects}
    counts.update({row["subject"]: row["n"] for row in rows})
    return counts


def alert_history_max(subjects, rule: str = "AL-HEP") -> int:
    from alerts.models import Alert

    return max(
        (a.history.count() for a in Alert.objects.filter(subject__in=subjects, rule=rule)),
        default=0,
    )


class Beat(threading.Thread):
    """Stands in for celery beat's reconciliation: sends evaluate_marked_subjects every
    `interval` seconds (a send that fails while the broker is down is skipped, as beat's
    would be)."""

    def __init__(self, interval: float, older_than_seconds: int = 0, exports: bool = False):
        super().__init__(daemon=True)
        self.interval = interval
        self.older_than_seconds = older_than_seconds
        self.exports = exports
        self.stopped = threading.Event()
        self.sent = self.failed = 0

    def run(self) -> None:
        from alerts.tasks import evaluate_marked_subjects
        from exports.tasks import resume_stale_exports

        while not self.stopped.wait(self.interval):
            try:
                evaluate_marked_subjects.apply_async(
                    kwargs={"older_than_seconds": self.older_than_seconds}, retry=False
                )
                if self.exports:
                    resume_stale_exports.apply_async(retry=False)
                self.sent += 1
            except Exception:  # noqa: BLE001 - the broker is down: try again next time
                self.failed += 1

    def stop(self) -> None:
        self.stopped.set()
        self.join(10)


def worker_class():
    from tests.alerts import worker as module

    class KillableWorker(module.Worker):
        """A real worker (tests.alerts.worker.Worker) started without waiting for its answer to
        a ping: a solo worker busy with a task answers only once the task is over, and these
        scenarios kill it before. Its log is its own, to see which task it has received."""

        def start_nowait(self) -> KillableWorker:
            import os
            import subprocess
            import sys

            from django.conf import settings

            self.log = self.log.with_name(f"faults-worker-{os.getpid()}-{time.monotonic_ns()}.log")
            env = {
                **os.environ,
                "DATABASE_URL": module.app_database_url(),
                "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
                "BLINACELL_TESTING": "1",
                **self.environment,
            }
            self.log.parent.mkdir(exist_ok=True)
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "blinacell_site", "worker", "--pool",
                 "solo", "-l", "info", "--without-gossip", "--without-mingle", "-n",
                 f"faults-{os.getpid()}-{time.monotonic_ns()}@%h"],
                cwd=module.PROJECT, env=env, stdout=self.log.open("ab"),
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            module._started.append(self)
            return self

        def received(self, task: str) -> int:
            """How many `task` messages this worker has received so far."""
            try:
                text = self.log.read_text(errors="replace")
            except FileNotFoundError:
                return 0
            return sum(
                1 for line in text.splitlines() if f"Task {task}[" in line and "received" in line
            )

        def remove_log(self) -> None:
            self.log.unlink(missing_ok=True)

    return KillableWorker
