"""The layer contract (.importlinter, run by `make test`): apps import only downward, and
protocol/ and charts/ stay plain Python."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.verifies("UR-OPS-01")

PROJECT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "blinacell_site", "demo", "exports", "monitoring", "alerts", "safety", "mrd",
            "crf", "accounts", "audit", "charts", "protocol")  # fmt: skip
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for package in PACKAGES:
        shutil.copytree(PROJECT / package, root / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(PROJECT / ".importlinter", root / ".importlinter")
    return root


def test_the_project_keeps_its_layers():
    done = _lint(PROJECT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 2 kept, 0 broken." in done.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    root = _copy(tmp_path)
    assert _lint(root).returncode == 0
    # crf (a subject's records) reaching up into monitoring, as editchecks once did.
    (root / "crf" / "upward.py").write_text("from monitoring.queries import query_open\n")
    done = _lint(root)
    assert done.returncode == 1
    assert "crf is not allowed to import monitoring" in done.stdout


def test_a_django_import_in_protocol_breaks_the_contract(tmp_path):
    root = _copy(tmp_path)
    (root / "protocol" / "upward.py").write_text("from django.utils import timezone\n")
    done = _lint(root)
    assert done.returncode == 1
    assert "protocol is not allowed to import django" in done.stdout
