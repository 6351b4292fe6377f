from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from audit.errors import StaleVersionError
from audit.forms import add_errors
from crf.access import Capability, page_needs, subject_for, user_can
from crf.records import write_refusal
from crf.services.records import SoftChecksPending
from protocol import safety

from . import services
from .forms import AdverseEventForm, LabPanelForm, LabValueForm, SaeFollowUpForm
from .forms_ranges import SiteLabRangesForm
from .models import AdverseEvent, CtcaeTerm, LabPanel, LabValue, SiteLabRange


def _can_enter(user, subject) -> bool:
    return user_can(user, Capability.ENTER_CLINICAL_DATA, subject.site)


def _read_only(form):
    """Locked data: the form shows the values as saved with every field disabled (the page
    shows the lock and no save button)."""
    for field in form.fields.values():
        field.disabled = True
    return form


@login_required
def subject_labs(request, study_id):
    """The subject's lab panels with each value's CTCAE grade, the abnormalities not yet
    reported as adverse events, and a new panel (unit and range from the site's reference
    ranges). After a save the page says at once which value raised which protocol alert. Locked
    data (site or subject) is read-only: no panel form, no correction, a POST refused."""
    subject = subject_for(request.user, study_id)
    can_enter = _can_enter(request.user, subject)
    locked = write_refusal(subject)
    writable = can_enter and not locked
    form = None
    if writable:
        form = LabPanelForm(request.POST or None, ranges=services.site_ranges(subject.site))
    if request.method == "POST":
        if not can_enter:
            raise PermissionDenied("Only the site's investigators enter lab results.")
        if form is not None and form.is_valid():
            try:
                panel = services.lab_panel_record(
                    subject=subject,
                    sampled_at=form.cleaned_data["sampled_at"],
                    local_lab=form.cleaned_data["local_lab"],
                    entries=form.entries(),
                    user=request.user,
                )
            except ValidationError as invalid:
                add_errors(form, invalid)
            else:
                messages.success(request, "Lab panel saved.")
                url = reverse("safety:labs", args=[study_id])
                if services.lab_panel_alerts(panel, user=request.user, evaluate=True) is None:
                    messages.warning(
                        request,
                        "The protocol rules could not be checked at once: any alert this panel "
                        "raises reaches the alert inbox within minutes.",
                    )
                    return redirect(url)
                return redirect(f"{url}?saved={panel.pk}#saved-panel")
    panels = (
        LabPanel.objects.filter(subject=subject, entered_in_error=False)
        .prefetch_related("values")
        .order_by("-sampled_at")
    )
    saved, raised = _saved_panel(request, subject)
    return render(
        request,
        "safety/labs.html",
        {
            "subject": subject,
            "panels": panels,
            "form": form,
            "unreported": services.unreported_lab_abnormalities(subject),
            "can_enter": can_enter,
            "writable": writable,
            "locked": locked,
            "saved": saved,
            "raised": raised,
            "can_set_ranges": services.may_set_ranges(request.user, subject.site),
        },
    )


def _saved_panel(request, subject):
    """The panel just saved (?saved=ID, this subject's only) and the alerts its values raised."""
    pk = request.GET.get("saved", "")
    if not pk.isdigit():
        return None, []
    panel = (
        LabPanel.objects.filter(subject=subject, entered_in_error=False, pk=int(pk))
        .prefetch_related("values")
        .first()
    )
    if panel is None:
        return None, []
    return panel, services.lab_panel_alerts(panel, user=request.user) or []


@require_safe
@login_required
def lab_ranges(request):
    """The sites whose laboratory reference ranges the user sets (data managers, staff)."""
    sites = services.range_sites(request.user).order_by("number")
    if not sites:
        raise PermissionDenied(services.RANGES_REFUSED)
    if len(sites) == 1:
        return redirect("safety:lab_ranges_site", number=sites[0].number)
    counts = {}
    for site_id in SiteLabRange.objects.filter(site__in=sites).values_list("site_id", flat=True):
        counts[site_id] = counts.get(site_id, 0) + 1
    rows = [(site, counts.get(site.pk, 0)) for site in sites]
    return render(request, "safety/lab_ranges.html", {"rows": rows})


@login_required
def lab_ranges_site(request, number):
    """A site's laboratory reference ranges, each test with its unit, LLN and ULN: the defaults
    of every new lab panel at the site. Changes are audited with their reason."""
    sites = services.range_sites(request.user)
    if not sites:
        raise PermissionDenied(services.RANGES_REFUSED)
    site = get_object_or_404(sites, number=number)
    stored = services.site_ranges(site)
    form = SiteLabRangesForm(request.POST or None, ranges=stored)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.site_ranges_save(
                site,
                form.entries(),
                user=request.user,
                reason=form.cleaned_data["reason_for_change"],
            )
        except ValidationError as invalid:
            add_errors(form, invalid)
        except StaleVersionError as stale:
            form.add_error(None, stale.message)
        else:
            if changed:
                messages.success(
                    request,
                    f"Reference ranges of site {site}: {changed} "
                    f"{'range' if changed == 1 else 'ranges'} saved.",
                )
            else:
                messages.info(request, "No range was changed, so nothing was saved.")
            return redirect("safety:lab_ranges_site", number=site.number)
    history = (
        SiteLabRange.history.filter(site_id=site.pk)
        .select_related("history_user")
        .order_by("-history_date")[:20]
    )
    return render(
        request,
        "safety/lab_ranges_site.html",
        {"site": site, "form": form, "history": history, "many_sites": sites.count() > 1},
    )


@login_required
@page_needs(Capability.ENTER_CLINICAL_DATA)
def lab_value_edit(request, study_id, pk):
    subject = subject_for(request.user, study_id, Capability.ENTER_CLINICAL_DATA)
    value = get_object_or_404(
        LabValue.objects.filter(panel__subject=subject, entered_in_error=False), pk=pk
    )
    locked = write_refusal(value)
    if locked:
        # read-only: the values as saved, no save; a POST is refused by the lock message alone
        form = _read_only(LabValueForm(instance=value))
    else:
        form = LabValueForm(request.POST or None, instance=value)
    if request.method == "POST" and not locked and form.is_valid():
        saved = form.save_audited(user=request.user, saver=_lab_value_saver)
        if saved is not None:
            messages.success(request, "Lab value corrected and regraded.")
            return redirect("safety:labs", study_id=study_id)
    return render(
        request,
        "safety/lab_value_form.html",
        {"form": form, "subject": subject, "locked": locked},
    )


def _lab_value_saver(record, *, user, reason, expected_version, **options):
    return services.lab_value_correct(
        record, user=user, reason=reason, expected_version=expected_version
    )


@login_required
def subject_adverse_events(request, study_id):
    subject = subject_for(request.user, study_id)
    events = (
        AdverseEvent.objects.filter(subject=subject, entered_in_error=False)
        .select_related("term", "created_by")
        .order_by("-onset_date")
    )
    now = timezone.now()
    rows = [
        (
            e,
            safety.site_report_due(e.awareness_at) if e.serious and e.awareness_at else None,
            e.serious
            and e.awareness_at
            and safety.site_report_overdue(e.awareness_at, e.sponsor_notified_at, now),
        )
        for e in events
    ]
    can_enter = _can_enter(request.user, subject)
    locked = write_refusal(subject)
    return render(
        request,
        "safety/adverse_events.html",
        {
            "subject": subject,
            "rows": rows,
            "can_enter": can_enter and not locked,
            "locked": locked,
        },
    )


@login_required
@page_needs(Capability.ENTER_CLINICAL_DATA)
def adverse_event_form(request, study_id, pk=None):
    """Record or correct an adverse event. From a lab abnormality (?lab=ID) the form comes
    prefilled with its CTCAE term, date and grade, and linked to the value."""
    subject = subject_for(request.user, study_id, Capability.ENTER_CLINICAL_DATA)
    if pk is not None:
        instance = get_object_or_404(
            AdverseEvent.objects.filter(subject=subject, entered_in_error=False), pk=pk
        )
    else:
        instance = AdverseEvent(subject=subject)
    initial = _prefill_from_lab(subject, request.GET.get("lab")) if pk is None else {}
    # Locked (site, subject or this event): shown read-only; a POST is refused by the lock's
    # message, once.
    locked = write_refusal(instance)
    form = AdverseEventForm(
        None if locked else request.POST or None,
        instance=instance,
        subject=subject,
        initial=initial,
    )
    if locked:
        _read_only(form)
    if request.method == "POST" and not locked and form.is_valid():
        try:
            saved = form.save_audited(
                user=request.user,
                saver=_ae_saver(form),
                confirmed=form.confirmed_codes(),
            )
        except SoftChecksPending as pending:
            form.show_warnings(pending.warnings)
            saved = None
        if saved is not None:
            messages.success(request, f"Adverse event {saved.term.term} saved.")
            return redirect("safety:adverse_events", study_id=study_id)
    return render(
        request,
        "safety/adverse_event_form.html",
        {
            "form": form,
            "subject": subject,
            "record": instance,
            "locked": locked,
            "terms": CtcaeTerm.objects.order_by("term").only("term", "meddra_code", "soc"),
        },
    )


def _ae_saver(form):
    def save(record, *, user, reason, expected_version, confirmed=frozenset(), **options):
        return services.adverse_event_record(
            record,
            user=user,
            reason=reason,
            expected_version=expected_version,
            confirmed=confirmed,
            lab_values=form.cleaned_data["lab_values"],
            interruptions=form.cleaned_data["interruptions"],
        )

    return save


def _prefill_from_lab(subject, lab_id) -> dict:
    if not (lab_id or "").isdigit():
        return {}
    value = LabValue.objects.filter(
        panel__subject=subject, pk=int(lab_id), entered_in_error=False
    ).first()
    if value is None or not value.grade:
        return {}
    found = services.lab_value_term(value)
    term = None
    if found is not None:
        term = CtcaeTerm.objects.filter(meddra_code=found.meddra_code).first()
    return {
        "term": term,
        "verbatim": f"{value.get_test_display()} {value.value} {value.unit}",
        "onset_date": timezone.localtime(value.panel.sampled_at).date(),
        "grade": value.grade,
        "lab_values": [value.pk],
    }


@login_required
@page_needs(Capability.ENTER_CLINICAL_DATA)
def sae_follow_up(request, study_id, pk):
    subject = subject_for(request.user, study_id, Capability.ENTER_CLINICAL_DATA)
    event = get_object_or_404(
        AdverseEvent.objects.filter(subject=subject, serious=True, entered_in_error=False), pk=pk
    )
    from .models import SaeFollowUp

    follow_up = SaeFollowUp(adverse_event=event)
    locked = write_refusal(follow_up)
    form = SaeFollowUpForm(None if locked else request.POST or None, instance=follow_up)
    if locked:
        _read_only(form)
    if request.method == "POST" and not locked and form.is_valid():
        from crf.services import record_save

        if form.save_audited(user=request.user, saver=record_save) is not None:
            messages.success(request, "Follow-up report saved.")
            return redirect("safety:adverse_events", study_id=study_id)
    return render(
        request,
        "safety/follow_up_form.html",
        {"form": form, "subject": subject, "event": event, "locked": locked},
    )


@login_required
def ae_summary(request):
    """The paper's Table 2 from live data (blinatumomab infusion period, or the whole study)."""
    if not (
        user_can(request.user, Capability.VIEW_SUBJECTS)
        or user_can(request.user, Capability.VIEW_REPORTS)
    ):
        raise PermissionDenied("Your role does not allow this.")
    period = request.GET.get("period", services.PERIOD_INFUSION)
    if period not in {services.PERIOD_INFUSION, services.PERIOD_STUDY}:
        period = services.PERIOD_INFUSION
    rows, treated = services.ae_summary_for(request.user, period)
    return render(
        request, "safety/ae_summary.html", {"rows": rows, "treated": treated, "period": period}
    )


@login_required
def sae_overview(request):
    """Open SAE clocks (SA-1) of the user's sites and SUSAR due dates (SA-2)."""
    return render(
        request,
        "safety/sae.html",
        {
            "clocks": services.sae_clocks(request.user),
            "susars": services.susar_due_dates(request.user),
        },
    )
