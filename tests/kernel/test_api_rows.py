"""The plan of PostgreSQL-written rows takes only fields it can write as the serializer does."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers

from saas_platform.kernel.api.rows import JsonBuildObject, JsonRows
from tenants.models import Location


class Plain(serializers.ModelSerializer[Location]):
    class Meta:
        model = Location
        fields = ["name", "timezone", "created_at"]


class WithMethod(serializers.ModelSerializer[Location]):
    label = serializers.SerializerMethodField()

    class Meta:
        model = Location
        fields = ["name", "label"]

    def get_label(self, obj: Location) -> str:
        return obj.name.upper()


class WithRelation(serializers.ModelSerializer[Location]):
    class Meta:
        model = Location
        fields = ["name", "agency"]


class Shouting(serializers.CharField):
    def to_representation(self, value: Any) -> str:
        return str(value).upper()


class WithOwnConversion(serializers.ModelSerializer[Location]):
    name = Shouting()

    class Meta:
        model = Location
        fields = ["name"]


class WithNumber(serializers.ModelSerializer[Location]):
    class Meta:
        model = Location
        fields = ["name", "id"]


def test_plain_columns_make_a_plan() -> None:
    assert JsonRows(Plain).names == ["name", "timezone", "created_at"]


@pytest.mark.parametrize("refused", [WithMethod, WithRelation, WithOwnConversion, WithNumber])
def test_anything_else_is_refused(refused: type[Any]) -> None:
    with pytest.raises(TypeError, match="PostgreSQL cannot write it"):
        JsonRows(refused)


def test_only_plain_names_become_keys() -> None:
    with pytest.raises(ValueError):
        JsonBuildObject(**{"x'); DROP TABLE y; --": 1})
