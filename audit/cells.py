"""Text in a CSV cell: the one rule for every CSV the project writes (the export's files, the
audit trails, reports), neutralised against spreadsheet formulas.

A spreadsheet runs a cell that starts with = + - @ tab or carriage return. Such a cell gets an
apostrophe in front, also after any number of apostrophes (so that import_study can always take
exactly one off again, from "''=1" too). Only text cells pass through it: numbers, dates and
codes are written as they are.
"""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The same rule for cells PostgreSQL writes (exports/domains.py, exports/audit_sql.py).
FORMULA_REGEX = "^'*[=+@\t\r-]"  # tab and CR as the characters themselves
FORMULA_STARTS_SQL = "('=', '+', '-', '@', chr(9), chr(13))"


def text_cell(value: str) -> str:
    """Free text as a CSV cell: an apostrophe before a formula start."""
    if value.lstrip("'").startswith(FORMULA_START):
        return "'" + value
    return value


def text_from_cell(cell: str) -> str:
    """The inverse of text_cell (import_study reads the export's files with it)."""
    if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_START):
        return cell[1:]
    return cell
