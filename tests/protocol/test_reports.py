"""protocol/reports.py: populations, Table 1, primary endpoint, flow and the time-to-event data
from plain patient records (no database)."""

import json
from datetime import date
from decimal import Decimal

import pytest

from protocol import mrd, reports
from protocol.reports import PatientRecord, RelapseEvent, TransplantEvent

pytestmark = pytest.mark.verifies("UR-REP-01")

NEG = mrd.MrdResult(mrd.ResultClass.NEGATIVE, sensitivity=Decimal("1E-5"))
NEG_POOR = mrd.MrdResult(mrd.ResultClass.NEGATIVE, sensitivity=Decimal("1E-3"))
PNQ = mrd.MrdResult(mrd.ResultClass.PNQ)
QUANT = mrd.MrdResult(mrd.ResultClass.QUANTIFIABLE, value=Decimal("2E-3"))
DAY1 = date(2022, 1, 1)


def patient(**values) -> PatientRecord:
    values.setdefault("site", 1)
    values.setdefault("day1", DAY1)
    values.setdefault("last_known_alive", date(2025, 1, 1))
    return PatientRecord(**values)


def w11(result) -> tuple:
    return ((mrd.Timepoint.W11, result),)


CHOICES = reports.Table1Choices(
    immunophenotypes=[("B-I", "B-I (pro-B)"), ("B-II", "B-II (common B)")],
    karyotypes=[("normal", "Normal"), ("t(9;22)", "t(9;22)")],
    cns_statuses=[("CNS1", "CNS1"), ("CNS2", "CNS2")],
)


def _rows(table) -> dict[str, str]:
    return {row.label: row.text for row in table.rows}


def test_table_1_counts_and_medians_of_evaluable_patients():
    patients = [
        patient(sex="M", age_years=41, immunophenotype="B-I", karyotype="normal",
                cns_status="CNS1", day11_blasts_percent=Decimal(50), day40_response="CR",
                leukocytes=Decimal("5.9"), ikzf1plus=True),
        patient(sex="F", age_years=19, immunophenotype="B-II", karyotype="normal",
                cns_status="CNS1", day11_blasts_percent=Decimal("50.1"),
                leukocytes=Decimal("0.6")),
        patient(sex="M", age_years=65, immunophenotype="B-II", karyotype="normal",
                cns_status="CNS1", day11_blasts_percent=Decimal(0), leukocytes=Decimal("67.7")),
        # withdrew before day 40: not evaluable, not in Table 1
        patient(sex="F", age_years=30, withdrawn_on=date(2022, 1, 20)),
    ]  # fmt: skip
    table = reports.table_1(patients, CHOICES)
    rows = _rows(table)
    assert table.total == 3
    assert rows["Total evaluable"] == "3"
    assert rows["Age (years)"] == "41 (19–65)"
    assert rows["Male / Female"] == "2 (67) / 1 (33)"
    assert rows["Leukocyte count in blood (×10⁹/L)"] == "5.9 (0.6–67.7)"
    assert rows["B-I (pro-B)"] == "1 (33)"
    assert rows["B-II (common B)"] == "2 (67)"
    assert rows["t(9;22)"] == "0"
    assert rows["IKZF1plus"] == "1 (33)"
    assert rows["Bone marrow blasts on day 11 (%)"] == "50 (0–50.1)"
    assert rows["≤ 50%"] == "2 (67)"  # BD-1: exactly 50% is in the <= 50% branch
    assert rows["> 50%"] == "1 (33)"
    assert "Not recorded" not in rows


def test_table_1_shows_what_is_not_recorded_yet():
    table = reports.table_1([patient(sex="M"), patient()], CHOICES)
    labels = [row.label for row in table.rows]
    assert labels.count("Not recorded") >= 3  # sex, immunophenotype, ... of the second
    assert _rows(table)["Bone marrow blasts (%)"] == "not recorded"


@pytest.mark.verifies("MR-3")
@pytest.mark.parametrize(
    ("results", "evaluable", "k", "n", "without"),
    [
        ([NEG, NEG, PNQ, QUANT], 4, 2, 4, 0),
        ([NEG, None], 2, 1, 1, 1),  # no week-11 result yet: not in the denominator
        ([NEG_POOR], 1, 0, 1, 0),  # sensitivity 1E-3 is not MRD negativity (MR-1)
        ([], 0, 0, 0, 0),
    ],
)
def test_primary_endpoint_counts(results, evaluable, k, n, without):
    patients = [
        patient(day40_response="CR", igtr_target=True, mrd=w11(result)) for result in results
    ]
    endpoint = reports.primary_endpoint(reports._week11(reports.mrd_by_timepoint(patients)))
    assert endpoint.evaluable == evaluable
    assert (endpoint.negativity.successes, endpoint.negativity.trials) == (k, n)
    assert endpoint.without_result == without
    assert endpoint.null_rate == 0.6


@pytest.mark.verifies("MR-3")
@pytest.mark.parametrize(
    ("response", "target", "counted"),
    [("CR", True, True), ("CRi", True, True), ("refractory", True, False), ("CR", False, False),
     (None, True, False)],
)  # fmt: skip
def test_primary_endpoint_population_is_cr_with_target(response, target, counted):
    patients = [patient(day40_response=response, igtr_target=target, mrd=w11(NEG))]
    rows = reports.mrd_by_timepoint(patients)
    assert reports._week11(rows).evaluable == int(counted)


def test_flow_counts_each_patient_once_per_box():
    patients = [
        patient(day40_response="CR", igtr_target=True, mrd=w11(NEG)),
        patient(day40_response="CR", igtr_target=True, mrd=w11(PNQ),
                mrd_triggered_blinatumomab_referred=True,
                mrd_triggered_blinatumomab_given=True,
                relapses=(RelapseEvent(date(2023, 1, 1), "Molecular"),
                          RelapseEvent(date(2023, 6, 1), "Haematological")),
                transplants=(TransplantEvent(date(2023, 3, 1), False, True),)),
        patient(day40_response="CRi", igtr_target=False,
                transplants=(TransplantEvent(date(2022, 8, 1), True, False),)),
        patient(day40_response="refractory", death_on=date(2023, 2, 1)),
        patient(withdrawn_on=date(2022, 1, 15)),
        patient(death_on=date(2022, 1, 30)),
        patient(),  # still in induction
    ]  # fmt: skip
    flow = reports.patient_flow(patients)
    assert (flow.enrolled, flow.withdrew_during_induction, flow.died_before_day40) == (7, 1, 1)
    assert (flow.awaiting_day40, flow.assessed_day40) == (1, 4)
    assert (flow.complete_remission, flow.refractory) == (3, 1)
    assert (flow.cr_with_target, flow.cr_without_target) == (2, 1)
    assert (flow.week11.negative, flow.week11.pnq, flow.week11.quantifiable) == (1, 1, 0)
    assert flow.mrd_triggered_blinatumomab_referred == 1
    assert flow.mrd_triggered_blinatumomab_given == 1
    assert (flow.salvage_therapy, flow.salvage_indications) == (0, ())
    assert (flow.transplanted, flow.transplanted_in_cr1, flow.transplanted_mrd_triggered) == (
        2, 1, 1,
    )  # fmt: skip
    assert flow.relapsed == 1  # the first relapse only
    assert flow.relapse_kinds == (("Molecular", 1),)
    assert flow.died == 2


# MR-4, MR-5: a referral is a decision, a course is a treatment; the flow counts them apart.
@pytest.mark.verifies("MR-4", "MR-5")
@pytest.mark.parametrize(
    ("treated", "referred", "given"),
    [
        ([], 0, 0),
        ([(False, False)], 0, 0),
        ([(True, False)], 1, 0),  # referred, not (yet) given
        ([(False, True)], 0, 1),  # given without a referral decision on file
        ([(True, True)], 1, 1),
        ([(True, True), (True, False), (False, True), (False, False)], 2, 2),
    ],
)
def test_flow_counts_mrd_triggered_blinatumomab_referred_and_given_apart(treated, referred, given):
    patients = [
        patient(day40_response="CR", igtr_target=True, mrd_triggered_blinatumomab_referred=r,
                mrd_triggered_blinatumomab_given=g)
        for r, g in treated
    ]  # fmt: skip
    flow = reports.patient_flow(patients)
    assert flow.mrd_triggered_blinatumomab_referred == referred
    assert flow.mrd_triggered_blinatumomab_given == given


@pytest.mark.parametrize(
    ("indications", "patients_with", "by_indication"),
    [
        ([()], 0, ()),
        ([("Relapse",)], 1, (("Relapse", 1),)),
        # a patient is counted once, and once per indication
        ([("Relapse", "Relapse")], 1, (("Relapse", 1),)),
        ([("Refractory after induction", "Relapse"), ("Relapse",), ()], 2,
         (("Refractory after induction", 1), ("Relapse", 2))),
    ],
)  # fmt: skip
def test_flow_counts_patients_with_salvage_therapy(indications, patients_with, by_indication):
    flow = reports.patient_flow([patient(salvage_indications=i) for i in indications])
    assert flow.salvage_therapy == patients_with
    assert flow.salvage_indications == by_indication


def test_overall_survival_data():
    patients = [
        patient(death_on=date(2022, 4, 11), last_known_alive=date(2022, 4, 1)),
        patient(last_known_alive=date(2023, 1, 1)),
        patient(withdrawn_on=date(2022, 1, 10)),  # not evaluable
    ]
    assert reports.overall_survival_data(patients) == ([100, 365], [True, False])


def test_event_free_survival_data_first_event_and_refractory_at_time_zero():
    patients = [
        patient(day40_response="refractory", death_on=date(2023, 1, 1)),  # event at 0
        patient(day40_response="CR", relapses=(RelapseEvent(date(2022, 4, 11), "CNS"),),
                death_on=date(2022, 12, 1)),  # relapse first: 100 days
        patient(day40_response="CR", second_malignancies=(date(2022, 2, 1),)),  # 31 days
        patient(day40_response="CR", death_on=date(2022, 1, 21)),  # 20 days
        patient(day40_response="CR", transplants=(TransplantEvent(date(2022, 6, 1), True, False),),
                last_known_alive=date(2023, 1, 1)),  # HSCT is no event: censored at 365
    ]  # fmt: skip
    assert reports.event_free_survival_data(patients) == (
        [0, 100, 31, 20, 365],
        [True, True, True, True, False],
    )


def test_relapse_in_cr1_data_with_death_as_competing_event():
    patients = [
        patient(day40_response="CR", relapses=(RelapseEvent(date(2022, 4, 11), "Molecular"),),
                death_on=date(2022, 12, 1)),  # relapse, then death: relapse
        patient(day40_response="CRi", death_on=date(2022, 2, 1)),  # death in CR1: competing
        patient(day40_response="CR", last_known_alive=date(2023, 1, 1)),  # censored
        patient(day40_response="refractory", relapses=(RelapseEvent(date(2022, 3, 1), "CNS"),)),
        patient(),  # no day-40 response: not in CR1
    ]  # fmt: skip
    assert reports.relapse_in_cr1_data(patients) == ([100, 31, 365], [1, 2, 0])


def test_enrolment_by_site_cumulative_by_month():
    patients = [
        patient(site=1, day1=date(2021, 11, 3)),
        patient(site=2, day1=date(2022, 1, 20)),
        patient(site=1, day1=date(2022, 1, 2)),
    ]
    enrolment = reports.enrolment_by_site(patients, [(1, "Prague"), (2, "Brno"), (3, "Ostrava")])
    assert enrolment.months == ("2021-11", "2021-12", "2022-01")
    assert enrolment.cumulative == ((1, 1, 2), (0, 0, 1), (0, 0, 0))
    assert enrolment.total_cumulative == (1, 1, 3)
    assert [(s.number, s.enrolled, s.first_month) for s in enrolment.sites] == [
        (1, 2, "2021-11"), (2, 1, "2022-01"), (3, 0, None),
    ]  # fmt: skip


def test_report_json_is_aggregate_and_serialisable():
    patients = [
        patient(day40_response="CR", igtr_target=True, mrd=w11(NEG), sex="F", age_years=33),
        patient(day40_response="refractory", death_on=date(2022, 6, 1), sex="M", age_years=50,
                salvage_indications=("Refractory after induction",)),
    ]  # fmt: skip
    report = reports.study_report(
        patients,
        sites=[(1, "Prague")],
        choices=CHOICES,
        adverse_events=reports.AdverseEvents("infusion", 0, ()),
        as_of=date(2026, 1, 1),
    )
    data = json.loads(json.dumps(reports.report_json(report)))
    assert data["primary_endpoint"]["n"] == 1
    assert data["flow"]["refractory"] == 1
    assert {
        key: data["flow"][key]
        for key in (
            "mrd_triggered_blinatumomab_referred", "mrd_triggered_blinatumomab_given",
            "salvage_therapy", "salvage_therapy_indications",
        )
    } == {
        "mrd_triggered_blinatumomab_referred": 0, "mrd_triggered_blinatumomab_given": 0,
        "salvage_therapy": 1, "salvage_therapy_indications": {"Refractory after induction": 1},
    }  # fmt: skip
    assert "mrd_triggered_blinatumomab" not in data["flow"]  # referred or given: say which
    assert set(data) == {
        "as_of", "definitions", "enrolment", "table_1", "primary_endpoint", "mrd_by_timepoint",
        "adverse_events", "flow", "survival", "counts_only",
    }  # fmt: skip
    assert data["counts_only"] == ""
