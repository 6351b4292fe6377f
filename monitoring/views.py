import csv
from datetime import UTC

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from audit.cells import text_cell
from crf.access import (
    Capability,
    reaches_every_site,
    sites_where,
    subject_for,
    subjects_visible_to,
)
from crf.forms.common import IsoDateField

from .audit_review import AuditScope, AuditTrail, Position, form_names, trail_rows

PER_PAGE = 50
CSV_COLUMNS = [
    "time_utc", "user", "user_roles", "subject", "site", "form", "record", "field",
    "old_value", "new_value", "reason", "kind",
]  # fmt: skip


class AuditFilterForm(forms.Form):
    form = forms.ChoiceField(required=False, label="Form")
    user = forms.CharField(required=False, max_length=150, label="User")
    subject = forms.CharField(required=False, max_length=20, label="Subject")
    site = forms.ChoiceField(required=False, label="Site")
    # ISO dates between 1900 and 2100: ?until=9999-12-31 is a refusal, not a date overflow.
    since = IsoDateField(required=False, label="From")
    until = IsoDateField(required=False, label="To")

    def __init__(self, *args, forms_available, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["form"].choices = [("", "All forms"), *[(f, f) for f in forms_available]]
        if sites is None:
            del self.fields["site"]
            del self.fields["subject"]
        else:
            self.fields["site"].choices = [("", "All sites")] + [
                (str(s.pk), f"{s.number} {s.name}") for s in sites
            ]

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("The 'from' date is after the 'to' date.")
        return data


@login_required
def subject_audit_trail(request, study_id):
    """Every change to a subject's data, field by field, newest first; ?format=csv exports it."""
    subject = subject_for(request.user, study_id)
    filters = AuditFilterForm(request.GET or None, forms_available=form_names(study_wide=False))
    data = filters.cleaned_data if filters.is_valid() else {}
    scope = AuditScope(
        subject=subject,
        form=data.get("form") or None,
        username=data.get("user") or None,
        since=data.get("since"),
        until=data.get("until"),
    )
    return _respond(
        request, scope, filters, f"audit-trail-{subject.study_id}", {"subject": subject}
    )


@login_required
def study_audit_trail(request):
    """The whole study's audit trail (of the sites the reader may see), with account events."""
    sites = sites_where(request.user, Capability.VIEW_SUBJECTS).order_by("number")
    if not sites.exists():
        raise PermissionDenied("The audit trail is for users who see subjects.")
    filters = AuditFilterForm(
        request.GET or None, forms_available=form_names(study_wide=True), sites=sites
    )
    data = filters.cleaned_data if filters.is_valid() else {}
    visible = frozenset(sites.values_list("pk", flat=True))
    every_site = reaches_every_site(request.user, Capability.VIEW_SUBJECTS)
    site_ids = None if every_site else visible
    if data.get("site"):
        site_ids = frozenset({int(data["site"])}) & visible
    subject = None
    if data.get("subject"):
        subject = subjects_visible_to(request.user).filter(study_id=data["subject"]).first()
        if subject is None:
            filters.add_error("subject", "No such subject at your sites.")
            site_ids = frozenset()
    scope = AuditScope(
        subject=subject,
        site_ids=site_ids,
        form=data.get("form") or None,
        username=data.get("user") or None,
        since=data.get("since"),
        until=data.get("until"),
    )
    return _respond(request, scope, filters, "audit-trail-study", {})


def _respond(request, scope, filters, filename, context):
    trail = AuditTrail(scope) if not filters.errors else AuditTrail(_nothing(scope))
    if request.GET.get("format") == "csv" and not filters.errors:
        return _csv(trail, filename)
    after, before, notice = _position(request.GET)
    page = trail.page(PER_PAGE, after=after, before=before)
    query = request.GET.copy()
    for name in ("after", "before", "page"):
        query.pop(name, None)
    csv_query = query.copy()
    csv_query["format"] = "csv"
    return render(
        request,
        "monitoring/audit_trail.html",
        {
            **context,
            "page": page,
            "notice": notice,
            "filters": filters,
            "query": query.urlencode(),
            "csv_query": csv_query.urlencode(),
        },
    )


def _position(params) -> tuple[Position | None, Position | None, str]:
    """The page asked for: (after, before, a notice when the link could not be followed). A
    page is reached from the one next to it (?after= older, ?before= newer), never by its number:
    an old ?page=N link opens the newest page."""
    for name in ("after", "before"):
        if name in params:
            position = Position.from_token(params[name])
            if position is None:
                return None, None, "That page link is not valid: showing the newest changes."
            return (position, None, "") if name == "after" else (None, position, "")
    if params.get("page", "1") not in ("", "1"):
        return None, None, "Pages are no longer numbered: showing the newest changes."
    return None, None, ""


def _nothing(scope: AuditScope) -> AuditScope:
    return AuditScope(subject=scope.subject, site_ids=frozenset(), form="-")


def _csv(trail: AuditTrail, filename: str) -> StreamingHttpResponse:
    """Streamed: the whole study's trail is written as it is read, never held in memory."""

    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())

    def lines():
        yield writer.writerow(CSV_COLUMNS)
        for r in trail_rows(trail):
            yield writer.writerow(
                [
                    r.at.astimezone(UTC).isoformat(), text_cell(r.user),
                    text_cell(r.user_roles), r.subject, r.site, r.form, text_cell(r.record),
                    text_cell(r.field), text_cell(r.old), text_cell(r.new), text_cell(r.reason),
                    r.kind,
                ]
            )  # fmt: skip

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    return response
