from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from protocol.safety import (
    CRS,
    HEPATIC,
    INFECTION,
    LABORATORY,
    NEUROLOGIC,
    OTHER,
    TABLE_2_CATEGORIES,
    AeFact,
    SeriousCriterion,
    ae_category,
    ae_summary,
    sae_errors,
    site_report_due,
    site_report_overdue,
    susar_due,
)

pytestmark = pytest.mark.verifies("UR-SAF-01")

AWARE = datetime(2026, 3, 10, 14, 0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"serious": True, "criteria": []}, "serious"),
        ({"serious": False, "criteria": [SeriousCriterion.HOSPITALISATION]}, "serious"),
        ({"grade": 5, "fatal_outcome": False}, "outcome"),
        ({"grade": 3, "fatal_outcome": True}, "grade"),
        ({"onset": date(2026, 3, 10), "end": date(2026, 3, 9)}, "end_date"),
    ],
)
def test_sae_errors(kwargs, field):
    values = dict(serious=False, criteria=[], grade=2, fatal_outcome=False, onset=None, end=None)
    values.update(kwargs)
    assert field in sae_errors(**values)


def test_valid_sae_has_no_error():
    assert (
        sae_errors(
            serious=True,
            criteria=[SeriousCriterion.DEATH],
            grade=5,
            fatal_outcome=True,
            onset=date(2026, 3, 10),
            end=date(2026, 3, 10),
        )
        == {}
    )


@pytest.mark.verifies("SA-1")
@pytest.mark.parametrize(
    ("notified", "now", "overdue"),
    [
        (None, AWARE + timedelta(hours=24), False),
        (None, AWARE + timedelta(hours=24, minutes=1), True),
        (AWARE + timedelta(hours=23), AWARE + timedelta(days=5), False),
        (AWARE + timedelta(hours=25), AWARE + timedelta(days=5), True),
    ],
)
def test_sa1_clock(notified, now, overdue):
    assert site_report_due(AWARE) == AWARE + timedelta(hours=24)
    assert site_report_overdue(AWARE, notified, now) is overdue


@pytest.mark.verifies("SA-2")
@pytest.mark.parametrize(("fatal", "due"), [(True, date(2026, 3, 17)), (False, date(2026, 3, 25))])
def test_sa2_susar_due(fatal, due):
    assert susar_due(date(2026, 3, 10), fatal_or_life_threatening=fatal) == due


@pytest.mark.verifies("UR-REP-01")
@pytest.mark.parametrize(
    ("term", "soc", "category"),
    [
        ("Alanine aminotransferase increased", "Investigations", HEPATIC),
        ("Cytokine release syndrome", "Immune system disorders", CRS),
        ("Febrile neutropenia", "Blood and lymphatic system disorders", INFECTION),
        ("Soft tissue infection", "Infections and infestations", INFECTION),
        ("Paresthesia", "Nervous system disorders", NEUROLOGIC),
        ("Muscle cramp", "Musculoskeletal and connective tissue disorders", NEUROLOGIC),
        ("Hypophosphatemia", "Metabolism and nutrition disorders", LABORATORY),
        ("Nausea", "Gastrointestinal disorders", OTHER),
    ],
)
def test_ae_category(term, soc, category):
    assert ae_category(term, soc) == category


@pytest.mark.verifies("UR-REP-01")
def test_summary_counts_a_subject_once_per_term_at_the_worst_grade():
    events = [
        AeFact("1-01", "ALT increased", HEPATIC, 2),
        AeFact("1-01", "ALT increased", HEPATIC, 3),  # same subject again, worse
        AeFact("1-01", "AST increased", HEPATIC, 1),
        AeFact("1-02", "ALT increased", HEPATIC, 1),
        AeFact("1-03", "Cytokine release syndrome", CRS, 4),
    ]
    rows = {r.label: r for r in ae_summary(events, treated=4, categories=TABLE_2_CATEGORIES)}
    assert (rows[HEPATIC].any_grade, rows[HEPATIC].severe) == (2, 1)
    assert (rows["ALT increased"].any_grade, rows["ALT increased"].severe) == (2, 1)
    assert rows["ALT increased"].percent_any == Decimal(50)
    assert (rows["AST increased"].any_grade, rows["AST increased"].severe) == (1, 0)
    assert rows[CRS].percent_severe == Decimal(25)
    assert INFECTION not in rows
    labels = [r.label for r in ae_summary(events, treated=4, categories=TABLE_2_CATEGORIES)]
    # The CRS term row would only repeat its category row.
    assert labels == [HEPATIC, "ALT increased", "AST increased", CRS]
