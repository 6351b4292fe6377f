"""The CTCAE v5.0 terms of the trial (protocol/ctcae_terms.py) against the NCI list."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from protocol.ctcae import (
    CtcaeTerm,
    LabGrade,
    LabTest,
    grade_error,
    grade_lab,
    recorded_lab_grade,
)
from protocol.ctcae_terms import (
    INFECTIONS_OTHER,
    LAB_TERMS,
    TABLE_2_TERMS,
    TERMS,
    TERMS_BY_CODE,
    lab_term,
    search_terms,
)

pytestmark = pytest.mark.verifies("UR-SAF-01")

# The reference list is shared beside the repository and read by tests only
REFERENCE = Path(__file__).parents[3] / "shared" / "reference" / "ctcae-v5.0-terms.json"

# The rows of the paper's Table 2 (non-haematologic adverse events), and the CTCAE v5.0 term
# each is reported under
PAPER_TABLE_2 = {
    "Bilirubin increased": "Blood bilirubin increased",
    "ALT increased": "Alanine aminotransferase increased",
    "AST increased": "Aspartate aminotransferase increased",
    "GGT increased": "GGT increased",
    "Cytokine release syndrome": "Cytokine release syndrome",
    "Febrile neutropenia": "Febrile neutropenia",
    "Soft tissue infection": "Soft tissue infection",
    "Catheter-related infection": "Catheter related infection",
    "SARS-CoV-2 infection": "Infections and infestations - Other, specify",
    "Paresthesia": "Paresthesia",
    "Ataxia": "Ataxia",
    "Attention disturbance": "Concentration impairment",
    "Muscle cramps": "Muscle cramp",
    "Hypophosphatemia": "Hypophosphatemia",
    "Hypofibrinogenemia": "Fibrinogen decreased",
    "Hypoalbuminemia": "Hypoalbuminemia",
}

# Terms the brief and the protocol rules need besides Table 2
OTHER_NEEDED = [
    "Encephalopathy",
    "Seizure",
    "Tremor",
    "Somnolence",
    "Confusion",
    "Dysphasia",
    "Headache",
    "Dizziness",
    "Depressed level of consciousness",
    "Nervous system disorders - Other, specify",
    "Sepsis",
    "Lung infection",
    "Urinary tract infection",
    "Upper respiratory infection",
    "Device related infection",
    "Skin infection",
    "Enterocolitis infectious",
    "Anemia",
    "Neutrophil count decreased",
    "Platelet count decreased",
    "White blood cell decreased",
    "Lymphocyte count decreased",
    "Alkaline phosphatase increased",
    "Creatinine increased",
    "Hyperkalemia",
    "Hypokalemia",
]

BY_NAME = {term.term: term for term in TERMS}


@pytest.fixture(scope="module")
def reference() -> dict[int, dict]:
    if not REFERENCE.is_file():
        pytest.skip(f"the NCI CTCAE v5.0 reference list is not at {REFERENCE}")
    data = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert data["ctcae_version"] == "5.0"
    return {entry["id"]: entry for entry in data["terms"]}


def reference_grades(entry: dict) -> frozenset[int]:
    """rules §5: a grade shown as "-" does not exist for the term."""
    return frozenset(
        grade for grade in range(1, 6) if entry[f"Grade {grade}"].strip() not in ("-", "")
    )


@pytest.mark.parametrize("term", TERMS, ids=lambda term: term.term)
def test_term_matches_the_reference(term, reference):
    entry = reference.get(term.meddra_code)
    assert entry is not None, f"{term.term}: MedDRA code {term.meddra_code} not in CTCAE v5.0"
    assert (term.term, term.soc, term.grades) == (
        entry["CTCAE Term"],
        entry["MedDRA SOC"],
        reference_grades(entry),
    )


def test_codes_and_names_are_unique():
    assert len(TERMS_BY_CODE) == len(TERMS)
    assert len(BY_NAME) == len(TERMS)
    assert all(TERMS_BY_CODE[term.meddra_code] is term for term in TERMS)


@pytest.mark.verifies("UR-REP-01")
@pytest.mark.parametrize(("row", "term_name"), PAPER_TABLE_2.items())
def test_every_table_2_row_has_its_term(row, term_name):
    assert TABLE_2_TERMS[row].term == term_name
    assert TERMS_BY_CODE[TABLE_2_TERMS[row].meddra_code] is TABLE_2_TERMS[row]


@pytest.mark.verifies("UR-REP-01")
def test_table_2_has_exactly_the_paper_rows():
    assert list(TABLE_2_TERMS) == list(PAPER_TABLE_2)


def test_covid_goes_under_infections_other_because_ctcae_5_has_no_covid_term():
    assert TABLE_2_TERMS["SARS-CoV-2 infection"] is INFECTIONS_OTHER
    assert not [term for term in TERMS if "covid" in term.term.casefold()]


@pytest.mark.parametrize("name", OTHER_NEEDED)
def test_other_needed_terms_are_present(name):
    assert name in BY_NAME


def test_ctcae_5_has_no_icans_term():
    assert not search_terms("immune effector")
    assert not search_terms("ICANS")


@pytest.mark.parametrize(
    ("name", "grade", "error"),
    [
        ("Hypophosphatemia", 5, None),
        ("Hypophosphatemia", 6, "Hypophosphatemia has no grade 6 in CTCAE v5.0; choose 1–5."),
        ("Alanine aminotransferase increased", 4, None),
        (
            "Alanine aminotransferase increased",
            5,
            "Alanine aminotransferase increased has no grade 5 in CTCAE v5.0; choose 1–4.",
        ),
        ("Febrile neutropenia", 1, "Febrile neutropenia has no grade 1 in CTCAE v5.0; choose 3–5."),
        ("Sepsis", 2, "Sepsis has no grade 2 in CTCAE v5.0; choose 3–5."),
        ("Paresthesia", 4, "Paresthesia has no grade 4 in CTCAE v5.0; choose 1–3."),
        ("Muscle cramp", 3, None),
        ("Confusion", 5, "Confusion has no grade 5 in CTCAE v5.0; choose 1–4."),
        (
            "Soft tissue infection",
            1,
            "Soft tissue infection has no grade 1 in CTCAE v5.0; choose 2–5.",
        ),
    ],
)
def test_grade_error_on_trial_terms(name, grade, error):
    assert grade_error(BY_NAME[name], grade) == error


# --- LAB_TERMS --------------------------------------------------------------------------------


@pytest.mark.verifies("UR-LAB-01")
def test_every_lab_test_has_its_terms():
    assert set(LAB_TERMS) == set(LabTest)
    for high, low in LAB_TERMS.values():
        assert high is not None or low is not None
        for code in (high, low):
            assert code is None or code in TERMS_BY_CODE


@pytest.mark.verifies("UR-LAB-01")
@pytest.mark.parametrize(
    ("test", "high", "low"),
    [
        (LabTest.ALT, "Alanine aminotransferase increased", None),
        (LabTest.AST, "Aspartate aminotransferase increased", None),
        (LabTest.BILIRUBIN, "Blood bilirubin increased", None),
        (LabTest.GGT, "GGT increased", None),
        (LabTest.ALP, "Alkaline phosphatase increased", None),
        (LabTest.CREATININE, "Creatinine increased", None),
        (LabTest.NEUTROPHILS, None, "Neutrophil count decreased"),
        (LabTest.PLATELETS, None, "Platelet count decreased"),
        (LabTest.WBC, None, "White blood cell decreased"),
        (LabTest.HAEMOGLOBIN, None, "Anemia"),
        (LabTest.FIBRINOGEN, None, "Fibrinogen decreased"),
        (LabTest.ALBUMIN, None, "Hypoalbuminemia"),
        (LabTest.PHOSPHATE, None, "Hypophosphatemia"),
        (LabTest.POTASSIUM, "Hyperkalemia", "Hypokalemia"),
    ],
)
def test_lab_terms(test, high, low):
    names = tuple(None if code is None else TERMS_BY_CODE[code].term for code in LAB_TERMS[test])
    assert names == (high, low)


@pytest.mark.verifies("UR-LAB-01")
@pytest.mark.parametrize(
    ("test", "value", "limits", "term"),
    [
        (LabTest.ALT, "250", {"uln": Decimal(40)}, "Alanine aminotransferase increased"),
        (LabTest.ALT, "30", {"uln": Decimal(40)}, None),
        (LabTest.POTASSIUM, "6.2", {"uln": Decimal(5), "lln": Decimal("3.5")}, "Hyperkalemia"),
        (LabTest.POTASSIUM, "2.8", {"uln": Decimal(5), "lln": Decimal("3.5")}, "Hypokalemia"),
        (LabTest.POTASSIUM, "4.0", {"uln": Decimal(5), "lln": Decimal("3.5")}, None),
        (LabTest.PLATELETS, "20", {"lln": Decimal(150)}, "Platelet count decreased"),
        (LabTest.PHOSPHATE, "0.4", {"lln": Decimal("0.8")}, "Hypophosphatemia"),
    ],
)
def test_lab_term_of_a_graded_value(test, value, limits, term):
    found = lab_term(test, grade_lab(test, Decimal(value), **limits))
    assert (None if found is None else found.term) == term


@pytest.mark.verifies("UR-LAB-01")
def test_lab_term_without_a_term_for_that_direction():
    # a high direction for platelets has no term here: nothing to pre-fill
    assert lab_term(LabTest.PLATELETS, LabGrade(1, direction="high")) is None


K = {"uln": Decimal(5), "lln": Decimal("3.5")}


# A grade stored without its direction (a lab value's grade column) gives back the same term
@pytest.mark.verifies("UR-LAB-01")
@pytest.mark.parametrize(
    ("test", "grade", "value", "limits", "term"),
    [
        (LabTest.POTASSIUM, 3, "6.2", K, "Hyperkalemia"),
        (LabTest.POTASSIUM, 1, "5.1", K, "Hyperkalemia"),
        (LabTest.POTASSIUM, 3, "2.8", K, "Hypokalemia"),
        (LabTest.POTASSIUM, 1, "3.4", K, "Hypokalemia"),
        (LabTest.POTASSIUM, 0, "4.0", K, None),
        (LabTest.POTASSIUM, 0, "5.0", K, None),  # on the ULN: normal
        (LabTest.POTASSIUM, 0, "3.5", K, None),  # on the LLN: normal
        (LabTest.ALT, 3, "250", {"uln": Decimal(40)}, "Alanine aminotransferase increased"),
        # graded in multiples of an abnormal baseline: still the term above normal
        (LabTest.ALT, 1, "100", {"uln": Decimal(40)}, "Alanine aminotransferase increased"),
        (LabTest.ALT, 0, "30", {"uln": Decimal(40)}, None),
        (LabTest.CREATININE, 2, "200", {"uln": Decimal(100)}, "Creatinine increased"),
        (LabTest.PLATELETS, 4, "20", {"lln": Decimal(150)}, "Platelet count decreased"),
        (LabTest.FIBRINOGEN, 1, "1.5", {"lln": Decimal(2)}, "Fibrinogen decreased"),
        (LabTest.PHOSPHATE, None, "0.4", {"lln": Decimal("0.8")}, "Hypophosphatemia"),
        (LabTest.PHOSPHATE, None, "1.0", {"lln": Decimal("0.8")}, None),
    ],
)
def test_lab_term_of_a_recorded_grade(test, grade, value, limits, term):
    found = lab_term(test, recorded_lab_grade(test, grade, Decimal(value), **limits))
    assert (None if found is None else found.term) == term


@pytest.mark.verifies("UR-LAB-01")
@pytest.mark.parametrize(
    ("test", "limits"),
    [
        (LabTest.POTASSIUM, K),
        (LabTest.ALT, {"uln": Decimal(40)}),
        (LabTest.CREATININE, {"uln": Decimal(100)}),
        (LabTest.NEUTROPHILS, {"lln": Decimal("1.8")}),
        (LabTest.HAEMOGLOBIN, {"lln": Decimal(120)}),
        (LabTest.FIBRINOGEN, {"lln": Decimal(2)}),
        (LabTest.PHOSPHATE, {"lln": Decimal("0.8")}),
    ],
)
def test_a_recorded_grade_has_the_direction_grade_lab_gave(test, limits):
    for tenth in range(0, 1000, 7):
        value = Decimal(tenth) / 10
        graded = grade_lab(test, value, **limits)
        recorded = recorded_lab_grade(test, graded.grade, value, **limits)
        assert recorded.direction == graded.direction, value
        assert lab_term(test, recorded) == lab_term(test, graded), value


# --- search_terms -----------------------------------------------------------------------------


def names(terms: list[CtcaeTerm]) -> list[str]:
    return [term.term for term in terms]


def test_search_puts_terms_starting_with_the_query_first():
    assert names(search_terms("se")) == [
        # starting with "se", alphabetical
        "Seizure",
        "Sepsis",
        # containing "se" elsewhere
        "Alanine aminotransferase increased",
        "Alkaline phosphatase increased",
        "Aspartate aminotransferase increased",
        "Blood bilirubin increased",
        "Creatinine increased",
        "Cytokine release syndrome",
        "Depressed level of consciousness",
        "Fibrinogen decreased",
        "GGT increased",
        "Lymphocyte count decreased",
        "Neutrophil count decreased",
        "Platelet count decreased",
        "White blood cell decreased",
    ]


def test_search_matches_the_soc_after_the_term():
    found = names(search_terms("infection"))
    infections_soc_only = "Sepsis"  # its name does not contain "infection"
    assert found.index(infections_soc_only) > found.index("Urinary tract infection")
    assert found[:1] == ["Infections and infestations - Other, specify"]  # starts with it
    assert "Enterocolitis infectious" in found  # SOC match


def test_search_is_case_insensitive_and_trims():
    assert names(search_terms("  HYPO")) == ["Hypoalbuminemia", "Hypokalemia", "Hypophosphatemia"]
    assert names(search_terms("psychiatric")) == ["Confusion"]


@pytest.mark.parametrize(("limit", "count"), [(0, 0), (1, 1), (3, 3), (20, 15)])
def test_search_limit(limit, count):
    assert len(search_terms("se", limit=limit)) == count


def test_search_default_limit_is_20():
    assert len(search_terms("e")) == 20


@pytest.mark.parametrize("query", ["", "   ", "xyzzy"])
def test_search_finds_nothing(query):
    assert search_terms(query) == []


def test_search_refuses_a_negative_limit():
    with pytest.raises(ValueError, match="limit -1"):
        search_terms("se", limit=-1)
