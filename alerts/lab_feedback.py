"""What a lab panel just saved raised: the saved subject's rules evaluated at once, in the request,
so that the lab page says which value raised which alert (safety.services.lab_panel_alerts).

The evaluation is the one the worker runs after every commit (services.subject_evaluate): same
rules, same reconciliation, idempotent, serialised per subject by its row lock, so the worker's
own run afterwards finds nothing new. It runs in a savepoint: should it fail, the panel stays
saved and the page says the alerts are evaluated shortly (the subject stays marked).
"""

from __future__ import annotations

import logging

from django.db import transaction

from safety.services import RaisedAlert

from .actions import offered
from .facts import lab_key
from .models import Alert
from .services import subject_evaluate

log = logging.getLogger(__name__)


def lab_panel_alerts(panel, *, user, evaluate: bool) -> list[RaisedAlert] | None:
    """The active alerts the panel's values raised, each with the action it asks for; evaluated
    first when `evaluate`. None when the evaluation failed (the worker catches up)."""
    if evaluate:
        try:
            with transaction.atomic():
                subject_evaluate(panel.subject_id)
        except Exception:  # noqa: BLE001 - the save stands; the subject stays marked
            log.exception("immediate rule evaluation of subject %s failed", panel.subject_id)
            return None
    values = {lab_key(v.pk): v for v in panel.values.all()}
    alerts = Alert.objects.filter(
        subject_id=panel.subject_id, record__in=list(values), status__in=Alert.ACTIVE
    ).select_related("subject", "subject__site")
    raised = []
    for alert in alerts.order_by("rule", "pk"):
        actions = [a for a in offered(alert, user) if a.url]
        raised.append(
            RaisedAlert(
                pk=alert.pk,
                rule=alert.rule,
                severity=alert.severity,
                message=alert.message,
                value=values[alert.record],
                action=actions[0].label if actions else "",
                action_url=actions[0].url if actions else "",
            )
        )
    return raised
