"""Locked data is read-only everywhere: an alert of a locked subject (or of a subject of a
locked site) offers no action that would record something, on its page or in the inbox; the
page says why. Unlocked, the same alert offers them."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts import services
from alerts.models import Alert
from crf.models import Role
from monitoring.locks import lock_create, lock_release
from monitoring.models import Lock
from protocol import rules
from safety.models import LabValue
from tests.factories import lab_panel_for, user_with_role

pytestmark = [pytest.mark.django_db, pytest.mark.verifies("UR-LCK-01")]

REASON = "Database lock for the interim analysis"
ACTION = re.compile(r'<a [^>]*class="[^"]*alert-action[^"]*"[^>]*href="([^"]+)"')


@pytest.fixture
def data_manager(db):
    return user_with_role(Role.DATA_MANAGER, None, username="datamanager")


@pytest.fixture
def hepatotoxicity(subject_a, investigator_a):
    """An open AL-HEP alert (asks to interrupt the infusion, or a decision) on a lab value."""
    lab_panel_for(subject_a, by=investigator_a)
    key = f"lab:{LabValue.objects.get(panel__subject=subject_a).pk}"
    definition = rules.ALERT_RULES["AL-HEP"]
    finding = rules.Finding(
        "AL-HEP", definition.severity, "ALT grade 3", key, definition.actors,
        definition.clears_when, "AL-HEP",
    )  # fmt: skip
    services._reconcile(subject_a, [finding], [], timezone.now())
    return Alert.objects.get(subject=subject_a, rule="AL-HEP", record=key)


def _actions(client, url) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    return ACTION.findall(response.content.decode())


def _pages(alert):
    return reverse("alerts:detail", args=[alert.pk]), reverse("alerts:inbox")


@pytest.mark.parametrize("level", ["subject", "site"])
def test_a_locked_subjects_alert_offers_no_write_action(
    client, investigator_a, data_manager, subject_a, hepatotoxicity, level
):
    client.force_login(investigator_a)
    detail, inbox = _pages(hepatotoxicity)
    assert _actions(client, detail), "unlocked, the alert offers its actions"
    assert _actions(client, inbox)
    if level == "subject":
        lock = lock_create(
            level=Lock.Level.SUBJECT, subject=subject_a, reason=REASON, user=data_manager
        )
        target = f"Subject {subject_a.study_id} is locked"
    else:
        lock = lock_create(
            level=Lock.Level.SITE, site=subject_a.site, reason=REASON, user=data_manager
        )
        target = f"Site {subject_a.site} is locked"
    assert _actions(client, detail) == []
    assert _actions(client, inbox) == []
    page = client.get(detail).content.decode()
    assert 'id="alert-actions"' not in page
    notice = re.search(r'id="alert-locked"[^>]*>(.*?)</div>', page, re.S)
    assert notice and target in notice.group(1) and REASON in notice.group(1)
    assert "Interrupt the infusion" not in page

    lock_release(lock=lock, reason="Interim analysis done", user=data_manager)
    assert _actions(client, detail), "unlocked again, the actions are back"
    assert 'id="alert-locked"' not in client.get(detail).content.decode()
