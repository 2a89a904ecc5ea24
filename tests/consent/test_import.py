"""CSV import of consents: the same checks as a record, bad rows by file line (the first 100 and
a count), duplicates skipped, one write and one audit entry, and files refused whole (wrong
header, not UTF-8, empty, over 1 % invalid rows) with nothing written."""

from __future__ import annotations

import orjson
import pytest

CSV = {"Content-Type": "text/csv"}
HEADER = "contact,kind,obtained_at,method,source,proof\n"


def post_csv(client, text: str | bytes):
    return client.post("/core/consents/import", content=text.encode() if isinstance(text, str) else text, headers=CSV)


def good_rows(n: int, start: int = 0) -> str:
    return "".join(f"user{i}@example.com,implied_inquiry,2025-12-01T10:00:00-05:00,web form,site,\n" for i in range(start, start + n))


def tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"} if root.exists() else {}


def consents_on_disk(data_dir):
    path = data_dir / "consent" / "consents.json"
    return orjson.loads(path.read_bytes()) if path.exists() else []


def test_import_adds_rows_with_computed_expiries_and_one_audit_entry(client, data_dir):
    text = (
        "Contact,Kind,Obtained At,Method,Source,Proof\n"
        "416-555-0199,express,2026-01-05T09:30:00-05:00,web form,https://example.ca/sell,\"Checkbox: 'text me', #4812\"\n"
        "Jane.Roy@Example.com,implied_inquiry,2025-03-31T12:00:00-04:00,web form,,\n"
    )
    r = post_csv(client, text)
    assert r.status_code == 201, r.text
    assert r.json()["added"] == 2 and r.json()["duplicates"] == 0 and r.json()["invalid"] == [] and r.json()["invalid_count"] == 0
    stored = consents_on_disk(data_dir)
    assert [(c["contact"], c["kind"], c["casl_expires_at"], c["proof"]) for c in stored] == [
        ("+14165550199", "express", None, "Checkbox: 'text me', #4812"),
        ("jane.roy@example.com", "implied_inquiry", "2025-10-01T04:00:00Z", None),
    ]
    audit = [orjson.loads(line) for line in (data_dir / "consent" / "audit.jsonl").read_bytes().splitlines()]
    assert len(audit) == 1 and audit[0]["entity_id"] == "import" and audit[0]["action"] == "action"
    assert audit[0]["changes"]["added"] == [None, 2] and audit[0]["changes"]["first_id"] == [None, stored[0]["id"]]
    states = [c["state"] for c in client.get("/core/consents").json()]
    assert states == ["valid", "expired"]


def test_bad_rows_are_listed_by_file_line_and_the_good_ones_kept(client, data_dir):
    text = HEADER + good_rows(250) + (
        "12345,implied_inquiry,2025-12-01T10:00:00-05:00,web form,,\n"  # line 252
        "\n"
        "+14165550199,express,2025-12-01T10:00:00-05:00,web form,,\n"  # line 254: express without proof
    )
    r = post_csv(client, text)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["added"] == 250 and body["invalid_count"] == 2
    assert [(p["row"], p["field"]) for p in body["invalid"]] == [(252, "contact"), (254, "proof")]
    assert len(consents_on_disk(data_dir)) == 250


def test_a_future_obtained_at_and_an_unknown_kind_are_invalid_rows(client):
    text = HEADER + good_rows(200) + (
        "+14165550199,implied_inquiry,2026-02-01T10:00:00-05:00,web form,,\n"
        "+14165550199,implied,2025-12-01T10:00:00-05:00,web form,,\n"
    )
    body = post_csv(client, text).json()
    assert [(p["row"], p["field"]) for p in body["invalid"]] == [(202, "obtained_at"), (203, "kind")]


def test_duplicates_of_records_and_of_earlier_rows_are_skipped(client, data_dir):
    assert post_csv(client, HEADER + good_rows(3)).json()["added"] == 3
    again = post_csv(client, HEADER + good_rows(5) + good_rows(1, start=4))
    assert again.status_code == 201 and again.json()["added"] == 2 and again.json()["duplicates"] == 4
    assert len(consents_on_disk(data_dir)) == 5
    nothing_new = post_csv(client, HEADER + good_rows(5))
    assert nothing_new.json()["added"] == 0 and nothing_new.json()["duplicates"] == 5


def test_a_row_for_a_contact_who_withdrew_later_is_recorded_withdrawn(client):
    client.post("/core/consents/withdraw", json={"contact": "user0@example.com", "reason": "unsubscribed"})
    post_csv(client, HEADER + good_rows(2))
    states = {c["contact"]: c["state"] for c in client.get("/core/consents").json()}
    assert states == {"user0@example.com": "withdrawn", "user1@example.com": "valid"}


def test_only_the_first_100_bad_rows_are_listed(client):
    bad = "".join("nobody,implied_inquiry,2025-12-01T10:00:00-05:00,web form,,\n" for _ in range(120))
    body = post_csv(client, HEADER + good_rows(12000) + bad).json()
    assert body["added"] == 12000 and body["invalid_count"] == 120 and len(body["invalid"]) == 100
    assert body["invalid"][0]["row"] == 12002 and body["invalid"][-1]["row"] == 12101


@pytest.mark.parametrize(("text", "words"), [
    (b"", "empty"),
    (b"\n\n", "empty"),
    (b"contact,kind,when,method\n", "unknown column(s) 'when'"),
    (b"contact,kind,method\n", "missing required column(s) obtained_at"),
    (b"contact,kind,obtained_at,method,method\n", "repeated column(s) method"),
    (HEADER.encode() + "caf\u00e9@example.com,implied_inquiry,2025-12-01T10:00:00-05:00,web form,,\n".encode("latin-1"), "not UTF-8"),
    (HEADER.encode() + b"a@b.co,implied_inquiry,2025-12-01T10:00:00-05:00,web\x00form,,\n", "NUL"),
    (HEADER.encode() + b'a@b.co,implied_inquiry,2025-12-01T10:00:00-05:00,"web form,,\n', "not valid CSV"),
    ((HEADER + good_rows(98) + "x,implied_inquiry,2025-12-01T10:00:00-05:00,m,,\n" * 2).encode(), "2 of 100 rows are invalid"),
])
def test_a_refused_file_is_422_and_writes_nothing(client, data_dir, text, words):
    before = tree(data_dir)
    r = post_csv(client, text)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body"] and words in r.json()["detail"][0]["msg"], r.json()
    assert tree(data_dir) == before


def test_the_import_must_be_sent_as_csv(client):
    r = client.post("/core/consents/import", content=HEADER + good_rows(1), headers={"Content-Type": "application/json"})
    assert r.status_code == 415 and r.json()["detail"]["code"] == "unsupported_media_type"
