"""Study exports: asked for in the browser or on the command line, written by a Celery worker."""

from __future__ import annotations

import contextlib
import os
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from crf.access import (
    Capability,
    memberships_of,
    reaches_every_site,
    sites_where,
    subjects_visible_to,
)
from crf.models import Role, Site, Subject

from .archive import archive_steps, site_archive_write
from .casebook_pdf import CASEBOOK_STEPS, casebook_pdf_write, live_basis_label
from .csv_export import export_steps, file_sha256, study_csv_write
from .freezes import data_basis_text, reading
from .models import StudyExport

EXPORT_CAPABILITIES = (Capability.EXPORT_DATA, Capability.VIEW_SUBJECTS)
# The exports of the study's data (the others are a subject's casebook and a site's archive).
STUDY_FORMATS = (StudyExport.Format.CSV, StudyExport.Format.ODM)


def stale_after() -> timedelta:
    """A running export whose heartbeat is older than this was lost with its worker (3 minutes;
    settings.EXPORTS_STALE_SECONDS)."""
    return timedelta(seconds=settings.EXPORTS_STALE_SECONDS)


def export_sites_for(user) -> list[Site]:
    """The sites whose data a user may export: where they may export or see subjects."""
    sites = Site.objects.none()
    for capability in EXPORT_CAPABILITIES:
        sites = sites | sites_where(user, capability)
    return list(sites.distinct().order_by("number"))


def investigator_sites(user) -> list[int]:
    """The ids of the sites where `user` is an investigator (a study-wide role is none)."""
    return [site for role, site in memberships_of(user) if role == Role.INVESTIGATOR and site]


def is_site_investigator(user, site: Site) -> bool:
    """Whether `user` is one of `site`'s investigators: the only people who may ask for and
    download its archive (a data manager or sponsor of every site is not)."""
    return site.pk in investigator_sites(user)


def exports_visible_to(user):
    """Exports a user may see: their own, and every export if they export for every site; but a
    site's archive only if they are the site's investigator, and a casebook only if they may see
    its subject."""
    exports = StudyExport.objects.select_related("requested_by", "subject", "site", "freeze")
    if not reaches_every_site(user, Capability.EXPORT_DATA):
        exports = exports.filter(requested_by=user)
    return exports.exclude(
        Q(format=StudyExport.Format.ARCHIVE) & ~Q(site_id__in=investigator_sites(user))
    ).exclude(Q(format=StudyExport.Format.CASEBOOK) & ~Q(subject__in=subjects_visible_to(user)))


def export_request(*, user, format: str = StudyExport.Format.CSV, freeze=None) -> StudyExport:
    """Record the request and hand the work to a worker once the request is committed. With
    `freeze`, the export holds the frozen data (of the freeze's sites among the user's)."""
    if format not in STUDY_FORMATS:
        raise ValueError(f"unknown export format {format!r}")
    sites = export_sites_for(user)
    if not sites:
        raise PermissionDenied("Exports are for data managers, sponsors and site staff.")
    every = any(reaches_every_site(user, c) for c in EXPORT_CAPABILITIES)
    numbers = [] if every else [s.number for s in sites]
    if freeze is not None and freeze.site_numbers:
        numbers = [n for n in (numbers or freeze.site_numbers) if n in freeze.site_numbers]
        if not numbers:
            raise PermissionDenied("This freeze holds none of your sites.")
    export = StudyExport.objects.create(
        format=format,
        requested_by=user,
        site_numbers=numbers,
        steps_total=_steps(format),
        freeze=freeze,
    )
    from .tasks import run_export

    transaction.on_commit(lambda: run_export.apply_async((export.pk,), retry=False))
    return export


def casebook_request(*, user, subject: Subject, freeze=None) -> StudyExport:
    """Ask the worker for `subject`'s PDF casebook (as of `freeze`, or live); for users who may
    see the subject."""
    if not subjects_visible_to(user).filter(pk=subject.pk).exists():
        raise PermissionDenied("You may not see this subject.")
    if freeze is not None:
        with reading(freeze):
            frozen = Subject.objects.filter(pk=subject.pk).exists()
        if not frozen:
            raise ValidationError(
                f"Freeze {freeze.name!r} holds no data of {subject.study_id}: it was enrolled "
                "after the freeze was taken."
            )
    return _enqueue(
        StudyExport.objects.create(
            format=StudyExport.Format.CASEBOOK,
            requested_by=user,
            subject=subject,
            site=subject.site,
            site_numbers=[subject.site.number],
            steps_total=CASEBOOK_STEPS,
            freeze=freeze,
        )
    )


def archive_request(*, user, site: Site, freeze=None) -> StudyExport:
    """Ask the worker for `site`'s archive (as of `freeze`, or live); for the site's
    investigators only."""
    if not is_site_investigator(user, site):
        raise PermissionDenied("A site's archive is for the site's investigators.")
    return _enqueue(archive_record(site, user=user, freeze=freeze))


def archive_record(site: Site, *, user=None, freeze=None) -> StudyExport:
    """The job of one site's archive (`user` None: asked for on the command line)."""
    if freeze is not None and freeze.site_numbers and site.number not in freeze.site_numbers:
        raise PermissionDenied(f"Freeze {freeze.name!r} holds no data of site {site.number}.")
    return StudyExport.objects.create(
        format=StudyExport.Format.ARCHIVE,
        requested_by=user,
        site=site,
        site_numbers=[site.number],
        steps_total=archive_steps(site),
        freeze=freeze,
    )


def _enqueue(export: StudyExport) -> StudyExport:
    from .tasks import run_export

    transaction.on_commit(lambda: run_export.apply_async((export.pk,), retry=False))
    return export


def _steps(format: str) -> int:
    """The steps an export's progress counts: the CSV export's files, or the ODM export's parts
    of its one XML file."""
    if format == StudyExport.Format.ODM:
        from .odm import odm_steps

        return odm_steps()
    return export_steps()


def export_contents(export: StudyExport) -> list[tuple[str, str, int]]:
    """What a complete export holds, as (name, description, rows): the CSV files of the ZIP, or
    the forms of the ODM XML (FormOID, form name, records); a casebook's counts (records,
    queries, audit trail rows, pages); an archive's files (pages, data rows, records)."""
    if export.format != StudyExport.Format.ODM:
        return [(name, "", n) for name, n in export.row_counts]
    from .odm import odm_forms

    forms = odm_forms()
    return [(*forms.get(name, (name, "")), n) for name, n in export.row_counts]


def export_file_path(export: StudyExport) -> Path:
    root = Path(settings.EXPORT_ROOT)
    if export.format == StudyExport.Format.CASEBOOK:
        return root / f"blinacell-casebook-{export.subject.study_id}-{export.pk}.pdf"
    if export.format == StudyExport.Format.ARCHIVE:
        return root / f"blinacell-site-{export.site.number}-archive-{export.pk}.zip"
    suffix = "zip" if export.format == StudyExport.Format.CSV else "xml"
    return root / f"blinacell-export-{export.pk}.{suffix}"


def export_reading(export: StudyExport):
    """(The context in which the export reads its data, the label of that data.) The live
    database, labelled with the time the writing starts, or the data freeze the job names."""
    if export.freeze is not None:
        return reading(export.freeze), data_basis_text(export.freeze)
    return contextlib.nullcontext(), export.basis_label or live_basis_label()


def _site_ids(export: StudyExport) -> frozenset[int] | None:
    if not export.site_numbers:
        return None  # every site, including any added later than the request
    sites = Site.objects.filter(number__in=export.site_numbers)
    return frozenset(sites.values_list("pk", flat=True))


def export_claim(export_id: int) -> StudyExport | None:
    """Take a queued export for this worker; None if another worker has it or it is done."""
    now = timezone.now()
    claimed = StudyExport.objects.filter(
        Q(status=StudyExport.Status.QUEUED)
        | Q(status=StudyExport.Status.RUNNING, heartbeat_at__lt=now - stale_after()),
        pk=export_id,
    ).update(status=StudyExport.Status.RUNNING, started_at=now, heartbeat_at=now, steps_done=0)
    if not claimed:
        return None
    export = StudyExport.objects.select_related("subject", "site").get(pk=export_id)
    StudyExport.objects.filter(pk=export_id).update(attempts=export.attempts + 1)
    return export


def export_run(export: StudyExport) -> StudyExport:
    """Write the export's file; only a complete file is ever marked done (written under a
    temporary name, hashed, then renamed)."""
    final = export_file_path(export)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(final.name + f".part-{os.getpid()}")
    # What a killed worker left of an earlier attempt (this export is now claimed by us alone).
    for leftover in final.parent.glob(final.name + ".part-*"):
        leftover.unlink(missing_ok=True)

    def progress(done: int, total: int) -> None:
        StudyExport.objects.filter(pk=export.pk).update(
            steps_done=done, steps_total=total, heartbeat_at=timezone.now()
        )
        if settings.EXPORTS_STEP_PAUSE_SECONDS:
            # Fault tests set this to kill a worker mid-export (never in production).
            time.sleep(settings.EXPORTS_STEP_PAUSE_SECONDS)

    manifest = ""
    try:
        reading, basis_label = export_reading(export)
        if export.format in (StudyExport.Format.CASEBOOK, StudyExport.Format.ARCHIVE):
            StudyExport.objects.filter(pk=export.pk).update(basis_label=basis_label)
        with reading:
            if export.format == StudyExport.Format.CASEBOOK:
                written = casebook_pdf_write(
                    export.subject, partial, basis_label=basis_label, progress=progress
                )
                counts = dict(written.counts())
            elif export.format == StudyExport.Format.ARCHIVE:
                archive = site_archive_write(
                    export.site, partial, basis_label=basis_label, progress=progress
                )
                counts, manifest = archive.counts, archive.manifest_sha256
            elif export.format == StudyExport.Format.CSV:
                counts = study_csv_write(partial, site_ids=_site_ids(export), progress=progress)
            else:
                from .odm import study_odm_write

                created = export.freeze.frozen_at if export.freeze else None
                counts = study_odm_write(
                    partial, site_ids=_site_ids(export), progress=progress, created_at=created
                )
        digest = file_sha256(partial)
        size = partial.stat().st_size
        os.replace(partial, final)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        StudyExport.objects.filter(pk=export.pk).update(
            status=StudyExport.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )  # fmt: skip
        raise
    StudyExport.objects.filter(pk=export.pk).update(
        status=StudyExport.Status.DONE,
        row_counts=[[file, n] for file, n in counts.items()],
        sha256=digest,
        manifest_sha256=manifest,
        file_size=size,
        file_name=final.name,
        finished_at=timezone.now(),
        # Every step done, of the steps the writer counted (F: as the last progress wrote them).
        steps_done=F("steps_total"),
    )
    export.refresh_from_db()
    return export


def exports_resume_stale() -> int:
    """Start again the exports whose worker was lost (heartbeat stopped); returns how many."""
    from .tasks import run_export

    now = timezone.now()
    stale = StudyExport.objects.filter(
        Q(status=StudyExport.Status.RUNNING, heartbeat_at__lt=now - stale_after())
        | Q(status=StudyExport.Status.QUEUED, requested_at__lt=now - timedelta(minutes=1))
    ).values_list("pk", flat=True)
    count = 0
    for pk in stale:
        run_export.apply_async((pk,), retry=False)
        count += 1
    return count


def export_file_ready(export: StudyExport) -> Path | None:
    """The file of a complete export, or None (never a partial file)."""
    if export.status != StudyExport.Status.DONE:
        return None
    path = export_file_path(export)
    if not path.exists() or path.stat().st_size != export.file_size:
        return None
    return path
