"""A site's archive for trial close-out: one ZIP with everything the site keeps of its patients.

    casebooks/<study ID>.pdf           each subject's PDF/A-2b casebook (exports.casebook_pdf)
    data/site-<n>-csv.zip              the site's CSV export (exports.csv_export)
    data/site-<n>-odm.xml              the site's CDISC ODM 1.3.2 export (exports.odm)
    MANIFEST.sha256                    "SHA-256  path" of every file above (sha256sum's format:
                                       `sha256sum -c MANIFEST.sha256` checks the unpacked files)

The manifest's own SHA-256 is returned (the job records it). Only the site's subjects are read.
Like the casebook, the writer reads through the ORM: a caller who wants a frozen snapshot wraps
the call in the freeze's reading context and passes the freeze's label.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crf.models import Site, Subject

from .casebook_pdf import casebook_pdf_write
from .csv_export import export_steps, file_sha256, study_csv_write
from .odm import odm_steps, study_odm_write

MANIFEST = "MANIFEST.sha256"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # entries carry no time of writing
Progress = Callable[[int, int], None]


@dataclass
class SiteArchive:
    """What a written archive holds: each file's path in the ZIP with its count (a casebook's
    pages, the CSV export's data rows, the ODM export's records), and the manifest's hash."""

    counts: dict[str, int] = field(default_factory=dict)
    manifest_sha256: str = ""


def archive_steps(site: Site) -> int:
    """The steps of an archive's progress: each casebook, each CSV file, each ODM part."""
    return Subject.objects.filter(site=site).count() + export_steps() + odm_steps() + 1


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _add(archive: zipfile.ZipFile, name: str, source: Path) -> None:
    with open(source, "rb") as handle, archive.open(_entry(name), "w", force_zip64=True) as out:
        while chunk := handle.read(1 << 20):
            out.write(chunk)


def site_archive_write(
    site: Site, path: Path, *, basis_label: str, progress: Progress | None = None
) -> SiteArchive:
    """Write the archive of `site` to `path`."""
    subjects = list(Subject.objects.filter(site=site).order_by("study_id"))
    total = len(subjects) + export_steps() + odm_steps() + 1
    done = 0
    result = SiteArchive()
    sums: dict[str, str] = {}

    def advance(steps: int = 1) -> None:
        nonlocal done
        done += steps
        if progress:
            progress(done, total)

    site_ids = frozenset({site.pk})
    with (
        tempfile.TemporaryDirectory(prefix="blinacell-archive-") as scratch,
        zipfile.ZipFile(path, "w", allowZip64=True) as archive,
    ):
        work = Path(scratch)
        for subject in subjects:
            name = f"casebooks/{subject.study_id}.pdf"
            written = work / "casebook.pdf"
            pdf = casebook_pdf_write(subject, written, basis_label=basis_label)
            result.counts[name] = pdf.pages
            sums[name] = file_sha256(written)
            _add(archive, name, written)
            advance()
        base = done

        def sub_progress(step: int, _steps: int) -> None:
            nonlocal done
            done = base + step
            if progress:
                progress(done, total)

        csv_name = f"data/site-{site.number}-csv.zip"
        written = work / "csv.zip"
        counts = study_csv_write(written, site_ids=site_ids, progress=sub_progress)
        result.counts[csv_name] = sum(counts.values())
        sums[csv_name] = file_sha256(written)
        _add(archive, csv_name, written)
        base = done = base + export_steps()

        odm_name = f"data/site-{site.number}-odm.xml"
        written = work / "odm.xml"
        counts = study_odm_write(written, site_ids=site_ids, progress=sub_progress)
        result.counts[odm_name] = sum(counts.values())
        sums[odm_name] = file_sha256(written)
        _add(archive, odm_name, written)
        done = base + odm_steps()

        manifest = "".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items()))
        data = manifest.encode()
        archive.writestr(_entry(MANIFEST), data)
        result.manifest_sha256 = hashlib.sha256(data).hexdigest()
        result.counts[MANIFEST] = len(sums)
        advance()
    return result
