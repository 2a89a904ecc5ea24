"""Holdings through HTTP: CRUD, If-Match, summary totals per currency, route order."""

from __future__ import annotations

import orjson


def add(client, **fields):
    body = {"name": "H", "asset_type": "property", "jurisdiction": "ON", "value_estimate": 100, **fields}
    r = client.post("/core/holdings", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_then_get_returns_the_record_with_etag(client, data_dir):
    h = add(client, name="Rental", currency="cad")
    assert h["currency"] == "CAD" and h["version"] == 1 and h["id"].startswith("hld_")
    r = client.get(f"/core/holdings/{h['id']}")
    assert r.status_code == 200 and r.json() == h and r.headers["etag"] == '"1"'
    on_disk = orjson.loads((data_dir / "holdings" / "holdings.json").read_bytes())
    assert on_disk == [h]


def test_summary_totals_per_currency_without_conversion(client):
    add(client, value_estimate=100, currency="CAD", asset_type="property", jurisdiction="ON")
    add(client, value_estimate=50.5, currency="CAD", asset_type="note", jurisdiction="BC")
    add(client, value_estimate=20, currency="USD", asset_type="property", jurisdiction="FL")
    s = client.get("/core/holdings/summary").json()
    assert s == {
        "count": 3,
        "by_currency": {"CAD": 150.5, "USD": 20.0},
        "by_asset_type": {"property": {"CAD": 100.0, "USD": 20.0}, "note": {"CAD": 50.5}},
        "by_jurisdiction": {"ON": {"CAD": 100.0}, "BC": {"CAD": 50.5}, "FL": {"USD": 20.0}},
    }


def test_list_filters_pages_and_counts(client):
    for i in range(5):
        add(client, name=f"h{i}", asset_type="note" if i % 2 else "vault")
    r = client.get("/core/holdings", params={"asset_type": "vault", "limit": 2, "offset": 1})
    assert r.headers["x-total-count"] == "3"
    assert [h["name"] for h in r.json()] == ["h2", "h4"]


def test_patch_changes_only_sent_fields_and_honours_if_match(client):
    h = add(client, name="Old", notes="keep")
    r = client.patch(f"/core/holdings/{h['id']}", json={"name": "New"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["name"] == "New" and r.json()["notes"] == "keep" and r.json()["version"] == 2
    stale = client.patch(f"/core/holdings/{h['id']}", json={"name": "Lost"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["detail"]["current_version"] == 2
    assert client.get(f"/core/holdings/{h['id']}").json()["name"] == "New"


def test_bad_input_is_422_naming_the_field_and_writes_nothing(client, data_dir):
    for body, field in [
        ({"name": "x", "asset_type": "yacht", "jurisdiction": "ON"}, "asset_type"),
        ({"name": "x", "asset_type": "note", "jurisdiction": "ON", "value_estimate": -1}, "value_estimate"),
        ({"name": "x", "asset_type": "note", "jurisdiction": "ON", "currency": "dollars"}, "currency"),
        ({"name": "x", "asset_type": "note", "jurisdiction": "ON", "colour": "red"}, "colour"),
    ]:
        r = client.post("/core/holdings", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field
    h = add(client)
    r = client.patch(f"/core/holdings/{h['id']}", json={"name": None})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "name"]
    assert len(orjson.loads((data_dir / "holdings" / "holdings.json").read_bytes())) == 1


def test_unknown_holding_is_404(client):
    r = client.get("/core/holdings/hld_nope")
    assert r.status_code == 404 and "hld_nope" in r.json()["detail"]


def test_a_summary_total_that_is_not_finite_is_409_never_null(client, db):
    from app.core_gov.holdings import store

    with db.transaction("holdings") as tx:  # values stored before the money bound existed
        big = [tx.add(store.holdings, {"name": f"h{n}", "asset_type": "property", "jurisdiction": "ON", "value_estimate": 1e308}) for n in range(2)]
    r = client.get("/core/holdings/summary")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "amount_out_of_range"
    assert r.json()["detail"]["records"] == [h.id for h in big]
