"""The traceability check: it fails on a requirement no test verifies, on a test citing an
unknown ID and on a test citing none; it passes when every requirement is verified."""

import subprocess
import sys
from pathlib import Path

import pytest

from validation.requirements import all_requirements, user_requirements
from validation.trace import trace

pytestmark = pytest.mark.verifies("UR-OPS-01")

REQUIREMENTS = """
- id: UR-TST-01
  area: Test
  risk: high
  text: The first thing.
- id: UR-TST-02
  area: Test
  risk: low
  text: The second thing.
"""
RULES = """# Rules

## TX-ONE the only rule
"""
TESTS = """
import pytest

@pytest.mark.verifies("UR-TST-01", "TX-ONE")
def test_first():
    pass

@pytest.mark.verifies({second})
def test_second():
    pass
{extra}
"""


def _run(tmp_path: Path, *, second='"UR-TST-02"', extra="") -> subprocess.CompletedProcess:
    (tmp_path / "requirements.yaml").write_text(REQUIREMENTS)
    (tmp_path / "rules.md").write_text(RULES)
    (tmp_path / "test_fixture.py").write_text(TESTS.format(second=second, extra=extra))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "validation.pytest_plugin", "-p", "no:django",
         "-p", "no:cacheprovider", "--collect-only", "-q", "--trace-check",
         f"--requirements-file={tmp_path / 'requirements.yaml'}",
         f"--protocol-rules-file={tmp_path / 'rules.md'}", "-c", "/dev/null", str(tmp_path)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
    )  # fmt: skip


def test_every_requirement_verified_passes(tmp_path):
    done = _run(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 tests trace to every requirement" in done.stdout


def test_a_requirement_without_a_test_fails(tmp_path):
    done = _run(tmp_path, second='"UR-TST-01"')
    assert done.returncode == 1
    assert "requirement UR-TST-02 has no test" in done.stdout + done.stderr


def test_an_unknown_id_fails(tmp_path):
    done = _run(tmp_path, second='"UR-TST-02", "UR-TST-99"')
    assert done.returncode == 1
    assert "unknown requirement UR-TST-99 cited by" in done.stdout + done.stderr


def test_a_test_citing_nothing_fails(tmp_path):
    done = _run(tmp_path, extra="\ndef test_third():\n    pass\n")
    assert done.returncode == 1
    assert "test cites no requirement: " in done.stdout + done.stderr
    assert "test_third" in done.stdout + done.stderr


def test_trace_lists_the_tests_of_each_requirement():
    requirements = all_requirements()
    result = trace(requirements, [("t1", {"UR-ACC-01", "TX-HEP"}), ("t2", {"UR-ACC-01"})])
    assert result.tests_of["UR-ACC-01"] == ["t1", "t2"]
    assert result.tests_of["TX-HEP"] == ["t1"]
    assert "UR-MRD-01" in result.untested and not result.unknown


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("- {id: ACC-1, area: A, risk: high, text: T}", "not an ID"),
        ("- {id: UR-ACC-01, area: A, risk: severe, text: T}", "risk must be"),
    ],
)
def test_a_malformed_requirement_is_refused(tmp_path, entry, message):
    path = tmp_path / "r.yaml"
    path.write_text(entry)
    with pytest.raises(ValueError, match=message):
        user_requirements(path)


def test_an_id_defined_twice_is_refused(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(REQUIREMENTS + REQUIREMENTS)
    with pytest.raises(ValueError, match="defined twice"):
        all_requirements(path, _rules(tmp_path))


def _rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.md"
    path.write_text(RULES)
    return path
