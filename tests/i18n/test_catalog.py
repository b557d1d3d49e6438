"""The shipped English catalog is current and compiled, and a page really goes through gettext:
with a pseudo-language whose every string is bracketed, a workspace page renders bracketed."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

from tests.conftest import World
from tools.compile_messages import Entry, mo_bytes, po_entries

LOCALE = settings.BASE_DIR / "locale"
PO = LOCALE / "en" / "LC_MESSAGES" / "django.po"
# What the Makefile's `messages` target walks (it ignores the rest: tests, sandbox, bench, ...).
PRODUCT = {"saas_platform", "tenants", "integrations", "billing", "templates", "manage.py"}


def _ids(entries: list[Entry]) -> set[tuple[str | None, str, str | None]]:
    return {(e.msgctxt, e.msgid, e.msgid_plural) for e in entries if e.msgid}


def test_the_committed_mo_is_the_compiled_po() -> None:
    assert PO.with_suffix(".mo").read_bytes() == mo_bytes(po_entries(PO)), (
        "locale/en/LC_MESSAGES/django.mo is stale: run `make messages`"
    )


@pytest.mark.skipif(
    shutil.which("xgettext") is None, reason="extracting strings needs GNU gettext's xgettext"
)
def test_the_catalog_holds_exactly_the_marked_strings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # makemessages writes into the `locale` folder beside the code it walks: it walks a folder of
    # links to the product's code instead, so the check never touches the committed catalog.
    tree = tmp_path / "tree"
    tree.mkdir()
    for item in settings.BASE_DIR.iterdir():
        if item.name in PRODUCT:
            (tree / item.name).symlink_to(item)
    monkeypatch.chdir(tree)
    with override_settings(LOCALE_PATHS=[tmp_path / "locale"]):
        call_command("makemessages", locale=["en"], symlinks=True, no_location=True, verbosity=0)
    extracted = _ids(po_entries(tmp_path / "locale" / "en" / "LC_MESSAGES" / "django.po"))
    committed = _ids(po_entries(PO))
    assert len(extracted) > 500
    assert not extracted - committed, f"missing from {PO.name} (run `make messages`)"
    assert not committed - extracted, f"no longer used, still in {PO.name} (run `make messages`)"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _pseudo_catalog(folder: Path) -> None:
    """Every English string of the shipped catalog as «string»; placeholders stay as they are."""
    lines = [
        'msgid ""',
        'msgstr ""',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"',
        "",
    ]
    for entry in po_entries(PO):
        if not entry.msgid:
            continue
        if entry.msgctxt is not None:
            lines.append(f'msgctxt "{_escape(entry.msgctxt)}"')
        lines.append(f'msgid "{_escape(entry.msgid)}"')
        if entry.msgid_plural is None:
            lines += [f'msgstr "«{_escape(entry.msgid)}»"', ""]
        else:
            lines += [
                f'msgid_plural "{_escape(entry.msgid_plural)}"',
                f'msgstr[0] "«{_escape(entry.msgid)}»"',
                f'msgstr[1] "«{_escape(entry.msgid_plural)}»"',
                "",
            ]
    target = folder / "xx" / "LC_MESSAGES"
    target.mkdir(parents=True)
    (target / "django.po").write_text("\n".join(lines))
    (target / "django.mo").write_bytes(mo_bytes(po_entries(target / "django.po")))


@pytest.mark.django_db
def test_a_page_in_a_pseudo_language_comes_out_translated(
    tmp_path: Path, world: World, agency_client: Callable[..., Client]
) -> None:
    _pseudo_catalog(tmp_path)
    location = world.a.locations[0]
    client = agency_client(world.a, world.a.client_admin)
    languages = [("en", "English"), ("xx", "Pseudo")]
    with override_settings(LANGUAGES=languages, LOCALE_PATHS=[tmp_path]):
        page = client.get(f"/app/l/{location.pk}/team/", HTTP_ACCEPT_LANGUAGE="xx")
        english = client.get(f"/app/l/{location.pk}/team/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert page["Content-Language"] == "xx"
    html = page.content.decode()
    assert "«Skip to content»" in html  # base template
    assert "«Sign out»" in html
    assert ">«Team»<" in html  # a page heading, and the side navigation (gettext_lazy)
    assert ">«Contacts»</a>" in html
    assert "«E-mail address»" in html  # a form's label
    assert "«Administrators also manage the team, billing and settings.»" in html
    assert "«" not in english.content.decode()
