"""Times people read are the site's clock with its zone (CET in winter, CEST in summer); what
is stored stays UTC."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert
from alerts.services import subject_evaluate
from crf.models import Role
from monitoring.locks import lock_create, lock_message
from monitoring.models import Lock
from tests.factories import serious_ae_for, user_with_role

pytestmark = pytest.mark.verifies("UR-OPS-03")

ZONED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d (CET|CEST)")


@pytest.mark.verifies("AL-SAE-CLOCK")
@pytest.mark.django_db
def test_an_alert_message_names_the_sites_zone(subject_a, investigator_a):
    winter = timezone.make_aware(datetime.datetime(2026, 3, 14, 10, 0))  # 09:00 UTC
    serious_ae_for(subject_a, by=investigator_a, awareness_at=winter)
    subject_evaluate(subject_a.pk)
    clock = Alert.objects.get(subject=subject_a, rule="AL-SAE-CLOCK")
    assert "since 2026-03-14 10:00 CET" in clock.message  # not 09:00, not without its zone


@pytest.mark.verifies("UR-LCK-01")
@pytest.mark.django_db
def test_lock_messages_and_pages_show_local_times_with_their_zone(client, subject_a):
    manager = user_with_role(Role.DATA_MANAGER, None, username="dm")
    lock = lock_create(level=Lock.Level.SUBJECT, subject=subject_a, reason="interim",
                       user=manager)  # fmt: skip
    assert ZONED.search(lock_message(lock))
    client.force_login(manager)
    page = client.get(reverse("crf:subject_detail", args=[subject_a.study_id])).content.decode()
    assert ZONED.search(page)
