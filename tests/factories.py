"""Test data built through the same services the app uses, so every row has its history."""

import datetime

import factory
from django.contrib.auth import get_user_model

from crf.models import Role, Site
from crf.services import membership_grant, site_create, subject_enrol

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SiteFactory(factory.Factory):
    class Meta:
        model = Site

    number = factory.Sequence(lambda n: n + 1)
    city = factory.Sequence(lambda n: f"City {n + 1}")
    name = factory.LazyAttribute(lambda o: f"University Hospital {o.city}")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return site_create(user=None, **kwargs)


def user_with_role(role: str, site: Site | None = None, **kwargs):
    user = UserFactory(**kwargs)
    membership_grant(user=user, role=role, site=site, granted_by=None)
    return user


def enrol(site: Site, *, by=None, day1_date: datetime.date | None = None):
    investigator = by or user_with_role(Role.INVESTIGATOR, site)
    return subject_enrol(
        site=site, day1_date=day1_date or datetime.date(2026, 3, 2), user=investigator
    )
