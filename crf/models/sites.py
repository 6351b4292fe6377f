from django.conf import settings
from django.db import models
from django.db.models import Q

from audit.models import AuditedModel


class Site(AuditedModel):
    """A trial centre. Its number is the first part of every study ID enrolled there."""

    number = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=200)
    city = models.CharField(max_length=100)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(condition=Q(number__gte=1), name="site_number_positive")
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.city}"


class Role(models.TextChoices):
    INVESTIGATOR = "investigator", "Investigator"
    CENTRAL_LAB = "central_lab", "Central MRD laboratory"
    MONITOR = "monitor", "Monitor"
    DATA_MANAGER = "data_manager", "Data manager"
    SPONSOR = "sponsor", "Sponsor"


# Roles that work at named sites; the others may hold a study-wide membership (no site).
SITE_BOUND_ROLES = (Role.INVESTIGATOR, Role.MONITOR)


class Membership(AuditedModel):
    """A user's role at one site, or across the whole study when `site` is empty."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    site = models.ForeignKey(
        Site,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
        help_text="Empty means every site (central laboratory, data manager, sponsor only).",
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    # The site's principal investigator signs its casebooks (21 CFR 11.50, ICH E6 4.9.3).
    principal_investigator = models.BooleanField(
        "principal investigator",
        default=False,
        help_text="Signs the site's casebooks. Investigators only.",
    )

    class Meta:
        ordering = ["user__username", "role", "site__number"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "site", "role"],
                name="membership_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=Q(site__isnull=False) | ~Q(role__in=SITE_BOUND_ROLES),
                name="membership_site_bound_roles_need_site",
                violation_error_message="Investigators and monitors are assigned to a site.",
            ),
            models.CheckConstraint(
                condition=Q(principal_investigator=False) | Q(role=Role.INVESTIGATOR),
                name="membership_principal_is_investigator",
                violation_error_message="Only an investigator can be a principal investigator.",
            ),
        ]

    def __str__(self) -> str:
        where = f"site {self.site}" if self.site_id else "all sites"
        return f"{self.user} - {self.get_role_display()} - {where}"
