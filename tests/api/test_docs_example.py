"""The Python example of docs/api.md, run as written against a live server: it lists every
subject's MRD results and reports one, with nothing but `requests`."""

import datetime
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from crf.models import Role
from mrd.models import MrdResult
from mrd.services import result_save, sample_record
from tests.factories import user_with_role

from .conftest import token_for

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.verifies("UR-API-01")]


def _example() -> str:
    (code,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    return code


def test_the_documented_example_pulls_results_and_reports_one(
    live_server, tmp_path, site_a, investigator_a, subject_a
):
    lab = user_with_role(Role.CENTRAL_LAB, None, username="lab")
    day40 = sample_record(
        subject=subject_a, timepoint="D40", material="bone_marrow",
        sampled_on=datetime.date(2026, 4, 10), user=investigator_a,
    )  # fmt: skip
    result_save(
        MrdResult(sample=day40, method="qpcr", result_class="quantifiable",
                  value=Decimal("0.0003"), sensitivity=Decimal("0.00001"),
                  report_date=datetime.date(2026, 4, 20)),
        user=lab,
    )  # fmt: skip
    w11 = sample_record(
        subject=subject_a, timepoint="W11", material="bone_marrow",
        sampled_on=datetime.date(2026, 5, 12), user=investigator_a,
    )  # fmt: skip
    script = tmp_path / "example.py"
    script.write_text(_example())
    env = {
        "PATH": os.environ["PATH"],
        "BLINACELL_URL": live_server.url,
        "BLINACELL_TOKEN": token_for(lab),
    }
    run = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "1-01 D40 qpcr quantifiable 0.000300000000000"
    assert lines[1] == f"created {w11.accession}"
    reported = MrdResult.objects.get(sample=w11)
    assert (reported.result_class, reported.history.get().history_user) == ("negative", lab)
    # Run again: the W11 result exists now, so it is listed and nothing waits.
    again = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert again.stdout.splitlines() == [lines[0], "1-01 W11 qpcr negative "]
