"""The API as of a freeze, and a locked study's refusal of API writes."""

import datetime

import pytest

from crf.models import Role, Subject
from exports.freezes import freeze_create
from safety.models import LabPanel
from tests.exports.test_closeout import locked_study
from tests.factories import enrol, user_with_role


@pytest.fixture
def data_manager(db):
    return user_with_role(Role.DATA_MANAGER, None, username="dm")


@pytest.mark.verifies("UR-FRZ-02", "UR-API-01")
@pytest.mark.django_db
def test_the_api_reads_a_freeze_by_name(api_as, data_manager, subject_a, investigator_a):
    freeze = freeze_create(user=data_manager, name="Interim 1", reason="interim analysis")
    added = enrol(subject_a.site, by=investigator_a)
    client = api_as(investigator_a)
    live = client.get("/subjects").json()["results"]
    frozen = client.get("/subjects", freeze="Interim 1").json()["results"]
    assert {row["study_id"] for row in live} == {subject_a.study_id, added.study_id}
    assert [row["study_id"] for row in frozen] == [subject_a.study_id]
    assert client.get(f"/subjects/{added.pk}", freeze=freeze.name).status_code == 404
    assert client.get(f"/subjects/{added.pk}").status_code == 200
    refused = client.get("/subjects", freeze="No such freeze")
    assert refused.status_code == 422 and "freeze" in refused.content.decode()
    assert Subject.objects.count() == 2  # reading a freeze changed nothing


@pytest.mark.verifies("UR-FRZ-03")
@pytest.mark.django_db
def test_a_locked_study_refuses_an_api_write(api_as, data_manager, subject_a, investigator_a):
    locked_study(data_manager)
    sampled = datetime.datetime.combine(subject_a.day1_date, datetime.time(8, 30))
    response = api_as(investigator_a).post(
        "/lab-panels",
        {
            "subject": subject_a.study_id,
            "sampled_at": sampled.isoformat(),
            "local_lab": "Hospital laboratory",
            "values": [{"test": "alt", "value": "40", "uln": "40"}],
        },
    )
    assert response.status_code >= 400
    assert "The study is locked" in response.content.decode()
    assert not LabPanel.objects.exists()
