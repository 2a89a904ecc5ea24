"""Deals through HTTP: normalised fields, computed spread, the stage machine's every refusal,
system moves, activities, summary, list filters and the throttle."""

from __future__ import annotations

import orjson
import pytest

from app.core_gov.deals import service
from app.core_gov.deals.schemas import Stage
from app.core_gov.errors import Conflict
from app.core_gov.regression import store as regression_store


def add(client, **fields):
    body = {"seller_name": "Jane Roy", "address": "12 Elm Street", "city": "Hamilton", "province": "ON", **fields}
    r = client.post("/core/deals", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def stage(client, deal_id, to, reason="next"):
    return client.post(f"/core/deals/{deal_id}/stage", json={"stage": to, "reason": reason})


def throttle(db, domain):
    with db.transaction("regression") as tx:
        tx.write(regression_store.state, {"throttled": {domain: {
            "domain": domain, "metric": "m", "since": "2026-01-05T14:00:00Z", "reason": "drop 30%",
        }}})


def test_create_normalises_contact_fields_and_derives_country(client, data_dir):
    d = add(client, seller_phone="(416) 555-0199", seller_email=" Jane.Roy@Example.COM ", province="on", tags=["Vacant", "vacant"])
    assert (d["seller_phone"], d["seller_email"], d["province"], d["country"]) == ("+14165550199", "jane.roy@example.com", "ON", "CA")
    assert d["stage"] == "lead" and d["currency"] == "CAD" and d["costs_estimate"] == 0 and d["tags"] == ["vacant"]
    assert d["id"].startswith("dl_")
    us = add(client, address="1 Ocean Dr", city="Miami", province="FL", seller_phone="305-555-0134")
    assert us["country"] == "US" and us["seller_phone"] == "+13055550134"
    assert orjson.loads((data_dir / "deals" / "deals.json").read_bytes()) == [d, us]


def test_expected_spread_is_computed_on_create_and_every_change_never_taken_from_input(client):
    d = add(client, assignment_fee_target=10000, costs_estimate=1500)
    assert d["expected_spread"] == 8500
    r = client.patch(f"/core/deals/{d['id']}", json={"costs_estimate": 2500})
    assert r.json()["expected_spread"] == 7500
    r = client.patch(f"/core/deals/{d['id']}", json={"assignment_fee_target": 12000})
    assert r.json()["expected_spread"] == 9500 and r.json()["version"] == 3
    sent = client.post("/core/deals", json={"address": "1 A St", "city": "X", "province": "ON", "expected_spread": 99})
    assert sent.status_code == 422 and sent.json()["detail"][0]["loc"] == ["body", "expected_spread"]
    patched = client.patch(f"/core/deals/{d['id']}", json={"expected_spread": 1})
    assert patched.status_code == 422 and patched.json()["detail"][0]["loc"] == ["body", "expected_spread"]
    assert add(client, address="2 B St")["expected_spread"] is None  # no fee target, no spread


def test_country_contradicting_the_province_is_422_on_create_and_patch(client):
    r = client.post("/core/deals", json={"address": "1 A St", "city": "X", "province": "ON", "country": "US"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "country"]
    assert "ON is in CA" in r.json()["detail"][0]["msg"]
    d = add(client)
    r = client.patch(f"/core/deals/{d['id']}", json={"country": "US"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "country"]
    r = client.patch(f"/core/deals/{d['id']}", json={"province": "NY"})
    assert r.status_code == 200 and (r.json()["province"], r.json()["country"]) == ("NY", "US")
    assert client.get("/core/deals", params={"province": "ON"}).headers["x-total-count"] == "0"


def test_bad_input_is_422_naming_the_field_and_writes_nothing(client, data_dir):
    base = {"address": "1 A St", "city": "X", "province": "ON"}
    for extra, field in [
        ({"province": "ZZ"}, "province"), ({"seller_phone": "12"}, "seller_phone"), ({"seller_email": "nope"}, "seller_email"),
        ({"lead_score": 1.5}, "lead_score"), ({"arv_estimate": -1}, "arv_estimate"), ({"repairs_estimate": -5}, "repairs_estimate"),
        ({"asking_price": -1}, "asking_price"), ({"costs_estimate": -1}, "costs_estimate"), ({"property_type": "castle"}, "property_type"),
        ({"stage": "won"}, "stage"), ({"property_id": "pr_nope"}, "property_id"), ({"address": " "}, "address"),
    ]:
        r = client.post("/core/deals", json={**base, **extra})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], (extra, r.text)
    r = client.post("/core/deals", json={**base, "stage": "closed"})  # a deal starts as a lead
    assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition"
    assert not (data_dir / "deals" / "deals.json").exists()


def test_patch_may_not_change_the_stage_or_null_a_required_field(client):
    d = add(client)
    for name in ("province", "address", "costs_estimate", "tags"):
        r = client.patch(f"/core/deals/{d['id']}", json={name: None})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", name]
    r = client.patch(f"/core/deals/{d['id']}", json={"stage": "dead", "notes": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "stage"]
    assert f"/core/deals/{d['id']}/stage" in r.json()["detail"][0]["msg"]
    assert client.get(f"/core/deals/{d['id']}").json()["version"] == 1


def test_patch_honours_if_match(client):
    d = add(client)
    ok = client.patch(f"/core/deals/{d['id']}", json={"notes": "a"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'
    stale = client.patch(f"/core/deals/{d['id']}", json={"notes": "b"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["detail"]["current_version"] == 2


def test_stage_moves_forward_one_step_at_a_time_and_logs_activities(client):
    d = add(client)
    for to in ("contacted", "offer_made", "under_contract", "assigned"):
        r = stage(client, d["id"], to, reason=f"to {to}")
        assert r.status_code == 200 and r.json()["stage"] == to
    acts = client.get(f"/core/deals/{d['id']}/activities").json()
    assert [(a["kind"], a["from_stage"], a["to_stage"]) for a in acts] == [
        ("stage", "lead", "contacted"), ("stage", "contacted", "offer_made"),
        ("stage", "offer_made", "under_contract"), ("stage", "under_contract", "assigned"),
    ]
    assert acts[0]["summary"] == "lead -> contacted: to contacted"


INVALID_MOVES = [  # (at, requested, allowed moves named in the refusal)
    ("lead", "offer_made", ["contacted", "dead"]),  # skipping a step
    ("lead", "assigned", ["contacted", "dead"]),
    ("lead", "lead", ["contacted", "dead"]),  # staying put is not a move
    ("contacted", "lead", ["offer_made", "dead"]),  # backwards
    ("under_contract", "offer_made", ["assigned", "dead"]),
    ("contacted", "closed", ["offer_made", "dead"]),  # closed only through finalization
    ("assigned", "closed", ["dead"]),
    ("assigned", "assigned", ["dead"]),
]


def test_every_invalid_move_is_409_invalid_transition_with_the_current_stage(client):
    path = ["contacted", "offer_made", "under_contract", "assigned"]
    for n, (at, to, allowed) in enumerate(INVALID_MOVES):
        d = add(client, address=f"{n} Move St")
        for s in path[: path.index(at) + 1] if at != "lead" else []:
            assert stage(client, d["id"], s).status_code == 200
        r = stage(client, d["id"], to)
        assert r.status_code == 409, (at, to)
        detail = r.json()["detail"]
        assert (detail["code"], detail["current"], detail["requested"], detail["allowed"]) == ("invalid_transition", at, to, allowed)
        if to == "closed":
            assert f"/core/deals/{d['id']}/finalize" in detail["message"]
        assert client.get(f"/core/deals/{d['id']}").json()["stage"] == at


def test_dead_from_any_open_stage_then_nothing_moves_it(client):
    for steps in ([], ["contacted"], ["contacted", "offer_made", "under_contract", "assigned"]):
        d = add(client, address=f"{len(steps)} Dead St")
        for s in steps:
            stage(client, d["id"], s)
        assert stage(client, d["id"], "dead", reason="seller sold").json()["stage"] == "dead"
        for to in ("dead", "lead", "contacted", "closed"):
            r = stage(client, d["id"], to)
            assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition" and r.json()["detail"]["current"] == "dead"


def test_stage_change_needs_a_reason_and_a_known_stage(client):
    d = add(client)
    assert client.post(f"/core/deals/{d['id']}/stage", json={"stage": "contacted", "reason": "  "}).status_code == 422
    r = client.post(f"/core/deals/{d['id']}/stage", json={"stage": "won", "reason": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "stage"]
    assert client.post("/core/deals/dl_nope/stage", json={"stage": "contacted", "reason": "x"}).status_code == 404


def test_system_moves_are_limited_to_what_other_modules_may_do(client, db):
    d = add(client)
    deal = service.set_stage_by_system(db, d["id"], stage=Stage.offer_made, reason="offer issued")
    assert deal.stage == "offer_made"
    assert service.set_stage_by_system(db, d["id"], stage=Stage.offer_made, reason="again").version == deal.version  # no-op
    with pytest.raises(Conflict) as e:
        service.set_stage_by_system(db, d["id"], stage=Stage.assigned, reason="dispo")
    assert e.value.code == "invalid_transition" and e.value.context["allowed_from"] == ["under_contract"]
    stage(client, d["id"], "under_contract")
    assert service.set_stage_by_system(db, d["id"], stage=Stage.assigned, reason="dispo assigned").stage == "assigned"
    with pytest.raises(Conflict):
        service.set_stage_by_system(db, d["id"], stage=Stage.offer_made, reason="late offer")  # offers only before a contract
    assert service.set_stage_by_system(db, d["id"], stage=Stage.under_contract, reason="fallout").stage == "under_contract"
    for target in ("closed", "dead", "lead", "contacted"):
        with pytest.raises(Conflict) as e:
            service.set_stage_by_system(db, d["id"], stage=Stage(target), reason="x")
        assert e.value.context["allowed_from"] == []
    kinds = [(a["from_stage"], a["to_stage"]) for a in client.get(f"/core/deals/{d['id']}/activities").json()]
    assert kinds == [("lead", "offer_made"), ("offer_made", "under_contract"), ("under_contract", "assigned"), ("assigned", "under_contract")]


def test_activities_are_an_append_only_log_per_deal(client, data_dir):
    d = add(client)
    other = add(client, address="9 Other Rd")
    r = client.post(f"/core/deals/{d['id']}/activities", json={"kind": "call", "summary": "Left a voicemail"}, headers={"X-Actor": "ana"})
    assert r.status_code == 201 and (r.json()["kind"], r.json()["actor"], r.json()["deal_id"]) == ("call", "ana", d["id"])
    client.post(f"/core/deals/{other['id']}/activities", json={"kind": "note", "summary": "other"})
    client.post(f"/core/deals/{d['id']}/activities", json={"kind": "inspection", "summary": "Roof is 20 years old", "details": "shingles"})
    got = client.get(f"/core/deals/{d['id']}/activities")
    assert got.headers["x-total-count"] == "2" and [a["kind"] for a in got.json()] == ["call", "inspection"]
    lines = (data_dir / "deals" / "activities.jsonl").read_bytes().splitlines()
    assert [orjson.loads(x)["summary"] for x in lines] == ["Left a voicemail", "other", "Roof is 20 years old"]
    bad = client.post(f"/core/deals/{d['id']}/activities", json={"kind": "stage", "summary": "forged"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "kind"]
    assert client.post("/core/deals/dl_nope/activities", json={"kind": "note", "summary": "x"}).status_code == 404
    assert client.get("/core/deals/dl_nope/activities").status_code == 404


def test_summary_counts_value_and_spread_by_stage(client):
    a = add(client, address="1 A St", asking_price=200000, assignment_fee_target=10000, costs_estimate=1000)
    add(client, address="2 B St", asking_price=150000, offer_amount=120000, assignment_fee_target=8000)
    c = add(client, address="3 C St", asking_price=99000, assignment_fee_target=5000)
    add(client, address="4 D St", province="FL", city="Miami", currency="USD", asking_price=50000, assignment_fee_target=3000)
    stage(client, a["id"], "contacted")
    stage(client, c["id"], "dead")
    s = client.get("/core/deals/summary").json()
    assert s["count"] == 4
    assert s["by_stage"]["lead"] == {"count": 2, "value": {"CAD": 120000.0, "USD": 50000.0}, "expected_spread": {"CAD": 8000.0, "USD": 3000.0}}
    assert s["by_stage"]["contacted"] == {"count": 1, "value": {"CAD": 200000.0}, "expected_spread": {"CAD": 9000.0}}
    assert s["by_stage"]["dead"]["count"] == 1 and s["by_stage"]["closed"] == {"count": 0, "value": {}, "expected_spread": {}}
    assert s["expected_spread_total"] == {"CAD": 22000.0, "USD": 3000.0}
    assert s["open_expected_spread"] == {"CAD": 17000.0, "USD": 3000.0}


def test_list_filters_by_stage_province_tag_and_q(client):
    a = add(client, seller_name="Marie Tremblay", address="5 Rue Principale", city="Québec", province="QC", tags=["probate"])
    add(client, seller_name="Bob Smith", address="12 Main St", city="Toronto", province="ON", tags=["vacant"])
    c = add(client, seller_name="Ann Lee", address="77 King St W", city="Hamilton", province="ON", tags=["vacant", "probate"])
    stage(client, c["id"], "contacted")
    ids = lambda **p: [d["id"] for d in client.get("/core/deals", params=p).json()]  # noqa: E731
    assert ids(q="TREMBLAY") == [a["id"]]
    assert ids(q="québec") == [a["id"]]
    assert ids(q="king st") == [c["id"]]
    assert ids(tag="Probate") == [a["id"], c["id"]]
    assert ids(province="on", stage="contacted") == [c["id"]]
    assert ids(province="on", tag="vacant", q="hamil") == [c["id"]]
    r = client.get("/core/deals", params={"province": "ON", "limit": 1})
    assert r.headers["x-total-count"] == "2" and len(r.json()) == 1
    assert client.get("/core/deals", params={"province": "ZZ"}).status_code == 422
    assert client.get("/core/deals", params={"stage": "won"}).status_code == 422


def test_creating_is_refused_while_deals_is_throttled(client, db, data_dir):
    throttle(db, "deals")
    r = client.post("/core/deals", json={"address": "1 A St", "city": "X", "province": "ON"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "throttled" and r.json()["detail"]["domain"] == "deals"
    r = client.post("/core/deals/import", content=b"address,city,province\n1 A St,X,ON\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "throttled"
    assert not (data_dir / "deals" / "deals.json").exists()


def test_record_offer_sets_amounts_and_logs_an_offer_activity(client, db):
    d = add(client)
    deal = service.record_offer(db, d["id"], offer_amount=167500, evidence_id="ev_x", mao=177500)
    assert (deal.offer_amount, deal.mao, deal.stage) == (167500, 177500, "lead")
    act = client.get(f"/core/deals/{d['id']}/activities").json()[-1]
    assert (act["kind"], act["ref"], act["summary"]) == ("offer", "ev_x", "offer of 167,500.00 CAD issued (evidence ev_x)")


def test_unknown_deal_is_404_and_require_deal_is_422(client, db):
    r = client.get("/core/deals/dl_nope")
    assert r.status_code == 404 and "dl_nope" in r.json()["detail"]
    assert client.patch("/core/deals/dl_nope", json={"notes": "x"}).status_code == 404
    from app.core_gov.errors import InvalidField

    with pytest.raises(InvalidField) as e:
        service.require_deal(db, "dl_nope", field="deal")
    assert e.value.detail[0]["loc"] == ["body", "deal"]
    assert service.find_deal(db, "dl_nope") is None


def test_an_absurd_amount_is_422_naming_the_field_and_the_bound(client):
    r = client.post("/core/deals", json={"address": "1 A St", "city": "X", "province": "ON", "asking_price": 1e308})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "asking_price"] and "1000000000000" in r.json()["detail"][0]["msg"]
    d = add(client, asking_price=1e12)
    r = client.patch(f"/core/deals/{d['id']}", json={"offer_amount": 1.5e12})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "offer_amount"]
    assert client.get(f"/core/deals/{d['id']}").json()["offer_amount"] is None


def test_a_total_that_is_not_finite_is_409_naming_the_deals_never_null(client, db):
    from app.core_gov.deals import store

    with db.transaction("deals") as tx:  # amounts stored before the bound existed (or typed by hand)
        big = [tx.add(store.deals, {"address": f"{n} A St", "city": "X", "province": "ON", "country": "CA", "asking_price": 1e308}) for n in range(2)]
        tx.add(store.deals, {"address": "3 A St", "city": "X", "province": "ON", "country": "CA", "asking_price": 5})
    r = client.get("/core/deals/summary")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "amount_out_of_range"
    assert r.json()["detail"]["records"] == [b.id for b in big]
    assert big[0].id in r.json()["detail"]["message"] and "lead value (CAD)" in r.json()["detail"]["message"]
