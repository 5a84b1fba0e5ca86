"""The ledger's CSV export: one row per record under a header of LedgerRecord's field names."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from services.router.governance.ledger_base import LedgerRecord

FIELDS = tuple(field.name for field in LedgerRecord.DESCRIPTOR.fields)
# A cell starting with one of these is a formula to a spreadsheet; team, app and feature names come
# from clients, so such text is exported with a leading apostrophe (OWASP's advice for CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)


def spend_csv(records: Iterable[LedgerRecord]) -> str:
    """Returns records as RFC 4180 CSV (CRLF line ends), header first, fields in admin.proto's order."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    for record in records:
        writer.writerow([_cell(getattr(record, name)) for name in FIELDS])
    return out.getvalue()
