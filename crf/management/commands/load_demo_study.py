"""Load the demo study: the trial's four sites, one user per role, a few enrolled subjects.

Idempotent: a second run finds everything in place and changes nothing.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from crf.models import Membership, Role, Site, Subject
from crf.services import membership_grant, site_create, subject_enrol

SITES = [
    (1, "Prague", "Institute of Hematology and Blood Transfusion"),
    (2, "Brno", "University Hospital Brno"),
    (3, "Ostrava", "University Hospital Ostrava"),
    (4, "Hradec Králové", "University Hospital Hradec Králové"),
]
# username, role, site numbers (None = all sites), staff
USERS = [
    ("investigator.prague", Role.INVESTIGATOR, [1], False),
    ("investigator.brno", Role.INVESTIGATOR, [2], False),
    ("monitor", Role.MONITOR, [1, 2], False),
    ("centrallab", Role.CENTRAL_LAB, None, False),
    ("datamanager", Role.DATA_MANAGER, None, False),
    ("sponsor", Role.SPONSOR, None, False),
    ("admin", None, None, True),
]
# Subjects enrolled per site in the demo, with study day 1 this many days ago.
DEMO_SUBJECTS = {1: [120, 60, 14], 2: [90, 30]}


class Command(BaseCommand):
    help = "Load the demo study (sites, users for every role, a few subjects). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--password", required=True, help="Password for new demo users.")
        parser.add_argument(
            "--force", action="store_true", help="Allow with DEBUG off (never on a live study)."
        )

    @transaction.atomic
    def handle(self, *args, password, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError("The demo study is for DEBUG installations; pass --force to insist.")
        User = get_user_model()
        system, _ = User.objects.get_or_create(
            username="system", defaults={"is_active": False, "first_name": "System"}
        )
        sites = {}
        for number, city, name in SITES:
            site = Site.objects.filter(number=number).first()
            sites[number] = site or site_create(number=number, name=name, city=city, user=system)
        created = []
        for username, role, site_numbers, staff in USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User(username=username, is_staff=staff, is_superuser=staff)
                user.set_password(password)
                user.save()
                created.append(username)
            if role is None:
                continue
            for site in [sites[n] for n in site_numbers] if site_numbers else [None]:
                if not Membership.objects.filter(user=user, role=role, site=site).exists():
                    membership_grant(user=user, role=role, site=site, granted_by=system)
        today = timezone.localdate()
        for number, days_ago in DEMO_SUBJECTS.items():
            site = sites[number]
            investigator = Membership.objects.filter(role=Role.INVESTIGATOR, site=site).first()
            for ago in days_ago[Subject.objects.filter(site=site).count() :]:
                subject_enrol(
                    site=site, day1_date=today - timedelta(days=ago), user=investigator.user
                )
        self.stdout.write(
            f"Demo study ready: {Site.objects.count()} sites, {Subject.objects.count()} subjects"
            + (f"; new users: {', '.join(created)}" if created else "; nothing new.")
        )
