"""CSV import: row errors by file line, duplicates by normalised address (existing and in-file),
one write of deals.json for the whole file, malformed files refused with nothing written."""

from __future__ import annotations

import os

import orjson
from fastapi.openapi.utils import get_openapi

from app.core_gov.deals.router import router as deals_router
from app.core_gov.deals.service import address_key

HEADER = "seller_name,seller_phone,seller_email,address,city,province,asking_price,lead_score,tags"
CSV = {"Content-Type": "text/csv"}


def post_csv(client, text: str | bytes):
    return client.post("/core/deals/import", content=text.encode() if isinstance(text, str) else text, headers=CSV)


def deals_on_disk(data_dir):
    path = data_dir / "deals" / "deals.json"
    return orjson.loads(path.read_bytes()) if path.exists() else []


BAD_ROWS = [  # (row text, the field reported)
    ("Bad Prov,,,{n} Bad St,Town,ZZ,,,", "province"),
    ("Bad Phone,12345,,{n} Bad St,Town,ON,,,", "seller_phone"),
    ("Bad Mail,,not-an-email,{n} Bad St,Town,ON,,,", "seller_email"),
    ("Neg Price,,,{n} Bad St,Town,ON,-5,,", "asking_price"),
    ("Big Score,,,{n} Bad St,Town,ON,,1.7,", "lead_score"),
    ("No Address,,,,Town,ON,,,", "address"),
    ("No City,,,{n} Bad St,,ON,,,", "city"),
    ("Word Price,,,{n} Bad St,Town,ON,lots,,", "asking_price"),
    ("Too Many,,,{n} Bad St,Town,ON,,,,extra", "(row)"),
]


def test_a_1000_row_file_with_37_bad_rows_and_12_duplicates_adds_951_in_one_write(client, data_dir, monkeypatch):
    for address in ("1 Maple Street", "2 Maple Avenue", "3 Maple Road", "4 Maple Drive"):
        assert client.post("/core/deals", json={"address": address, "city": "Hamilton", "province": "ON"}).status_code == 201
    lines = [HEADER]
    expected_invalid = []
    dup_rows = []
    bad = 0
    for i in range(1000):
        line_no = i + 2
        if i % 27 == 5 and bad < 37:  # 37 bad rows spread through the file
            text, field = BAD_ROWS[bad % len(BAD_ROWS)]
            lines.append(text.format(n=i))
            expected_invalid.append((line_no, field))
            bad += 1
        elif i in (10, 20, 30, 40):  # the 4 existing deals, spelled differently
            lines.append({10: "X,,,1 maple st.,HAMILTON,ON,,,", 20: "X,,,2  Maple Ave,hamilton,ON,,,",
                          30: "X,,,3 MAPLE RD,Hamilton,on,,,", 40: "X,,,\"4 Maple Dr.\",Hamilton,ON,,,"}[i])
            dup_rows.append(line_no)
        elif i in (101, 202, 303, 404, 511, 612, 713, 814):  # repeats of earlier rows of this file
            lines.append(f"Again,,,{i - 100} Birch Street,Burlington,ON,,,")
            dup_rows.append(line_no)
        else:
            lines.append(f"Seller {i},416-555-{i % 10000:04d},s{i}@example.com,{i} Birch St,Burlington,ON,{100000 + i},0.5,vacant;list")
    assert bad == 37 and len(dup_rows) == 12
    body = "\n".join(lines) + "\n"

    replaced: list[str] = []
    real_replace = os.replace

    def counting_replace(src, dst, *a, **k):
        replaced.append(os.fspath(dst))
        return real_replace(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", counting_replace)
    r = post_csv(client, body)
    monkeypatch.setattr(os, "replace", real_replace)

    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["added"], out["duplicates"]) == (951, 12)
    assert [(e["row"], e["field"]) for e in out["invalid"]] == expected_invalid
    assert [d["row"] for d in out["duplicate_rows"]] == dup_rows
    assert out["duplicate_rows"][4]["duplicate_of"] == "row 3"  # row 103 repeats "1 Birch St" from line 3
    assert [p for p in replaced if p.endswith(os.path.join("deals", "deals.json"))] == [str(data_dir / "deals" / "deals.json")]
    stored = deals_on_disk(data_dir)
    assert len(stored) == 4 + 951
    first = stored[4]
    assert (first["seller_phone"], first["tags"], first["asking_price"], first["country"]) == ("+14165550000", ["vacant", "list"], 100000.0, "CA")


def test_row_numbers_are_file_lines_even_after_a_quoted_multiline_field(client):
    body = (
        "address,city,province,notes,lead_score\n"
        '1 A St,Town,ON,"two\nline note",0.5\n'
        "\n"
        "2 B St,Town,ON,,2\n"
    )
    out = post_csv(client, body).json()
    assert out["added"] == 1
    assert out["invalid"] == [{"row": 5, "field": "lead_score", "message": "Input should be less than or equal to 1"}]


def test_country_and_property_rules_are_row_errors(client):
    body = "address,city,province,country,property_id\n1 A St,Town,ON,US,\n2 B St,Town,ON,,pr_nope\n3 C St,Miami,FL,US,\n"
    out = post_csv(client, body).json()
    assert out["added"] == 1
    assert out["invalid"] == [
        {"row": 2, "field": "country", "message": "province ON is in CA, not US"},
        {"row": 3, "field": "property_id", "message": "no property pr_nope"},
    ]


def test_header_names_are_forgiving_about_case_and_spaces_and_a_bom(client, data_dir):
    body = "\ufeffAddress, City ,PROVINCE,Seller Name\n1 A St,Town,ON,Ann\n".encode()
    out = post_csv(client, body).json()
    assert out["added"] == 1 and deals_on_disk(data_dir)[0]["seller_name"] == "Ann"


MALFORMED = [  # (file bytes, words in the 422 message)
    (b"", "empty"),
    (b"\n  \n", "empty"),
    ("address,city,province\n1 Rue Québec,Québec,QC\n".encode("latin-1"), "not UTF-8"),
    (b"street,city,province\n1 A St,Town,ON\n", "unknown column(s) 'street'; missing required column(s) address"),
    (b"address,city\n1 A St,Town\n", "missing required column(s) province"),
    (b"address,city,province,city\n1 A St,Town,ON,Town\n", "repeated column(s) city"),
    (b"address,city,province\n1 A St,Town,ON\x00\n", "line 2 holds a NUL byte"),
    (b'address,city,province\n1 A St,Town,ON\n"2 B St,Town,ON\n3 C St,Town,ON\n', "line 3 is not valid CSV: unexpected end of data"),
    (b'address,city,province\n1 A St,"Town"x,ON\n', "line 2 is not valid CSV"),
]


def test_malformed_files_are_422_with_a_clear_message_and_nothing_written(client, data_dir):
    client.post("/core/deals", json={"address": "9 Z St", "city": "Town", "province": "ON"})
    before = (data_dir / "deals" / "deals.json").read_bytes()
    for body, words in MALFORMED:
        r = post_csv(client, body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"], body
        assert words in r.json()["detail"][0]["msg"], r.text
    assert (data_dir / "deals" / "deals.json").read_bytes() == before


def test_a_header_only_file_adds_nothing_and_writes_nothing(client, data_dir):
    r = post_csv(client, "address,city,province\n")
    assert r.status_code == 201 and r.json() == {"added": 0, "duplicates": 0, "invalid": [], "duplicate_rows": [], "backup": None}
    assert not (data_dir / "deals" / "deals.json").exists()


def test_curl_default_content_type_is_refused_as_a_web_form_could_send_it(client, data_dir):
    r = client.post("/core/deals/import", content=b"address,city,province\n1 A St,Town,ON\n", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and r.json()["detail"]["expected"] == "text/csv"
    assert not data_dir.exists()


def test_the_docs_show_a_text_csv_body_naming_the_columns():
    route = next(r for r in deals_router.routes if r.path == "/deals/import")
    op = get_openapi(title="t", version="1", routes=[route])["paths"]["/deals/import"]["post"]
    assert list(op["requestBody"]["content"]) == ["text/csv"] and op["requestBody"]["required"] is True
    assert "Required columns: address, city, province" in op["description"]


def test_address_key_ignores_case_spacing_punctuation_and_street_types():
    assert address_key("12 Elm Street", "Hamilton") == address_key(" 12  elm st. ", "HAMILTON")
    assert address_key("4 King Avenue West", "Ottawa") == address_key("4 king ave w", "ottawa")
    assert address_key("12 Elm Street", "Hamilton") != address_key("12 Elm Street", "Toronto")
    assert address_key("12 Elm Street", "Hamilton") != address_key("14 Elm Street", "Hamilton")


def test_an_import_backs_up_the_data_dir_before_it_writes(client, data_dir, clock, caplog):
    from app.core_gov.storage.archive import default_backup_dir, read_archive

    assert post_csv(client, "address,city,province\n1 First St,Hamilton,ON\n").json()["added"] == 1
    assert not default_backup_dir(data_dir).exists()  # a data dir that did not exist had nothing to back up
    clock.advance(minutes=5)
    with caplog.at_level("WARNING", logger="valhalla"):
        r = post_csv(client, "address,city,province\n2 Second St,Hamilton,ON\n3 Third St,Hamilton,ON\n")
    assert r.status_code == 201 and r.json()["added"] == 2
    archives = sorted(default_backup_dir(data_dir).glob("valhalla-*.tar.gz"))
    assert [a.name for a in archives] == ["valhalla-20260105T150500000000Z.tar.gz"]
    _, members = read_archive(archives[-1])
    assert [d["address"] for d in orjson.loads(members["deals/deals.json"])] == ["1 First St"]  # the state before
    assert r.json()["backup"] == str(archives[-1])
    assert f"before the import of 2 lead(s): backed up {data_dir} to {archives[-1]}" in caplog.text
    assert len(deals_on_disk(data_dir)) == 3
    assert post_csv(client, "address,city,province\n2 second street,hamilton,ON\n").json()["duplicates"] == 1
    assert len(list(default_backup_dir(data_dir).glob("valhalla-*.tar.gz"))) == 1  # nothing to write: no backup


def test_two_concurrent_imports_of_the_same_file_add_each_row_once(db, data_dir, monkeypatch):
    import threading

    from app.core_gov.deals import service

    rows = "\n".join(f"{n} Cedar Street,Hamilton,ON" for n in range(200))
    raw = f"address,city,province\n{rows}\n".encode()
    both_read = threading.Barrier(2, timeout=30)

    def backup_after_both_parsed(storage, change):  # both imports have read the deals before either writes
        both_read.wait()
        return None

    monkeypatch.setattr(service.archive, "backup_before", backup_after_both_parsed)
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(service.import_csv(db, raw))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((r.added, r.duplicates) for r in results) == [(0, 200), (200, 0)]
    assert len(deals_on_disk(data_dir)) == 200
