"""What each alert asks for, as links to the page where it is recorded (rules §9): the one place
that says which page records the action an alert asks for.

The registry `protocol.rules.ALERT_RULES` owns an alert's text, who must act, what clears it and
the documented decision that clears it; `ALERT_ACTIONS` adds, per rule ID, the actions that
clear it and where each is recorded (a URL name and the anchor of its form). The clearing
decision appears here as `DECISION`, whose link names the registry's decision kind.

Actions are offered only while an alert is open or acknowledged and its subject's data is not
locked (locked data is read-only: crf.records.write_refusal), and as a link only to a user who
may record them at the subject's site; others read what is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import urlencode

from django.urls import reverse

from audit.services import write_guards_check_many
from crf.access import Capability, user_can
from crf.models import Visit
from crf.records import write_refusal
from mrd.models import MrdResult, MrdSample
from protocol import rules
from protocol.mrd import Timepoint

from .models import Alert, ProtocolDecision


@dataclass
class Lookups:
    """What some links need beyond the alert itself, read for a whole page in a few queries:
    the sample of an MRD result (AL-W11-NGS), a subject's week-11 sample (AL-W11-MISSING)."""

    accession_of_result: dict[int, str] = field(default_factory=dict)
    week11_accession: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, alerts: Iterable[Alert]) -> Lookups:
        alerts = list(alerts)
        lookups = cls()
        results = {_pk(a, "mrd") for a in alerts if a.rule in _NEEDS_RESULT} - {None}
        if results:
            lookups.accession_of_result = dict(
                MrdResult.objects.filter(pk__in=results).values_list("pk", "sample__accession")
            )
        subjects = {a.subject_id for a in alerts if a.rule in _NEEDS_WEEK11_SAMPLE}
        if subjects:
            samples = MrdSample.objects.filter(
                subject_id__in=subjects, timepoint=Timepoint.W11.value, entered_in_error=False
            ).order_by("-sampled_on", "-pk")
            for subject_id, accession in samples.values_list("subject_id", "accession"):
                lookups.week11_accession.setdefault(subject_id, accession)
        return lookups


Link = Callable[[Alert, Lookups], str | None]  # None: nothing to link to (yet)


@dataclass(frozen=True)
class Action:
    label: str
    capability: Capability  # who may record it, at the subject's site
    link: Link


@dataclass(frozen=True)
class Offered:
    """An action as a page shows it: a link when the user may record it, else its label."""

    label: str
    url: str | None


def _pk(alert: Alert, kind: str) -> int | None:
    """The primary key of the triggering record named by the alert's key ("kind:pk")."""
    found, _, pk = alert.record.partition(":")
    return int(pk) if found == kind and pk.isdigit() else None


def _infusion(action: str, first_field: str) -> Link:
    """The form `action` of the subject's infusion page (crf:infusion_action), at its first field
    (the page's forms carry the action as prefix: div_id_<action>-<field>)."""

    def link(alert: Alert, lookups: Lookups) -> str:
        page = reverse("crf:infusion_action", args=[alert.subject.study_id, action])
        return f"{page}#div_id_{action}-{first_field}"

    return link


def _decision(alert: Alert, lookups: Lookups) -> str | None:
    """The decision form for the registry's clearing decision, about the triggering record."""
    definition = rules.ALERT_RULES.get(alert.rule)
    if definition is None or definition.decision is None:
        return None
    query = urlencode({"kind": definition.decision.value, "about": alert.record})
    return f"{reverse('alerts:decision', args=[alert.subject.study_id])}?{query}"


def _adverse_event(anchor: str) -> Link:
    def link(alert: Alert, lookups: Lookups) -> str | None:
        pk = _pk(alert, "ae")
        if pk is None:
            return None
        return f"{reverse('safety:adverse_event', args=[alert.subject.study_id, pk])}#{anchor}"

    return link


def _visit(anchor: str) -> Link:
    def link(alert: Alert, lookups: Lookups) -> str | None:
        pk = _pk(alert, "visit")
        if pk is None:
            return None
        page = reverse("crf:record_edit", args=[alert.subject.study_id, Visit.form_slug, pk])
        return f"{page}#{anchor}"

    return link


def _mrd_sample(alert: Alert, lookups: Lookups) -> str:
    return f"{reverse('mrd:subject', args=[alert.subject.study_id])}#div_id_timepoint"


def _ngs_result(alert: Alert, lookups: Lookups) -> str | None:
    accession = lookups.accession_of_result.get(_pk(alert, "mrd"))
    return reverse("mrd:result", args=[accession, "ngs"]) if accession else None


def _week11_result(alert: Alert, lookups: Lookups) -> str | None:
    accession = lookups.week11_accession.get(alert.subject_id)
    return reverse("mrd:result", args=[accession, "qpcr"]) if accession else None


_ENTER = Capability.ENTER_CLINICAL_DATA
INTERRUPT = Action("Interrupt the infusion", _ENTER, _infusion("interrupt", "started_at"))
DISCONTINUE = Action("Discontinue: end the cycle", _ENTER, _infusion("end", "ended_at"))
RESTART = Action("Restart the infusion", _ENTER, _infusion("restart", "restarted_at"))
END_CYCLE = Action(
    "End the cycle (new cycle or discontinuation)", _ENTER, _infusion("end", "ended_at")
)
CORRECT_DOSE = Action("Correct the dose", _ENTER, _infusion("dose", "at"))
DECISION = Action("Record the decision that clears it", _ENTER, _decision)
SPONSOR_NOTIFICATION = Action(
    "Record the sponsor notification on the adverse event",
    _ENTER,
    _adverse_event("div_id_sponsor_notified_at"),
)
VISIT_FORM = Action(
    "Open the visit form (enter its data, or mark it missed with the reason)",
    _ENTER,
    _visit("div_id_actual_date"),
)
VISIT_MISSED = Action(
    "Mark the week-11 visit missed, with the reason", _ENTER, _visit("div_id_missed")
)
WEEK11_SAMPLE = Action("Record the week-11 MRD sample", _ENTER, _mrd_sample)
WEEK11_RESULT = Action("Enter the week-11 MRD result", Capability.ENTER_MRD_RESULTS, _week11_result)
NGS_RESULT = Action(
    "Enter the NGS result of the week-11 sample", Capability.ENTER_MRD_RESULTS, _ngs_result
)

# Rule ID -> the actions that clear it, the first the one the alert asks for (rules §9).
ALERT_ACTIONS: Mapping[str, tuple[Action, ...]] = MappingProxyType(
    {
        "AL-HEP": (INTERRUPT, DECISION),  # or the justification of continuing
        "AL-HEP-RESTART": (RESTART,),
        "AL-CRS": (INTERRUPT, DISCONTINUE),
        "AL-NEU": (INTERRUPT, DISCONTINUE),
        "AL-DOSE": (CORRECT_DOSE, DECISION),  # or the reason for the deviation
        "AL-INT-LONG": (END_CYCLE,),
        "AL-MRD-TRIGGER": (DECISION,),  # the referral decision
        "AL-MOL-RELAPSE": (DECISION,),  # the referral decision
        "AL-W11-NGS": (NGS_RESULT,),
        "AL-W11-MISSING": (WEEK11_SAMPLE, WEEK11_RESULT, VISIT_MISSED, DECISION),
        "AL-REFRACTORY": (DECISION,),  # off-protocol treatment
        "AL-SAE-CLOCK": (SPONSOR_NOTIFICATION,),
        "AL-VISIT-OVERDUE": (VISIT_FORM,),
    }
)
_NEEDS_RESULT = {rule for rule, actions in ALERT_ACTIONS.items() if NGS_RESULT in actions}
_NEEDS_WEEK11_SAMPLE = {rule for rule, actions in ALERT_ACTIONS.items() if WEEK11_RESULT in actions}


def actions_of(rule: str) -> tuple[Action, ...]:
    """The actions of `rule`; a rule not mapped yet offers its clearing decision, if any."""
    if rule in ALERT_ACTIONS:
        return ALERT_ACTIONS[rule]
    definition = rules.ALERT_RULES.get(rule)
    return (DECISION,) if definition is not None and definition.decision is not None else ()


def _label(action: Action, alert: Alert) -> str:
    if action is DECISION:
        definition = rules.ALERT_RULES.get(alert.rule)
        if definition is not None and definition.decision is not None:
            return f"{action.label} ({ProtocolDecision.Kind(definition.decision.value).label})"
    return action.label


def locked(alert: Alert) -> str | None:
    """Why nothing can be recorded for the alert's subject (its site's or its own lock, the
    lock's message), or None."""
    return write_refusal(alert.subject)


def offered(
    alert: Alert, user, lookups: Lookups | None = None, *, refusal: str | None = None
) -> list[Offered]:
    """The actions a page offers `user` for `alert`: none once it is resolved or closed, none
    while its subject or site is locked (`refusal`, else asked here)."""
    if alert.status not in Alert.ACTIVE:
        return []
    if refusal is None:
        refusal = locked(alert)
    if refusal:
        return []
    lookups = lookups if lookups is not None else Lookups.of([alert])
    shown = []
    for action in actions_of(alert.rule):
        url = action.link(alert, lookups)
        if url is None:
            continue  # nothing to record it on yet (e.g. no week-11 sample for its result)
        allowed = user_can(user, action.capability, alert.subject.site)
        shown.append(Offered(_label(action, alert), url if allowed else None))
    return shown


def offered_for_page(alerts: Iterable[Alert], user) -> dict[int, list[Offered]]:
    """`offered` for a page of alerts, their lookups read once for the page."""
    alerts = list(alerts)
    lookups = Lookups.of(alerts)
    # The locks of the page's subjects (their sites' or their own), asked for all at once.
    subjects = list({a.subject_id: a.subject for a in alerts if a.status in Alert.ACTIVE}.values())
    refusals = {
        subject.pk: " ".join(refused.messages) if refused is not None else ""
        for subject, refused in zip(subjects, write_guards_check_many(subjects), strict=True)
    }
    return {
        alert.pk: offered(alert, user, lookups, refusal=refusals.get(alert.subject_id, ""))
        for alert in alerts
    }
