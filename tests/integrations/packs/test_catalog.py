"""Every pack file is valid, and the checks refuse what a broken file could hold."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from integrations.packs.catalog import DATA_DIR, REPORTS, PackDataError, pack_get, pack_parse, packs
from saas_platform.kernel.errors import ApplicationError
from tenants.models import Location

VALID = json.loads((DATA_DIR / "real_estate.json").read_text(encoding="utf-8"))


def test_every_pack_file_is_valid_and_covers_the_industries() -> None:
    files = sorted(p.stem for p in DATA_DIR.glob("*.json"))
    assert files == ["generic", "health_clinic", "home_services", "real_estate"]
    assert sorted(packs()) == files
    assert {pack.industry for pack in packs().values()} == set(Location.Industry.values)
    for pack in packs().values():
        assert pack.fields and pack.attributes and pack.pipelines and pack.reports
        assert set(pack.reports) <= REPORTS
        for attribute in pack.attributes:
            assert bool(attribute.custom_field) != bool(attribute.contact_field)


def test_the_issue_s_routing_attributes_are_offered() -> None:
    def keys(pack: str) -> set[str]:
        return {a.key for a in pack_get(key=pack).attributes}

    assert {"area", "property_type", "budget_band", "language"} <= keys("real_estate")
    assert {"service_type", "postal_code"} <= keys("home_services")
    assert {"clinic", "service_line", "insurance"} <= keys("health_clinic")
    postal = next(a for a in pack_get(key="home_services").attributes if a.key == "postal_code")
    assert postal.contact_field == "postal_code"


def test_an_unknown_pack_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ApplicationError) as error:
        pack_get(key="dental")
    assert error.value.message == (
        "Unknown pack 'dental': choose one of generic, health_clinic, home_services, real_estate."
    )


def broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("pipelines"), "missing keys ['pipelines']"),
        (lambda d: d.update(colour="red"), "unexpected keys ['colour']"),
        (lambda d: d.update(version=0), "version must be a whole number"),
        (lambda d: d.update(industry="farming"), "industry 'farming' is not one of"),
        (lambda d: d["custom_fields"][0].update(data_type="STRING"), "is not a GHL type"),
        (lambda d: d["custom_fields"][0].update(options=[]), "needs a non-empty 'options'"),
        (lambda d: d["custom_fields"][2].update(options=["x"]), "only option types take"),
        (lambda d: d["custom_fields"][1].update(key="area"), "field key 'area' appears twice"),
        (lambda d: d["custom_fields"][1].update(key="Area Name"), "must be snake_case"),
        (lambda d: d["routing_attributes"][0].update(custom_field="nope"), "not a field of"),
        (lambda d: d["routing_attributes"][0].update(contact_field="city"), "exactly one of"),
        (
            lambda d: d["routing_attributes"].append(
                {"key": "zip", "label": "Zip", "contact_field": "zip"}
            ),
            "contact_field 'zip' is not one of",
        ),
        (lambda d: d["pipelines"][0]["stages"].append("closed"), "stage 'closed' appears twice"),
        (lambda d: d["reports"].append("churn"), "unknown reports ['churn']"),
    ],
)
def test_a_broken_pack_file_is_refused_with_the_place_named(change: Any, message: str) -> None:
    pack_parse(VALID, source="real_estate.json")  # the unbroken file passes
    with pytest.raises(PackDataError, match=r"^real_estate\.json") as error:
        pack_parse(broken(change), source="real_estate.json")
    assert message in str(error.value)


def test_the_docs_describe_every_pack_as_it_is() -> None:
    text = (DATA_DIR.parents[2] / "docs" / "packs.md").read_text(encoding="utf-8")
    text = " ".join(text.split())  # prose is wrapped
    for pack in packs().values():
        assert f"({pack.key}" in text.replace("`", ""), pack.key
        for field in pack.fields:
            assert f"| {field.name} | `{field.data_type}` |" in text, field.name
        for pipeline in pack.pipelines:
            assert f"**{pipeline.name}** ({' → '.join(pipeline.stages)})" in text, pipeline.name
