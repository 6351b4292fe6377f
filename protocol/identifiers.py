"""Subject identifiers in the trial's own form."""

# Blina-CELL study IDs are "<site number>-<two-digit sequence>", e.g. 2-05.
STUDY_ID_SEQUENCE_DIGITS = 2


def study_id(site_number: int, sequence: int) -> str:
    """The study ID of the `sequence`-th subject enrolled at site `site_number`.

    >>> study_id(2, 5)
    '2-05'
    """
    if site_number < 1 or sequence < 1:
        raise ValueError("site number and sequence start at 1")
    return f"{site_number}-{sequence:0{STUDY_ID_SEQUENCE_DIGITS}d}"


# Screening numbers are ours (the paper has none): "S<site>-<three-digit sequence>", e.g. S2-007.
SCREENING_SEQUENCE_DIGITS = 3


def screening_number(site_number: int, sequence: int) -> str:
    """The number of the `sequence`-th patient screened at site `site_number`.

    >>> screening_number(2, 7)
    'S2-007'
    """
    if site_number < 1 or sequence < 1:
        raise ValueError("site number and sequence start at 1")
    return f"S{site_number}-{sequence:0{SCREENING_SEQUENCE_DIGITS}d}"
