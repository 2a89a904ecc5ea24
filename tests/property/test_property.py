"""Property: region/country/postal rules, rating and repair/rent upserts, and real comps chosen
from a hand-built neighbourhood (which sales count, which do not and why) with the ARV."""

from __future__ import annotations

import orjson
import pytest


def add(client, **fields):
    body = {"address": "1 Main St", "city": "Hamilton", "region": "ON", "property_type": "sfr", **fields}
    r = client.post("/core/property/properties", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_normalises_postal_and_derives_country(client, data_dir):
    p = add(client, postal=" l8p4r5 ", region="on", tags=["Corner"])
    assert (p["postal"], p["region"], p["country"], p["tags"]) == ("L8P 4R5", "ON", "CA", ["corner"])
    assert p["id"].startswith("pr_")
    us = add(client, city="Buffalo", region="NY", postal="14201-1234")
    assert (us["country"], us["postal"]) == ("US", "14201-1234")
    assert orjson.loads((data_dir / "property" / "properties.json").read_bytes()) == [p, us]
    assert client.get(f"/core/property/properties/{p['id']}").headers["etag"] == '"1"'


BAD_PROPERTIES = [  # (fields, the field named, words in the message)
    ({"region": "ON", "country": "US"}, "country", "ON is in CA"),
    ({"region": "FL", "country": "CA"}, "country", "FL is in US"),
    ({"region": "ZZ"}, "region", "unknown region"),
    ({"region": "ON", "postal": "12345"}, "postal", "not a Canadian postal code"),
    ({"region": "NY", "postal": "L8P 4R5"}, "postal", "not a US ZIP"),
    ({"region": "ON", "postal": "V5K 0A1"}, "postal", "belongs to BC, not ON"),
    ({"region": "ON", "postal": "D1A 1A1"}, "postal", "not a Canadian postal code"),  # D is never used
    ({"region": "NY", "postal": "1420"}, "postal", "not a US ZIP"),
    ({"property_type": "castle"}, "property_type", ""),
    ({"sqft": 0}, "sqft", ""),
    ({"beds": -1}, "beds", ""),
    ({"last_sale_price": -1}, "last_sale_price", ""),
    ({"last_sale_date": "2026-02-01"}, "last_sale_date", "in the future"),
    ({"deal_id": "dl_nope"}, "deal_id", "no deal dl_nope"),
]


def test_bad_property_input_is_422_naming_the_field(client, data_dir):
    for fields, field, words in BAD_PROPERTIES:
        r = client.post("/core/property/properties", json={"address": "1 A St", "city": "X", "region": "ON", "property_type": "sfr", **fields})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], (fields, r.text)
        assert words in r.json()["detail"][0]["msg"]
    assert not (data_dir / "property" / "properties.json").exists()


def test_patch_rechecks_country_and_postal_against_the_new_region(client):
    p = add(client, postal="L8P 4R5")
    r = client.patch(f"/core/property/properties/{p['id']}", json={"region": "BC"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "postal"]
    r = client.patch(f"/core/property/properties/{p['id']}", json={"region": "BC", "postal": "v5k0a1"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and (r.json()["region"], r.json()["postal"], r.json()["country"]) == ("BC", "V5K 0A1", "CA")
    r = client.patch(f"/core/property/properties/{p['id']}", json={"region": "WA", "postal": "98101"})
    assert r.status_code == 200 and r.json()["country"] == "US"
    stale = client.patch(f"/core/property/properties/{p['id']}", json={"beds": 3}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412


def test_list_filters(client):
    a = add(client, tags=["flip"])
    add(client, city="Toronto")
    c = add(client, city="Buffalo", region="NY")
    ids = lambda **q: [p["id"] for p in client.get("/core/property/properties", params=q).json()]  # noqa: E731
    assert ids(city="HAMILTON") == [a["id"]] and ids(country="US") == [c["id"]] and ids(region="on", tag="FLIP") == [a["id"]]
    assert client.get("/core/property/properties", params={"region": "ON"}).headers["x-total-count"] == "2"


def test_neighborhood_rating_is_one_record_per_property_upserted_with_200(client, data_dir):
    p = add(client)
    assert client.get(f"/core/property/properties/{p['id']}/neighborhood_rating").status_code == 404
    r = client.post(f"/core/property/properties/{p['id']}/neighborhood_rating", json={"score": 72, "factors": {"schools": 8, "transit": "bus"}, "notes": "quiet"})
    assert r.status_code == 200 and (r.json()["score"], r.json()["factors"], r.json()["version"]) == (72, {"schools": 8, "transit": "bus"}, 1)
    again = client.post(f"/core/property/properties/{p['id']}/neighborhood_rating", json={"score": 65})
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"] and (again.json()["score"], again.json()["factors"], again.json()["version"]) == (65, {}, 2)
    assert client.get(f"/core/property/properties/{p['id']}/neighborhood_rating").json() == again.json()
    assert len(orjson.loads((data_dir / "property" / "ratings.json").read_bytes())) == 1
    for body in ({"score": 101}, {"score": -1}, {"score": 50, "factors": [1]}):
        assert client.post(f"/core/property/properties/{p['id']}/neighborhood_rating", json=body).status_code == 422
    assert client.post("/core/property/properties/pr_nope/neighborhood_rating", json={"score": 5}).status_code == 404


def test_repair_rent_totals_line_items_and_replaces_on_post(client):
    p = add(client)
    body = {"line_items": [{"description": "Roof", "cost": 12000}, {"description": "Kitchen", "cost": 18000.5}], "rent_estimate": 2400}
    r = client.post(f"/core/property/properties/{p['id']}/repair_rent", json=body)
    assert r.status_code == 200 and (r.json()["repairs_total"], r.json()["rent_estimate"]) == (30000.5, 2400)
    r2 = client.post(f"/core/property/properties/{p['id']}/repair_rent", json={"line_items": [{"description": "Paint", "cost": 3000}]})
    assert (r2.json()["id"], r2.json()["repairs_total"], r2.json()["rent_estimate"]) == (r.json()["id"], 3000, None)
    assert client.get(f"/core/property/properties/{p['id']}/repair_rent").json() == r2.json()
    bad = client.post(f"/core/property/properties/{p['id']}/repair_rent", json={"line_items": [{"description": "Roof", "cost": -1}]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "line_items", 0, "cost"]


@pytest.fixture
def hamilton(client):
    """A subject (sfr, 1500 sqft, 3 beds) and its neighbourhood; today is 2026-01-05, so the
    12-month window starts on 2025-01-05."""
    subject = add(client, address="100 Subject St", sqft=1500, beds=3, last_sale_price=250000, last_sale_date="2025-10-01")
    sale = lambda addr, price, day, **f: add(client, address=addr, last_sale_price=price, last_sale_date=day, **f)  # noqa: E731
    ok = {
        "B": sale("2 B St", 512000, "2025-11-15", city="hamilton", sqft=1600, beds=4),  # 320/sqft, beds +1
        "D": sale("4 D St", 630000, "2025-09-01", sqft=1800, beds=3),  # 350/sqft, +20 % sqft
        "A": sale("1 A St", 420000, "2025-06-01", sqft=1400, beds=3),  # 300/sqft
        "F": sale("6 F St", 450000, "2025-04-01", sqft=1500),  # 300/sqft, beds unknown
        "C": sale("3 C St", 336000, "2025-02-10", sqft=1200, beds=2),  # 280/sqft, -20 % sqft, beds -1
        "E": sale("5 E St", 465000, "2025-01-05", sqft=1500, beds=3),  # 310/sqft, first day of the window
    }
    excluded = {
        "too old": sale("7 Old St", 400000, "2025-01-04", sqft=1500, beds=3),
        "condo": sale("8 Condo St", 400000, "2025-06-01", sqft=1500, beds=3, property_type="condo"),
        "too big": sale("9 Big St", 700000, "2025-06-01", sqft=1900, beds=3),
        "too small": sale("10 Small St", 300000, "2025-06-01", sqft=1100, beds=3),
        "beds +2": sale("11 Beds St", 450000, "2025-06-01", sqft=1500, beds=5),
        "no sqft": sale("12 NoSqft St", 450000, "2025-06-01", beds=3),
        "never sold": add(client, address="13 Unsold St", sqft=1500, beds=3),
        "other city": sale("14 Burl St", 450000, "2025-06-01", city="Burlington", sqft=1500, beds=3),
        "other region": sale("15 Far St", 450000, "2025-06-01", region="BC", sqft=1500, beds=3),
    }
    return subject, ok, excluded


def test_comps_choose_recent_similar_sales_in_the_city_and_compute_the_arv(client, hamilton, data_dir):
    subject, ok, excluded = hamilton
    r = client.post("/core/property/comps", json={"property_id": subject["id"]})
    assert r.status_code == 201, r.text
    out = r.json()
    assert [c["property_id"] for c in out["comps"]] == [ok[k]["id"] for k in "BDAFCE"]  # newest sale first
    assert not {p["id"] for p in excluded.values()} & {c["property_id"] for c in out["comps"]}
    assert subject["id"] not in {c["property_id"] for c in out["comps"]}
    assert [c["price_per_sqft"] for c in out["comps"]] == [320, 350, 300, 300, 280, 310]
    assert out["comps"][0] == {"address": "2 B St", "sale_price": 512000, "sale_date": "2025-11-15", "sqft": 1600, "beds": 4,
                               "price_per_sqft": 320, "source": "stored", "property_id": ok["B"]["id"]}
    assert (out["subject_id"], out["count"], out["scope"], out["confidence"]) == (subject["id"], 6, "city", "high")
    assert (out["median_price_per_sqft"], out["arv_estimate"]) == (305, 457500)  # median of 280 300 300 310 320 350 x 1500
    assert orjson.loads((data_dir / "property" / "comps.json").read_bytes())[0]["id"] == out["id"]
    latest = client.get(f"/core/property/properties/{subject['id']}/comps")
    assert latest.status_code == 200 and latest.json() == out


def test_operator_comps_are_added_as_given(client, hamilton):
    subject, ok, _ = hamilton
    body = {"property_id": subject["id"], "comps": [{"address": "99 Known Rd", "sale_price": 540000, "sale_date": "2025-12-01", "sqft": 1500, "beds": 3}]}
    out = client.post("/core/property/comps", json=body).json()
    assert out["count"] == 7 and out["comps"][-1] == {
        "address": "99 Known Rd", "sale_price": 540000, "sale_date": "2025-12-01", "sqft": 1500, "beds": 3,
        "price_per_sqft": 360, "source": "operator", "property_id": None,
    }
    assert (out["median_price_per_sqft"], out["arv_estimate"]) == (310, 465000)
    assert client.get(f"/core/property/properties/{subject['id']}/comps").json()["id"] == out["id"]  # the latest set


def test_a_city_with_fewer_than_3_sales_falls_back_to_the_region(client):
    subject = add(client, address="1 Town Rd", city="Dundas", sqft=1000, beds=2)
    add(client, address="2 Town Rd", city="Dundas", sqft=1000, beds=2, last_sale_price=300000, last_sale_date="2025-08-01")
    add(client, address="3 Far Rd", city="Guelph", sqft=1100, beds=2, last_sale_price=330000, last_sale_date="2025-07-01")
    add(client, address="4 Far Rd", city="Kitchener", sqft=900, beds=3, last_sale_price=315000, last_sale_date="2025-06-01")
    add(client, address="5 BC Rd", city="Dundas", region="BC", sqft=1000, beds=2, last_sale_price=900000, last_sale_date="2025-06-01")
    out = client.post("/core/property/comps", json={"property_id": subject["id"]}).json()
    assert (out["scope"], out["count"], out["confidence"]) == ("region", 3, "medium")
    assert [c["address"] for c in out["comps"]] == ["2 Town Rd", "3 Far Rd", "4 Far Rd"]
    assert (out["median_price_per_sqft"], out["arv_estimate"]) == (300, 300000)


def test_unknown_subject_sqft_uses_the_median_sale_price(client):
    subject = add(client, address="1 Q St", beds=3)
    for i, (price, sqft) in enumerate([(400000, 1000), (500000, 3000), (450000, None)]):
        add(client, address=f"{i} R St", beds=3, sqft=sqft, last_sale_price=price, last_sale_date="2025-12-01")
    out = client.post("/core/property/comps", json={"property_id": subject["id"]}).json()
    assert (out["count"], out["arv_estimate"], out["confidence"]) == (3, 450000, "medium")


def test_no_qualifying_sales_is_low_confidence_without_an_arv(client):
    subject = add(client, sqft=1000)
    out = client.post("/core/property/comps", json={"property_id": subject["id"], "months": 6}).json()
    assert (out["count"], out["arv_estimate"], out["median_price_per_sqft"], out["confidence"], out["months"]) == (0, None, None, "low", 6)


def test_comps_bad_input(client):
    subject = add(client, sqft=1000)
    r = client.post("/core/property/comps", json={"property_id": "pr_nope"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "property_id"]
    future = {"property_id": subject["id"], "comps": [{"address": "x", "sale_price": 1, "sale_date": "2026-03-01"}]}
    r = client.post("/core/property/comps", json=future)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "comps", 0, "sale_date"]
    r = client.post("/core/property/comps", json={"property_id": subject["id"], "comps": [{"address": "x", "sale_price": -1, "sale_date": "2025-03-01"}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "comps", 0, "sale_price"]
    assert client.get(f"/core/property/properties/{subject['id']}/comps").status_code == 404
    assert client.get("/core/property/properties/pr_nope/comps").status_code == 404


def test_null_for_a_required_field_is_422_naming_it(client):
    p = add(client, postal="L8P 4R5")
    for name in ("region", "address", "property_type"):
        r = client.patch(f"/core/property/properties/{p['id']}", json={name: None})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", name]
