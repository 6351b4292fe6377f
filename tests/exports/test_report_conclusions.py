"""The report pages state what a trial statistician signs: the primary endpoint's hypotheses,
decision rule and conclusion; the median follow-up, events and numbers at risk under each
survival curve; Table 2 with the publication's labels, verbatim "other" infections and the
footnote's rows on request; the rounding rule under every report. The hand-made cohort of
tests/exports/test_reports.py, whose numbers are worked out there."""

import html as html_module
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from exports.models import StoredReport
from tests.exports import test_reports
from tests.factories import infusion_started_for, serious_ae_for

# The hand-made cohort and its data manager, as test_reports.py has them
cohort_subjects = test_reports.cohort_subjects

pytestmark = [pytest.mark.usefixtures("reports_computed"), pytest.mark.verifies("UR-REP-02")]

OTHER_INFECTION = "Infections and infestations - Other, specify"


def _page(client, user, section=None, **query) -> str:
    client.force_login(user)
    url = (
        reverse("exports:report_section", args=[section]) if section else reverse("exports:report")
    )
    return client.get(url, query).content.decode()


def _text(html: str) -> str:
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.mark.verifies("MR-3")
def test_primary_endpoint_page_states_hypotheses_rule_and_conclusion(
    client, cohort_subjects, data_manager
):
    text = _text(_page(client, data_manager, "primary-endpoint"))
    assert "H0: the rate of MRD negativity at week 11 is 60% or less" in text
    assert "Target (the rate the trial aimed at): 85%" in text
    assert (
        "The target is met when the one-sided exact binomial test rejects H0 (p ≤ 0.05) and "
        "the observed rate reaches 85%"
    ) in text
    # 2 of 3: P(X >= 2 | 3, 0.6) = 0.648
    assert (
        "Null hypothesis not rejected (p = 0.6480 > 0.05): the observed 66.7% is not "
        "significantly above 60%: target not met."
    ) in text
    data = client.get(reverse("exports:report_json")).json()["primary_endpoint"]
    assert (data["decision"], data["target_met"], data["alpha_one_sided"]) == (
        "null hypothesis not rejected", False, 0.05,
    )  # fmt: skip
    assert data["conclusion"].endswith("target not met.")
    assert data["hypotheses"].startswith("H0:") and data["decision_rule"].startswith("The target")


def test_survival_page_states_follow_up_events_and_numbers_at_risk(
    client, cohort_subjects, data_manager
):
    body = _page(client, data_manager, "survival")
    text = _text(body)
    # OS: A 1096, B 1157, E 1096 days alive; C 365, D 588 died. Reverse KM: the censorings at
    # 1096 (3 followed, 2 censored) take it to 1/3: median 1096 days = 36.0 months.
    assert re.search(
        r"Follow-up: median 36\.0 months \(95% CI [^)]*\), reverse Kaplan-Meier; minimum 36\.0, "
        r"maximum 38\.0 months \(3 patients alive at the last contact\)\.",
        text,
    )
    assert "OS: 2 deaths in 5 patients" in text
    assert "EFS: 3 events in 5 patients" in text
    assert (
        "Relapse in CR1: 1 relapse and 1 death without a prior relapse (competing) in 4 "
        "patients in CR at day 40"
    ) in text
    # Numbers at risk every 6 months (days 0, 182.6, 365.25 ...): C died on day 365
    table = re.search(r'<table[^>]*id="at-risk".*?</table>', body, re.S).group(0)
    assert "<th>0</th><th>6</th><th>12</th><th>18</th><th>24</th><th>30</th><th>36</th>" in table
    assert (
        "<th>Overall survival</th><td>5</td><td>5</td><td>4</td><td>4</td><td>3</td><td>3</td>"
        "<td>3</td>"
    ) in table
    # Under each figure: its events and numbers at risk
    figure = re.search(r'<figure[^>]*id="plot-os".*?</figure>', body, re.S).group(0)
    assert "OS: 2 deaths in 5 patients" in figure
    assert "<th>At risk</th><td>5</td><td>5</td><td>4</td>" in figure
    svg = client.get(reverse("exports:report_plot", args=["os", "svg"])).content.decode()
    assert "OS: 2 deaths in 5 patients" in svg
    survival = client.get(reverse("exports:report_json")).json()["survival"]
    assert survival["overall"]["events_text"] == "OS: 2 deaths in 5 patients"
    assert survival["follow_up"]["median_months"] == pytest.approx(1096 / (365.25 / 12))
    assert survival["follow_up"]["minimum_months"] == pytest.approx(1096 / (365.25 / 12))
    assert [r["n"] for r in survival["overall"]["at_risk"]] == [5, 5, 4, 4, 3, 3, 3]


@pytest.fixture
def adverse_events(cohort_subjects, investigator_a):
    a, b, c = cohort_subjects["A"], cohort_subjects["B"], cohort_subjects["C"]
    low = {"serious": False, "criterion_hospitalisation": False}
    for subject in (a, b, c):
        infusion_started_for(subject, by=investigator_a)
    serious_ae_for(a, by=investigator_a)  # ALT increased, grade 3
    serious_ae_for(a, by=investigator_a, term=OTHER_INFECTION, verbatim="Herpes zoster",
                   grade=2, **low)  # fmt: skip
    serious_ae_for(b, by=investigator_a, term=OTHER_INFECTION, verbatim="herpes zoster",
                   grade=1, **low)  # fmt: skip
    serious_ae_for(c, by=investigator_a, term=OTHER_INFECTION, verbatim="COVID-19",
                   grade=1, **low)  # fmt: skip
    serious_ae_for(b, by=investigator_a, term="Concentration impairment", grade=1, **low)


def _ae_labels(body: str) -> list[str]:
    table = re.search(r'<table[^>]*id="report-ae-summary".*?</table>', body, re.S).group(0)
    return [_text(cell).strip() for cell in re.findall(r"<tr[^>]*><td[^>]*>(.*?)</td>", table)]


@pytest.mark.verifies("UR-REP-01")
def test_table_2_has_the_publication_s_labels_and_other_infections_by_verbatim(
    client, adverse_events, data_manager
):
    body = _page(client, data_manager, "adverse-events", period="study")
    assert _ae_labels(body) == [
        "Hepatic impairment", "ALT increased",
        "Infection", "SARS-CoV-2 infection", "Herpes zoster †",
        "Neurologic adverse events", "Attention disturbance",
    ]  # fmt: skip
    assert "Rows shown: every adverse event recorded." in body
    assert "<th>Grade 5, N (%)</th>" in body


@pytest.mark.verifies("UR-REP-01")
def test_table_2_footnote_rows_on_request_from_the_stored_report(
    client, adverse_events, data_manager
):
    body = _page(client, data_manager, "adverse-events", period="study", ae_rows="publication")
    # Grade 3 ALT in one patient; herpes zoster grade 1-2 in two; not the single grade-1
    # SARS-CoV-2 infection or attention disturbance.
    assert _ae_labels(body) == [
        "Hepatic impairment", "ALT increased", "Infection", "Herpes zoster †",
    ]  # fmt: skip
    assert "Rows shown: the publication's footnote." in body
    assert "or of grade 1 or 2 in at least two patients" in body
    # both versions were stored by the worker, and the request computed nothing itself
    stored = StoredReport.objects.get(period="study")
    assert {"adverse-events", "adverse-events:publication"} <= set(stored.sections)
    data = client.get(reverse("exports:report_json"), {"period": "study"}).json()
    labels = [row["label"] for row in data["adverse_events"]["publication_rows"]]
    assert labels == ["Hepatic impairment", "ALT increased", "Infection", "Herpes zoster"]
    zoster = next(r for r in data["adverse_events"]["rows"] if r["label"] == "Herpes zoster")
    assert (zoster["verbatim_term"], zoster["grade_1_2"], zoster["grade_5"]) == (True, 2, 0)


def test_every_report_page_states_the_rounding_rule(client, cohort_subjects, data_manager):
    for section in (None, "table-1", "adverse-events", "survival"):
        body = _page(client, data_manager, section)
        assert 'id="report-rounding"' in body
        assert "rounded on its own to a whole number, halves up" in body
        assert "8 of 28 = 28.57% -&gt; 29%" in body  # escaped


def test_command_prints_the_conclusion_and_follow_up(cohort_subjects, capsys):
    call_command("study_report")
    out = capsys.readouterr().out
    assert "Conclusion: Null hypothesis not rejected (p = 0.6480 > 0.05)" in out
    assert "Follow-up: median 36.0 months" in out
    assert "OS: 2 deaths in 5 patients" in out
