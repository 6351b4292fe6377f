"""Which page shows a record: each model declares it with get_absolute_url()."""

from django.urls import reverse


class FormPage:
    """A record entered on the generic record form (crf.casebook.FORM_SPECS) under its
    `form_slug`."""

    form_slug: str = ""

    def get_absolute_url(self) -> str:
        return reverse("crf:record_edit", args=[self.subject.study_id, self.form_slug, self.pk])


class InfusionPage:
    """A record of the blinatumomab infusion log, shown on the subject's infusion page."""

    def get_absolute_url(self) -> str:
        cycle = self if not hasattr(self, "infusion") else self.infusion
        return reverse("crf:infusion", args=[cycle.subject.study_id])
