"""The live study reports on a small hand-made cohort whose right answers are worked by hand
below; scoping by role and site; no identifiers for the sponsor; plots; query counts.

The cohort (time 0 = study day 1; consent 3 days before day 1, so age = day-1 year - birth year;
d = days from day 1):

    id site day 1      sex age WBC blasts pheno d11 day 40     W11 MRD (deciding)
    A  1    2022-03-01 M   42  5   80     B-II  10  CR         qPCR negative 1E-5
    B  1    2022-04-01 F   32  10  90     B-I   60  CR         qPCR PNQ, NGS negative (MR-3)
    C  1    2022-05-02 M   52  2   50     B-III 50  CR         quantifiable 2E-3
    D  1    2022-06-01 F   62  20  70     B-II  95  refractory -
    E  2    2022-02-01 F   22  1   30     B-II  20  CR         - (no IG/TR target)
    F  2    2022-07-01 M   37                                  withdrew 2022-07-20, before day 40

    later: A alive 2025-03-01 (1096 d); B molecular relapse 2023-04-01 (365 d), MRD referral
    with 2 blinatumomab cycles, 2 cycles given 2023-04-20 to 2023-05-31 (MR-5), HSCT 2023-06-01
    (MRD-triggered), alive 2025-06-01 (1157 d); C died 2023-05-02 (365 d); D salvage therapy
    (refractory) 2022-07-20 to 2022-09-01, died 2024-01-10 (588 d); E HSCT in CR1, alive
    2025-02-01.
"""

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from scipy.stats import beta

from alerts.models import ProtocolDecision
from crf.models import (
    Death,
    EndOfStudy,
    FollowUpContact,
    MrdTriggeredBlinatumomab,
    Relapse,
    ResponseAssessment,
    Role,
    SalvageTherapy,
    Subject,
    Transplant,
)
from crf.services import record_save
from exports import reports as report_selectors
from exports import stored_reports
from exports.models import StoredReport
from mrd import cohort
from mrd.models import MrdResult
from mrd.services import result_save, sample_record
from protocol import mrd
from safety import services as safety_services
from tests.factories import (
    baseline_for,
    day11_for,
    enrol,
    infusion_started_for,
    serious_ae_for,
    user_with_role,
)

D = datetime.date
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# The pages read the stored report: each test has it computed first.
pytestmark = [pytest.mark.usefixtures("reports_computed"), pytest.mark.verifies("UR-REP-01")]


def _day40(subject, by, response):
    assessed = subject.day1_date + datetime.timedelta(days=39)  # study day 40
    record_save(
        ResponseAssessment(subject=subject, assessed_on=assessed, response=response), user=by
    )


def _w11(subject, by, lab, *results):
    sampled = subject.day1_date + datetime.timedelta(days=72)  # study day 73, week 11
    sample = sample_record(
        subject=subject, timepoint="W11", material="bone_marrow", sampled_on=sampled, user=by
    )
    for method, result_class, values in results:
        result_save(
            MrdResult(
                sample=sample,
                method=method,
                result_class=result_class,
                report_date=sampled + datetime.timedelta(days=7),
                **values,
            ),
            user=lab,
        )


def _alive(subject, by, on):
    record_save(FollowUpContact(subject=subject, last_known_alive=on, in_remission=True), user=by)


NEGATIVE = ("negative", {"sensitivity": Decimal("1E-5")})


@pytest.fixture
def cohort_subjects(site_a, site_b, investigator_a, investigator_b):
    lab = user_with_role(Role.CENTRAL_LAB, None, username="lab")
    inv_a, inv_b = investigator_a, investigator_b

    a = enrol(site_a, by=inv_a, day1_date=D(2022, 3, 1))
    baseline_for(
        a,
        by=inv_a,
        sex="M",
        year_of_birth=1980,
        leukocytes=Decimal(5),
        marrow_blasts_percent=Decimal(80),
        immunophenotype="B-II",
    )
    day11_for(a, by=inv_a, blasts="10")
    _day40(a, inv_a, "CR")
    _w11(a, inv_a, lab, ("qpcr", *NEGATIVE))
    _alive(a, inv_a, D(2025, 3, 1))

    b = enrol(site_a, by=inv_a, day1_date=D(2022, 4, 1))
    baseline_for(
        b,
        by=inv_a,
        sex="F",
        year_of_birth=1990,
        leukocytes=Decimal(10),
        marrow_blasts_percent=Decimal(90),
        immunophenotype="B-I",
        karyotype="complex",
        ikzf1plus=True,
    )
    day11_for(b, by=inv_a, blasts="60")
    _day40(b, inv_a, "CR")
    _w11(b, inv_a, lab, ("qpcr", "pnq", {}), ("ngs", *NEGATIVE))  # MR-3: NGS decides
    record_save(Relapse(subject=b, relapse_date=D(2023, 4, 1), kind="molecular"), user=inv_a)
    record_save(
        ProtocolDecision(
            subject=b,
            kind="mrd_referral",
            decided_on=D(2023, 4, 5),
            cd19_positive=True,
            blinatumomab_cycles=2,
            details="referred",
        ),
        user=inv_a,
    )
    record_save(
        MrdTriggeredBlinatumomab(
            subject=b,
            start_date=D(2023, 4, 20),
            end_date=D(2023, 5, 31),
            cycles=2,
            dose_ug_per_day=Decimal(28),
            cd19_reconfirmed=True,
            cd19_date=D(2023, 4, 10),
            mrd_after_class="negative",
        ),
        user=inv_a,
    )
    record_save(
        Transplant(
            subject=b, transplant_date=D(2023, 6, 1), in_first_cr=False, reason="mrd_triggered"
        ),
        user=inv_a,
    )
    _alive(b, inv_a, D(2025, 6, 1))

    c = enrol(site_a, by=inv_a, day1_date=D(2022, 5, 2))
    baseline_for(
        c,
        by=inv_a,
        sex="M",
        year_of_birth=1970,
        leukocytes=Decimal(2),
        marrow_blasts_percent=Decimal(50),
        immunophenotype="B-III",
        karyotype="hyperdiploidy",
        ph_like=True,
    )
    day11_for(c, by=inv_a, blasts="50")
    _day40(c, inv_a, "CR")
    _w11(c, inv_a, lab, ("qpcr", "quantifiable", {"value": Decimal("2E-3")}))
    record_save(Death(subject=c, death_date=D(2023, 5, 2), cause="infection"), user=inv_a)

    d = enrol(site_a, by=inv_a, day1_date=D(2022, 6, 1))
    baseline_for(
        d,
        by=inv_a,
        sex="F",
        year_of_birth=1960,
        leukocytes=Decimal(20),
        marrow_blasts_percent=Decimal(70),
        immunophenotype="B-II",
        ikzf1plus=True,
    )
    day11_for(d, by=inv_a, blasts="95")
    _day40(d, inv_a, "refractory")
    record_save(
        SalvageTherapy(
            subject=d,
            start_date=D(2022, 7, 20),
            end_date=D(2022, 9, 1),
            regimen="inotuzumab",
            indication="refractory",
            outcome="no_response",
        ),
        user=inv_a,
    )
    record_save(Death(subject=d, death_date=D(2024, 1, 10), cause="ALL"), user=inv_a)

    e = enrol(site_b, by=inv_b, day1_date=D(2022, 2, 1))
    baseline_for(
        e,
        by=inv_b,
        sex="F",
        year_of_birth=2000,
        leukocytes=Decimal(1),
        marrow_blasts_percent=Decimal(30),
        immunophenotype="B-II",
        karyotype="t(X;11)",
        igtr_target_available=False,
    )
    day11_for(e, by=inv_b, blasts="20")
    _day40(e, inv_b, "CR")
    record_save(
        Transplant(subject=e, transplant_date=D(2022, 9, 1), in_first_cr=True, reason="physician"),
        user=inv_b,
    )
    _alive(e, inv_b, D(2025, 2, 1))

    f = enrol(site_b, by=inv_b, day1_date=D(2022, 7, 1))
    baseline_for(f, by=inv_b, sex="M", year_of_birth=1985)
    record_save(EndOfStudy(subject=f, end_date=D(2022, 7, 20), reason="withdrawal"), user=inv_b)
    return {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f}  # fmt: skip


@pytest.fixture
def sponsor(db):
    return user_with_role(Role.SPONSOR, None, username="sponsor")


def _report(user, **kwargs):
    return report_selectors.study_report(
        list(report_selectors.report_sites(user)), as_of=D(2026, 11, 1), **kwargs
    )


def _rows(report) -> dict[str, str]:
    return {row.label: row.text for row in report.table_1.rows}


def test_table_1_of_the_hand_made_cohort(cohort_subjects, data_manager):
    rows = _rows(_report(data_manager))
    # A-E evaluable; F withdrew before day 40
    assert rows["Total evaluable"] == "5"
    assert rows["Age (years)"] == "42 (22–62)"  # 42, 32, 52, 62, 22
    assert rows["Male / Female"] == "2 (40) / 3 (60)"
    assert rows["Leukocyte count in blood (×10⁹/L)"] == "5 (1–20)"  # 5, 10, 2, 20, 1
    assert rows["Bone marrow blasts (%)"] == "70 (30–90)"  # 80, 90, 50, 70, 30
    assert rows["B-I (pro-B)"] == "1 (20)"
    assert rows["B-II (common B)"] == "3 (60)"
    assert rows["B-III (pre-B)"] == "1 (20)"
    assert rows["Normal"] == "2 (40)"  # A, D
    assert rows["Complex"] == "1 (20)"
    assert rows["t(X;11)"] == "1 (20)"
    assert rows["Ph-like"] == "1 (20)"
    assert rows["IKZF1plus"] == "2 (40)"  # B, D
    assert rows["CNS1"] == "5 (100)"
    assert rows["Bone marrow blasts on day 11 (%)"] == "50 (10–95)"  # 10, 60, 50, 95, 20
    assert rows["≤ 50%"] == "3 (60)"  # A, C (exactly 50), E
    assert rows["> 50%"] == "2 (40)"


@pytest.mark.verifies("MR-3")
def test_primary_endpoint_of_the_hand_made_cohort(cohort_subjects, data_manager):
    endpoint = _report(data_manager).primary_endpoint
    # CR with an IG/TR target: A, B, C. W11: A negative, B negative by NGS (MR-3), C 2E-3.
    assert endpoint.evaluable == 3
    assert (endpoint.negativity.successes, endpoint.negativity.trials) == (2, 3)
    assert endpoint.negativity.estimate == pytest.approx(2 / 3)
    # Clopper-Pearson limits as beta quantiles
    assert endpoint.negativity.lower == pytest.approx(beta.ppf(0.025, 2, 2))
    assert endpoint.negativity.upper == pytest.approx(beta.ppf(0.975, 3, 1))
    # P(X >= 2 | n = 3, p = 0.6) = 3 * 0.6^2 * 0.4 + 0.6^3 = 0.648
    assert endpoint.test.p_value == pytest.approx(0.648)


@pytest.mark.verifies("UR-MRD-03", "MR-2")
def test_mrd_by_timepoint_and_flow_of_the_hand_made_cohort(cohort_subjects, data_manager):
    report = _report(data_manager)
    d40, w11, w18 = report.mrd_by_timepoint
    assert (w11.evaluable, w11.negative, w11.pnq, w11.quantifiable, w11.failure) == (3, 2, 0, 1, 1)
    assert (d40.evaluable, d40.missing) == (3, 3)  # no D40 samples in this cohort
    flow = report.flow
    assert (flow.enrolled, flow.withdrew_during_induction, flow.assessed_day40) == (6, 1, 5)
    assert (flow.complete_remission, flow.refractory) == (4, 1)
    assert (flow.cr_with_target, flow.cr_without_target) == (3, 1)
    assert flow.mrd_triggered_blinatumomab_referred == 1  # B
    assert flow.mrd_triggered_blinatumomab_given == 1  # B
    assert (flow.salvage_therapy, flow.salvage_indications) == (  # D
        1, (("Refractory after induction", 1),),
    )  # fmt: skip
    assert (flow.transplanted, flow.transplanted_in_cr1, flow.transplanted_mrd_triggered) == (
        2, 1, 1,
    )  # fmt: skip
    assert (flow.relapsed, flow.relapse_kinds) == (1, (("Molecular", 1),))
    assert (flow.second_malignancy, flow.died) == (0, 2)


def test_survival_of_the_hand_made_cohort(cohort_subjects, data_manager):
    survival = _report(data_manager).survival
    # OS, days from day 1: C died 365, D died 588; A 1096, B 1157, E 1096 censored.
    # S(365) = 4/5; S(588) = 4/5 * 3/4 = 3/5 = S(2 years = 730.5 days).
    overall = survival.overall
    assert (overall.subjects, overall.events) == (5, 2)
    assert overall.rate_at(24).estimate == pytest.approx(4 / 5 * 3 / 4)
    assert overall.rate_at(12).estimate == pytest.approx(4 / 5)  # C died on day 365 < 365.25
    assert overall.median_months is None
    # EFS: D refractory at 0, B relapse 365, C died 365; A, E censored (HSCT is no event).
    # S(0) = 4/5; S(365) = 4/5 * 2/4 = 2/5.
    event_free = survival.event_free
    assert event_free.events == 3
    assert event_free.rate_at(24).estimate == pytest.approx(4 / 5 * 2 / 4)
    # CIR in CR1 (A, B, C, E): B relapse at 365, C death in CR1 at 365 (competing), 4 at risk:
    # F = 1/4 whichever comes first.
    relapse = survival.relapse_in_cr1
    assert (relapse.subjects, relapse.events, relapse.competing_events) == (4, 1, 1)
    assert relapse.rate_at(12).estimate == pytest.approx(0.25)
    assert relapse.rate_at(24).estimate == pytest.approx(0.25)


def test_enrolment_by_site_of_the_hand_made_cohort(cohort_subjects, data_manager):
    enrolment = _report(data_manager).enrolment
    assert enrolment.months == ("2022-02", "2022-03", "2022-04", "2022-05", "2022-06", "2022-07")
    assert [(s.number, s.enrolled) for s in enrolment.sites] == [(1, 4), (2, 2)]
    assert enrolment.cumulative == ((0, 1, 2, 3, 4, 4), (1, 1, 1, 1, 1, 2))


def test_report_reuses_the_mrd_and_ae_pages_numbers(cohort_subjects, investigator_a):
    subject = cohort_subjects["A"]
    infusion_started_for(subject, by=investigator_a)
    serious_ae_for(subject, by=investigator_a)  # ALT increased, grade 3, day 14
    report = _report(investigator_a)
    assert list(report.mrd_by_timepoint) == cohort.cohort_for(investigator_a)
    rows, treated = safety_services.ae_summary_for(investigator_a)
    assert report.adverse_events.treated == treated == 1
    assert list(report.adverse_events.rows) == rows
    assert [(r.label, r.any_grade, r.severe) for r in rows] == [
        ("Hepatic impairment", 1, 1), ("ALT increased", 1, 1),  # the publication's label
    ]  # fmt: skip


def test_entered_in_error_records_are_left_out(cohort_subjects, data_manager, investigator_a):
    from audit.services import audited_save

    death = Death.objects.get(subject=cohort_subjects["C"])
    death.entered_in_error = True
    audited_save(death, user=investigator_a, reason="wrong patient")
    assert _report(data_manager).flow.died == 1


@pytest.mark.verifies("MR-4")
def test_flow_counts_mrd_triggered_blinatumomab_given_apart_from_referred(
    cohort_subjects, data_manager, investigator_a
):
    """MR-4, MR-5: a referral decision is not a treatment; the course records say what was
    given, and a course entered in error was not given."""
    from audit.services import audited_save

    course = MrdTriggeredBlinatumomab.objects.get(subject=cohort_subjects["B"])
    course.entered_in_error = True
    audited_save(course, user=investigator_a, reason="entered for the wrong patient")
    flow = _report(data_manager).flow
    assert (flow.mrd_triggered_blinatumomab_referred, flow.mrd_triggered_blinatumomab_given) == (
        1, 0,
    )  # fmt: skip
    # C: given (a course recorded) with no referral decision on file
    record_save(
        MrdTriggeredBlinatumomab(
            subject=cohort_subjects["C"], start_date=D(2022, 9, 1), cycles=1,
            dose_ug_per_day=Decimal(28), cd19_reconfirmed=True, cd19_date=D(2022, 8, 25),
        ),
        user=investigator_a,
    )  # fmt: skip
    flow = _report(data_manager).flow
    assert (flow.mrd_triggered_blinatumomab_referred, flow.mrd_triggered_blinatumomab_given) == (
        1, 1,
    )  # fmt: skip


def test_a_salvage_therapy_is_a_date_known_alive(cohort_subjects, data_manager, investigator_a):
    """DEFINITIONS["last_known_alive"]: a therapy running or ended after the last contact."""
    record_save(
        SalvageTherapy(subject=cohort_subjects["A"], start_date=D(2025, 5, 1),
                       regimen="car_t", indication="relapse"),
        user=investigator_a,
    )  # fmt: skip
    overall = _report(data_manager).survival.overall
    # A is censored on 2025-05-01 (1157 d) instead of 2025-03-01: still no event, same subjects
    assert (overall.subjects, overall.events) == (5, 2)
    records = report_selectors.patient_records(Subject.objects.filter(pk=cohort_subjects["A"].pk))
    assert records[0].last_known_alive == D(2025, 5, 1)
    assert records[0].salvage_indications == ("Relapse",)


# --- Pages, JSON and roles -------------------------------------------------------------------


def _json(client, user, url=None, **params):
    client.force_login(user)
    response = client.get(url or reverse("exports:report_json"), params)
    assert response.status_code == 200
    return response.json()


def test_json_of_the_hand_made_cohort(client, cohort_subjects, data_manager):
    data = _json(client, data_manager)
    endpoint = data["primary_endpoint"]
    assert (endpoint["mrd_negative"], endpoint["n"]) == (2, 3)
    assert endpoint["p_value_one_sided"] == pytest.approx(0.648)
    assert data["flow"]["enrolled"] == 6
    assert data["flow"]["mrd_triggered_blinatumomab_referred"] == 1
    assert data["flow"]["mrd_triggered_blinatumomab_given"] == 1
    assert data["flow"]["salvage_therapy"] == 1
    assert data["flow"]["salvage_therapy_indications"] == {"Refractory after induction": 1}
    assert data["survival"]["overall"]["rates"][1]["months"] == 24
    assert data["survival"]["overall"]["rates"][1]["estimate"] == pytest.approx(0.6)
    assert data["sites"] == [1, 2]


@pytest.mark.verifies("UR-ACC-01")
def test_investigator_sees_their_own_sites_only(client, cohort_subjects, investigator_a):
    data = _json(client, investigator_a)
    assert data["sites"] == [1]
    assert data["enrolment"]["total"] == 4
    assert data["table_1"]["total_evaluable"] == 4  # A-D
    assert data["flow"]["enrolled"] == 4
    assert client.get(reverse("exports:report_json"), {"site": 2}).status_code == 404
    assert client.get(reverse("exports:report"), {"site": 2}).status_code == 404
    page = client.get(reverse("exports:report_section", args=["enrolment"]))
    assert "Brno" not in page.content.decode()


def test_data_manager_narrows_to_one_site(client, cohort_subjects, data_manager):
    data = _json(client, data_manager, site=2)
    assert data["sites"] == [2]
    assert (data["flow"]["enrolled"], data["flow"]["withdrew_during_induction"]) == (2, 1)


def _identifiers(subjects) -> list[re.Pattern]:
    return [re.compile(rf"(?<![\w.-]){re.escape(s.study_id)}(?![\w.])") for s in subjects]


def _walk(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)
    else:
        yield value


@pytest.mark.verifies("UR-ACC-02")
def test_sponsor_sees_aggregates_without_identifiers(client, cohort_subjects, sponsor):
    subjects = cohort_subjects.values()
    client.force_login(sponsor)
    page = client.get(reverse("exports:report"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Total evaluable" in body
    raw = client.get(reverse("exports:report_json")).content.decode()
    for pattern in _identifiers(subjects):
        assert not pattern.search(body), pattern.pattern
        assert not pattern.search(raw), pattern.pattern
    values = list(_walk(json.loads(raw)))
    assert not {"study_id", "year_of_birth", "day1", "day1_date", "subject"} & set(values)
    assert not {1960, 1970, 1980, 1985, 1990, 2000} & {v for v in values if type(v) is int}
    assert "2022-03-01" not in raw and "2022-03-01" not in body  # no patient's dates


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.parametrize("role", [None, Role.MONITOR])
def test_who_may_see_reports(client, site_a, role):
    user = user_with_role(role, site_a) if role else user_with_role(Role.INVESTIGATOR, site_a)
    client.force_login(user)
    assert client.get(reverse("exports:report")).status_code == 200


@pytest.mark.verifies("UR-ACC-01", "UR-ACC-02")
def test_users_without_reach_are_refused(client, db):
    from tests.factories import UserFactory

    assert client.get(reverse("exports:report")).status_code == 302  # to the login page
    client.force_login(UserFactory())
    assert client.get(reverse("exports:report")).status_code == 403
    assert client.get(reverse("exports:report_json")).status_code == 403
    assert client.get(reverse("exports:report_plot", args=["os", "png"])).status_code == 403


def test_page_shows_every_section_and_embeds_svg(client, cohort_subjects, data_manager):
    client.force_login(data_manager)
    body = client.get(reverse("exports:report")).content.decode()
    for section in ("enrolment", "table-1", "primary-endpoint", "mrd", "adverse-events", "flow",
                    "survival"):  # fmt: skip
        assert f'id="{section}"' in body
    assert body.count("<svg") >= 5  # enrolment, flow, OS, EFS, CIR
    assert "2/3 = 66.7%" in body
    assert "p = 0.6480" in body
    assert "60% (95% CI" in body  # the 2-year OS
    assert reverse("exports:report_plot", args=["os", "png"]) in body


@pytest.mark.parametrize(
    ("section", "text"),
    [
        ("table-1", "Total evaluable"),
        ("primary-endpoint", "2/3 = 66.7%"),
        ("mrd", 'id="mrd-by-timepoint"'),
        ("adverse-events", 'id="report-ae-summary"'),
        ("flow", "Day-40 response assessed"),
        ("survival", "Event-free survival"),
    ],
)
def test_section_pages_and_json(client, cohort_subjects, data_manager, section, text):
    client.force_login(data_manager)
    page = client.get(reverse("exports:report_section", args=[section]))
    assert page.status_code == 200
    assert text in page.content.decode()
    data = client.get(reverse("exports:report_section_json", args=[section])).json()
    assert {"as_of", "definitions", "sites"} < set(data)
    # the section, when it was computed, whether it is being updated and which data it counts
    # (live, as of when), and nothing else
    assert {"computed_at", "being_updated", "data"} < set(data) and len(data) == 7
    assert set(data["data"]) == {"live_as_of"}


def test_flow_page_shows_referred_given_and_salvage(client, cohort_subjects, data_manager):
    client.force_login(data_manager)
    body = client.get(reverse("exports:report_section", args=["flow"])).content.decode()
    assert "MRD-triggered blinatumomab (MR-4, MR-5)" in body
    assert "Referred (referral decision with cycles planned)</td><td>1</td>" in body
    assert "Given (a course recorded)</td><td>1</td>" in body
    assert "<th>Salvage therapy</th><td>1 (refractory after induction 1)</td>" in body
    svg = client.get(reverse("exports:report_plot", args=["flow", "svg"])).content.decode()
    assert "given n = 1" in svg and "(referred 1)" in svg and "Salvage therapy" in svg


def test_command_summary_counts_referred_given_and_salvage(cohort_subjects, capsys):
    call_command("study_report")
    out = capsys.readouterr().out
    assert (
        "MRD-triggered blinatumomab: referred 1, given 1; salvage therapy 1 "
        "{'Refractory after induction': 1}"
    ) in out


def test_unknown_section_or_plot_is_404(client, data_manager, site_a):
    client.force_login(data_manager)
    assert client.get(reverse("exports:report_section", args=["nope"])).status_code == 404
    assert client.get(reverse("exports:report_plot", args=["nope", "png"])).status_code == 404
    assert client.get(reverse("exports:report_plot", args=["os", "gif"])).status_code == 404


@pytest.mark.parametrize("name", ["enrolment", "flow", "os", "efs", "cir"])
def test_plot_downloads(client, cohort_subjects, data_manager, name):
    client.force_login(data_manager)
    png = client.get(reverse("exports:report_plot", args=[name, "png"]))
    assert png.status_code == 200
    assert png["Content-Type"] == "image/png"
    assert png.content.startswith(PNG_MAGIC)
    assert png["Content-Disposition"].startswith("attachment;")
    svg = client.get(reverse("exports:report_plot", args=[name, "svg"]))
    assert svg["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.content


def test_plots_of_an_empty_study(client, data_manager, site_a):
    client.force_login(data_manager)
    for name in ("enrolment", "os", "cir"):
        response = client.get(reverse("exports:report_plot", args=[name, "png"]))
        assert response.content.startswith(PNG_MAGIC)
    assert client.get(reverse("exports:report")).status_code == 200


def _more_subjects(site, investigator, count: int):
    lab = user_with_role(Role.CENTRAL_LAB, None)
    for index in range(count):
        subject = enrol(site, by=investigator, day1_date=D(2023, 1, 2 + index))
        baseline_for(subject, by=investigator)
        day11_for(subject, by=investigator)
        _day40(subject, investigator, "CR")
        _w11(subject, investigator, lab, ("qpcr", *NEGATIVE))
        record_save(
            Relapse(subject=subject, relapse_date=D(2024, 1, 1), kind="cns"), user=investigator
        )
        _alive(subject, investigator, D(2025, 1, 1))


def test_page_query_count_does_not_grow_with_subjects(
    client, cohort_subjects, data_manager, site_a, investigator_a, django_assert_max_num_queries
):
    client.force_login(data_manager)
    url = reverse("exports:report")
    client.get(url)  # warm the session and caches
    with django_assert_max_num_queries(30):
        client.get(url)
    stored = StoredReport.objects.get(site_numbers="1,2")
    with CaptureQueriesContext(connection) as computed_before:
        stored_reports.compute(stored)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    _more_subjects(site_a, investigator_a, 4)
    # The worker's computation, and then the page that reads it, in as many queries as before.
    with CaptureQueriesContext(connection) as computed_after:
        stored_reports.compute(stored)
    with CaptureQueriesContext(connection) as after:
        response = client.get(url)
    assert response.context["stored"].report["flow"]["enrolled"] == 10
    assert len(after.captured_queries) == len(before.captured_queries)
    assert len(computed_after.captured_queries) == len(computed_before.captured_queries)


def test_command_json_equals_the_page_json(client, cohort_subjects, data_manager, capsys):
    call_command("study_report", "--json")
    from_command = json.loads(capsys.readouterr().out)
    from_page = _json(client, data_manager)
    assert from_command["primary_endpoint"] == from_page["primary_endpoint"]
    assert from_command["table_1"] == from_page["table_1"]
    assert mrd.Timepoint.W11 in [row["timepoint"] for row in from_command["mrd_by_timepoint"]]
