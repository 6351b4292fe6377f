"""docs/features.md documents every export file and its columns, as they are."""

from pathlib import Path

import pytest

from exports.domains import domains

pytestmark = pytest.mark.verifies("UR-EXP-01")

README = Path(__file__).resolve().parents[2] / "docs" / "features.md"


def test_the_readme_lists_every_export_file_with_its_columns():
    text = README.read_text(encoding="utf-8")
    for domain in domains():
        assert f"- `{domain.file}`: {', '.join(domain.header)}" in text, domain.file
