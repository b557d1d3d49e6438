"""Reading and writing contact CSV files: decoding, delimiter sniffing, header checks, column
names → GHL fields, and the formula-injection guard. No database here."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from integrations.connectors.fields import CUSTOM, STANDARD
from saas_platform.kernel.errors import ApplicationError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DELIMITERS = (",", ";", "\t")
# A mapping target that only finds the contact (the export's id column); it is never written.
GHL_ID = "ghl_id"
LABELS: dict[str, str] = {
    GHL_ID: "GHL id",
    "first_name": "First Name",
    "last_name": "Last Name",
    "email": "Email",
    "phone": "Phone",
    "company_name": "Company Name",
    "source": "Source",
    "address1": "Address",
    "city": "City",
    "state": "State",
    "postal_code": "Postal Code",
    "country": "Country",
    "timezone": "Timezone",
    "dnd": "DND",
    "tags": "Tags",
}
# Other usual spellings of column names (compared without case, spaces or punctuation).
ALIASES: dict[str, str] = {
    "id": GHL_ID,
    "contactid": GHL_ID,
    "mail": "email",
    "emailaddress": "email",
    "phonenumber": "phone",
    "mobile": "phone",
    "mobilephone": "phone",
    "company": "company_name",
    "street": "address1",
    "zip": "postal_code",
    "zipcode": "postal_code",
    "postcode": "postal_code",
    "donotdisturb": "dnd",
    "tag": "tags",
}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


AUTO_TARGETS = {_key(name): name for name in (GHL_ID, *STANDARD)}
AUTO_TARGETS |= {_key(label): name for name, label in LABELS.items()} | ALIASES


def escape(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def unescape(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


def csv_lines(rows: Iterable[Iterable[str]], delimiter: str = ",") -> str:
    """CSV text of the rows (CRLF line ends, as Excel writes), every cell formula-escaped."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerows([escape(c) for c in cells] for cells in rows)
    return buffer.getvalue()


def csv_line(cells: Iterable[str], delimiter: str = ",") -> str:
    return csv_lines([cells], delimiter)


T = TypeVar("T")


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- reading an upload ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvTable:
    headers: list[str]  # unique; a blank name becomes "Column <n>"
    rows: list[list[str]]  # every record after the header (blank ones included: row numbers)
    delimiter: str
    note: str  # said to the person (e.g. how the file was decoded)

    def data_rows(self) -> int:
        return sum(1 for row in self.rows if any(cell.strip() for cell in row))


def _decode(content: bytes) -> tuple[str, str]:
    not_csv = ApplicationError(
        "This is not a CSV file (it looks like a spreadsheet workbook, an image or another binary "
        "file). Save it as “CSV UTF-8” and upload that."
    )
    if b"\x00" in content:
        raise not_csv
    try:
        text, note = content.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        try:
            text = content.decode("cp1252")
        except UnicodeDecodeError:
            raise not_csv from None
        note = (
            "The file is not UTF-8; it was read as Windows-1252 (Western European). Check that "
            "accented letters look right below."
        )
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):  # control bytes: not text
        raise not_csv
    return text, note


def _sniff(text: str) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of cells; else the
    one giving the header the most cells."""
    sample = text[: 64 * 1024].splitlines()[:20]
    best, best_score = ",", (False, 0)
    for delimiter in DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(sample, delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not widths:
            continue
        score = (widths[0] > 1 and all(w == widths[0] for w in widths), widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


EMAILISH = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PHONE_CHARS = re.compile(r"[0-9+\s\-().]+")


def _looks_like_data(cell: str) -> bool:
    return bool(EMAILISH.fullmatch(cell)) or (
        bool(PHONE_CHARS.fullmatch(cell)) and len(re.sub(r"\D", "", cell)) >= 7
    )


def csv_table_read(*, content: bytes) -> CsvTable:
    """The upload as a table, or ApplicationError saying what is wrong with the file."""
    if not content.strip():
        raise ApplicationError("The file is empty.")
    if len(content) > MAX_UPLOAD_BYTES:
        raise ApplicationError(
            f"The file is {len(content) / 1e6:.1f} MB; the limit is "
            f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Split it into smaller files."
        )
    text, note = _decode(content)
    if not text.strip():
        raise ApplicationError("The file is empty.")
    delimiter = _sniff(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ApplicationError(f"The file cannot be read as CSV: {exc}.") from exc
    header = [unescape(cell.strip()) for cell in records[0]]
    if not any(header):
        raise ApplicationError("The first row is empty: it must name the columns.")
    data_like = [cell for cell in header if _looks_like_data(cell)]
    if data_like:
        raise ApplicationError(
            f"The first row looks like a contact ({data_like[0]}), not column names. Add a "
            "header row naming the columns (e.g. First Name, Email, Phone)."
        )
    seen: dict[str, str] = {}
    for cell in filter(None, header):
        if cell.lower() in seen:
            raise ApplicationError(f"The column name “{cell}” appears more than once.")
        seen[cell.lower()] = cell
    headers = [cell or f"Column {n}" for n, cell in enumerate(header, start=1)]
    table = CsvTable(headers, records[1:], delimiter, note)
    if not table.data_rows():
        raise ApplicationError("The file names its columns but has no rows of contacts.")
    return table


def field_label(name: str) -> str:
    return LABELS.get(name, name)


def suggested_target(header: str) -> str:
    """The GHL field a column name stands for ("" when none does)."""
    if header.lower().startswith(CUSTOM) and len(header) > len(CUSTOM):
        return CUSTOM + header[len(CUSTOM) :].strip()
    return AUTO_TARGETS.get(_key(header), "")


def error_report_header(headers: Sequence[str], delimiter: str = ",") -> str:
    return csv_line(["row", "reason", *headers], delimiter)


def error_report_line(number: int, reason: str, cells: Sequence[str], delimiter: str = ",") -> str:
    return csv_line([str(number), reason, *cells], delimiter)
