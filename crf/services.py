"""Writes to sites, memberships and subjects. Every one goes through audit.services.audited_save."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max

from audit.services import audited_save
from protocol.identifiers import study_id

from .access import Capability, forget_memberships, user_can
from .models import Membership, Site, Subject


def site_create(*, number: int, name: str, city: str, user) -> Site:
    return audited_save(Site(number=number, name=name, city=city), user=user, reason="site opened")


def membership_grant(*, user, role: str, site: Site | None, granted_by) -> Membership:
    membership = audited_save(
        Membership(user=user, role=role, site=site), user=granted_by, reason="role granted"
    )
    forget_memberships(user)
    return membership


def subject_enrol(*, site: Site, day1_date: date, user) -> Subject:
    """Enrol a subject at `site`, allocating the next study ID there (no gaps, no duplicates).

    The site row is locked for the allocation, so concurrent enrolments at one site queue up
    and take consecutive numbers; enrolments at different sites do not wait for each other.
    """
    if not user_can(user, Capability.ENTER_CLINICAL_DATA, site):
        raise PermissionDenied("Only the site's investigators can enrol subjects there.")
    with transaction.atomic():
        Site.objects.select_for_update().get(pk=site.pk)
        last = Subject.objects.filter(site=site).aggregate(last=Max("sequence"))["last"] or 0
        sequence = last + 1
        subject = Subject(
            site=site,
            sequence=sequence,
            study_id=study_id(site.number, sequence),
            day1_date=day1_date,
            enrolled_by=user,
        )
        return audited_save(subject, user=user, reason="enrolled")
