"""Dispo buyers and deal matching through HTTP: nested buy boxes, which buyers a deal excludes
and why, the documented score and the ranking (score, then name), the market's liquidity."""

from __future__ import annotations

import orjson

# Buyer price 180,000 + 10,000 = 190,000; equity (300,000 - 190,000 - 30,000) / 300,000 = 26.67 %.
DEAL = {"address": "12 Elm Street", "city": "Hamilton", "province": "ON", "property_type": "sfr",
        "arv_estimate": 300000, "repairs_estimate": 30000, "offer_amount": 180000, "mao": 170000,
        "assignment_fee_target": 10000}


def deal(client, **fields):
    r = client.post("/core/deals", json={**DEAL, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def buyer(client, name, **fields):
    r = client.post("/core/dispo/buyers", json={"name": name, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def test_buyer_create_keeps_the_nested_buy_box_and_normalises_contacts(client, data_dir):
    b = buyer(client, "Northside", email="Deals@North.Example", phone="416 555 0199",
              buy_box={"provinces": ["on", "bc"], "markets": [" Hamilton "], "property_types": ["sfr"], "max_price": 250000})
    assert (b["email"], b["phone"], b["active"]) == ("deals@north.example", "+14165550199", True)
    assert b["buy_box"] == {"provinces": ["ON", "BC"], "markets": ["Hamilton"], "property_types": ["sfr"], "min_price": None,
                            "max_price": 250000, "max_repairs": None, "min_equity_pct": None, "close_speed_days": None}
    assert b["id"].startswith("dbuy_")
    assert orjson.loads((data_dir / "dispo" / "buyers.json").read_bytes()) == [b]
    r = client.get(f"/core/dispo/buyers/{b['id']}")
    assert r.status_code == 200 and r.json() == b and r.headers["etag"] == '"1"'


def test_buyer_bad_input_is_422_naming_the_field(client, data_dir):
    for box, loc in [
        ({"provinces": ["ZZ"]}, ["body", "buy_box", "provinces", 0]),
        ({"property_types": ["castle"]}, ["body", "buy_box", "property_types", 0]),
        ({"max_price": -5}, ["body", "buy_box", "max_price"]),
        ({"min_equity_pct": 120}, ["body", "buy_box", "min_equity_pct"]),
        ({"close_speed_days": 0}, ["body", "buy_box", "close_speed_days"]),
        ({"min_price": 300000, "max_price": 200000}, ["body", "buy_box"]),
        ({"colour": "red"}, ["body", "buy_box", "colour"]),
    ]:
        r = client.post("/core/dispo/buyers", json={"name": "x", "buy_box": box})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, (box, r.text)
    r = client.post("/core/dispo/buyers", json={"name": "x", "email": "nope"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "email"]
    assert not (data_dir / "dispo" / "buyers.json").exists()


def test_buyer_patch_replaces_the_box_filters_and_if_match(client):
    b = buyer(client, "A", buy_box={"provinces": ["ON"], "max_price": 100000})
    buyer(client, "B", active=False, buy_box={"provinces": ["BC"], "property_types": ["condo"]})
    r = client.patch(f"/core/dispo/buyers/{b['id']}", json={"buy_box": {"provinces": ["AB"]}}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["buy_box"]["provinces"] == ["AB"] and r.json()["buy_box"]["max_price"] is None
    assert client.patch(f"/core/dispo/buyers/{b['id']}", json={"name": "Z"}, headers={"If-Match": '"1"'}).status_code == 412
    r = client.patch(f"/core/dispo/buyers/{b['id']}", json={"active": None})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "active"]
    assert [x["name"] for x in client.get("/core/dispo/buyers", params={"active": False}).json()] == ["B"]
    assert [x["name"] for x in client.get("/core/dispo/buyers", params={"province": "ab"}).json()] == ["A"]
    r = client.get("/core/dispo/buyers", params={"property_type": "sfr"})
    assert r.headers["x-total-count"] == "1" and [x["name"] for x in r.json()] == ["A"]
    assert client.get("/core/dispo/buyers/dbuy_nope").status_code == 404


def make_buyers(client):
    ids = {}
    ids["alpha"] = buyer(client, "Alpha", buy_box={
        "provinces": ["ON"], "markets": ["hamilton"], "property_types": ["sfr", "duplex"],
        "min_price": 100000, "max_price": 200000, "max_repairs": 40000, "min_equity_pct": 20, "close_speed_days": 14})["id"]
    ids["bravo"] = buyer(client, "bravo")["id"]  # an empty box: anything
    ids["aardvark"] = buyer(client, "Aardvark", buy_box={"close_speed_days": 90})["id"]
    ids["charlie"] = buyer(client, "Charlie", buy_box={"provinces": ["BC"], "markets": ["Toronto"]})["id"]
    ids["delta"] = buyer(client, "Delta", buy_box={"max_price": 150000, "max_repairs": 20000})["id"]
    ids["echo"] = buyer(client, "Echo", active=False)["id"]
    ids["foxtrot"] = buyer(client, "Foxtrot", buy_box={"min_equity_pct": 30, "property_types": ["condo"]})["id"]
    ids["golf"] = buyer(client, "Golf", buy_box={"markets": ["Hamilton"], "min_equity_pct": 25, "close_speed_days": 30})["id"]
    return ids


def test_matches_exclude_with_reasons_and_rank_by_score_then_name(client):
    d = deal(client)
    ids = make_buyers(client)
    r = client.get(f"/core/dispo/deals/{d['id']}/matches")
    assert r.status_code == 200
    body = r.json()
    assert (body["deal_id"], body["buyer_price"], body["equity_pct"]) == (d["id"], 190000, 26.67)
    # Alpha: E = (26.67-20)/20 = 0.3335, S = (90-14)/83, T = 3/3 -> 64.1
    # Golf: E = (26.67-25)/20 = 0.0835, S = (90-30)/83, T = 1/3 -> 32.5
    # bravo, Aardvark: E = 1 (26.67 >= 20 points of headroom), S = 0, T = 0 -> 50.0 each: by name
    assert [(m["name"], m["score"]) for m in body["matches"]] == [("Alpha", 64.1), ("Aardvark", 50.0), ("bravo", 50.0), ("Golf", 32.5)]
    alpha = body["matches"][0]
    assert alpha["buyer_id"] == ids["alpha"]
    assert alpha["reasons"] == [
        "province ON in buy box", "market Hamilton in buy box", "property type sfr in buy box",
        "price 190,000 within 100,000-200,000", "repairs 30,000 <= max 40,000", "equity 26.67% >= min 20%",
        "closes in 14 days",
    ]
    assert body["matches"][2]["reasons"] == ["province: any", "market: any", "property type: any"]
    assert {e["buyer_id"]: e["reasons"] for e in body["excluded"]} == {
        ids["charlie"]: ["province ON not in buy box (BC)", "market Hamilton not in buy box (Toronto)"],
        ids["delta"]: ["price 190,000 outside 0-150,000", "repairs 30,000 over max 20,000"],
        ids["echo"]: ["buyer is inactive"],
        ids["foxtrot"]: ["property type sfr not in buy box (condo)", "equity 26.67% below min 30%"],
    }


def test_each_match_carries_the_markets_liquidity(client):
    d = deal(client)
    buyer(client, "Any")
    # No feedback yet: both rates smoothed to 0.5, no active buyers -> 100 x (0.4 x 0.5 + 0.4 x 0.5) = 40, cold.
    liq = client.get(f"/core/dispo/deals/{d['id']}/matches").json()["matches"][0]["liquidity"]
    assert (liq["province"], liq["market"], liq["property_type"], liq["score"], liq["label"], liq["events"]) == ("ON", "Hamilton", "sfr", 40.0, "cold", 0)
    r = client.post("/core/buyers/liquidity/feedback", json={"buyer_id": "b1", "province": "ON", "market": "Hamilton", "property_type": "sfr", "event": "bought"})
    assert r.status_code == 201, r.text
    liq = client.get(f"/core/dispo/deals/{d['id']}/matches").json()["matches"][0]["liquidity"]
    expected = client.get("/core/buyers/liquidity/score", params={"province": "ON", "market": "Hamilton", "property_type": "sfr"}).json()
    assert liq["events"] == 1 and liq["score"] == expected["score"] and liq["score"] > 40.0


def test_close_within_days_excludes_slower_and_unknown_buyers(client):
    d = deal(client)
    ids = make_buyers(client)
    body = client.get(f"/core/dispo/deals/{d['id']}/matches", params={"close_within_days": 20}).json()
    assert [m["name"] for m in body["matches"]] == ["Alpha"]
    assert "closes in 14 days <= 20" in body["matches"][0]["reasons"]
    excluded = {e["buyer_id"]: e["reasons"] for e in body["excluded"]}
    assert excluded[ids["bravo"]] == ["close speed unknown; the deal must close within 20 days"]
    assert excluded[ids["golf"]] == ["closes in 30 days, more than 20"]
    assert client.get(f"/core/dispo/deals/{d['id']}/matches", params={"close_within_days": 0}).status_code == 422


def test_price_falls_back_to_mao_and_missing_deal_data_excludes(client):
    d = deal(client, offer_amount=None, mao=140000)  # buyer price 150,000; equity 40 %
    buyer(client, "Cheap", buy_box={"max_price": 150000, "min_equity_pct": 40})
    body = client.get(f"/core/dispo/deals/{d['id']}/matches").json()
    assert (body["buyer_price"], body["equity_pct"], [m["name"] for m in body["matches"]]) == (150000, 40.0, ["Cheap"])
    bare = deal(client, address="1 Bay St", offer_amount=None, mao=None, arv_estimate=None, property_type=None)
    body = client.get(f"/core/dispo/deals/{bare['id']}/matches").json()
    assert (body["buyer_price"], body["equity_pct"], body["matches"]) == (None, None, [])
    assert body["excluded"][0]["reasons"] == [
        "price unknown: the deal has no offer_amount or mao",
        "equity unknown: the deal needs arv_estimate, repairs_estimate and offer_amount or mao",
    ]
    assert client.get("/core/dispo/deals/dl_nope/matches").status_code == 404
