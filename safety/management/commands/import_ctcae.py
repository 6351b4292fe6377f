"""Load the full NCI CTCAE v5.0 term list from the NCI distribution converted to JSON or CSV.

    python manage.py import_ctcae FILE.json|FILE.csv

JSON: {"terms": [{"id": MedDRA code, "MedDRA SOC": ..., "CTCAE Term": ..., "Grade 1": ...,
..., "Grade 5": ...}, ...]} (or a bare list); CSV: the same columns. A grade whose text is "-"
does not exist for the term. Every row is checked first; on any error nothing is saved.
"""

import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from safety.models import CtcaeTerm

GRADE_COLUMNS = [f"Grade {n}" for n in range(1, 6)]


def _rows(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        data = json.loads(text)
        return data["terms"] if isinstance(data, dict) else data
    return list(csv.DictReader(text.splitlines()))


def parse_terms(rows: list[dict]) -> tuple[list[CtcaeTerm], list[str]]:
    terms, errors, seen = [], [], set()
    for number, row in enumerate(rows, start=1):
        code_text = str(row.get("id") or row.get("MedDRA Code") or "").strip()
        term = (row.get("CTCAE Term") or "").strip()
        soc = (row.get("MedDRA SOC") or "").strip()
        if not code_text.isdigit():
            errors.append(f"row {number}: MedDRA code {code_text!r} is not a number")
            continue
        code = int(code_text)
        if code in seen:
            errors.append(f"row {number}: MedDRA code {code} appears twice")
        seen.add(code)
        if not term or not soc:
            errors.append(f"row {number}: the term and its SOC are required")
        grades = [
            str(n)
            for n, column in enumerate(GRADE_COLUMNS, start=1)
            if (row.get(column) or "").strip() not in ("", "-")
        ]
        if not grades:
            errors.append(f"row {number} ({term}): no grade exists")
        terms.append(CtcaeTerm(meddra_code=code, term=term, soc=soc, grades=",".join(grades)))
    return terms, errors


class Command(BaseCommand):
    help = "Load the NCI CTCAE v5.0 term list (JSON or CSV). All or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        if not file.exists():
            raise CommandError(f"{file}: no such file")
        try:
            rows = _rows(file)
        except (ValueError, KeyError, UnicodeDecodeError) as error:
            raise CommandError(f"{file}: not a CTCAE JSON or CSV file ({error})") from None
        terms, errors = parse_terms(rows)
        if errors:
            raise CommandError("Nothing was imported:\n" + "\n".join(errors[:50]))
        with transaction.atomic():
            created = updated = 0
            for term in terms:
                _, was_created = CtcaeTerm.objects.update_or_create(
                    meddra_code=term.meddra_code,
                    defaults={"term": term.term, "soc": term.soc, "grades": term.grades},
                )
                created += was_created
                updated += not was_created
        self.stdout.write(f"{len(terms)} CTCAE terms: {created} new, {updated} updated.")
