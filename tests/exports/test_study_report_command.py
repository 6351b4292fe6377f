"""`python manage.py study_report`: the whole report as JSON, a readable summary, one site."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from crf.models import Death, ResponseAssessment
from crf.services import record_save
from tests.factories import baseline_for, day11_for, enrol

pytestmark = pytest.mark.verifies("UR-REP-01")


@pytest.fixture
def two_sites(site_a, site_b, investigator_a, investigator_b):
    first = enrol(site_a, by=investigator_a, day1_date=datetime.date(2023, 3, 1))
    baseline_for(first, by=investigator_a, sex="M", leukocytes=Decimal("5.9"))
    day11_for(first, by=investigator_a, blasts="70")
    record_save(
        ResponseAssessment(
            subject=first, assessed_on=datetime.date(2023, 4, 9), response="refractory"
        ),
        user=investigator_a,
    )
    record_save(
        Death(subject=first, death_date=datetime.date(2023, 9, 1), cause="ALL"),
        user=investigator_a,
    )
    second = enrol(site_b, by=investigator_b, day1_date=datetime.date(2023, 5, 2))
    baseline_for(second, by=investigator_b, sex="F")
    return first, second


def _run(*args, capsys) -> str:
    call_command("study_report", *args)
    return capsys.readouterr().out


def test_json_is_the_whole_report(two_sites, capsys):
    data = json.loads(_run("--json", capsys=capsys))
    assert data["sites"] == [1, 2]
    assert data["enrolment"]["total"] == 2
    assert data["table_1"]["total_evaluable"] == 2
    assert data["flow"]["refractory"] == 1
    assert data["survival"]["overall"]["events"] == 1
    assert {"primary_endpoint", "mrd_by_timepoint", "adverse_events", "definitions"} < set(data)
    first, second = two_sites
    out = json.dumps(data)
    assert first.study_id not in out and second.study_id not in out


def test_one_site(two_sites, capsys):
    data = json.loads(_run("--json", "--site", "2", capsys=capsys))
    assert data["sites"] == [2]
    assert data["enrolment"]["total"] == 1
    assert data["flow"]["refractory"] == 0


def test_unknown_site_is_an_error(two_sites):
    with pytest.raises(CommandError, match="no site 9"):
        call_command("study_report", "--site", "9")


def test_readable_summary(two_sites, capsys):
    out = _run(capsys=capsys)
    assert "Enrolment: 2 patients" in out
    assert "Male / Female: 1 (50) / 1 (50)" in out
    assert "Primary endpoint" in out
    assert "0/0: no estimate" in out  # nobody evaluable at week 11 yet
    assert "Overall survival: 2 patients, 1 events" in out


def test_empty_study(db, capsys):
    data = json.loads(_run("--json", capsys=capsys))
    assert data["enrolment"]["total"] == 0
    assert data["primary_endpoint"]["rate"] is None
    assert data["survival"]["overall"]["rates"][0]["estimate"] is None
