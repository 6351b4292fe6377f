"""One renderer for a record's history: a change reads the same on the record's review page
and on the subject's audit trail (old and new value, time in UTC and local time, user), with
the values as the audit trail and its export show them (monitoring.audit_review); a time's
value on the pages on the site's clock with its zone, in the export in UTC (ISO 8601)."""

import csv
import datetime
import io
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst

from crf.models import Role
from crf.services import record_save
from monitoring.records import record_pointer
from mrd.models import MrdResult
from mrd.services import result_save, sample_record
from safety.models import CtcaeTerm
from safety.services import adverse_event_save
from tests.factories import baseline_for, enrol, lab_panel_for, serious_ae_for, user_with_role

pytestmark = pytest.mark.verifies("UR-MON-01")

CELLS = ("utc", "local", "user", "field", "old", "new", "reason")


class _HistoryTable(HTMLParser):
    """The rows of one history table (by its id), each as {cell class: text}."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.depth = table_id, False, 0
        self.rows: list[dict[str, str]] = []
        self.cell: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == self.table_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "tr":
            self.rows.append({})
        classes = (attrs.get("class") or "").split()
        if tag == "td":
            names = [c.removeprefix("history-") for c in classes if c.startswith("history-")]
            self.cell = names[0] if names else None
            if self.cell:
                self.rows[-1][self.cell] = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self.cell = None
        if tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.inside and self.cell:
            row = self.rows[-1]
            row[self.cell] = " ".join(f"{row[self.cell]} {data}".split())


def _rows(body: str, table_id: str) -> list[tuple[str, ...]]:
    table = _HistoryTable(table_id)
    table.feed(body)
    return [tuple(r[c] for c in CELLS) for r in table.rows if "field" in r]


def _pages(client, subject, record) -> tuple[list, list]:
    ct, pk = record_pointer(record)
    review = client.get(reverse("monitoring:record_review", args=[subject.study_id, ct, pk]))
    form = capfirst(str(record._meta.verbose_name))
    trail = client.get(reverse("monitoring:subject_audit", args=[subject.study_id]), {"form": form})
    return _rows(review.content.decode(), "record-history"), _rows(
        trail.content.decode(), "audit-trail"
    )


@pytest.fixture
def monitor_a(site_a):
    return user_with_role(Role.MONITOR, site_a, username="mon.a")


def _by_field(rows, field):
    return [r for r in rows if r[CELLS.index("field")] == field]


@pytest.mark.django_db
def test_a_baseline_change_reads_the_same_on_the_review_page_and_the_audit_trail(
    client, subject_a, investigator_a, monitor_a
):
    baseline = baseline_for(subject_a, by=investigator_a)
    baseline.weight_kg = Decimal("74.5")
    baseline.cd20_positive = "yes"
    baseline.immunophenotype = "B-III"
    record_save(baseline, user=investigator_a, reason="source re-read")
    client.force_login(monitor_a)
    review, trail = _pages(client, subject_a, baseline)

    assert review and review == trail  # every row, cell by cell, in the same order
    [weight] = _by_field(review, "Weight (kg)")[:1]
    utc, local, user, _, old, new, reason = weight
    changed_at = baseline.history.order_by("-history_id").first().history_date
    assert utc == changed_at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert local == timezone.localtime(changed_at).strftime("%Y-%m-%d %H:%M %Z")
    assert user.startswith(investigator_a.username) and "Investigator (site 1)" in user
    assert (old, new, reason) == ("75", "74.5", "source re-read")  # as written: no "75.0"
    assert _by_field(review, "CD20-positive (any positivity)")[0][4:6] == ("No", "Yes")
    assert _by_field(review, "Immunophenotype")[0][4:6] == ("B-II (common B)", "B-III (pre-B)")


@pytest.mark.verifies("UR-OPS-03")
@pytest.mark.django_db
def test_references_by_their_name_and_times_on_the_site_clock_on_both_pages(
    client, subject_a, investigator_a, monitor_a
):
    event = serious_ae_for(subject_a, by=investigator_a, term="Hyperkalemia")
    event.term = CtcaeTerm.objects.get(term="Hypokalemia")
    event.awareness_at = timezone.make_aware(
        datetime.datetime.combine(event.onset_date, datetime.time(11, 30))
    )
    adverse_event_save(event, user=investigator_a, reason="potassium was low")
    client.force_login(monitor_a)
    review, trail = _pages(client, subject_a, event)

    assert review and review == trail
    assert _by_field(review, "Term")[0][4:6] == ("Hyperkalemia", "Hypokalemia")
    # the site's clock with its zone, as the user typed it (the export keeps UTC ISO 8601)
    day = event.onset_date.isoformat()
    assert _by_field(review, "Site became aware")[0][5] in (f"{day} 11:30 CET", f"{day} 11:30 CEST")


@pytest.mark.django_db
def test_decimals_in_plain_notation_on_both_pages(client, subject_a, investigator_a, monitor_a):
    lab = user_with_role(Role.CENTRAL_LAB, None, username="lab")
    sample = sample_record(
        subject=subject_a, timepoint="W11", material="bone_marrow",
        sampled_on=subject_a.day1_date + datetime.timedelta(days=74), user=investigator_a,
    )  # fmt: skip
    result = result_save(
        MrdResult(sample=sample, method="qpcr", report_date=sample.sampled_on,
                  result_class="quantifiable", value=Decimal("0.00000012")),
        user=lab,
    )  # fmt: skip
    result.value = Decimal("0.00000015")
    result = result_save(result, user=lab, reason="recalculated")
    client.force_login(monitor_a)
    review, trail = _pages(client, subject_a, result)

    assert review and review == trail
    [value] = [r for r in review if r[CELLS.index("reason")] == "recalculated"]
    # as people write it: no trailing zeros of the 15 stored places, never 1.2E-7
    assert value[4:6] == ("0.00000012", "0.00000015")


@pytest.mark.verifies("UR-OPS-03")
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("day1", "old", "new"),
    [
        (datetime.date(2026, 3, 1), "2026-03-14 08:00 CET", "2026-03-14 09:30 CET"),
        (datetime.date(2026, 6, 1), "2026-06-14 08:00 CEST", "2026-06-14 09:30 CEST"),
    ],
    ids=["winter", "summer"],
)
def test_a_changed_sampling_time_reads_on_the_site_clock_on_every_page_and_utc_in_the_export(
    client, site_a, investigator_a, monitor_a, day1, old, new
):
    subject = enrol(site_a, by=investigator_a, day1_date=day1)
    panel = lab_panel_for(subject, by=investigator_a)  # sampled on day 14 at 08:00 in Prague
    before = panel.sampled_at
    panel.sampled_at = before + datetime.timedelta(minutes=90)
    record_save(panel, user=investigator_a, reason="time on the tube re-read")
    client.force_login(monitor_a)
    review, trail = _pages(client, subject, panel)

    assert review and review == trail  # the review page and the subject's audit trail
    created, [change] = _by_field(review, "Sampled")[1:], _by_field(review, "Sampled")[:1]
    assert change[4:7] == (old, new, "time on the tube re-read")  # newest first
    assert created[0][4:6] == ("", old)
    study = client.get(reverse("monitoring:study_audit"), {"form": "Lab panel"})
    assert [r for r in _rows(study.content.decode(), "audit-trail") if r[3] == "Sampled"] == [
        change,
        *created,
    ]

    export = client.get(
        reverse("monitoring:subject_audit", args=[subject.study_id]),
        {"form": "Lab panel", "format": "csv"},
    )
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    header = rows[0]
    [exported] = [r for r in rows[1:] if r[header.index("reason")] == "time on the tube re-read"]
    utc = [m.astimezone(datetime.UTC).isoformat(sep=" ") for m in (before, panel.sampled_at)]
    assert [exported[header.index("old_value")], exported[header.index("new_value")]] == utc
