"""Every template shows its words through {% translate %} / {% blocktranslate %}: a new template
(or a new sentence in an old one) with bare text fails here, naming the template and the text."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from tests.i18n.untranslated import Finding, untranslated_text


def _our_templates() -> list[tuple[Path, Path]]:
    """(root, template) for the project's template folder and our apps' own template folders
    (third-party apps' templates are theirs to translate)."""
    roots = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    roots += [
        settings.BASE_DIR / app / "templates"
        for app in ("saas_platform", "tenants", "integrations", "billing")
    ]
    return [
        (root, path)
        for root in roots
        if root.is_dir()
        for path in sorted(root.rglob("*"))
        if path.suffix in (".html", ".txt")
    ]


def test_the_walk_sees_the_templates() -> None:
    names = {str(path.relative_to(root)) for root, path in _our_templates()}
    assert {"base.html", "portal/contacts/list.html", "emails/invitation_message.txt"} <= names
    assert len(names) > 80


def test_no_template_shows_text_outside_translation_tags() -> None:
    found: list[Finding] = []
    for root, path in _our_templates():
        found += untranslated_text(path, root)
    assert not found, "\n".join(f"{f.template}: {f.text}" for f in found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<p>Hello</p>", ["Hello"]),
        ("<p>{% translate 'Hello' %}</p>", []),
        ("<p>{% blocktranslate trimmed %}Hi {{ n }}{% endblocktranslate %}</p>", []),
        ("<p>{{ name }} · {{ other }}</p>", []),
        ('<input placeholder="Name" title="{% translate \'Title\' %}">', ['placeholder="Name"']),
        ('<button aria-label="Close {{ x }}">&times;</button>', ['aria-label="Close …"']),
        ('<input type="submit" value="Save">', ['value="Save"']),
        ('<input type="hidden" name="next" value="home">', []),
        ("<script>const a = 'words';</script><style>p{color:red}</style>", []),
        ("<p>Send <code>Authorization</code></p>", ["Send"]),
        ("{% comment %}Words for developers{% endcomment %}{# more #}", []),
        ('<a href="/x" class="link primary" data-role="menu">&rarr;</a>', []),
        ("<p>{% if x %}Yes{% else %}{% translate 'No' %}{% endif %}</p>", ["Yes"]),
    ],
)
def test_what_counts_as_visible_text(tmp_path: Path, source: str, expected: list[str]) -> None:
    template = tmp_path / "t.html"
    template.write_text(source)
    assert [f.text for f in untranslated_text(template, tmp_path)] == expected


def test_plain_text_templates_are_read_line_by_line(tmp_path: Path) -> None:
    template = tmp_path / "mail.txt"
    template.write_text("{% translate 'Hello,' %}\n\nYour code is {{ code }}\n{{ url }}\n")
    assert [f.text for f in untranslated_text(template, tmp_path)] == ["Your code is …"]
