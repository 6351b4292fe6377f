"""Evaluating a subject's protocol rules and reconciling the findings with the stored alerts."""

from __future__ import annotations

import logging
import re
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
from crf.protocol_rules import reference_text
from protocol import rules

from .facts import record_of_key, subjects_facts, trigger_name
from .models import Alert, EvaluationMark

log = logging.getLogger(__name__)

# Who must act (protocol.rules.Actor, the registry's words) and the app's roles (crf Role), both
# ways. An alert stores the roles it is addressed to, and an inbox selects by the user's roles:
# a registry actor without a role here would reach nobody's inbox (tests/alerts/test_inbox.py).
ROLE_ACTORS: dict[str, rules.Actor] = {
    Role.INVESTIGATOR: rules.Actor.INVESTIGATOR,
    Role.MONITOR: rules.Actor.MONITOR,
    Role.DATA_MANAGER: rules.Actor.DATA_MANAGER,
    Role.CENTRAL_LAB: rules.Actor.CENTRAL_LAB,
    Role.SPONSOR: rules.Actor.SPONSOR_SAFETY,  # the sponsor acts as sponsor safety (SA-1)
}
ACTOR_ROLES: dict[rules.Actor, str] = {actor: role for role, actor in ROLE_ACTORS.items()}


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
                    actors=_actors_of(finding),
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
            alert.actors = _actors_of(finding)
            audited_save(alert, user=None, reason="the condition holds again")
            reopened += 1
        else:
            if alert.actors != _actors_of(finding):
                # stored under an older registry: the inbox selects by the stored actors
                alert.actors = _actors_of(finding)
                audited_save(alert, user=None, reason="who must act, as the alert registry says")
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


def _actors_of(finding: rules.Finding) -> list[str]:
    """The roles an alert is addressed to, as stored on it (crf.models.Role values)."""
    return sorted({ACTOR_ROLES.get(actor, str(actor)) for actor in finding.actors})


# Urgent alerts are e-mailed to these roles of the subject's site, those the alert is addressed
# to (rules §9): an e-mail goes only to people whose inbox holds the alert.
MAILED_ROLES = (Role.INVESTIGATOR, Role.MONITOR)
# The history reasons of a notification: the alert page reads its e-mail line from them.
MAILED = "e-mailed to "
NOT_MAILED = "not e-mailed: "


@dataclass(frozen=True)
class Recipients:
    """Who an urgent alert is e-mailed to: the people (their roles) and their addresses."""

    people: tuple[tuple[str, tuple[str, ...]], ...]  # (username, roles) in username order
    addresses: tuple[str, ...]

    def describe(self, roles: list[str], site: str) -> str:
        """The history reason: to how many people and whom, by role; or why nobody."""
        if not roles:
            return f"{NOT_MAILED}addressed to no investigator or monitor"
        if not self.people:
            wanted = " or ".join(Role(role).label.lower() for role in roles)
            return f"{NOT_MAILED}no {wanted} with an e-mail address at site {site}"
        by_role = []
        for role in roles:
            names = [name for name, held in self.people if role in held]
            if names:
                label = Role(role).label.lower() + ("s" if len(names) > 1 else "")
                by_role.append(f"{label} {', '.join(names)}")
        count = len(self.people)
        return f"{MAILED}{count} {'person' if count == 1 else 'people'}: {'; '.join(by_role)}"


def _mailed_roles(alert: Alert) -> list[str]:
    return [role for role in MAILED_ROLES if role in alert.actors]


def _recipients(subject: Subject, roles: list[str]) -> Recipients:
    """Active users with one of `roles` at the subject's site (or study-wide) and an e-mail."""
    held: dict[str, set[str]] = {}
    addresses: dict[str, str] = {}
    memberships = Membership.objects.filter(
        Q(site=subject.site) | Q(site__isnull=True), role__in=roles, user__is_active=True
    ).exclude(user__email="")
    for role, username, email in memberships.values_list("role", "user__username", "user__email"):
        held.setdefault(username, set()).add(role)
        addresses[username] = email
    people = tuple((name, tuple(sorted(held[name]))) for name in sorted(held))
    return Recipients(people, tuple(sorted(set(addresses.values()))))


def _notify(subject: Subject, alerts: list[Alert], now: datetime) -> None:
    """Urgent alerts are e-mailed once to the site's investigators and monitors they are
    addressed to. Each alert's history says to how many people and whom (by role), or why
    nobody; `notified_at` is set only when someone was e-mailed. The alert is saved in the
    same transaction and the mail leaves after the commit; a mail the server refuses is
    recorded on the alert as not e-mailed."""
    groups: dict[Recipients, list[Alert]] = {}
    for alert in alerts:
        roles = _mailed_roles(alert)
        recipients = _recipients(subject, roles) if roles else Recipients((), ())
        alert.notified_at = now if recipients.addresses else None
        site = f"{subject.site.number} ({subject.site.city})"
        audited_save(alert, user=None, reason=recipients.describe(roles, site))
        if recipients.addresses:
            groups.setdefault(recipients, []).append(alert)
    for recipients, mailed in groups.items():
        _send_after_commit(subject, mailed, recipients)


def _mail_text(subject: Subject, alert: Alert) -> str:
    """One alert in an e-mail: what it says, the record that triggered it (by name), the
    protocol rules it cites (in words), and what clears it."""
    record = record_of_key(subject, alert.record)
    lines = [f"{alert.rule}: {alert.message}", f"Triggered by: {trigger_name(alert, record)}"]
    if reference := reference_text(alert.reference):
        lines.append(f"Protocol reference: {reference}")
    lines.append(f"Clears when: {alert.clears_when}")
    return "\n".join(lines)


def _send_after_commit(subject: Subject, alerts: list[Alert], recipients: Recipients) -> None:
    body = "\n\n".join(_mail_text(subject, a) for a in alerts)
    subject_line = f"[BlinaCell] Urgent protocol alert for subject {subject.study_id}"
    alert_ids = [a.pk for a in alerts]

    def send() -> None:
        try:
            send_mail(subject_line, body, settings.DEFAULT_FROM_EMAIL, list(recipients.addresses))
        except Exception as error:  # noqa: BLE001 - the alert stands in the inbox; mail is a courtesy
            log.exception("alert e-mail for %s could not be sent", subject.study_id)
            _mail_failed(
                alert_ids, f"{NOT_MAILED}the mail server refused it ({type(error).__name__})"
            )

    transaction.on_commit(send)


def _mail_failed(alert_ids: list[int], reason: str) -> None:
    """Record on each alert that its e-mail did not leave (it said e-mailed until now)."""
    try:
        with transaction.atomic():
            for alert in Alert.objects.select_for_update().filter(pk__in=alert_ids):
                alert.notified_at = None
                audited_save(alert, user=None, reason=reason)
    except Exception:  # noqa: BLE001 - the log keeps the failure of the mail itself
        log.exception("the failed alert e-mail could not be recorded on alerts %s", alert_ids)


_LEGACY_MAILED = re.compile(r"^e-mailed to (\d+) recipient\(s\)$")


def notification_of(alert: Alert, history) -> str:
    """What the alert page says of its e-mail: the latest notification its history records
    ("e-mailed to 2 people: investigator ...; monitor ...", or "not e-mailed: ..."), or why
    there is none."""
    for row in history:
        reason = row.history_change_reason or ""
        legacy = _LEGACY_MAILED.match(reason)
        if legacy:  # written before the recipients were named
            count = int(legacy.group(1))
            if count == 0:
                return f"{NOT_MAILED}no investigator or monitor with an e-mail address at the site"
            return f"{MAILED}{count} {'person' if count == 1 else 'people'}"
        if reason.startswith((MAILED, NOT_MAILED)):
            return reason
    if alert.severity != Alert.Severity.URGENT:
        return f"{NOT_MAILED}only urgent alerts are e-mailed"
    return f"{NOT_MAILED}no e-mail recorded"


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
        scope = Q(actors__contains=[str(role)])
        if site_id is not None:
            scope &= Q(subject__site_id=site_id)
        condition |= scope
    return Alert.objects.filter(condition).select_related("subject", "subject__site")


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
