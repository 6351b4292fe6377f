"""Who may see and do what, and where: the one place that decides site scoping.

Every view, export and task asks here. A user's reach is the union of their memberships:
a membership with a site reaches that site, a study-wide one (no site) reaches every site.
"""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from .models import Membership, Role, Screening, Site, Subject


class Capability(StrEnum):
    VIEW_SUBJECTS = "view_subjects"
    ENTER_CLINICAL_DATA = "enter_clinical_data"
    ENTER_MRD_RESULTS = "enter_mrd_results"
    RAISE_QUERIES = "raise_queries"
    VERIFY_SOURCE_DATA = "verify_source_data"
    LOCK_DATA = "lock_data"
    EXPORT_DATA = "export_data"
    VIEW_REPORTS = "view_reports"


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.INVESTIGATOR: frozenset({Capability.VIEW_SUBJECTS, Capability.ENTER_CLINICAL_DATA}),
    Role.CENTRAL_LAB: frozenset({Capability.VIEW_SUBJECTS, Capability.ENTER_MRD_RESULTS}),
    Role.MONITOR: frozenset(
        {Capability.VIEW_SUBJECTS, Capability.RAISE_QUERIES, Capability.VERIFY_SOURCE_DATA}
    ),
    Role.DATA_MANAGER: frozenset(
        {
            Capability.VIEW_SUBJECTS,
            Capability.RAISE_QUERIES,
            Capability.LOCK_DATA,
            Capability.EXPORT_DATA,
            Capability.VIEW_REPORTS,
        }
    ),
    # The sponsor sees reports and exports only: no subject pages.
    Role.SPONSOR: frozenset({Capability.EXPORT_DATA, Capability.VIEW_REPORTS}),
}


_CACHE_ATTRIBUTE = "_study_memberships"


def memberships_of(user) -> list[tuple[str, int | None]]:
    """The user's (role, site id or None) pairs, read once per user object (i.e. per request)."""
    if not user.is_authenticated or not user.is_active:
        return []
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).values_list("role", "site_id"))
        setattr(user, _CACHE_ATTRIBUTE, cached)
    return cached


def memberships_limit_to_site(user, site_id: int) -> None:
    """Narrow the user's reach, for this user object (one request), to one site: a role held
    there or study-wide applies at that site only (an API token restricted to a site)."""
    limited = [
        (role, site_id)
        for role, member_site in memberships_of(user)
        if member_site is None or member_site == site_id
    ]
    setattr(user, _CACHE_ATTRIBUTE, limited)


def second_factor_required(user) -> bool:
    """Whether `user` must sign in with a second factor: TWO_FACTOR_REQUIRED_ROLES lists role
    codes, or "*" for every account (staff and accounts without a role included)."""
    required = set(settings.TWO_FACTOR_REQUIRED_ROLES)
    if not required or not user.is_authenticated:
        return False
    if "*" in required:
        return True
    return any(role in required for role, _ in memberships_of(user))


def second_factor_roles_check() -> None:
    """Refuse to start with an unknown role in TWO_FACTOR_REQUIRED_ROLES (a misspelt role would
    silently require nothing)."""
    unknown = set(settings.TWO_FACTOR_REQUIRED_ROLES) - set(Role.values) - {"*"}
    if unknown:
        raise ImproperlyConfigured(
            f"TWO_FACTOR_REQUIRED_ROLES: unknown role(s) {', '.join(sorted(unknown))}; use "
            f"{', '.join(Role.values)} or * (every account)."
        )


def forget_memberships(user) -> None:
    """Drop the cached memberships after they change (see crf.services.membership_grant)."""
    if hasattr(user, _CACHE_ATTRIBUTE):
        delattr(user, _CACHE_ATTRIBUTE)


def _site_ids(user, capability: Capability) -> set[int | None]:
    return {
        site_id
        for role, site_id in memberships_of(user)
        if capability in ROLE_CAPABILITIES.get(role, ())
    }


def sites_where(user, capability: Capability) -> QuerySet[Site]:
    """The sites at which `user` has `capability`."""
    site_ids = _site_ids(user, capability)
    if None in site_ids:
        return Site.objects.all()
    return Site.objects.filter(pk__in=site_ids)


def report_sites(user) -> QuerySet[Site]:
    """The sites a user's reports and summaries cover: where they see subjects (an investigator:
    their own sites) or reports (data manager, sponsor)."""
    return (
        sites_where(user, Capability.VIEW_SUBJECTS) | sites_where(user, Capability.VIEW_REPORTS)
    ).distinct()


def reaches_every_site(user, capability: Capability) -> bool:
    """Whether `user` has `capability` through a study-wide membership (every site, even new)."""
    return None in _site_ids(user, capability)


def user_can(user, capability: Capability, site: Site | None = None) -> bool:
    """Whether `user` has `capability` at `site` (or anywhere, when no site is given)."""
    site_ids = _site_ids(user, capability)
    if site is None:
        return bool(site_ids)
    return None in site_ids or site.pk in site_ids


def user_capabilities(user) -> set[Capability]:
    """Everything the user may do somewhere (for navigation)."""
    return {cap for role, _ in memberships_of(user) for cap in ROLE_CAPABILITIES.get(role, ())}


def subjects_visible_to(user) -> QuerySet[Subject]:
    """The subjects whose pages the user may open."""
    return Subject.objects.filter(site__in=sites_where(user, Capability.VIEW_SUBJECTS))


def screenings_visible_to(user) -> QuerySet[Screening]:
    """The screening log entries (enrolled and screen failures) of the sites the user sees."""
    return Screening.objects.filter(site__in=sites_where(user, Capability.VIEW_SUBJECTS))


def subject_for(user, study_id: str, capability: Capability = Capability.VIEW_SUBJECTS) -> Subject:
    """The subject `study_id` if the user may see it, else 404 (nothing revealed about other
    sites); 403 if they may see it but not do `capability` there."""
    try:
        subject = subjects_visible_to(user).select_related("site").get(study_id=study_id)
    except Subject.DoesNotExist:
        raise Http404("No such subject.") from None
    if capability != Capability.VIEW_SUBJECTS and not user_can(user, capability, subject.site):
        raise PermissionDenied("Your role does not allow this at this site.")
    return subject


def require(user, capability: Capability) -> None:
    """403 unless the user has `capability` at some site."""
    if not user_can(user, capability):
        raise PermissionDenied("Your role does not allow this.")


def page_needs(capability: Capability):
    """Declares on a view of a subject's page the capability it asks at the subject's site
    besides seeing the subject (the view still checks it with subject_for): `may_open` reads
    it, so that no page links a user to a page their role may not open."""

    def mark(view):
        view.page_capability = capability
        return view

    return mark


def may_open(user, url: str, site: Site) -> bool:
    """Whether a page of a subject at `site` opens for `user`: they see the site's subjects and
    have the capability its view declares (page_needs), if any."""
    from django.urls import Resolver404, resolve

    try:
        view = resolve(url.split("#", 1)[0].split("?", 1)[0]).func
    except Resolver404:
        return False
    needed = getattr(view, "page_capability", None)
    if needed is not None and not user_can(user, needed, site):
        return False
    return user_can(user, Capability.VIEW_SUBJECTS, site)
