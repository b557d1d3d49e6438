"""The connection setup forms of the workspace, one per kind: the kind's own settings as plain
fields, the field mapping as rows with a conflict policy each, and the credentials write-only
(never rendered back; left blank on an edit, the saved ones are kept)."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from integrations.bulk.csv_io import custom_field_ids
from integrations.connectors import kinds  # noqa: F401 — registers every kind
from integrations.connectors.base import ConnectorError, connector_class
from integrations.connectors.fields import CUSTOM, STANDARD
from integrations.connectors.models import Direction, ExternalConnection, Policy
from tenants.models import Location

# The portal's own words for the choices (the models' labels name the CRM's vendor).
POLICIES: list[tuple[str, StrOrPromise]] = [
    (Policy.NEWEST_WINS, _("Newest change wins")),
    (Policy.GHL_WINS, _("Your contacts win")),
    (Policy.EXTERNAL_WINS, _("The other system wins")),
    (Policy.ASK, _("Ask me")),
]
DIRECTIONS: list[tuple[str, StrOrPromise]] = [
    (Direction.TWO_WAY, _("Both ways")),
    (Direction.TO_EXTERNAL, _("From your contacts to the other system only")),
    (Direction.FROM_EXTERNAL, _("From the other system into your contacts only")),
]
MAPPING_ROWS_EXTRA = 3
MAX_MAPPING_ROWS = 60
WRITE_ONLY_NOTE = _("Stored encrypted and never shown again.")
KEEP_HELP = _("Leave blank to keep the saved one.")


def _secret(
    label: StrOrPromise, *, textarea: bool = False, help_text: StrOrPromise = ""
) -> forms.CharField:
    widget: forms.Widget = (
        forms.Textarea(attrs={"rows": 4, "autocomplete": "off"})
        if textarea
        else forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
    )
    return forms.CharField(label=label, required=False, widget=widget, help_text=help_text)


class ConnectionForm(forms.Form):
    """The fields every kind has; subclasses add the kind's settings and secrets."""

    kind: ClassVar[str]
    title: ClassVar[StrOrPromise]
    config_fields: ClassVar[tuple[str, ...]] = ()
    secret_fields: ClassVar[tuple[str, ...]] = ()
    # (words in a refusal, the field it is about), tried in order.
    error_routes: ClassVar[tuple[tuple[str, str], ...]] = ()

    name = forms.CharField(max_length=120)
    direction = forms.ChoiceField(choices=DIRECTIONS, initial=Direction.TWO_WAY)
    match_on = forms.ChoiceField(
        label=_("Find existing contacts by"),
        choices=[(name, name.replace("_", " ")) for name in STANDARD],
        initial="email",
    )
    interval_minutes = forms.IntegerField(
        label=_("Run every (minutes)"), min_value=5, max_value=24 * 60, initial=15
    )

    def __init__(
        self,
        *args: Any,
        location: Location,
        rows: int,
        connection: ExternalConnection | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.location, self.rows, self.connection = location, rows, connection
        targets = [("", "—"), *((name, name.replace("_", " ")) for name in STANDARD)]
        targets += [
            (CUSTOM + key, _("Custom field %(key)s") % {"key": key})
            for key in custom_field_ids(location=location)
        ]
        for i in range(rows):
            self.fields[f"m{i}_ghl"] = forms.ChoiceField(
                label=_("Mapping %(value)s: contact field") % {"value": i + 1},
                choices=targets,
                required=False,
            )
            self.fields[f"m{i}_external"] = forms.CharField(
                label=_("Mapping %(value)s: external field") % {"value": i + 1},
                required=False,
                max_length=200,
            )
            self.fields[f"m{i}_policy"] = forms.ChoiceField(
                label=_("Mapping %(value)s: when both sides changed") % {"value": i + 1},
                choices=POLICIES,
                initial=Policy.NEWEST_WINS,
                required=False,
            )
        for name in self.secret_fields:
            field = self.fields[name]
            notes = [
                str(field.help_text),
                str(WRITE_ONLY_NOTE),
                str(KEEP_HELP) if connection else "",
            ]
            field.help_text = " ".join(note for note in notes if note)

    # --- rendering helpers ---------------------------------------------------------------------

    def mapping_rows(self) -> list[tuple[Any, Any, Any]]:
        return [
            (self[f"m{i}_ghl"], self[f"m{i}_external"], self[f"m{i}_policy"])
            for i in range(self.rows)
        ]

    def settings_fields(self) -> list[Any]:
        return [self[name] for name in self.config_fields]

    def secret_bound_fields(self) -> list[Any]:
        return [self[name] for name in self.secret_fields]

    # --- to the stored shapes ------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        values = {name: self.cleaned_data.get(name) for name in self.config_fields}
        return {
            k: v.strip() if isinstance(v, str) else v
            for k, v in values.items()
            if v not in ("", None)
        }

    def secrets(self) -> dict[str, Any]:
        """Only what was typed: an empty field keeps (on an edit) the saved value."""
        return {n: v for n in self.secret_fields if (v := (self.cleaned_data.get(n) or "").strip())}

    def credentials(self) -> dict[str, Any]:
        saved = self.connection.secrets if self.connection else {}
        return {**saved, **self.secrets()}

    def mapping(self) -> list[dict[str, str]]:
        return [
            {
                "ghl": self.cleaned_data[f"m{i}_ghl"],
                "external": (self.cleaned_data.get(f"m{i}_external") or "").strip(),
                "policy": self.cleaned_data.get(f"m{i}_policy") or Policy.NEWEST_WINS,
            }
            for i in range(self.rows)
            if self.cleaned_data.get(f"m{i}_ghl")
        ]

    def mapping_row(self, line: int) -> int:
        """The form row of the mapping's `line`-th (1-based) filled line."""
        filled = [i for i in range(self.rows) if self.cleaned_data.get(f"m{i}_ghl")]
        return filled[line - 1] if 0 < line <= len(filled) else 0

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for i in range(self.rows):
            if data.get(f"m{i}_ghl") and not (data.get(f"m{i}_external") or "").strip():
                self.add_error(f"m{i}_external", _("Name the external field."))
        if self.errors:
            return data
        # The kind's own checks (with the SSRF guard) field by field where they can be, so
        # a refused address is shown on the address it is about.
        for name in self.config_fields:
            self.check_alone(name, data)
        return data

    def check_alone(self, name: str, data: dict[str, Any]) -> None:
        """Hook: check one setting on its own (the HTTPS kind's URLs)."""

    @staticmethod
    def initial_for(connection: ExternalConnection) -> tuple[dict[str, Any], int]:
        initial: dict[str, Any] = {
            "name": connection.name,
            "direction": connection.direction,
            "match_on": connection.match_on,
            "interval_minutes": connection.interval_minutes,
            **connection.config,
        }
        for i, line in enumerate(connection.mapping):
            initial[f"m{i}_ghl"], initial[f"m{i}_external"] = line.get("ghl"), line.get("external")
            initial[f"m{i}_policy"] = line.get("policy") or Policy.NEWEST_WINS
        return initial, len(connection.mapping) + MAPPING_ROWS_EXTRA


class SheetsForm(ConnectionForm):
    kind, title = "google_sheets", _("Google Sheets")
    config_fields = ("spreadsheet_id", "sheet", "key_column")
    secret_fields = ("service_account", "client_id", "client_secret", "refresh_token")
    error_routes = (
        ("spreadsheet id", "spreadsheet_id"),
        ("sheet must", "sheet"),
        ("key column", "key_column"),
        ("service account", "service_account"),
        ("oauth", "client_id"),
    )

    spreadsheet_id = forms.CharField(
        label=_("Spreadsheet id"),
        help_text=_("The long code in the sheet's address between /d/ and /edit."),
    )
    sheet = forms.CharField(label=_("Tab"), required=False, help_text=_("Empty: the first tab."))
    key_column = forms.CharField(
        label=_("Key column"),
        required=False,
        help_text=_("The column that identifies a row. Empty: a column we add."),
    )
    service_account = _secret(
        _("Service account key (JSON)"),
        textarea=True,
        help_text=_("Or an OAuth client id, secret and refresh token below."),
    )
    client_id = _secret(_("OAuth client id"))
    client_secret = _secret(_("OAuth client secret"))
    refresh_token = _secret(_("OAuth refresh token"))


class AirtableForm(ConnectionForm):
    kind, title = "airtable", _("Airtable")
    config_fields = ("base_id", "table", "modified_field")
    secret_fields = ("token",)
    error_routes = (
        ("base id", "base_id"),
        ("airtable table", "table"),
        ("modified-time", "modified_field"),
        ("token", "token"),
        ("api key", "token"),
    )

    base_id = forms.CharField(
        label=_("Base id"), help_text=_('Starts with "app", in the base\'s address.')
    )
    table = forms.CharField(help_text=_('Its name as on the tab, or its id ("tbl…").'))
    modified_field = forms.CharField(label=_("Last-modified field"), required=False)
    token = _secret(_("Personal access token"))


class SqlForm(ConnectionForm):
    kind, title = "sql", _("SQL database")
    config_fields = ("table", "key_column", "modified_column", "create_table")
    secret_fields = ("url",)
    error_routes = (
        ("database url", "url"),
        ("host", "url"),
        ("address", "url"),
        ("port", "url"),
        ("key column", "key_column"),
        ("modified column", "modified_column"),
        ("table", "table"),
        ("schema", "table"),
    )

    table = forms.CharField(help_text=_("e.g. leads, or crm.leads on PostgreSQL."))
    key_column = forms.CharField(label=_("Key column"), required=False, help_text=_("Empty: id."))
    modified_column = forms.CharField(label=_("Last-modified column"), required=False)
    create_table = forms.BooleanField(label=_("Create the table if it is missing"), required=False)
    url = _secret(
        _("Database URL"),
        help_text=_(
            "postgresql://user:password@host:5432/database (or mysql://…). It holds the password."
        ),
    )

    def config(self) -> dict[str, Any]:
        config = super().config()
        config["create_table"] = bool(self.cleaned_data.get("create_table"))
        return config


class HttpsForm(ConnectionForm):
    kind, title = "https", _("HTTPS endpoint")
    config_fields = ("push_url", "pull_url", "key_field", "modified_field")
    secret_fields = ("bearer_token",)
    error_routes = (
        ("push url", "push_url"),
        ("pull url", "pull_url"),
        ("key field", "key_field"),
        ("modified field", "modified_field"),
        ("bearer token", "bearer_token"),
    )

    push_url = forms.CharField(
        label=_("Push URL"),
        required=False,
        max_length=2000,
        help_text=_("We send signed JSON batches here."),
    )
    pull_url = forms.CharField(
        label=_("Pull URL"),
        required=False,
        max_length=2000,
        help_text=_("We read changed records from here."),
    )
    key_field = forms.CharField(label=_("Key field"), required=False, help_text=_("Empty: id."))
    modified_field = forms.CharField(
        label=_("Modified field"), required=False, help_text=_("Empty: updated_at.")
    )
    bearer_token = _secret(_("Bearer token"), help_text=_("Optional: sent as Authorization."))

    def check_alone(self, name: str, data: dict[str, Any]) -> None:
        value = (data.get(name) or "").strip()
        if name in ("push_url", "pull_url") and value:
            try:
                connector_class(self.kind).validate({name: value}, {})
            except ConnectorError as exc:
                self.add_error(name, exc.message)


FORMS: dict[str, type[ConnectionForm]] = {
    form.kind: form for form in (SheetsForm, AirtableForm, SqlForm, HttpsForm)
}
