"""Table 2 (rules §8, Table 2): any grade, grade 3-4 and grade 5, each patient once per row and
column, and in every column whose grade they had there."""

from decimal import Decimal

import pytest

from protocol.safety import CRS, HEPATIC, INFECTION, TABLE_2_CATEGORIES, AeFact, ae_summary

pytestmark = pytest.mark.verifies("UR-REP-01")

SEPSIS = "Sepsis"
LUNG = "Lung infection"


def _counts(events, treated=10) -> dict[str, tuple[int, int, int]]:
    """label -> (any grade, grade 3-4, grade 5)."""
    rows = ae_summary(events, treated=treated, categories=TABLE_2_CATEGORIES)
    return {r.label: (r.any_grade, r.severe, r.fatal) for r in rows}


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        pytest.param(
            [AeFact("1-01", SEPSIS, INFECTION, 4), AeFact("1-01", SEPSIS, INFECTION, 5)],
            {INFECTION: (1, 1, 1), SEPSIS: (1, 1, 1)},
            id="grade 4 and grade 5, same patient, same term: counted in 3-4 and in 5",
        ),
        pytest.param(
            [AeFact("1-01", SEPSIS, INFECTION, 5)],
            {INFECTION: (1, 0, 1), SEPSIS: (1, 0, 1)},
            id="grade 5 only: not in grade 3-4",
        ),
        pytest.param(
            [AeFact("1-01", LUNG, INFECTION, 3), AeFact("1-01", SEPSIS, INFECTION, 5)],
            {INFECTION: (1, 1, 1), LUNG: (1, 1, 0), SEPSIS: (1, 0, 1)},
            id="grade 3 in one term, grade 5 in another: the category has both, each term its own",
        ),
        pytest.param(
            [
                AeFact("1-01", SEPSIS, INFECTION, 4),
                AeFact("1-01", SEPSIS, INFECTION, 5),
                AeFact("1-02", SEPSIS, INFECTION, 3),
                AeFact("1-02", LUNG, INFECTION, 2),
            ],
            {INFECTION: (2, 2, 1), LUNG: (1, 0, 0), SEPSIS: (2, 2, 1)},
            id="two patients: one with grade 4 and 5, one with grade 3 and 2",
        ),
        pytest.param(
            [
                AeFact("1-01", SEPSIS, INFECTION, 5),
                AeFact("1-02", SEPSIS, INFECTION, 5),
                AeFact("1-02", SEPSIS, INFECTION, 4),
            ],
            {INFECTION: (2, 1, 2), SEPSIS: (2, 1, 2)},
            id="two patients with grade 5, one also with grade 4",
        ),
        pytest.param(
            [AeFact("1-01", SEPSIS, INFECTION, 2), AeFact("1-01", SEPSIS, INFECTION, 1)],
            {INFECTION: (1, 0, 0), SEPSIS: (1, 0, 0)},
            id="grades 1-2 only: in no severe column",
        ),
        pytest.param(
            [
                AeFact("1-01", SEPSIS, INFECTION, 4),
                AeFact("1-01", SEPSIS, INFECTION, 3),
                AeFact("1-01", SEPSIS, INFECTION, 5),
                AeFact("1-01", SEPSIS, INFECTION, 5),
            ],
            {INFECTION: (1, 1, 1), SEPSIS: (1, 1, 1)},
            id="several events of each grade: the patient still counts once per column",
        ),
        pytest.param(
            [AeFact("1-01", SEPSIS, INFECTION, 5), AeFact("1-01", "ALT increased", HEPATIC, 4)],
            {
                HEPATIC: (1, 1, 0),
                "ALT increased": (1, 1, 0),
                INFECTION: (1, 0, 1),
                SEPSIS: (1, 0, 1),
            },
            id="grade 4 and grade 5 in different categories: each category its own",
        ),
    ],
)
def test_table_2_counts_grade_3_4_and_grade_5(events, expected):
    assert _counts(events) == expected


def test_grade_5_has_its_percentage_of_the_treated():
    events = [
        AeFact("1-01", SEPSIS, INFECTION, 4),
        AeFact("1-01", SEPSIS, INFECTION, 5),
        AeFact("1-02", SEPSIS, INFECTION, 3),
        AeFact("1-03", "Cytokine release syndrome", CRS, 2),
    ]
    rows = {r.label: r for r in ae_summary(events, treated=8, categories=TABLE_2_CATEGORIES)}
    infection = rows[INFECTION]
    assert (infection.percent_any, infection.percent_severe, infection.percent_fatal) == (
        Decimal(25),
        Decimal(25),
        Decimal(13),  # 1 of 8 = 12.5, rounded half up
    )
    assert (rows[CRS].fatal, rows[CRS].percent_fatal) == (0, Decimal(0))


def test_no_treated_patient_gives_zero_percent():
    (row, _term) = ae_summary(
        [AeFact("1-01", SEPSIS, INFECTION, 5)], treated=0, categories=TABLE_2_CATEGORIES
    )
    assert (row.fatal, row.percent_fatal) == (1, Decimal(0))
