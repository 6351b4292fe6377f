"""Every model that can hold trial data keeps a history, or is exempt with a written reason."""

import pytest
from django.apps import apps
from simple_history.models import HistoricalChanges

from audit.exemptions import UNAUDITED_MODELS

pytestmark = pytest.mark.verifies("UR-AUD-01")


def _label(model) -> str:
    return model._meta.label_lower


def test_every_model_is_audited_or_exempt_with_a_reason():
    unaccounted = []
    for model in apps.get_models():
        if issubclass(model, HistoricalChanges):
            continue  # a history table itself
        audited = hasattr(model, "history") and hasattr(model.history, "model")
        if not audited and not UNAUDITED_MODELS.get(_label(model), "").strip():
            unaccounted.append(_label(model))
    assert unaccounted == [], (
        "These models have no history and no exemption in audit/exemptions.py: "
        f"{', '.join(unaccounted)}"
    )


def test_exemptions_name_real_models_that_are_not_audited():
    labels = {_label(m): m for m in apps.get_models()}
    stale = [name for name in UNAUDITED_MODELS if name not in labels]
    assert stale == [], f"exempt but no such model: {stale}"
    both = [name for name in UNAUDITED_MODELS if hasattr(labels[name], "history")]
    assert both == [], f"exempt although audited: {both}"


def test_clinical_models_are_audited():
    for label in ["crf.site", "crf.membership", "crf.subject", "auth.user"]:
        model = apps.get_model(label)
        assert hasattr(model, "history"), label
