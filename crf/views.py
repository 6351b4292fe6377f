from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from audit.clock import local_time_text
from audit.forms import add_errors
from protocol import rules, schedule

from . import forms
from .access import (
    Capability,
    page_needs,
    require,
    screenings_visible_to,
    sites_where,
    subject_for,
    subjects_visible_to,
    user_can,
)
from .casebook import FORMS, casebook_of
from .models import (
    BlinatumomabInfusion,
    DrugAdministration,
    InfusionInterruption,
    ProtocolVersion,
    Screening,
    TreatmentCourse,
)
from .protocol_rules import protocol_sections
from .records import write_refusal
from .services import infusion as infusion_services
from .services import record_save, subject_screen
from .services.records import SoftChecksPending, correction_answers_query
from .services.treatment import planned_administrations

SUBJECTS_PER_PAGE = 25


@login_required
def subject_list(request):
    require(request.user, Capability.VIEW_SUBJECTS)
    sites = sites_where(request.user, Capability.VIEW_SUBJECTS)
    filters = forms.SubjectFilterForm(request.GET or None, sites=sites)
    subjects = subjects_visible_to(request.user).select_related("site")
    if filters.is_valid():
        if filters.cleaned_data["site"]:
            subjects = subjects.filter(site=filters.cleaned_data["site"])
        if filters.cleaned_data["status"]:
            subjects = subjects.filter(status=filters.cleaned_data["status"])
    page = Paginator(subjects, SUBJECTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "crf/subject_list.html",
        {"page": page, "filters": filters, "query": query.urlencode()},
    )


@login_required
def screening_log(request):
    """Every patient screened at the user's sites, enrolled or not (screen failures have no
    study ID and appear only here)."""
    require(request.user, Capability.VIEW_SUBJECTS)
    screenings = screenings_visible_to(request.user).select_related("site", "subject", "created_by")
    page = Paginator(screenings, SUBJECTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "crf/screening_log.html", {"page": page, "query": ""})


@login_required
def subject_detail(request, study_id):
    subject = subject_for(request.user, study_id)
    history = subject.history.select_related("history_user").order_by("-history_date")[:50]
    # A locked site, subject or form offers no write action: the page asks its locks, read once
    # (subject_locks), for each link.
    return render(
        request,
        "crf/subject_detail.html",
        {
            "subject": subject,
            "casebook": casebook_of(subject),
            "history": history,
            "can_edit": user_can(request.user, Capability.ENTER_CLINICAL_DATA, subject.site),
        },
    )


@login_required
def screening_view(request):
    """Screen a patient: consent, eligibility, and enrolment if eligible."""
    require(request.user, Capability.ENTER_CLINICAL_DATA)
    sites = sites_where(request.user, Capability.ENTER_CLINICAL_DATA)
    form = forms.ScreeningForm(request.POST or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        try:
            screening = subject_screen(
                site=form.cleaned_data["site"],
                consent_date=form.cleaned_data["consent_date"],
                consent_version=form.cleaned_data["consent_version"],
                eligibility=form.eligibility(),
                day1_date=form.cleaned_data["day1_date"],
                failure_reason=form.cleaned_data["failure_reason"],
                user=request.user,
            )
        except ValidationError as invalid:
            add_errors(form, invalid)
        else:
            if screening.outcome == Screening.Outcome.SCREEN_FAILURE:
                messages.warning(
                    request,
                    f"{screening.screening_number} recorded as a screen failure: "
                    f"{screening.failure_reason}",
                )
                return redirect("crf:subject_list")
            study_id = screening.subject.study_id
            messages.success(request, f"Subject {study_id} enrolled.")
            return redirect("crf:subject_detail", study_id=study_id)
    return render(request, "crf/subject_enrol.html", {"form": form})


@login_required
def subject_edit(request, study_id):
    subject = subject_for(request.user, study_id, Capability.ENTER_CLINICAL_DATA)
    locked = write_refusal(subject)
    if locked:
        form = _read_only(forms.SubjectForm(instance=subject))
    else:
        form = forms.SubjectForm(request.POST or None, instance=subject)
    if request.method == "POST" and not locked and form.is_valid():
        saved = form.save_audited(user=request.user)
        if saved is not None:
            messages.success(request, f"Subject {saved.study_id} saved.")
            return redirect("crf:subject_detail", study_id=saved.study_id)
    return render(
        request, "crf/subject_edit.html", {"form": form, "subject": subject, "locked": locked}
    )


def _read_only(form):
    """The form with the values as saved and every field disabled: locked data is shown, not
    offered for editing (the page shows the lock and no save button)."""
    for field in form.fields.values():
        field.disabled = True
    return form


def _save_record_form(request, form):
    """Validate and save a ClinicalRecordForm; soft checks come back to the user to confirm."""
    if not form.is_valid():
        return None
    options = {"confirmed": form.confirmed_codes()}
    try:
        return form.save_audited(user=request.user, saver=record_save, **options)
    except SoftChecksPending as pending:
        form.show_warnings(pending.warnings)
        return None


@login_required
@page_needs(Capability.ENTER_CLINICAL_DATA)
def record_form(request, study_id, slug, pk=None):
    """Add or correct one clinical record of a subject (the forms of casebook.FORMS)."""
    spec = FORMS.get(slug)
    if spec is None:
        raise Http404("No such form.")
    subject = subject_for(request.user, study_id, Capability.ENTER_CLINICAL_DATA)
    records = spec.model.objects.filter(subject=subject, entered_in_error=False)
    entered_meanwhile = None
    if pk is not None:
        instance = get_object_or_404(records, pk=pk)
    elif not spec.many and records.exists():
        existing = records.get()
        if request.method != "POST":
            return redirect("crf:record_edit", study_id=study_id, slug=slug, pk=existing.pk)
        # Somebody entered this once-per-subject record after this user opened the empty
        # form: keep the user's input, as a correction of the saved record, and say so.
        instance, entered_meanwhile = existing, existing
    else:
        instance = spec.model(subject=subject)
        if spec.prepare_new:
            spec.prepare_new(instance, subject)
    form_class = spec.new_form_class if (pk is None and spec.new_form_class) else spec.form_class
    # Locked (the site, the subject, or this record): shown read-only, a POST refused with the
    # lock's message once (the page's notice; the form is not submitted to the save).
    locked = write_refusal(instance)
    if locked:
        return render(
            request,
            "crf/record_form.html",
            {"form": _read_only(form_class(instance=instance)), "subject": subject,
             "spec": spec, "record": instance, "locked": locked},
        )  # fmt: skip
    if entered_meanwhile is not None:
        form = _entered_meanwhile_form(form_class, request.POST, entered_meanwhile, spec)
        return render(
            request,
            "crf/record_form.html",
            {"form": form, "subject": subject, "spec": spec, "record": entered_meanwhile,
             "action": reverse("crf:record_edit", args=[study_id, slug, entered_meanwhile.pk])},
        )  # fmt: skip
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST":
        answers = request.GET.get("answers_query") if pk is not None else None
        try:
            with transaction.atomic():  # the correction and the query's answer, or neither
                saved = _save_record_form(request, form)
                if saved is not None and answers:
                    correction_answers_query(
                        query_id=answers,
                        record=saved,
                        answer=form.cleaned_data["reason_for_change"],
                        user=request.user,
                    )
        except ValidationError as invalid:
            add_errors(form, invalid)
            saved = None
        if saved is not None:
            messages.success(request, f"{spec.title} saved.")
            if answers:
                messages.success(request, f"Query #{answers} answered.")
            if isinstance(saved, TreatmentCourse):
                return redirect("crf:course", study_id=study_id, pk=saved.pk)
            return redirect("crf:subject_detail", study_id=study_id)
    return render(
        request,
        "crf/record_form.html",
        {"form": form, "subject": subject, "spec": spec, "record": instance},
    )


def _entered_meanwhile_form(form_class, posted, existing, spec):
    """The user's input, bound as a correction of the record someone saved meanwhile, with the
    message that says so (nothing is saved)."""
    data = posted.copy()
    data["version"] = existing.version
    form = form_class(data, instance=type(existing).objects.get(pk=existing.pk))
    form.is_valid()  # the user's own values are checked as usual
    who = existing.created_by.get_username() if existing.created_by else "another user"
    when = local_time_text(existing.created_at)
    form.add_error(
        None,
        f"Not saved: {who} entered the {spec.title.lower()} of this subject ({when}) after you "
        "opened the empty form. Your input is kept below as a correction of that record: "
        "compare it with the saved values, give a reason and save again if it still applies.",
    )
    return form


@login_required
def course_detail(request, study_id, pk):
    """A treatment course: the protocol's drugs pre-filled with their calculated doses."""
    subject = subject_for(request.user, study_id)
    course = get_object_or_404(
        TreatmentCourse.objects.filter(subject=subject, entered_in_error=False), pk=pk
    )
    administrations = DrugAdministration.objects.filter(
        course=course, entered_in_error=False
    ).select_related("updated_by")
    planned = {(p.drug.drug.value, p.protocol_day): p for p in planned_administrations(course)}
    rows = [(a, planned.get((a.drug, a.protocol_day))) for a in administrations]
    can_enter = user_can(request.user, Capability.ENTER_CLINICAL_DATA, subject.site)
    locked = write_refusal(course) if can_enter else None
    return render(
        request,
        "crf/course_detail.html",
        {
            "subject": subject,
            "course": course,
            "rows": rows,
            "can_edit": can_enter and not locked,
            "locked": locked,
        },
    )


@login_required
@page_needs(Capability.ENTER_CLINICAL_DATA)
def administration_form(request, study_id, pk):
    subject = subject_for(request.user, study_id, Capability.ENTER_CLINICAL_DATA)
    administration = get_object_or_404(
        DrugAdministration.objects.filter(course__subject=subject, entered_in_error=False),
        pk=pk,
    )
    locked = write_refusal(administration)
    if locked:
        form = _read_only(forms.AdministrationForm(instance=administration))
    else:
        form = forms.AdministrationForm(request.POST or None, instance=administration)
    if request.method == "POST" and not locked:
        saved = _save_record_form(request, form)
        if saved is not None:
            messages.success(request, f"{saved.drug} day {saved.protocol_day} saved.")
            return redirect("crf:course", study_id=study_id, pk=saved.course_id)
    return render(
        request,
        "crf/administration_form.html",
        {"form": form, "subject": subject, "administration": administration, "locked": locked},
    )


# --- Blinatumomab infusion log ------------------------------------------------------------


INFUSION_ACTIONS = {
    "start": forms.InfusionStartForm,
    "dose": forms.DoseChangeForm,
    "interrupt": forms.InterruptForm,
    "restart": forms.RestartForm,
    "premedication": forms.PremedicationForm,
    "end": forms.InfusionEndForm,
}


@login_required
def infusion_log(request, study_id, action=None):
    """The infusion page: cycles, days given against 28, what the protocol expects next; and
    each action of the log as a small form (POST to the action's URL)."""
    subject = subject_for(request.user, study_id)
    can_enter = user_can(request.user, Capability.ENTER_CLINICAL_DATA, subject.site)
    locked = _infusion_locked(subject) if can_enter else None
    bound = None
    if request.method == "POST":
        if action not in INFUSION_ACTIONS:
            raise Http404("No such action.")
        subject = subject_for(request.user, study_id, Capability.ENTER_CLINICAL_DATA)
        if not locked:
            bound = INFUSION_ACTIONS[action](request.POST, prefix=action)
        if bound is not None and bound.is_valid():
            try:
                _infusion_action(request, subject, action, bound.cleaned_data)
            except ValidationError as invalid:
                add_errors(bound, invalid)
            else:
                messages.success(request, "Infusion log saved.")
                return redirect("crf:infusion", study_id=study_id)
    summary = infusion_services.infusion_summary(subject)
    action_forms = {
        name: (
            bound if name == action and bound is not None else INFUSION_ACTIONS[name](prefix=name)
        )
        for name in _actions_available(summary)
    }
    if summary.plan and "start" in action_forms and action != "start":
        action_forms["start"] = forms.InfusionStartForm(
            prefix="start", initial={"ug_per_day": summary.plan[0].ug_per_day}
        )
    return render(
        request,
        "crf/infusion.html",
        {
            "subject": subject,
            "summary": summary,
            "forms": action_forms,
            "failed_action": action if bound is not None else None,
            "can_edit": can_enter and not locked,
            "locked": locked,
        },
    )


def _infusion_locked(subject) -> str | None:
    """Why the infusion log takes no entry: the site or the subject is locked, or the running
    cycle is (its dose changes, interruptions and end are its own)."""
    running = BlinatumomabInfusion.objects.filter(
        subject=subject, entered_in_error=False, ended_at__isnull=True
    ).first()
    return write_refusal(running if running is not None else subject)


def _actions_available(summary) -> list[str]:
    """The log's actions that make sense now: start when nothing runs; restart when
    interrupted; otherwise change the dose or interrupt; premedication and end while a cycle
    is open."""
    current = summary.current
    if current is None or current.ended_at is not None:
        return ["start"]
    interrupted = any(i.ended_at is None for i in current.interruptions.all())
    running = ["restart"] if interrupted else ["dose", "interrupt"]
    return [*running, "premedication", "end"]


def _current_cycle(subject) -> BlinatumomabInfusion:
    current = (
        BlinatumomabInfusion.objects.filter(subject=subject, entered_in_error=False)
        .order_by("-cycle")
        .first()
    )
    if current is None:
        raise ValidationError("No blinatumomab cycle has been started yet.")
    return current


def _infusion_action(request, subject, action: str, data: dict) -> None:
    user = request.user
    if action == "start":
        infusion_services.infusion_start(
            subject=subject, started_at=data["started_at"], ug_per_day=data["ug_per_day"], user=user
        )
        return
    current = _current_cycle(subject)
    if action == "dose":
        infusion_services.infusion_dose_change(
            record=current, at=data["at"], ug_per_day=data["ug_per_day"], kind=data["kind"],
            user=user,
        )  # fmt: skip
    elif action == "interrupt":
        infusion_services.infusion_interrupt(
            record=current,
            started_at=data["started_at"],
            reason=data["reason"],
            reason_other=data["reason_other"],
            user=user,
        )
    elif action == "restart":
        interruption = InfusionInterruption.objects.filter(
            infusion=current, ended_at__isnull=True, entered_in_error=False
        ).first()
        if interruption is None:
            raise ValidationError("The infusion is not interrupted: there is nothing to restart.")
        infusion_services.infusion_restart(
            interruption=interruption,
            restarted_at=data["restarted_at"],
            ug_per_day=data["ug_per_day"],
            user=user,
        )
    elif action == "premedication":
        infusion_services.premedication_record(
            record=current,
            given_at=data["given_at"],
            dexamethasone_mg=data["dexamethasone_mg"],
            before=data["before"],
            user=user,
        )
    elif action == "end":
        infusion_services.infusion_end(
            record=current,
            ended_at=data["ended_at"],
            end_reason=data["end_reason"],
            discontinuation_reason=data["discontinuation_reason"],
            user=user,
        )


def _rule_sections() -> list[tuple]:
    """The protocol's sections with their rules, each rule by its ID and what it says (an
    alert: the registry's own text)."""
    alerts = {alert.id: alert.text for alert in rules.ALERT_RULES.values()}
    return [
        (section, [(rule, alerts.get(rule.id, rule.title)) for rule in section.rules])
        for section in protocol_sections()
    ]


@login_required
def protocol_page(request):
    """The protocol versions in use and their settings, as every user may read them."""
    versions = ProtocolVersion.objects.all()
    return render(
        request,
        "crf/protocol.html",
        {
            "versions": versions,
            "phases": schedule.PHASES,
            "visits": schedule.VISITS,
            "consolidation": schedule.CONSOLIDATION_CYCLES,
            "intrathecal_planned": schedule.INTRATHECAL_ADMINISTRATIONS_PLANNED,
            "rule_sections": _rule_sections(),
        },
    )
