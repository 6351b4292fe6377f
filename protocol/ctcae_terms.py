"""The CTCAE v5.0 terms the Blina-CELL eCRF needs: MedDRA code, term, SOC and the grades each
term has (rules §5: a grade shown as "-" in CTCAE v5.0 does not exist for the term).

Source: NCI CTCAE v5.0 (27 November 2017). The grade texts and definitions stay in the NCI
list, loaded into the app with `manage.py import_ctcae FILE`; this module holds the terms of
the paper's Table 2 and those the protocol rules grade, so the app works without that file.
"""

from __future__ import annotations

from protocol.ctcae import CtcaeTerm, Direction, LabGrade, LabTest

BLOOD = "Blood and lymphatic system disorders"
IMMUNE = "Immune system disorders"
INFECTIONS = "Infections and infestations"
INVESTIGATIONS = "Investigations"
METABOLISM = "Metabolism and nutrition disorders"
MUSCULOSKELETAL = "Musculoskeletal and connective tissue disorders"
NERVOUS = "Nervous system disorders"
PSYCHIATRIC = "Psychiatric disorders"

_1_TO_3 = frozenset({1, 2, 3})
_1_TO_4 = frozenset({1, 2, 3, 4})
_1_TO_5 = frozenset({1, 2, 3, 4, 5})
_2_TO_5 = frozenset({2, 3, 4, 5})
_3_TO_5 = frozenset({3, 4, 5})

# Hepatic and other lab terms (Investigations)
BILIRUBIN_INCREASED = CtcaeTerm(10005364, "Blood bilirubin increased", INVESTIGATIONS, _1_TO_4)
ALT_INCREASED = CtcaeTerm(10001551, "Alanine aminotransferase increased", INVESTIGATIONS, _1_TO_4)
AST_INCREASED = CtcaeTerm(10003481, "Aspartate aminotransferase increased", INVESTIGATIONS, _1_TO_4)
GGT_INCREASED = CtcaeTerm(10056910, "GGT increased", INVESTIGATIONS, _1_TO_4)
ALP_INCREASED = CtcaeTerm(10001675, "Alkaline phosphatase increased", INVESTIGATIONS, _1_TO_4)
CREATININE_INCREASED = CtcaeTerm(10011368, "Creatinine increased", INVESTIGATIONS, _1_TO_4)
FIBRINOGEN_DECREASED = CtcaeTerm(10016596, "Fibrinogen decreased", INVESTIGATIONS, _1_TO_4)
NEUTROPHIL_COUNT_DECREASED = CtcaeTerm(
    10029366, "Neutrophil count decreased", INVESTIGATIONS, _1_TO_4
)
PLATELET_COUNT_DECREASED = CtcaeTerm(10035528, "Platelet count decreased", INVESTIGATIONS, _1_TO_4)
WBC_DECREASED = CtcaeTerm(10049182, "White blood cell decreased", INVESTIGATIONS, _1_TO_4)
LYMPHOCYTE_COUNT_DECREASED = CtcaeTerm(
    10025256, "Lymphocyte count decreased", INVESTIGATIONS, _1_TO_4
)

# Metabolism
HYPOPHOSPHATEMIA = CtcaeTerm(10021059, "Hypophosphatemia", METABOLISM, _1_TO_5)
HYPOALBUMINEMIA = CtcaeTerm(10020943, "Hypoalbuminemia", METABOLISM, _1_TO_5)
HYPERKALEMIA = CtcaeTerm(10020647, "Hyperkalemia", METABOLISM, _1_TO_5)
HYPOKALEMIA = CtcaeTerm(10021018, "Hypokalemia", METABOLISM, _1_TO_5)

# Blood
ANEMIA = CtcaeTerm(10002272, "Anemia", BLOOD, _1_TO_5)
FEBRILE_NEUTROPENIA = CtcaeTerm(10016288, "Febrile neutropenia", BLOOD, _3_TO_5)

# CRS: CTCAE v5.0 grades it too, but rules §6 grades it by ASTCT 2019 (protocol/astct.py)
CYTOKINE_RELEASE_SYNDROME = CtcaeTerm(10052015, "Cytokine release syndrome", IMMUNE, _1_TO_5)

# Infections
SOFT_TISSUE_INFECTION = CtcaeTerm(10062255, "Soft tissue infection", INFECTIONS, _2_TO_5)
CATHETER_RELATED_INFECTION = CtcaeTerm(10007810, "Catheter related infection", INFECTIONS, _2_TO_5)
DEVICE_RELATED_INFECTION = CtcaeTerm(10064687, "Device related infection", INFECTIONS, _2_TO_5)
SEPSIS = CtcaeTerm(10040047, "Sepsis", INFECTIONS, _3_TO_5)
LUNG_INFECTION = CtcaeTerm(10061229, "Lung infection", INFECTIONS, _2_TO_5)
URINARY_TRACT_INFECTION = CtcaeTerm(10046571, "Urinary tract infection", INFECTIONS, _2_TO_5)
UPPER_RESPIRATORY_INFECTION = CtcaeTerm(
    10046300, "Upper respiratory infection", INFECTIONS, _2_TO_5
)
SKIN_INFECTION = CtcaeTerm(10040872, "Skin infection", INFECTIONS, _1_TO_5)
ENTEROCOLITIS_INFECTIOUS = CtcaeTerm(10058838, "Enterocolitis infectious", INFECTIONS, _2_TO_5)
# CTCAE v5.0 (2017) predates COVID-19 and has no term for it: SARS-CoV-2 infection is reported
# here, with "COVID-19" (or the site's wording) as the specified text
INFECTIONS_OTHER = CtcaeTerm(
    10021881, "Infections and infestations - Other, specify", INFECTIONS, _1_TO_5
)

# Neurological events. CTCAE v5.0 has no ICANS term (it is graded by ASTCT 2019); a
# neurological event is reported under its own term, or "Nervous system disorders - Other"
PARESTHESIA = CtcaeTerm(10033987, "Paresthesia", NERVOUS, _1_TO_3)
ATAXIA = CtcaeTerm(10003591, "Ataxia", NERVOUS, _1_TO_3)
# the paper's "attention disturbance"
CONCENTRATION_IMPAIRMENT = CtcaeTerm(10010250, "Concentration impairment", NERVOUS, _1_TO_3)
ENCEPHALOPATHY = CtcaeTerm(10014625, "Encephalopathy", NERVOUS, _1_TO_5)
SEIZURE = CtcaeTerm(10039906, "Seizure", NERVOUS, _1_TO_5)
TREMOR = CtcaeTerm(10044565, "Tremor", NERVOUS, _1_TO_3)
SOMNOLENCE = CtcaeTerm(10041349, "Somnolence", NERVOUS, _1_TO_5)
# CTCAE v5.0 has no "Aphasia" term: aphasia is reported as dysphasia
DYSPHASIA = CtcaeTerm(10013951, "Dysphasia", NERVOUS, _1_TO_3)
HEADACHE = CtcaeTerm(10019211, "Headache", NERVOUS, _1_TO_3)
DIZZINESS = CtcaeTerm(10013573, "Dizziness", NERVOUS, _1_TO_3)
DEPRESSED_CONSCIOUSNESS = CtcaeTerm(10012373, "Depressed level of consciousness", NERVOUS, _1_TO_5)
NERVOUS_SYSTEM_OTHER = CtcaeTerm(
    10029205, "Nervous system disorders - Other, specify", NERVOUS, _1_TO_5
)
CONFUSION = CtcaeTerm(10010300, "Confusion", PSYCHIATRIC, _1_TO_4)
MUSCLE_CRAMP = CtcaeTerm(10028294, "Muscle cramp", MUSCULOSKELETAL, _1_TO_3)

TERMS: tuple[CtcaeTerm, ...] = (
    BILIRUBIN_INCREASED,
    ALT_INCREASED,
    AST_INCREASED,
    GGT_INCREASED,
    ALP_INCREASED,
    CREATININE_INCREASED,
    FIBRINOGEN_DECREASED,
    NEUTROPHIL_COUNT_DECREASED,
    PLATELET_COUNT_DECREASED,
    WBC_DECREASED,
    LYMPHOCYTE_COUNT_DECREASED,
    HYPOPHOSPHATEMIA,
    HYPOALBUMINEMIA,
    HYPERKALEMIA,
    HYPOKALEMIA,
    ANEMIA,
    FEBRILE_NEUTROPENIA,
    CYTOKINE_RELEASE_SYNDROME,
    SOFT_TISSUE_INFECTION,
    CATHETER_RELATED_INFECTION,
    DEVICE_RELATED_INFECTION,
    SEPSIS,
    LUNG_INFECTION,
    URINARY_TRACT_INFECTION,
    UPPER_RESPIRATORY_INFECTION,
    SKIN_INFECTION,
    ENTEROCOLITIS_INFECTIOUS,
    INFECTIONS_OTHER,
    PARESTHESIA,
    ATAXIA,
    CONCENTRATION_IMPAIRMENT,
    ENCEPHALOPATHY,
    SEIZURE,
    TREMOR,
    SOMNOLENCE,
    DYSPHASIA,
    HEADACHE,
    DIZZINESS,
    DEPRESSED_CONSCIOUSNESS,
    NERVOUS_SYSTEM_OTHER,
    CONFUSION,
    MUSCLE_CRAMP,
)
TERMS_BY_CODE: dict[int, CtcaeTerm] = {term.meddra_code: term for term in TERMS}

# The rows of the paper's Table 2 (non-haematologic adverse events) and their CTCAE v5.0 term
TABLE_2_TERMS: dict[str, CtcaeTerm] = {
    "Bilirubin increased": BILIRUBIN_INCREASED,
    "ALT increased": ALT_INCREASED,
    "AST increased": AST_INCREASED,
    "GGT increased": GGT_INCREASED,
    "Cytokine release syndrome": CYTOKINE_RELEASE_SYNDROME,
    "Febrile neutropenia": FEBRILE_NEUTROPENIA,
    "Soft tissue infection": SOFT_TISSUE_INFECTION,
    "Catheter-related infection": CATHETER_RELATED_INFECTION,
    "SARS-CoV-2 infection": INFECTIONS_OTHER,
    "Paresthesia": PARESTHESIA,
    "Ataxia": ATAXIA,
    "Attention disturbance": CONCENTRATION_IMPAIRMENT,
    "Muscle cramps": MUSCLE_CRAMP,
    "Hypophosphatemia": HYPOPHOSPHATEMIA,
    "Hypofibrinogenemia": FIBRINOGEN_DECREASED,
    "Hypoalbuminemia": HYPOALBUMINEMIA,
}

# MedDRA codes of the term for a value above (high) and below (low) normal, so that an
# abnormal lab value can pre-fill an adverse event; None = no term graded from this test
LAB_TERMS: dict[LabTest, tuple[int | None, int | None]] = {
    LabTest.ALT: (ALT_INCREASED.meddra_code, None),
    LabTest.AST: (AST_INCREASED.meddra_code, None),
    LabTest.BILIRUBIN: (BILIRUBIN_INCREASED.meddra_code, None),
    LabTest.GGT: (GGT_INCREASED.meddra_code, None),
    LabTest.ALP: (ALP_INCREASED.meddra_code, None),
    LabTest.NEUTROPHILS: (None, NEUTROPHIL_COUNT_DECREASED.meddra_code),
    LabTest.PLATELETS: (None, PLATELET_COUNT_DECREASED.meddra_code),
    LabTest.WBC: (None, WBC_DECREASED.meddra_code),
    LabTest.HAEMOGLOBIN: (None, ANEMIA.meddra_code),
    LabTest.FIBRINOGEN: (None, FIBRINOGEN_DECREASED.meddra_code),
    LabTest.ALBUMIN: (None, HYPOALBUMINEMIA.meddra_code),
    LabTest.PHOSPHATE: (None, HYPOPHOSPHATEMIA.meddra_code),
    LabTest.CREATININE: (CREATININE_INCREASED.meddra_code, None),
    LabTest.POTASSIUM: (HYPERKALEMIA.meddra_code, HYPOKALEMIA.meddra_code),
}


def lab_term(test: LabTest, lab_grade: LabGrade) -> CtcaeTerm | None:
    """The CTCAE term of an abnormal lab value; None when normal or when the test has no term
    on that side. `lab_grade` is grade_lab's, or recorded_lab_grade's for a stored grade: its
    direction picks the term, e.g. potassium above its ULN is Hyperkalemia, below its LLN
    Hypokalemia. The one place a lab value's term is decided."""
    if lab_grade.direction is None:
        return None
    high, low = LAB_TERMS[LabTest(test)]
    code = high if Direction(lab_grade.direction) is Direction.HIGH else low
    return None if code is None else TERMS_BY_CODE[code]


def search_terms(query: str, limit: int = 20) -> list[CtcaeTerm]:
    """Terms whose name or SOC contains `query` (case-insensitive), at most `limit`.

    Terms starting with the query come first, then terms containing it, then terms matched by
    their SOC only; alphabetical within each group. A blank query finds nothing.
    """
    if limit < 0:
        raise ValueError(f"The limit {limit} must be 0 or more.")
    needle = query.strip().casefold()
    if not needle:
        return []
    ranked: list[tuple[int, str, CtcaeTerm]] = []
    for term in TERMS:
        name = term.term.casefold()
        if name.startswith(needle):
            rank = 0
        elif needle in name:
            rank = 1
        elif needle in term.soc.casefold():
            rank = 2
        else:
            continue
        ranked.append((rank, name, term))
    ranked.sort(key=lambda row: (row[0], row[1]))
    return [term for _, _, term in ranked[:limit]]
