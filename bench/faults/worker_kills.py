"""Scenario 3: the Celery worker SIGKILLed again and again in the middle of export and alert
tasks, and started again each time.

Exports: a study export whose worker sleeps after every file (EXPORTS_STEP_PAUSE_SECONDS) is
killed `kills` times while it writes; stale exports are resumed (EXPORTS_STALE_SECONDS, and the
beat stand-in sends resume_stale_exports). At every kill, before and after it, the export must
not be presented as complete: export_file_ready() is None, the download is a 404 and there is no
file at the final path. Then a last uninterrupted run completes it: a valid ZIP with every file,
whose SHA-256 and size match the record.

Alerts: evaluations that sleep before working (ALERTS_EVALUATION_PAUSE_SECONDS) for subjects with
ALT 6 x ULN, their worker killed `kills` times while it holds one; then a normal worker, the
reconciliation and the redelivered messages: every subject has exactly one AL-HEP alert.
"""

from __future__ import annotations

import shutil
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ExportResult:
    kills: int = 0
    steps_at_kill: list[int] = field(default_factory=list)
    steps_total: int = 0
    checks: int = 0  # times the export was checked "not complete" while partial
    attempts: int = 0
    completed_after: float = 0.0  # seconds from the last kill to DONE
    files: int = 0
    size: int = 0
    sha_ok: bool = False
    partial_leftovers: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"Export under worker kills: {self.kills} SIGKILLs mid-export (at steps "
            f"{', '.join(map(str, self.steps_at_kill))} of {self.steps_total}); {self.checks} "
            f"checks while partial, never presented as complete (download 404, no final file); "
            f"completed {self.completed_after:.1f} s after the last kill on attempt "
            f"{self.attempts}: valid ZIP of {self.files} files, {self.size} bytes, SHA-256 "
            f"{'matches' if self.sha_ok else 'DOES NOT match'}; {self.partial_leftovers} partial "
            "files left by the killed workers"
        )


@dataclass
class AlertResult:
    subjects: int = 0
    kills: int = 0
    all_alerts_after: float = 0.0
    counts: dict[int, int] = field(default_factory=dict)
    history_max: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        once = sum(1 for n in self.counts.values() if n == 1)
        return (
            f"Alerts under worker kills: {self.subjects} AL-HEP saves, {self.kills} SIGKILLs of "
            f"the worker holding an evaluation; all alerts {self.all_alerts_after:.1f} s after "
            f"the last kill, {once} exactly once, {len(self.counts) - once} lost or doubled"
        )


def _not_complete(export, client) -> list[str]:
    from django.urls import reverse

    from exports.models import StudyExport
    from exports.services import export_file_path, export_file_ready

    export = StudyExport.objects.get(pk=export.pk)
    problems = []
    if export.status == StudyExport.Status.DONE:
        problems.append("marked done")
    if export_file_ready(export) is not None:
        problems.append("export_file_ready gave a file")
    path = export_file_path(export)
    if path.exists() and not _complete_zip(path, export.steps_total):
        # Only a complete file is ever renamed to the final path (it may sit there, not yet
        # recorded, if the worker died between the rename and the record's update).
        problems.append("a partial file at the final path")
    status = client.get(reverse("exports:download", args=[export.pk])).status_code
    if status != 404:
        problems.append(f"download answered {status}")
    return problems


def _complete_zip(path: Path, members: int) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None and len(archive.namelist()) == members
    except (zipfile.BadZipFile, OSError):
        return False


def run_exports(
    *,
    export_root: Path,
    kills: int = 5,
    pause: float = 0.3,
    stale_seconds: int = 2,
    visibility_timeout: int = 5,
    subjects: int = 4,
    timeout: float = 120.0,
    log=print,
) -> ExportResult:
    from django.test import override_settings

    result = ExportResult()
    with override_settings(EXPORT_ROOT=str(export_root)):
        return _run_exports(result, export_root, kills, pause, stale_seconds,
                            visibility_timeout, subjects, timeout, log)  # fmt: skip


def _run_exports(
    result, export_root, kills, pause, stale_seconds, visibility_timeout, subjects, timeout, log
) -> ExportResult:
    from django.test import Client

    from crf.models import Role
    from exports.models import StudyExport
    from exports.services import export_file_path, export_request
    from tests.alerts.worker import PrivateBroker, wait_for
    from tests.factories import user_with_role

    from .study import Beat, site_and_investigator, subjects_on_infusion, worker_class

    site, investigator = site_and_investigator("export")
    subjects_on_infusion(site, investigator, subjects)
    manager = user_with_role(Role.DATA_MANAGER, None, username=f"faults.dm.{site.number}")
    client = Client(HTTP_HOST="localhost")
    client.force_login(manager)
    env = {
        "EXPORT_ROOT": str(export_root),
        "EXPORTS_STALE_SECONDS": str(stale_seconds),
        "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
    }
    broker = PrivateBroker().start()
    broker.use()
    beat = Beat(1.0, exports=True)
    worker = None
    workers = []
    Worker = worker_class()
    try:
        export = export_request(user=manager)  # queued; no worker yet
        result.steps_total = export.steps_total
        beat.start()
        for n in range(kills):
            worker = Worker(CELERY_BROKER_URL=broker.url, EXPORTS_STEP_PAUSE_SECONDS=str(pause),
                            **env).start_nowait()  # fmt: skip
            workers.append(worker)
            attempts = StudyExport.objects.get(pk=export.pk).attempts

            def writing(attempts=attempts):
                # This worker has claimed the export and written two files.
                e = StudyExport.objects.get(pk=export.pk)
                return e.attempts > attempts and e.steps_done >= 2

            wait_for(writing, timeout=60, interval=0.05)
            time.sleep(pause * (n % 3))  # kill at a different step each time
            for problem in _not_complete(export, client):
                result.failures.append(f"before kill {n + 1}: {problem}")
            result.checks += 1
            result.steps_at_kill.append(StudyExport.objects.get(pk=export.pk).steps_done)
            worker.kill()
            result.kills += 1
            for problem in _not_complete(export, client):
                result.failures.append(f"after kill {n + 1}: {problem}")
            result.checks += 1
            worker.stop()
            log(f"  export worker killed at step {result.steps_at_kill[-1]}")
        killed_at = time.monotonic()
        worker = Worker(CELERY_BROKER_URL=broker.url, **env).start_nowait()
        workers.append(worker)

        def finished():
            e = StudyExport.objects.get(pk=export.pk)
            if e.status == StudyExport.Status.DONE:
                return e
            problems = _not_complete(e, client)
            # Re-read: it may have completed between the two reads.
            if problems and StudyExport.objects.get(pk=export.pk).status != e.Status.DONE:
                result.failures.append(f"while finishing: {problems}")
            result.checks += 1
            return None

        try:
            export = wait_for(finished, timeout=timeout, interval=0.5)
        except AssertionError:
            result.failures.append(f"the export did not complete within {timeout:.0f} s")
            return result
        result.completed_after = time.monotonic() - killed_at
        result.attempts = export.attempts
        path = export_file_path(export)
        from exports.csv_export import file_sha256

        result.sha_ok = file_sha256(path) == export.sha256 and path.stat().st_size == (
            export.file_size
        )
        result.size = export.file_size
        with zipfile.ZipFile(path) as archive:
            if archive.testzip() is not None:
                result.failures.append("the ZIP has a corrupt member")
            names = archive.namelist()
        result.files = len(names)
        expected = {name for name, _ in export.row_counts}
        if set(names) != expected or len(names) != export.steps_total:
            result.failures.append(f"files {sorted(names)} != the record's {sorted(expected)}")
        status = client.get(f"/exports/{export.pk}/download/").status_code
        if status != 200:
            result.failures.append(f"the complete export's download answered {status}")
        result.partial_leftovers = len(list(Path(export_root).glob("*.part-*")))
    finally:
        beat.stop()
        if worker:
            worker.stop()
        broker.release()
        broker.stop()
        shutil.rmtree(broker.dir, ignore_errors=True)
        if not result.failures:
            for w in workers:
                w.remove_log()
    if not result.sha_ok:
        result.failures.append("SHA-256 or size of the file does not match the record")
    if result.attempts <= kills:
        result.failures.append(f"{result.attempts} attempts for {kills} kills")
    return result


def run_alerts(
    *,
    subjects: int = 6,
    kills: int = 5,
    pause: int = 3,
    visibility_timeout: int = 4,
    timeout: float = 60.0,
    log=print,
) -> AlertResult:
    from alerts.models import EvaluationMark
    from blinacell_site.celery import app
    from tests.alerts.worker import PrivateBroker, wait_for

    from .study import (
        Beat,
        alert_counts,
        alert_history_max,
        hepatotoxic_save,
        site_and_investigator,
        subjects_on_infusion,
        worker_class,
    )

    Worker = worker_class()
    task = "alerts.tasks.evaluate_subject"

    result = AlertResult(subjects=subjects)
    site, investigator = site_and_investigator("kills")
    broker = PrivateBroker().start()
    broker.use()
    env = {"CELERY_BROKER_URL": broker.url, "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout)}
    worker = beat = None
    workers = []
    try:
        people = subjects_on_infusion(site, investigator, subjects)
        app.control.purge()  # the set-up's own evaluations: none is needed for this scenario
        EvaluationMark.objects.filter(subject__in=people).delete()
        for subject in people:
            hepatotoxic_save(subject, investigator)  # each enqueues one evaluation
        for n in range(kills):
            worker = Worker(ALERTS_EVALUATION_PAUSE_SECONDS=str(pause), **env).start_nowait()
            workers.append(worker)
            # The worker has taken a task and is inside it (the task sleeps `pause` first).
            wait_for(lambda w=worker: w.received(task), timeout=30, interval=0.05)
            time.sleep(pause / 2)
            worker.kill()
            worker.stop()
            result.kills += 1
            log(f"  alert worker killed ({n + 1}/{kills}), "
                f"{sum(alert_counts(people).values())} of {subjects} alerts so far")  # fmt: skip
        killed_at = time.monotonic()
        worker = Worker(**env).start_nowait()
        workers.append(worker)
        beat = Beat(1.0)
        beat.start()
        try:
            wait_for(lambda: all(alert_counts(people).values()), timeout, 0.2)
        except AssertionError:
            result.failures.append(f"not every alert within {timeout:.0f} s of the last kill")
        result.all_alerts_after = time.monotonic() - killed_at
        # The killed workers' messages come back after the visibility timeout: they must change
        # nothing.
        time.sleep(visibility_timeout + 2)
        wait_for(lambda: not EvaluationMark.objects.filter(subject__in=people).exists(), 30)
        result.counts = alert_counts(people)
        result.history_max = alert_history_max(people)
    finally:
        if beat:
            beat.stop()
        if worker:
            worker.stop()
        broker.release()
        broker.stop()
        shutil.rmtree(broker.dir, ignore_errors=True)
    wrong = {k: n for k, n in result.counts.items() if n != 1}
    if wrong:
        result.failures.append(f"subjects without exactly one AL-HEP: {wrong}")
    if result.history_max > 2:
        result.failures.append(f"an alert has {result.history_max} history rows (> 2)")
    if not result.failures:
        for w in workers:
            w.remove_log()
    return result
