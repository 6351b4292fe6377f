"""Evaluating a subject's protocol rules and reconciling the findings with the stored alerts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.services import audited_save
from crf.access import memberships_of
from crf.models import Membership, Role, Subject
from protocol import rules

from .facts import subjects_facts
from .models import Alert, EvaluationMark

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reconciliation:
    created: int = 0
    reopened: int = 0
    resolved: int = 0
    unchanged: int = 0


def subject_evaluate(subject_id: int, now: datetime | None = None) -> Reconciliation | None:
    """Evaluate one subject and reconcile: new findings become alerts, existing ones are left
    as they are, and active alerts whose condition no longer holds are resolved by the data.
    Idempotent: running it twice changes nothing the second time."""
    return subjects_evaluate([subject_id], now).get(subject_id)


def subjects_evaluate(
    subject_ids: list[int], now: datetime | None = None
) -> dict[int, Reconciliation]:
    """Evaluate subjects together: their facts and alerts are read in a few queries for the
    whole batch. Evaluations of a subject are serialised by a row lock (NO KEY UPDATE, taken
    in id order), so duplicated or retried tasks cannot race; the lock does not block saves
    that insert rows referring to the subject, which FOR UPDATE would (deadlock)."""
    now = now or timezone.now()
    results: dict[int, Reconciliation] = {}
    with transaction.atomic():
        subjects = list(
            Subject.objects.select_for_update(of=("self",), no_key=True)
            .select_related("protocol_version", "site", "day11", "day40")
            .filter(pk__in=subject_ids)
            .order_by("pk")
        )
        started = timezone.now()
        facts = subjects_facts(subjects)
        alerts: dict[int, list[Alert]] = {}
        for alert in Alert.objects.filter(subject__in=subjects):
            alerts.setdefault(alert.subject_id, []).append(alert)
        local_now = timezone.localtime(now)
        for subject in subjects:
            findings = rules.evaluate(facts[subject.pk], local_now)
            results[subject.pk] = _reconcile(subject, findings, alerts.get(subject.pk, []), now)
        EvaluationMark.objects.filter(subject__in=subjects, marked_at__lte=started).delete()
    return results


def _reconcile(
    subject: Subject, findings: list[rules.Finding], alerts: list[Alert], now: datetime
) -> Reconciliation:
    existing = {(a.rule, a.record): a for a in alerts}
    created = reopened = resolved = unchanged = 0
    fresh = []
    for finding in findings:
        alert = existing.get(finding.key)
        if alert is None:
            alert = audited_save(
                Alert(
                    subject=subject,
                    rule=finding.rule,
                    record=finding.record,
                    severity=finding.severity.value,
                    message=finding.message,
                    reference=finding.reference,
                    clears_when=finding.clears_when,
                    actors=sorted(a.value for a in finding.actors),
                    raised_at=now,
                ),
                user=None,
                reason="raised by the protocol rules",
            )
            created += 1
            fresh.append(alert)
        elif alert.status == Alert.Status.RESOLVED:
            alert.status = Alert.Status.OPEN
            alert.resolved_at = None
            alert.message = finding.message
            audited_save(alert, user=None, reason="the condition holds again")
            reopened += 1
        else:
            unchanged += 1
    keys = {f.key for f in findings}
    for key, alert in existing.items():
        if key not in keys and alert.status in Alert.ACTIVE:
            alert.status = Alert.Status.RESOLVED
            alert.resolved_at = now
            audited_save(
                alert, user=None, reason="resolved by the data: the condition no longer holds"
            )
            resolved += 1
    urgent = [a for a in fresh if a.severity == Alert.Severity.URGENT and a.notified_at is None]
    if urgent:
        _notify(subject, urgent, now)
    return Reconciliation(created, reopened, resolved, unchanged)


def _notify(subject: Subject, alerts: list[Alert], now: datetime) -> None:
    """Urgent alerts are e-mailed once to the site's investigators and monitors: the alert is
    marked notified in the same transaction and the mail leaves after the commit."""
    recipients = sorted(
        set(
            Membership.objects.filter(
                Q(site=subject.site) | Q(site__isnull=True),
                role__in=[Role.INVESTIGATOR, Role.MONITOR],
                user__is_active=True,
            )
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    for alert in alerts:
        alert.notified_at = now
        audited_save(alert, user=None, reason=f"e-mailed to {len(recipients)} recipient(s)")
    if not recipients:
        return
    body = "\n\n".join(f"{a.rule}: {a.message}\nClears when: {a.clears_when}" for a in alerts)
    subject_line = f"[BlinaCell] Urgent protocol alert for subject {subject.study_id}"

    def send() -> None:
        try:
            send_mail(subject_line, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:  # noqa: BLE001 - the alert stands in the inbox; mail is a courtesy
            log.exception("alert e-mail for %s could not be sent", subject.study_id)

    transaction.on_commit(send)


def marked_subjects_evaluate(older_than_seconds: int = 0) -> int:
    """Evaluate every subject still marked (its message lost, or the broker was down)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    ids = list(
        EvaluationMark.objects.filter(marked_at__lte=cutoff).values_list("subject_id", flat=True)
    )
    for start in range(0, len(ids), BATCH):
        subjects_evaluate(ids[start : start + BATCH])
    return len(ids)


BATCH = 200  # subjects evaluated per transaction by the periodic jobs


def all_subjects_evaluate(subject_ids: list[int] | None = None) -> int:
    """Time-based rules: evaluate every subject (or the given ones), in batches, each batch one
    transaction. Subjects who ended the study are evaluated too: the rules decide what still
    applies to them (an SAE still due to the sponsor, say)."""
    subjects = Subject.objects.all()
    if subject_ids:
        subjects = subjects.filter(pk__in=subject_ids)
    ids = list(subjects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        subjects_evaluate(ids[start : start + BATCH])
    return len(ids)


# --- People ------------------------------------------------------------------------------


def alerts_for(user) -> QuerySet[Alert]:
    """Alerts for the user's roles at the alert's site (study-wide roles: every site)."""
    condition = Q(pk__in=[])
    for role, site_id in memberships_of(user):
        scope = Q(actors__contains=[_actor(role)])
        if site_id is not None:
            scope &= Q(subject__site_id=site_id)
        condition |= scope
    return Alert.objects.filter(condition).select_related("subject", "subject__site")


def _actor(role: str) -> str:
    # The sponsor acts on alerts as "sponsor safety" (AL-SAE-CLOCK).
    return rules.Actor.SPONSOR_SAFETY.value if role == Role.SPONSOR else role


def open_alert_count(user) -> int:
    return alerts_for(user).filter(status=Alert.Status.OPEN).count()


def alert_acknowledge(alert: Alert, *, user, comment: str, close: bool = False) -> Alert:
    """A person acknowledges (or closes) an alert with a comment; audited."""
    if not alerts_for(user).filter(pk=alert.pk).exists():
        raise PermissionDenied("This alert is not for your role.")
    if not comment.strip():
        raise ValidationError(
            {"comment": "Write what you did or decided (kept in the audit trail)."}
        )
    if alert.status not in Alert.ACTIVE:
        raise ValidationError("This alert is no longer open.")
    alert.status = Alert.Status.CLOSED if close else Alert.Status.ACKNOWLEDGED
    alert.comment = comment.strip()
    return audited_save(alert, user=user, reason=f"{alert.status}: {comment.strip()}")
