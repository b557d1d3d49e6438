"""Compile gettext catalogs (`.po` → `.mo`) in pure Python, so that no machine needs GNU
gettext's `msgfmt` to build or check them (`make messages`; tests/i18n checks the committed `.mo`
against its `.po` with the same code).

Like `msgfmt`: fuzzy and untranslated entries are left out, the header (msgid "") is kept, and
the output is deterministic (entries sorted, no hash table), so compiling twice gives the same
bytes. Unlike it, the header loses its dates (POT-Creation-Date, PO-Revision-Date): nothing reads
them from a `.mo`, and without them the committed binary changes only when a translation does.

Usage: `python tools/compile_messages.py [locale-dir ...]` (default: `locale`).
"""

from __future__ import annotations

import ast
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

MAGIC = 0x950412DE
VOLATILE_HEADERS = ("POT-Creation-Date:", "PO-Revision-Date:")


@dataclass
class Entry:
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    fuzzy: bool = False


def _unquote(text: str, path: Path, number: int) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"{path}:{number}: expected a quoted string, got {text!r}")
    # PO escapes (\n, \t, \", \\) are a subset of Python's.
    value: str = ast.literal_eval(text)
    return value


def po_entries(path: Path) -> list[Entry]:
    """Every entry of a `.po` file, obsolete (`#~`) ones excluded."""
    entries: list[Entry] = []
    entry = Entry()
    last: tuple[str, int] | None = None  # the keyword a continuation line extends

    def finish() -> None:
        nonlocal entry, last
        if last is not None:
            entries.append(entry)
        entry, last = Entry(), None

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line:
            finish()
        elif line.startswith("#"):
            if last is not None and last[0] == "msgstr":
                finish()
            if line.startswith("#,") and "fuzzy" in line[2:].replace(",", " ").split():
                entry.fuzzy = True
        elif line.startswith('"'):
            if last is None:
                raise ValueError(f"{path}:{number}: a string continues nothing")
            value = _unquote(line, path, number)
            keyword, index = last
            if keyword == "msgstr":
                entry.msgstr[index] += value
            else:
                setattr(entry, keyword, (getattr(entry, keyword) or "") + value)
        else:
            keyword, _space, rest = line.partition(" ")
            if keyword in ("msgctxt", "msgid") and last is not None and last[0] == "msgstr":
                finish()
            value = _unquote(rest, path, number)
            if keyword.startswith("msgstr"):
                index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
                entry.msgstr[index] = value
                last = ("msgstr", index)
            elif keyword in ("msgctxt", "msgid", "msgid_plural"):
                setattr(entry, keyword, value)
                last = (keyword, 0)
            else:
                raise ValueError(f"{path}:{number}: unknown keyword {keyword!r}")
    finish()
    return entries


def mo_bytes(entries: list[Entry]) -> bytes:
    """The `.mo` file `msgfmt` would write for these entries (no hash table)."""
    pairs: dict[bytes, bytes] = {}
    for entry in entries:
        translated = [entry.msgstr[i] for i in sorted(entry.msgstr)]
        if not entry.msgid and entry.msgctxt is None:
            kept = [h for h in translated[0].splitlines(True) if not h.startswith(VOLATILE_HEADERS)]
            translated = ["".join(kept)]
        if (entry.fuzzy and entry.msgid) or not any(translated):
            continue
        key = entry.msgid
        if entry.msgid_plural is not None:
            key += "\0" + entry.msgid_plural
        if entry.msgctxt is not None:
            key = entry.msgctxt + "\x04" + key
        pairs[key.encode()] = "\0".join(translated).encode()
    keys = sorted(pairs)
    count = len(keys)
    originals_at = 7 * 4
    translations_at = originals_at + count * 8
    data_at = translations_at + count * 8
    tables = [bytearray(), bytearray()]
    data = bytearray()
    for original in keys:
        for table, text in zip(tables, (original, pairs[original]), strict=True):
            table += struct.pack("<II", len(text), data_at + len(data))
            data += text + b"\0"
    header = struct.pack("<7I", MAGIC, 0, count, originals_at, translations_at, 0, data_at)
    return header + bytes(tables[0]) + bytes(tables[1]) + bytes(data)


def compile_dir(locale_dir: Path) -> list[Path]:
    written = []
    for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        mo.write_bytes(mo_bytes(po_entries(po)))
        written.append(mo)
    return written


def main(argv: list[str]) -> int:
    for folder in argv or ["locale"]:
        for mo in compile_dir(Path(folder)):
            print(f"compiled {mo}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
