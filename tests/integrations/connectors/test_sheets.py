"""The Google Sheets connector against a wire-level fake of the Sheets API v4 and Google's token
endpoint (tests/integrations/connectors/sheets_fake.py); no database needed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest

from integrations.connectors.base import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorSettings,
    ConnectorUnavailable,
    OutboundRecord,
    connector_class,
)
from integrations.connectors.sheets import SheetsConnector
from tests.integrations.connectors.sheets_fake import FakeGoogle, Spreadsheet, rsa_private_pem

HEADER = ["Record ID", "First Name", "Email", "Phone", "Notes"]
FIELDS = ["First Name", "Email", "Phone"]


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    fake = FakeGoogle()
    with fake.mocked():
        yield fake


@pytest.fixture
def account(google: FakeGoogle) -> dict[str, Any]:
    return google.service_account()


@pytest.fixture
def sleeps() -> list[float]:
    return []


Connect = Callable[..., SheetsConnector]


@pytest.fixture
def connect(account: dict[str, Any], sleeps: list[float]) -> Iterator[Connect]:
    made: list[SheetsConnector] = []

    def make(
        book: Spreadsheet,
        *,
        credentials: dict[str, Any] | None = None,
        fields: list[str] = FIELDS,
        **config: Any,
    ) -> SheetsConnector:
        config = {"spreadsheet_id": book.spreadsheet_id, **config}
        credentials = credentials if credentials is not None else {"service_account": account}
        SheetsConnector.validate(config, credentials)
        connector = SheetsConnector(ConnectorSettings(config, credentials, fields))
        connector.sleep = sleeps.append
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


def contacts(google: FakeGoogle, account: dict[str, Any], **options: Any) -> Spreadsheet:
    rows: list[list[Any]] = [
        HEADER,
        ["k1", "Ann", "ann@x.test", "+100", "vip"],
        ["k2", "Bob", "bob@x.test", None, "call back"],
        ["k3", "Cy", "cy@x.test", "+300"],
    ]
    return google.add_spreadsheet(rows, shared_with=[account], **options)


# -- registration and validation ---------------------------------------------------------------


def test_the_kind_is_registered() -> None:
    assert connector_class("google_sheets") is SheetsConnector
    assert SheetsConnector.label == "Google Sheets"


def test_validate_accepts_a_key_as_dict_or_json_text_and_oauth_fields() -> None:
    key = {
        "type": "service_account",
        "client_email": "a@p.iam.gserviceaccount.com",
        "private_key": rsa_private_pem(),
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    config = {"spreadsheet_id": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd"}
    SheetsConnector.validate(config, {"service_account": key})
    SheetsConnector.validate(config, {"service_account": json.dumps(key)})
    oauth = {"client_id": "id", "client_secret": "secret", "refresh_token": "1//r"}
    SheetsConnector.validate({**config, "sheet": "Leads", "key_column": "ID"}, oauth)


GOOD_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd"


@pytest.mark.parametrize(
    ("config", "credentials", "message"),
    [
        ({}, {"refresh_token": "x"}, "Enter the spreadsheet id"),
        ({"spreadsheet_id": "short"}, {}, "between /d/ and /edit"),
        (
            {"spreadsheet_id": f"https://docs.google.com/spreadsheets/d/{GOOD_ID}/edit#gid=0"},
            {},
            f"from that address it is {GOOD_ID}",
        ),
        ({"spreadsheet_id": GOOD_ID, "sheet": ""}, {}, "The sheet must be a name"),
        ({"spreadsheet_id": GOOD_ID}, {}, "Give either a service account key"),
        ({"spreadsheet_id": GOOD_ID}, {"client_id": "a", "client_secret": "b"}, "refresh token"),
        ({"spreadsheet_id": GOOD_ID}, {"service_account": "{not json"}, "not valid JSON"),
        (
            {"spreadsheet_id": GOOD_ID},
            {"service_account": {"type": "authorized_user", "client_id": "x"}},
            "not a service account key",
        ),
        (
            {"spreadsheet_id": GOOD_ID},
            {"service_account": {"client_email": "a@b", "private_key": "x"}},
            "lacks token_uri",
        ),
        (
            {"spreadsheet_id": GOOD_ID},
            {"service_account": {"client_email": "a@b", "private_key": "junk", "token_uri": "u"}},
            "private_key is not an RSA key",
        ),
    ],
)
def test_validate_refuses_settings_that_cannot_work(
    config: dict[str, Any], credentials: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConnectorConfigError, match=message):
        SheetsConnector.validate(config, credentials)


# -- check ------------------------------------------------------------------------------------


def test_check_with_a_service_account(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = contacts(google, account)
    connect(book).check()

    token_call = google.calls[0]
    assert token_call.action == "token"
    assert token_call.body["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(token_call.body["assertion"], options={"verify_signature": False})
    assert claims["iss"] == account["client_email"]
    assert claims["scope"] == "https://www.googleapis.com/auth/spreadsheets"
    assert claims["aud"] == "https://oauth2.googleapis.com/token"
    assert claims["exp"] - claims["iat"] == 3600
    assert google.actions() == ["token", "get", "values.get"]
    assert google.calls[1].params == {"fields": "sheets.properties"}
    assert all(c.headers["authorization"].startswith("Bearer ya29.") for c in google.calls[1:])


def test_check_with_an_oauth_refresh_token(google: FakeGoogle, connect: Connect) -> None:
    oauth = google.oauth_client(email="owner@x.test")
    book = google.add_spreadsheet([HEADER], shared_with=["owner@x.test"])
    connect(book, credentials=oauth).check()
    assert google.calls[0].body == {"grant_type": "refresh_token", **oauth}


def test_check_refuses_a_sheet_without_header_row(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = google.add_spreadsheet([[], ["k1", "Ann"]], shared_with=[account])
    with pytest.raises(ConnectorConfigError, match="The sheet has no header row"):
        connect(book).check()


def test_check_names_a_mapped_column_the_sheet_lacks(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = contacts(google, account)
    with pytest.raises(ConnectorConfigError, match="no column named 'Company'"):
        connect(book, fields=[*FIELDS, "Company"]).check()


def test_check_names_the_missing_key_column(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = google.add_spreadsheet([["Email", "Phone"]], shared_with=[account])
    with pytest.raises(ConnectorConfigError, match="no 'Record ID' column: add it"):
        connect(book, fields=["Email"]).check()
    connect(book, fields=["Phone"], key_column="Email").check()


def test_check_refuses_a_header_with_a_column_twice(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = google.add_spreadsheet([[*HEADER, "Email"]], shared_with=[account])
    with pytest.raises(ConnectorConfigError, match="the column 'Email' twice"):
        connect(book).check()


def test_check_refuses_a_missing_tab_and_lists_the_tabs(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = contacts(google, account, tab="Contacts", more_tabs=["Archive"])
    with pytest.raises(ConnectorConfigError, match=r"no tab named 'Leads' \(its tabs: 'Contacts'"):
        connect(book, sheet="Leads").check()
    connect(book, sheet="Contacts").check()


def test_check_with_a_wrong_key_says_google_refused_the_credentials(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = contacts(google, account)
    forged = {**account, "private_key": rsa_private_pem()}
    with pytest.raises(ConnectorAuthError, match=r"Google refused the credentials \(Invalid JWT"):
        connect(book, credentials={"service_account": forged}).check()
    assert google.calls[0].status == 400


def test_check_with_a_revoked_refresh_token(google: FakeGoogle, connect: Connect) -> None:
    oauth = google.oauth_client()
    book = google.add_spreadsheet([HEADER], shared_with=["owner@example.test"])
    revoked = {**oauth, "refresh_token": "1//revoked"}
    with pytest.raises(ConnectorAuthError, match=r"Google refused the credentials.*revoked"):
        connect(book, credentials=revoked).check()


def test_check_on_a_spreadsheet_not_shared_names_the_service_account(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = google.add_spreadsheet([HEADER])  # shared with no one
    with pytest.raises(ConnectorAuthError) as caught:
        connect(book).check()
    assert caught.value.message == (
        "The service account has no access to the spreadsheet: share it with "
        f"{account['client_email']} (as an editor)."
    )
    google.share(book, account)
    connect(book).check()


def test_check_without_the_sheets_scope(google: FakeGoogle, connect: Connect) -> None:
    oauth = google.oauth_client(scopes=["openid", "email"])
    book = google.add_spreadsheet([HEADER], shared_with=["owner@example.test"])
    with pytest.raises(ConnectorAuthError, match="not granted access to Google Sheets"):
        connect(book, credentials=oauth).check()


def test_check_on_an_unknown_spreadsheet(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = contacts(google, account)
    del google.spreadsheets[book.spreadsheet_id]
    with pytest.raises(ConnectorConfigError, match="Google found no spreadsheet with the id"):
        connect(book).check()


def test_the_endpoints_come_from_the_settings(
    settings: Any, sleeps: list[float], connect: Connect
) -> None:
    settings.GOOGLE_SHEETS_API_BASE = "https://sheets.example.test/"
    settings.GOOGLE_OAUTH_TOKEN_URL = "https://login.example.test/oauth/token"
    fake = FakeGoogle(
        api_base="https://sheets.example.test", token_url="https://login.example.test/oauth/token"
    )
    key = fake.service_account()
    book = fake.add_spreadsheet([HEADER], shared_with=[key])
    with fake.mocked():
        connect(book, credentials={"service_account": key}).check()
    assert fake.actions() == ["token", "get", "values.get"]


# -- changes ----------------------------------------------------------------------------------


def test_changes_pages_through_every_row_and_writes_keys_into_rows_without_one(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    rows: list[list[Any]] = [
        HEADER,
        ["k1", "Ann", "ann@x.test"],
        [None, "Bob", "bob@x.test"],
        [],  # a blank row is no record
        ["k4", "Dee", None, 4155550100],
        [None, None, None, None, "only a note"],
    ]
    book = google.add_spreadsheet(rows, shared_with=[account], row_count=8)
    connector = connect(book)

    first = connector.changes(None, limit=3)
    assert [r.fields for r in first.records] == [
        {"First Name": "Ann", "Email": "ann@x.test", "Phone": None},
        {"First Name": "Bob", "Email": "bob@x.test", "Phone": None},
    ]
    assert first.records[0].key == "k1"
    bob_key = first.records[1].key
    assert len(bob_key) == 32
    assert (first.cursor, first.more) == ("5", True)
    assert all(r.modified_at is None for r in first.records)

    second = connector.changes(first.cursor, limit=3)
    assert second.records[0].key == "k4"
    assert second.records[0].fields["Phone"] == 4155550100  # numbers stay numbers
    note_key = second.records[1].key
    assert second.records[1].fields == {"First Name": None, "Email": None, "Phone": None}
    assert (second.cursor, second.more) == ("8", True)

    third = connector.changes(second.cursor, limit=3)
    assert (third.records, third.cursor, third.more) == ([], None, False)

    # The new keys were written into the sheet, one batch per page, and nothing else changed.
    assert [r[:1] for r in book.rows()] == [
        ["Record ID"],
        ["k1"],
        [bob_key],
        [],
        ["k4"],
        [note_key],
    ]
    assert book.rows()[5][4] == "only a note"
    writes = [c for c in google.calls if c.action == "values.batchUpdate"]
    assert len(writes) == 2
    assert writes[0].body == {
        "valueInputOption": "RAW",
        "data": [{"range": "'Sheet1'!A3:A3", "values": [[bob_key]]}],
    }

    # A second pass reads the same keys back and writes nothing.
    again = connect(book).changes(None, limit=100)
    assert [r.key for r in again.records] == ["k1", bob_key, "k4", note_key]
    assert (again.cursor, again.more) == (None, False)
    assert len([c for c in google.calls if c.action == "values.batchUpdate"]) == 2


def test_changes_reads_unformatted_values(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    rows: list[list[Any]] = [["Record ID", "Score", "Active", "Name"], [1001, 7.5, True, "=x"]]
    book = google.add_spreadsheet(rows, shared_with=[account])
    page = connect(book, fields=["Score", "Active", "Name"]).changes(None)
    assert page.records[0].key == "1001"
    assert page.records[0].fields == {"Score": 7.5, "Active": True, "Name": "=x"}
    read = next(c for c in google.calls if c.action == "values.get" and "A2" in c.path)
    assert read.params["valueRenderOption"] == "UNFORMATTED_VALUE"


def test_changes_gives_a_copied_row_a_key_of_its_own(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    rows: list[list[Any]] = [HEADER, ["k1", "Ann", "ann@x.test"], ["k1", "Ann", "ann2@x.test"]]
    book = google.add_spreadsheet(rows, shared_with=[account])
    page = connect(book).changes(None)
    keys = [r.key for r in page.records]
    assert keys[0] == "k1" and keys[1] != "k1"
    assert book.rows()[2][0] == keys[1]


def test_changes_without_fields_returns_every_column(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = contacts(google, account)
    page = connect(book, fields=[]).changes(None)
    assert page.records[0].fields == {
        "Record ID": "k1",
        "First Name": "Ann",
        "Email": "ann@x.test",
        "Phone": "+100",
        "Notes": "vip",
    }


# -- upsert and delete ------------------------------------------------------------------------


def test_upsert_updates_rows_in_place_and_appends_new_ones_touching_only_mapped_columns(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = contacts(google, account)
    connector = connect(book)
    keys = connector.upsert(
        [
            OutboundRecord("k2", {"Email": "bob@new.test", "Phone": "=1+2"}),
            OutboundRecord(None, {"First Name": "Dan", "Email": "dan@x.test", "Phone": None}),
            OutboundRecord("k1", {"First Name": "Ann", "Phone": None}),
        ]
    )
    assert keys[0] == "k2" and keys[2] == "k1"
    dan = keys[1]
    assert len(dan) == 32
    assert book.rows() == [
        HEADER,
        ["k1", "Ann", "ann@x.test", "", "vip"],  # Phone cleared, Email and Notes untouched
        ["k2", "Bob", "bob@new.test", "=1+2", "call back"],  # RAW: a formula stays text
        ["k3", "Cy", "cy@x.test", "+300"],
        [dan, "Dan", "dan@x.test"],
    ]
    update = next(c for c in google.calls if c.action == "values.batchUpdate")
    assert update.body["valueInputOption"] == "RAW"
    assert [d["range"] for d in update.body["data"]] == ["'Sheet1'!C3:D3", "'Sheet1'!B2:D2"]
    assert update.body["data"][1]["values"] == [["Ann", None, ""]]  # null skips Email
    append = next(c for c in google.calls if c.action == "values.append")
    assert append.params == {"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"}
    assert append.body == {"majorDimension": "ROWS", "values": [[dan, "Dan", "dan@x.test", ""]]}
    assert google.actions().count("values.batchUpdate") == 1

    page = connect(book).changes(None)
    assert [r.key for r in page.records] == ["k1", "k2", "k3", dan]


def test_upsert_recreates_a_row_removed_from_the_sheet_under_its_key(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = contacts(google, account)
    assert connect(book).upsert([OutboundRecord("gone", {"Email": "z@x.test"})]) == ["gone"]
    assert book.rows()[-1] == ["gone", "", "z@x.test"]


def test_upsert_refuses_a_column_the_sheet_lacks(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = contacts(google, account)
    with pytest.raises(ConnectorConfigError, match="no column named 'Company'"):
        connect(book).upsert([OutboundRecord("k1", {"Company": "Acme"})])
    assert "values.batchUpdate" not in google.actions()


def test_delete_removes_rows_from_the_bottom_up(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = contacts(google, account)
    connector = connect(book)
    connector.delete(["k1", "k3", "unknown"])
    assert book.rows() == [HEADER, ["k2", "Bob", "bob@x.test", "", "call back"]]
    batch = next(c for c in google.calls if c.action == "batchUpdate")
    sheet_id = book.tab().sheet_id
    assert batch.body == {
        "requests": [
            {
                "deleteDimension": {
                    "range": {
                        "sheetId": sheet_id,
                        "dimension": "ROWS",
                        "startIndex": i,
                        "endIndex": i + 1,
                    }
                }
            }
            for i in (3, 1)
        ]
    }
    connector.delete(["unknown"])
    assert google.actions().count("batchUpdate") == 1


def test_a_tab_whose_name_needs_quoting(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    tab = "Leads 'Q1'/2025"
    book = google.add_spreadsheet([HEADER, [None, "Ann"]], tab="Other", shared_with=[account])
    book.add_tab(tab, [HEADER, [None, "Ann"]])
    connector = connect(book, sheet=tab)
    (ann,) = connector.changes(None).records
    connector.upsert([OutboundRecord(ann.key, {"Email": "ann@x.test"})])
    assert book.rows(tab) == [HEADER, [ann.key, "Ann", "ann@x.test"]]
    assert book.rows("Other") == [HEADER, ["", "Ann"]]


# -- tokens, rate limits and failures ---------------------------------------------------------


def test_the_token_is_cached_and_renewed_when_google_stops_taking_it(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = contacts(google, account)
    connector = connect(book)
    connector.check()
    connector.changes(None)
    assert google.actions().count("token") == 1
    google.revoke_tokens()
    connector.upsert([OutboundRecord("k1", {"Email": "ann@new.test"})])
    assert google.actions().count("token") == 2
    assert book.rows()[1][2] == "ann@new.test"


def test_rate_limited_twice_then_it_goes_through(
    google: FakeGoogle, account: dict[str, Any], connect: Connect, sleeps: list[float]
) -> None:
    book = contacts(google, account)
    google.fail_next(2)
    connect(book).check()
    assert [c.status for c in google.calls if c.action == "get"] == [429, 429, 200]
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 1 and 0 <= sleeps[1] <= 2  # full jitter under base * 2**attempt


def test_retry_after_is_honoured(
    google: FakeGoogle, account: dict[str, Any], connect: Connect, sleeps: list[float]
) -> None:
    book = contacts(google, account)
    google.fail_next(1, status=503, retry_after="7")
    connect(book).check()
    assert sleeps == [7.0]


def test_rate_limited_for_good_is_unavailable_after_bounded_retries(
    google: FakeGoogle, account: dict[str, Any], connect: Connect, sleeps: list[float]
) -> None:
    book = contacts(google, account)
    google.fail_next(100)
    with pytest.raises(ConnectorUnavailable, match="HTTP 429: Quota exceeded") as caught:
        connect(book).changes(None)
    assert caught.value.retryable
    assert google.actions().count("get") == SheetsConnector.max_attempts
    assert len(sleeps) == SheetsConnector.max_attempts - 1
    assert all(0 <= s <= SheetsConnector.backoff_cap for s in sleeps)


def test_an_append_whose_answer_was_lost_is_not_appended_twice(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = contacts(google, account)
    google.fail_next(1, status=503, action="values.append", after_applying=True)
    (key,) = connect(book).upsert([OutboundRecord(None, {"Email": "new@x.test"})])
    assert [r[0] for r in book.rows()].count(key) == 1
    assert google.actions().count("values.append") == 1


def test_an_append_that_failed_is_made_again(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = contacts(google, account)
    google.fail_next(1, status=500, action="values.append")
    (key,) = connect(book).upsert([OutboundRecord(None, {"Email": "new@x.test"})])
    assert [r[0] for r in book.rows()].count(key) == 1
    assert google.actions().count("values.append") == 2


def test_a_deletion_whose_answer_was_lost_deletes_nothing_more(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    book = contacts(google, account)
    google.fail_next(1, status=502, action="batchUpdate", after_applying=True)
    connect(book).delete(["k1"])
    assert [r[0] for r in book.rows()] == ["Record ID", "k2", "k3"]
    assert google.actions().count("batchUpdate") == 1


def test_no_token_or_secret_appears_in_any_error_message(
    google: FakeGoogle, account: dict[str, Any], connect: Connect
) -> None:
    oauth = google.oauth_client()
    book = contacts(google, account)
    failures: list[ConnectorError] = []

    def attempt(run: Callable[[], object]) -> None:
        with pytest.raises(ConnectorError) as caught:
            run()
        failures.append(caught.value)

    hidden = google.add_spreadsheet([HEADER])
    attempt(connect(hidden).check)
    attempt(connect(hidden, credentials=oauth).check)
    attempt(connect(book, credentials={**oauth, "client_secret": "GOCSPX-wrong-secret"}).check)
    connector = connect(book)
    connector.check()
    google.fail_next(100)
    attempt(lambda: connector.changes(None))
    google.stop_failing()
    attempt(lambda: connector.upsert([OutboundRecord("k1", {"Nope": 1})]))

    secrets = [*google.issued_tokens, *oauth.values(), "GOCSPX-wrong-secret"]
    secrets.append(account["private_key"].splitlines()[1])
    assert len(failures) == 5 and google.issued_tokens
    for failure in failures:
        for secret in secrets:
            assert secret not in str(failure)
            assert secret not in failure.message
