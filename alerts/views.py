from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from audit.forms import add_errors
from crf.access import Capability, may_open, page_needs, subject_for
from crf.protocol_rules import reference_parts
from crf.records import record_page_url
from crf.services import record_save
from protocol import rules

from .actions import locked, offered, offered_for_page
from .facts import record_of_key, trigger_name
from .forms import AcknowledgeForm, AlertFilterForm, DecisionForm
from .models import Alert, ProtocolDecision
from .services import MAILED, alert_acknowledge, alerts_for, notification_of

PER_PAGE = 25


def trigger(alert: Alert, user) -> tuple[str, str | None]:
    """The record that triggered the alert, by its name in the trial's words, and the page on
    which `user` reads it: where it is entered if their role may open that page, else its
    review page (monitor, data manager), else none (the name alone)."""
    record = record_of_key(alert.subject, alert.record)
    if record is None:
        return trigger_name(alert, None), None
    return trigger_name(alert, record), record_link(user, record, alert.subject)


def record_link(user, record, subject) -> str | None:
    site = subject.site
    for url in (record_page_url(record), _review_url(record, subject)):
        if url is not None and may_open(user, url, site):
            return url
    return None


def _review_url(record, subject) -> str | None:
    if record.pk is None:
        return None
    content_type = ContentType.objects.get_for_model(type(record))
    return reverse("monitoring:record_review", args=[subject.study_id, content_type.pk, record.pk])


def subject_page(user, subject) -> str | None:
    """The subject's casebook, if the user's role may open it (not the sponsor's)."""
    url = subject.get_absolute_url()
    return url if may_open(user, url, subject.site) else None


@login_required
def inbox(request):
    alerts = alerts_for(request.user)
    filters = AlertFilterForm(request.GET or {"status": "active"})
    if filters.is_valid():
        status = filters.cleaned_data["status"]
        if status == "active":
            alerts = alerts.filter(status__in=Alert.ACTIVE)
        elif status:
            alerts = alerts.filter(status=status)
        if filters.cleaned_data["rule"]:
            alerts = alerts.filter(rule=filters.cleaned_data["rule"].upper())
        if filters.cleaned_data["severity"]:
            alerts = alerts.filter(severity=filters.cleaned_data["severity"])
        if filters.cleaned_data["site"]:
            alerts = alerts.filter(subject__site__number=filters.cleaned_data["site"])
    page = Paginator(alerts.order_by("-raised_at", "-id"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    page.object_list = list(page.object_list)
    actions = offered_for_page(page.object_list, request.user)
    for alert in page.object_list:
        # the registry's entry (its text), and the actions the alert asks for (alerts.actions)
        alert.definition = rules.ALERT_RULES.get(alert.rule)
        alert.actions = [action for action in actions[alert.pk] if action.url]
        alert.subject_url = subject_page(request.user, alert.subject)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "alerts/inbox.html",
        {"page": page, "filters": filters, "query": query.urlencode()},
    )


@login_required
def alert_detail(request, pk):
    alert = get_object_or_404(alerts_for(request.user), pk=pk)
    form = AcknowledgeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            alert_acknowledge(
                alert,
                user=request.user,
                comment=form.cleaned_data["comment"],
                close=form.cleaned_data["close"],
            )
        except ValidationError as invalid:
            add_errors(form, invalid)
        else:
            messages.success(request, f"Alert {alert.rule} {alert.get_status_display().lower()}.")
            return redirect("alerts:detail", pk=pk)
    definition = rules.ALERT_RULES.get(alert.rule)
    history = list(alert.history.select_related("history_user").order_by("-history_date"))
    notification = notification_of(alert, history)
    refusal = locked(alert) if alert.status in Alert.ACTIVE else None
    return render(
        request,
        "alerts/detail.html",
        {
            "alert": alert,
            "form": form,
            "rule_text": definition.text if definition else "",
            "actions": offered(alert, request.user, refusal=refusal or ""),
            "locked": refusal,
            "notification": notification,
            "mailed_at": alert.notified_at if notification.startswith(MAILED) else None,
            "trigger": trigger(alert, request.user),
            "subject_url": subject_page(request.user, alert.subject),
            "reference": reference_parts(alert.reference),
            "history": history,
        },
    )


@login_required
@page_needs(Capability.ENTER_CLINICAL_DATA)
def decision_form(request, study_id):
    """Record the decision the protocol asks for (it clears the alert it is about)."""
    subject = subject_for(request.user, study_id, Capability.ENTER_CLINICAL_DATA)
    instance = ProtocolDecision(
        subject=subject, about=request.GET.get("about", "")[:40], kind=request.GET.get("kind", "")
    )
    form = DecisionForm(request.POST or None, instance=instance)
    if request.method == "POST":
        if form.is_valid() and form.save_audited(user=request.user, saver=record_save):
            messages.success(request, "Decision recorded; the alert is re-evaluated.")
            return redirect("alerts:inbox")
    kind = form["kind"].value()
    clears = [alert for alert in rules.ALERT_RULES.values() if kind and alert.decision == kind]
    about = ""
    if instance.about:  # the triggering record by its name, never its key ("lab:13")
        record = record_of_key(subject, instance.about)
        about = trigger_name(Alert(record=instance.about), record)
    return render(
        request,
        "alerts/decision_form.html",
        {"form": form, "subject": subject, "clears": clears, "about": about},
    )
