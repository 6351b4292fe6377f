import csv
from datetime import UTC

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from crf.access import subject_for

from .audit_review import subject_audit_rows

PER_PAGE = 50
CSV_COLUMNS = [
    "time_utc", "user", "user_roles", "form", "record", "field", "old_value", "new_value",
    "reason", "kind",
]  # fmt: skip


@login_required
def subject_audit_trail(request, study_id):
    """Every change to a subject's data, field by field, newest first; ?format=csv exports it."""
    subject = subject_for(request.user, study_id)
    form = request.GET.get("form") or None
    rows = subject_audit_rows(subject, form=form)
    if request.GET.get("format") == "csv":
        return _csv(subject, rows)
    forms = sorted({r.form for r in subject_audit_rows(subject)}) if not form else [form]
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "monitoring/subject_audit.html",
        {
            "subject": subject,
            "page": page,
            "forms": forms,
            "form": form,
            "query": query.urlencode(),
        },
    )


def _csv(subject, rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{subject.study_id}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.at.astimezone(UTC).isoformat(),
                r.user, r.user_roles, r.form, r.record, r.field,
                _safe(r.old), _safe(r.new), _safe(r.reason), r.kind,
            ]
        )  # fmt: skip
    return response


def _safe(text: str) -> str:
    """Spreadsheets run cells that start with = + - @ tab or CR: neutralise text cells."""
    return "'" + text if text and text[0] in "=+-@\t\r" else text
