"""Every model of the project has a factory in tests/factories.py (and it builds a valid row)."""

import pytest
from django.apps import apps

from tests import factories

OURS = ("tenants", "integrations", "billing")


def factory_models() -> dict[type, type]:
    found = {}
    for value in vars(factories).values():
        meta = getattr(value, "_meta", None)
        model = getattr(meta, "model", None)
        if isinstance(value, type) and model is not None and not meta.abstract:
            found[model] = value
    return found


def test_every_model_has_a_factory() -> None:
    models = [m for m in apps.get_models() if m._meta.app_label in OURS]
    missing = [m._meta.label for m in models if m not in factory_models()]
    assert not missing, f"models without a factory: {missing}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "factory_class",
    sorted(factory_models().values(), key=lambda f: f.__name__),
    ids=lambda f: f.__name__,
)
def test_each_factory_makes_a_row(factory_class: type) -> None:
    obj = factory_class()
    assert obj.pk is not None
