"""CSV upload of a batch of MRD results by the central laboratory.

Every row is checked before anything is saved (row number and column for each error); the
commit saves all rows or none. A row equal to the stored result changes nothing, so uploading
the same file again is harmless; a row that differs from a stored result is a correction and
needs its reason in the `reason_for_change` column.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from crf.access import Capability, user_can
from crf.services import record_save
from crf.services.records import records_create, records_refusals
from protocol import mrd

from .models import MrdResult, MrdUpload
from .services import samples_visible_to

COLUMNS = [
    "accession",
    "method",
    "result",
    "value",
    "sensitivity",
    "quantitative_range",
    "markers",
    "report_date",
    "not_evaluable_reason",
    "comment",
    "reason_for_change",
]
REQUIRED_COLUMNS = {"accession", "method", "result", "report_date"}
METHODS = {"qpcr": mrd.Method.QPCR, "ngs": mrd.Method.NGS}
RESULTS = {
    "negative": mrd.ResultClass.NEGATIVE,
    "pnq": mrd.ResultClass.PNQ,
    "quantifiable": mrd.ResultClass.QUANTIFIABLE,
    "not_evaluable": mrd.ResultClass.NOT_EVALUABLE,
}
# Fields compared to decide whether a row changes a stored result.
COMPARED = [
    "result_class",
    "value",
    "sensitivity",
    "quantitative_range",
    "markers",
    "report_date",
    "not_evaluable_reason",
    "comment",
]
# Columns named in errors for the model's fields.
FIELD_COLUMNS = {"result_class": "result", "value": "value", "sensitivity": "sensitivity"}
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000  # rows of results per file (the template says so): split a larger batch


@dataclass
class UploadRow:
    number: int  # the line of the file (the header is line 1)
    accession: str
    method: str
    action: str = ""  # new, correction, unchanged
    errors: list[tuple[str, str]] = field(default_factory=list)
    result: MrdResult | None = None
    reason: str = ""


@dataclass
class UploadPreview:
    rows: list[UploadRow]
    errors: list[str]  # errors of the file as a whole

    @property
    def valid(self) -> bool:
        return not self.errors and not any(row.errors for row in self.rows)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @classmethod
    def stored(cls, data: dict) -> UploadPreview:
        """A preview as preview_store kept it."""
        rows = [
            UploadRow(
                number=r["number"],
                accession=r["accession"],
                method=r["method"],
                action=r["action"],
                errors=[tuple(e) for e in r["errors"]],
            )
            for r in data["rows"]
        ]
        return cls(rows=rows, errors=list(data["errors"]))


# The template's example row: an accession no sample can have (samples are numbered
# site-subject-timepoint, e.g. 1-01-W11), refused by name if it is left in a file.
EXAMPLE_ACCESSION = "EXAMPLE-DELETE-ME"
EXAMPLE_REFUSED = (
    f"This is the template's example row ({EXAMPLE_ACCESSION}): delete it and upload the file "
    "again."
)


def template_csv() -> str:
    example = {
        "accession": EXAMPLE_ACCESSION,
        "method": "qpcr",
        "result": "quantifiable",
        "value": "1.2E-4",
        "sensitivity": "1E-5",
        "quantitative_range": "1E-4",
        "markers": "IGH VDJ; IGK-Kde",
        "report_date": "2026-05-20",
        "comment": "Example row: delete it and write one row per sample and method.",
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerow({c: example.get(c, "") for c in COLUMNS})
    return out.getvalue()


def upload_receive(*, filename: str, raw: bytes, user) -> MrdUpload:
    """Keep an uploaded file for its preview (nothing is saved to the results yet)."""
    if not user_can(user, Capability.ENTER_MRD_RESULTS):
        raise PermissionDenied("Only the central MRD laboratory uploads MRD results.")
    if len(raw) > MAX_BYTES:
        raise ValidationError({"file": f"The file is larger than {MAX_BYTES // 1024 // 1024} MB."})
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            {"file": "The file is not UTF-8 text: save it as CSV UTF-8."}
        ) from None
    if "\x00" in content:
        raise ValidationError({"file": "The file is not a CSV text file."})
    received = MrdUpload.objects.create(
        uploaded_by=user,
        filename=filename[:200],
        sha256=hashlib.sha256(raw).hexdigest(),
        content=content,
    )
    preview_store(received, user)
    return received


def preview_store(upload: MrdUpload, user) -> dict:
    """Check every row once and keep the result with the upload (what the preview pages show;
    the commit checks again)."""
    preview = upload_preview(upload, user)
    upload.preview = {
        "errors": preview.errors,
        "rows": [
            {"number": r.number, "accession": r.accession, "method": r.method,
             "action": r.action, "errors": [list(e) for e in r.errors]}
            for r in preview.rows
        ],
    }  # fmt: skip
    fields = ["preview"]
    if upload.status not in (MrdUpload.Status.COMMITTED, MrdUpload.Status.CANCELLED):
        upload.status = MrdUpload.Status.READY if preview.valid else MrdUpload.Status.ERRORS
        fields.append("status")
    upload.save(update_fields=fields)
    return upload.preview


def upload_cancel(upload: MrdUpload, user) -> MrdUpload:
    """Set a checked file aside without saving any of its rows."""
    if not user_can(user, Capability.ENTER_MRD_RESULTS):
        raise PermissionDenied("Only the central MRD laboratory uploads MRD results.")
    with transaction.atomic():
        upload = MrdUpload.objects.select_for_update().get(pk=upload.pk)
        if upload.status == MrdUpload.Status.COMMITTED:
            raise ValidationError("This file was already committed: it cannot be cancelled.")
        upload.status = MrdUpload.Status.CANCELLED
        upload.save(update_fields=["status"])
    return upload


def _parse_decimal(text: str, column: str, row: UploadRow):
    text = (text or "").strip()
    if not text:
        return None
    try:
        return mrd.parse_mrd_value(text)
    except mrd.MrdValueError as error:
        row.errors.append((column, str(error)))
        return None


def _parse_date(text: str, row: UploadRow) -> date | None:
    text = (text or "").strip()
    try:
        value = date.fromisoformat(text)
    except ValueError:
        row.errors.append(("report_date", f"{text!r} is not a date: write YYYY-MM-DD."))
        return None
    return value


def upload_preview(upload: MrdUpload, user) -> UploadPreview:
    """Check every row of the file; nothing is saved."""
    reader = csv.DictReader(io.StringIO(upload.content))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = REQUIRED_COLUMNS - set(header)
    unknown = set(header) - set(COLUMNS)
    problems = []
    if missing:
        problems.append(f"Missing columns: {', '.join(sorted(missing))} (see the template).")
    if unknown:
        problems.append(f"Unknown columns: {', '.join(sorted(unknown))} (see the template).")
    if problems:
        return UploadPreview(rows=[], errors=problems)
    try:
        raw_rows = list(itertools.islice(reader, MAX_ROWS + 1))
    except csv.Error as unreadable:  # e.g. a cell above the csv module's 128 KB field limit
        return UploadPreview(rows=[], errors=[f"The file cannot be read as CSV: {unreadable}."])
    if len(raw_rows) > MAX_ROWS:
        return UploadPreview(
            rows=[],
            errors=[f"The file has more than {MAX_ROWS:,} rows: upload at most {MAX_ROWS:,} "
                    "results per file (split the batch)."],
        )  # fmt: skip
    records = [
        {(k or "").strip(): (v or "") for k, v in raw.items() if k is not None} for raw in raw_rows
    ]
    # DictReader keeps the cells beyond the header under None: a row that does not fit.
    extra = {number: len(raw[None]) for number, raw in enumerate(raw_rows, start=2) if None in raw}
    rows = results_read(records, user)
    for row in rows:
        if row.number in extra:
            row.errors.append(
                ("accession", f"{extra[row.number]} cell(s) beyond the header's {len(header)} "
                 "columns: check the separators of this row.")
            )  # fmt: skip
    if not rows:
        return UploadPreview(rows=[], errors=["The file has no rows under its header."])
    results_check_writes(rows, user)
    return UploadPreview(rows=rows, errors=[])


def results_read(records: list[dict[str, str]], user) -> list[UploadRow]:
    """Read rows of results named as the upload's columns name them (the upload's file, or
    the API's posts): each row's sample by its accession among the samples the user sees, its
    values, and whether it is new, unchanged or a correction of the stored result (which needs
    a reason). Rows are numbered from 2 (line 1 is a file's header)."""
    accessions = {r.get("accession", "").strip() for r in records}
    samples = {
        s.accession: s
        for s in samples_visible_to(user)
        .filter(accession__in=accessions)
        .select_related("subject", "subject__site")
    }
    existing = {
        (r.sample_id, r.method): r
        for r in MrdResult.objects.filter(sample__in=samples.values(), entered_in_error=False)
    }
    seen = set()
    return [
        _check_row(number, data, samples, existing, seen)
        for number, data in enumerate(records, start=2)
    ]


def results_check_writes(rows: list[UploadRow], user) -> None:
    """Every row that writes goes through the write pipeline's checks, as a result entered in
    the form would: the laboratory's right at the sample's own site, the MRD result checks,
    nothing before consent, and locks (site, subject, sample or result)."""
    writing = [row for row in rows if row.result is not None and row.action != "unchanged"]
    refusals = records_refusals([row.result for row in writing], user=user, exclude=["sample"])
    for row, refusal in zip(writing, refusals, strict=True):
        if isinstance(refusal, PermissionDenied):
            row.errors.append(("accession", str(refusal)))
        elif refusal is not None:
            named = {column for column, _ in row.errors}  # a cell that could not be read
            for name, messages in _messages(refusal).items():
                column = FIELD_COLUMNS.get(name, name) if name != "__all__" else "accession"
                if column not in named:
                    row.errors.append((column, " ".join(messages)))


def _messages(refusal: ValidationError) -> dict[str, list[str]]:
    if hasattr(refusal, "error_dict"):
        return refusal.message_dict
    return {"__all__": refusal.messages}


def _check_row(number, data, samples, existing, seen) -> UploadRow:
    accession = data.get("accession", "").strip()
    method_text = data.get("method", "").strip().lower()
    row = UploadRow(number=number, accession=accession, method=method_text)
    if accession.upper() == EXAMPLE_ACCESSION:
        row.errors.append(("accession", EXAMPLE_REFUSED))
        return row
    sample = samples.get(accession)
    if sample is None:
        row.errors.append(("accession", f"No sample {accession!r} awaits results here."))
    method = METHODS.get(method_text)
    if method is None:
        row.errors.append(("method", f"{method_text!r}: write qpcr or ngs."))
    result_class = RESULTS.get(data.get("result", "").strip().lower())
    if result_class is None:
        row.errors.append(
            ("result", f"{data.get('result', '')!r}: write negative, pnq, quantifiable or "
             "not_evaluable."),
        )  # fmt: skip
    value = _parse_decimal(data.get("value", ""), "value", row)
    sensitivity = _parse_decimal(data.get("sensitivity", ""), "sensitivity", row)
    quantitative_range = _parse_decimal(
        data.get("quantitative_range", ""), "quantitative_range", row
    )
    report_date = _parse_date(data.get("report_date", ""), row)
    if sample is None or method is None or result_class is None:
        return row
    key = (sample.pk, method.value)
    if key in seen:
        row.errors.append(("accession", f"{accession} {method_text} appears twice in the file."))
        return row
    seen.add(key)
    stored = existing.get(key)
    values = {
        "method": method.value,
        "result_class": result_class.value,
        "value": value,
        "sensitivity": sensitivity,
        "quantitative_range": quantitative_range,
        "markers": data.get("markers", "").strip(),
        "report_date": report_date,
        "not_evaluable_reason": data.get("not_evaluable_reason", "").strip(),
        "comment": data.get("comment", "").strip(),
    }
    changed = [f for f in COMPARED if stored is not None and getattr(stored, f) != values[f]]
    if stored is None:
        result = MrdResult(sample=sample, **values)
    else:
        result = stored
        result.sample = sample
        for name, new_value in values.items():
            setattr(result, name, new_value)
    # The model's own limits (length of text, 15 decimal places) and the MRD result checks are
    # the write pipeline's (see results_check_writes): a 201-character marker or 1E-16 is an
    # error, not a silent change.
    row.result = result
    if stored is None:
        row.action = "new"
    elif not changed:
        row.action = "unchanged"
    else:
        row.action = "correction"
        row.reason = data.get("reason_for_change", "").strip()
        if not row.reason:
            row.errors.append(
                ("reason_for_change",
                 f"{accession} {method_text} already has a different result "
                 f"({', '.join(changed)} differ): this is a correction and needs a reason."),
            )  # fmt: skip
    return row


def upload_commit(upload: MrdUpload, user) -> UploadPreview:
    """Save every row of a checked file, or nothing if any row has an error."""
    if not user_can(user, Capability.ENTER_MRD_RESULTS):
        raise PermissionDenied("Only the central MRD laboratory uploads MRD results.")
    try:
        return _commit(upload, user)
    except _ErrorsNow:
        # The data changed since the file was checked (a lock, a result entered meanwhile):
        # the preview pages show the check as it is now.
        preview_store(upload, user)
        raise ValidationError("The file has errors now: nothing was saved.") from None


class _ErrorsNow(Exception):
    pass


def _commit(upload: MrdUpload, user) -> UploadPreview:
    with transaction.atomic():
        upload = MrdUpload.objects.select_for_update().get(pk=upload.pk)
        if upload.status == MrdUpload.Status.COMMITTED:
            raise ValidationError("This file was already committed.")
        if upload.status == MrdUpload.Status.CANCELLED:
            raise ValidationError("This file was cancelled: upload it again to save its rows.")
        preview = upload_preview(upload, user)
        if not preview.valid:
            raise _ErrorsNow()
        reason = f"uploaded in {upload.filename} ({upload.sha256[:12]})"
        new = [row.result for row in preview.rows if row.action == "new"]
        records_create(new, MrdResult, user=user, reason=reason)
        for row in preview.rows:
            if row.action == "correction":
                record_save(row.result, user=user, reason=f"{row.reason} ({reason})")
        upload.status = MrdUpload.Status.COMMITTED
        upload.committed_at = timezone.now()
        upload.rows_created = len(new)
        upload.rows_corrected = preview.count("correction")
        upload.rows_unchanged = preview.count("unchanged")
        upload.save()
    return preview
