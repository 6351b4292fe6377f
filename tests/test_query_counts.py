"""Every list page and every subject page reads a bounded number of queries: the count with many
rows is no higher than with a few (no query per row).

Pages already covered elsewhere: the subject list (crf/test_enrolment), the casebook
(crf/test_casebook), a subject's audit trail (monitoring/test_audit_review), a record's review
page (monitoring/test_record_review), the query list (monitoring/test_queries) and the reports
page (exports/test_reports).
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts.services import subject_evaluate
from crf.models import BlinatumomabInfusion, Relapse, Role
from crf.services import record_save
from crf.services.infusion import infusion_interrupt, infusion_restart
from exports.services import export_request
from monitoring.locks import lock_create
from monitoring.models import Lock
from monitoring.queries import query_open
from monitoring.sdv import record_verify
from mrd.models import MrdResult
from mrd.services import result_save, sample_record
from tests.factories import (
    baseline_for,
    day11_for,
    enrol,
    infusion_started_for,
    lab_panel_for,
    serious_ae_for,
    user_with_role,
)

pytestmark = pytest.mark.verifies("UR-OPS-03")


class Study:
    """Two sites, their staff, and subjects with a record of every kind."""

    def __init__(self, site_a, site_b, investigator_a, investigator_b):
        self.sites = [site_a, site_b]
        self.investigators = {site_a.pk: investigator_a, site_b.pk: investigator_b}
        self.monitor = user_with_role(Role.MONITOR, site_a, username="mon.ab")
        from crf.services import membership_grant

        membership_grant(user=self.monitor, role=Role.MONITOR, site=site_b, granted_by=None)
        self.lab = user_with_role(Role.CENTRAL_LAB, None, username="lab")
        self.data_manager = user_with_role(Role.DATA_MANAGER, None, username="dm")
        self.sponsor = user_with_role(Role.SPONSOR, None, username="sponsor")
        self.subjects = []

    def add_subjects(self, n: int):
        for k in range(n):
            site = self.sites[k % 2]
            self.subjects.append(self.subject(site, self.investigators[site.pk]))

    def subject(self, site, investigator):
        """An enrolled subject with baseline, day 11, an infusion, a high ALT (an alert), an SAE,
        MRD samples with and without a result, a query, a stale verification, an export and a
        form lock."""
        day1 = timezone.localdate() - datetime.timedelta(days=50)
        subject = enrol(site, by=investigator, day1_date=day1)
        baseline = baseline_for(subject, by=investigator)
        day11_for(subject, by=investigator)
        infusion_started_for(subject, by=investigator)
        lab_panel_for(subject, by=investigator, alt="240", uln="40", days=13)
        serious_ae_for(subject, by=investigator)
        self.mrd_result(subject, investigator, "D40", day1 + datetime.timedelta(days=39))
        sample_record(
            subject=subject, timepoint="U", material="peripheral_blood",
            sampled_on=day1 + datetime.timedelta(days=45), user=investigator,
        )  # fmt: skip
        record_verify(record=baseline, user=self.monitor)  # before the query: it would refuse
        query_open(record=baseline, field_name="weight_kg", text="Weight?", user=self.monitor)
        baseline.weight_kg = Decimal("76.0")
        record_save(baseline, user=investigator, reason="transcription error")
        subject_evaluate(subject.pk)
        export_request(user=self.data_manager)
        lock_create(
            level=Lock.Level.FORM, subject=subject, record=baseline, reason="interim",
            user=self.data_manager,
        )  # fmt: skip
        return subject

    def mrd_result(self, subject, investigator, timepoint, sampled_on):
        sample = sample_record(
            subject=subject, timepoint=timepoint, material="bone_marrow", sampled_on=sampled_on,
            user=investigator,
        )  # fmt: skip
        result = MrdResult(
            sample=sample, method="qpcr", result_class="quantifiable", value=Decimal("1.2E-4"),
            sensitivity=Decimal("1E-5"), quantitative_range=Decimal("1E-4"),
            report_date=sampled_on + datetime.timedelta(days=2),
        )  # fmt: skip
        return result_save(result, user=self.lab)


@pytest.fixture
def study(site_a, site_b, investigator_a, investigator_b):
    made = Study(site_a, site_b, investigator_a, investigator_b)
    made.add_subjects(2)
    return made


def _queries(client, url) -> tuple[int, int]:
    """(queries, bytes) of a page, read once more after a first read warmed the session."""
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries), len(response.content)


def _assert_flat(client, url, few: tuple[int, int], assert_max, *, grows=True):
    """No more queries than `few`, for a page that shows more than it did. Read once first, as
    `few` was: a kind of record the process meets for the first time costs its content type's
    lookup once (Django caches it), whatever the number of rows."""
    client.get(url)
    with assert_max(few[0]):
        response = client.get(url)
    assert response.status_code == 200
    if grows:
        assert len(response.content) > few[1], "the page does not show the added rows"


# (url name, who reads it): study-wide lists, measured with 2 subjects and again with 12.
LISTS = [
    ("crf:screening_log", "investigator"),
    ("crf:subject_list", "monitor"),
    ("mrd:worklist", "lab"),
    ("mrd:cohort", "data_manager"),  # aggregates: counts, no rows
    ("safety:sae", "investigator"),
    ("safety:sae", "sponsor"),  # SUSARs only: none here
    ("safety:ae_summary", "data_manager"),  # aggregates
    ("alerts:inbox", "investigator"),
    ("alerts:inbox", "monitor"),
    ("monitoring:study_audit", "monitor"),
    ("monitoring:query_list", "data_manager"),
    ("monitoring:sdv_overview", "monitor"),
    ("monitoring:sdv_changed", "monitor"),
    ("monitoring:locks", "data_manager"),
    ("exports:list", "data_manager"),
    ("exports:list", "investigator"),  # their own exports only: none here
    # The start page of each role: counts of the role's work, no rows.
    ("home", "investigator"),
    ("home", "lab"),
    ("home", "monitor"),
    ("home", "data_manager"),
    ("home", "sponsor"),
]
# Pages whose body does not grow with these rows (aggregates, or rows of another kind).
SAME_SIZE = {"mrd:cohort-data_manager", "safety:sae-sponsor", "safety:ae_summary-data_manager",
             "exports:list-investigator", "home-investigator", "home-lab", "home-monitor",
             "home-data_manager", "home-sponsor"}  # fmt: skip


def _user(study, who):
    if who == "investigator":
        return study.investigators[study.sites[0].pk]
    return getattr(study, who)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "who"), LISTS, ids=[f"{n}-{w}" for n, w in LISTS])
def test_list_page_query_count_does_not_grow_with_subjects(
    client, study, name, who, django_assert_max_num_queries
):
    client.force_login(_user(study, who))
    url = reverse(name)
    few = _queries(client, url)
    study.add_subjects(10)
    grows = f"{name}-{who}" not in SAME_SIZE
    _assert_flat(client, url, few, django_assert_max_num_queries, grows=grows)


def _more_records(study, subject, n: int = 8):
    """More of every kind of record on one subject."""
    investigator = study.investigators[subject.site_id]
    day1 = subject.day1_date
    infusion = BlinatumomabInfusion.objects.get(subject=subject)
    dose = infusion.dose_changes.order_by("at").first().ug_per_day
    for k in range(n):
        stop = infusion.started_at + datetime.timedelta(days=1 + k, hours=1)
        interruption = infusion_interrupt(
            record=infusion, started_at=stop, reason="crs", reason_other="", user=investigator
        )
        infusion_restart(
            interruption=interruption, restarted_at=stop + datetime.timedelta(hours=3),
            ug_per_day=dose, user=investigator,
        )  # fmt: skip
        record_save(
            Relapse(subject=subject, relapse_date=day1 + datetime.timedelta(days=20 + k),
                    kind="molecular"),
            user=investigator,
        )  # fmt: skip
        lab_panel_for(subject, by=investigator, alt=str(100 + 20 * k), uln="40", days=14 + k)
        serious_ae_for(
            subject, by=investigator, term="Cytokine release syndrome", grade=1 + k % 3,
            criterion_hospitalisation=True,
        )  # fmt: skip
        study.mrd_result(subject, investigator, "U", day1 + datetime.timedelta(days=20 + k))
        sample_record(
            subject=subject, timepoint="FU", material="peripheral_blood",
            sampled_on=day1 + datetime.timedelta(days=30 + k), user=investigator,
        )  # fmt: skip
    subject_evaluate(subject.pk)


# (url name, who reads it): a subject's pages, measured and again with many more records.
SUBJECT_PAGES = [
    ("crf:subject_detail", "monitor"),
    ("crf:infusion", "investigator"),
    ("safety:labs", "investigator"),
    ("safety:adverse_events", "investigator"),
    ("mrd:subject", "investigator"),
    ("mrd:subject", "lab"),
    ("monitoring:subject_review", "monitor"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "who"), SUBJECT_PAGES, ids=[f"{n}-{w}" for n, w in SUBJECT_PAGES])
def test_subject_page_query_count_does_not_grow_with_records(
    client, study, name, who, django_assert_max_num_queries
):
    subject = study.subjects[0]
    client.force_login(_user(study, who))
    url = reverse(name, args=[subject.study_id])
    few = _queries(client, url)
    _more_records(study, subject)
    _assert_flat(client, url, few, django_assert_max_num_queries)
