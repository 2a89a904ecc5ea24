"""Everything in the bench that depends on the store's on-disk format or on its import routes.

When the format or a route changes, adapt the one function here that uses it:
- `preload_holdings`: through `Storage` (one transaction), as the bench always did;
- `write_deals_files`: writes the current data format (deal segments, `deals/audit.jsonl`) directly;
- `import_deals_csv`, `import_dncl`: the HTTP import routes (streamed).
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import orjson

from harness import ROOT, Server
from records import deal, stage

sys.path.insert(0, str(ROOT / "backend"))

from app.core_gov.deals.schemas import Deal  # noqa: E402
from app.core_gov.holdings import store as holdings_store  # noqa: E402
from app.core_gov.storage import Collection, Storage  # noqa: E402
from app.core_gov.storage.version import FORMAT_VERSION  # noqa: E402

# The import routes stream their bodies (VALHALLA_MAX_IMPORT, not VALHALLA_MAX_BODY): no setting needed.
IMPORT_ENV: dict[str, str] = {}


def preload_holdings(data_dir: Path, records: list[dict]) -> list[str]:
    """Store `records` as holdings in one transaction; their ids."""
    db = Storage(data_dir)
    with db.transaction("holdings") as tx:
        return [tx.add(holdings_store.holdings, r, audit="create").id for r in records]


def _b32(value: int, length: int = 10) -> str:
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    return "".join(alphabet[value >> 5 * (length - 1 - j) & 31] for j in range(length))


def write_deals_files(data_dir: Path, n: int) -> list[str]:
    """The current data format, written directly (a CSV import of 1M deals takes a while):
    `VERSION.json`, `deals/deals.json`, `deals/deals.000002.json`, ... (segments of 1,000
    2-space-indented Deal records in creation order) and `deals/audit.jsonl` (one `create` line
    per deal), created over the past year. Returns every id in order. A Deal field added or
    renamed makes this fail at once, not the server later."""
    folder = data_dir / "deals"
    folder.mkdir(parents=True)
    (data_dir / "VERSION.json").write_bytes(b'{\n  "format": %d\n}\n' % FORMAT_VERSION)
    start = datetime.now(timezone.utc) - timedelta(days=365)
    step = timedelta(days=365) / max(n, 1)
    size = Collection.segment_size
    ids = []
    out = None
    with open(folder / "audit.jsonl", "wb") as audit:
        for i in range(n):
            if i % size == 0:
                if out is not None:
                    out.write(b"\n]\n")
                    out.close()
                number = i // size + 1
                out = open(folder / ("deals.json" if number == 1 else f"deals.{number:06d}.json"), "wb")
                out.write(b"[\n")
            at = start + step * i
            stamp = _b32(int(at.timestamp() * 1000))
            body = deal(i)
            rec = {"id": f"dl_{stamp}{i:010d}", "created_at": at, "updated_at": at, "version": 1, **body, "country": "CA",
                   "property_id": None, "mao": None, "offer_amount": None,
                   "expected_spread": round(body["assignment_fee_target"] - body["costs_estimate"], 2), "stage": stage(i), "closed_at": None}
            rec = {k: rec[k] for k in Deal.model_fields}
            if i == 0 and Deal.model_validate(rec).model_dump(mode="json").keys() != rec.keys():
                raise SystemExit("write_deals_files no longer matches the Deal record: adapt it")
            ids.append(rec["id"])
            out.write((b",\n  " if i % size else b"  ") + orjson.dumps(rec, option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z).replace(b"\n", b"\n  "))
            audit.write(orjson.dumps({
                "id": f"au_{stamp}{i:010d}", "at": at, "actor": "operator", "module": "deals", "entity": "deals",
                "entity_id": rec["id"], "action": "create", "changes": {k: [None, v] for k, v in rec.items() if k not in ("id", "created_at", "updated_at", "version")},
            }, option=orjson.OPT_UTC_Z) + b"\n")
        if out is not None:
            out.write(b"\n]\n")
            out.close()
    return ids


CSV_COLUMNS = ["seller_name", "seller_phone", "seller_email", "address", "city", "province", "property_type", "lead_source", "lead_score",
               "arv_estimate", "repairs_estimate", "asking_price", "assignment_fee_target", "costs_estimate", "tags", "notes", "currency"]


def write_deals_csv(path: Path, n: int) -> None:
    """A purchased lead list as POST /core/deals/import reads it (header line, tags joined by `;`)."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for i in range(n):
            row = deal(i)
            w.writerow([";".join(row[c]) if c == "tags" else row[c] for c in CSV_COLUMNS])


def import_deals_csv(server: Server, path: Path) -> int:
    """POST the file to /core/deals/import (text/csv); the number of deals added."""
    with open(path, "rb") as f:
        _, r = server.timed("POST", "/core/deals/import", content=f, headers={"content-type": "text/csv", "content-length": str(path.stat().st_size)})
    if r.status_code != 201:
        raise SystemExit(f"deals import answered {r.status_code}: {r.text[:500]}")
    return r.json()["added"]


def import_dncl(server: Server, path: Path, list_date: date) -> int:
    """POST the file to /core/comms/suppressions/import?list_date=D (text/csv); numbers it holds now."""
    with open(path, "rb") as f:
        _, r = server.timed("POST", "/core/comms/suppressions/import", params={"list_date": list_date.isoformat()}, content=f,
                            headers={"content-type": "text/csv", "content-length": str(path.stat().st_size)})
    if r.status_code != 201:
        raise SystemExit(f"DNCL import answered {r.status_code}: {r.text[:500]}")
    body = r.json()
    return body["added"] + body["duplicates"]

