"""Offers: seeded policies, the bounded computation with every step and cap, evidence and the KPI
event, refusals (no_policy, policy_disabled, throttled), and issuing as an execution action."""

from __future__ import annotations

import orjson
import pytest

from app.core_gov.deals import service as deals_service
from app.core_gov.errors import Conflict
from app.core_gov.fields import CA_PROVINCES
from app.core_gov.golive import store as golive_store
from app.core_gov.kpi import service as kpi_service
from app.core_gov.regression import store as regression_store
from app.core_gov.risk import service as risk_service

DEFAULTS = {"market": "ALL", "arv_multiplier": 0.7, "fees_buffer": 2500.0, "assignment_fee": 10000.0, "max_offer_pct_of_arv": 0.75, "min_offer": 0.0, "enabled": True}


def compute(client, **fields):
    return client.post("/core/deals/offers/compute", json={"province": "ON", "arv": 300000, "repairs": 30000, **fields})


def deal(client, **fields):
    r = client.post("/core/deals", json={"seller_name": "Jane", "address": "12 Elm St", "city": "Hamilton", "province": "ON", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def set_golive(db, **state):
    with db.transaction("golive") as tx:
        tx.write(golive_store.state, state, audit="transition")


def throttle(db, domain):
    with db.transaction("regression") as tx:
        tx.write(regression_store.state, {"throttled": {domain: {"domain": domain, "metric": "offer_generated", "since": "2026-01-05T14:00:00Z", "reason": "drop"}}})


@pytest.fixture
def live(client, db):
    set_golive(db, enabled=True)
    r = client.post("/core/risk/policies/upsert", json={"engine": "GLOBAL", "max_daily_loss": 5000})
    assert r.status_code == 200, r.text


def test_policies_are_seeded_for_the_13_provinces_with_the_defaults(client, data_dir):
    got = client.get("/core/deals/offers/policies").json()
    assert [p["province"] for p in got] == list(CA_PROVINCES)
    assert all({k: p[k] for k in DEFAULTS} == DEFAULTS for p in got)
    assert not (data_dir / "offers").exists()  # reading never writes: the seed is stored with the first upsert
    assert client.get("/core/deals/offers/policies").json() == got  # stable ids and times while unwritten
    client.post("/core/deals/offers/policies/upsert", json={"province": "NS", "fees_buffer": 3000})
    stored = orjson.loads((data_dir / "offers" / "policies.json").read_bytes())
    assert [p["id"] for p in stored] == [p["id"] for p in got] and stored[7]["fees_buffer"] == 3000


def test_upsert_changes_only_the_fields_sent_and_adds_market_policies(client):
    r = client.post("/core/deals/offers/policies/upsert", json={"province": "on", "fees_buffer": 4000})
    assert r.status_code == 200 and (r.json()["province"], r.json()["fees_buffer"], r.json()["arv_multiplier"], r.json()["version"]) == ("ON", 4000, 0.7, 2)
    city = client.post("/core/deals/offers/policies/upsert", json={"province": "ON", "market": "Toronto", "arv_multiplier": 0.65})
    assert city.status_code == 200 and (city.json()["market"], city.json()["arv_multiplier"], city.json()["assignment_fee"]) == ("Toronto", 0.65, 10000)
    again = client.post("/core/deals/offers/policies/upsert", json={"province": "ON", "market": "toronto", "min_offer": 1000})
    assert again.json()["id"] == city.json()["id"] and again.json()["arv_multiplier"] == 0.65
    assert len(client.get("/core/deals/offers/policies").json()) == 14
    for body, field in [({"province": "FL"}, "province"), ({"province": "ZZ"}, "province"),
                        ({"province": "ON", "arv_multiplier": 1.5}, "arv_multiplier"), ({"province": "ON", "fees_buffer": -1}, "fees_buffer")]:
        bad = client.post("/core/deals/offers/policies/upsert", json=body)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", field]


def test_compute_with_defaults_gives_177500_and_167500_with_every_step(client, db, data_dir):
    r = compute(client)
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["buyer_mao"], out["recommended_offer"]) == (177500, 167500)
    assert out["evidence_id"] == out["id"] and out["id"].startswith("ev_")
    assert (out["arv"], out["repairs"], out["asking_price"], out["province"], out["market"]) == (300000, 30000, None, "ON", "ALL")
    assert {k: out["policy"][k] for k in DEFAULTS if k in out["policy"]} == {k: v for k, v in DEFAULTS.items() if k != "enabled"}
    assert [(s["key"], s["value"], s["applied"]) for s in out["steps"]] == [
        ("buyer_mao", 177500, None), ("minus_assignment_fee", 167500, None), ("cap_max_pct_of_arv", 167500, False),
        ("floor_min_offer", 167500, False), ("floor_zero", 167500, False),
    ]
    assert out["steps"][0]["formula"] == "arv 300000 x 0.7 - repairs 30000 - fees_buffer 2500"
    stored = orjson.loads((data_dir / "offers" / "evidence.json").read_bytes())
    assert len(stored) == 1 and stored[0]["id"] == out["id"] and stored[0]["recommended_offer"] == 167500
    events = kpi_service.events(db, metric="offer_generated")
    assert [(e.domain, e.value, e.ref) for e in events] == [("offers", 167500, out["id"])]


def test_the_arv_cap_applies_when_the_offer_exceeds_max_pct_of_arv(client):
    client.post("/core/deals/offers/policies/upsert", json={"province": "BC", "arv_multiplier": 1.0, "fees_buffer": 0, "assignment_fee": 0})
    out = compute(client, province="BC", arv=100000, repairs=0).json()
    assert (out["buyer_mao"], out["recommended_offer"]) == (100000, 75000)
    assert [(s["key"], s["value"], s["applied"]) for s in out["steps"]][2] == ("cap_max_pct_of_arv", 75000, True)


def test_the_asking_price_caps_the_offer(client):
    out = compute(client, asking_price=150000).json()
    assert out["recommended_offer"] == 150000
    assert [(s["key"], s["value"], s["applied"]) for s in out["steps"]][2:4] == [("cap_max_pct_of_arv", 167500, False), ("cap_asking_price", 150000, True)]
    above = compute(client, asking_price=200000).json()
    assert above["recommended_offer"] == 167500 and above["steps"][3]["applied"] is False


def test_a_negative_buyer_mao_is_shown_and_the_offer_floors_at_min_offer_or_zero(client):
    out = compute(client, arv=100000, repairs=80000).json()
    assert (out["buyer_mao"], out["recommended_offer"]) == (-12500, 0)
    assert [(s["key"], s["value"], s["applied"]) for s in out["steps"]][-2:] == [("floor_min_offer", 0, True), ("floor_zero", 0, False)]
    client.post("/core/deals/offers/policies/upsert", json={"province": "ON", "min_offer": 5000})
    floored = compute(client, arv=100000, repairs=80000).json()
    assert floored["recommended_offer"] == 5000 and floored["steps"][-2]["applied"] is True


def test_a_market_policy_wins_over_the_province_one(client):
    client.post("/core/deals/offers/policies/upsert", json={"province": "ON", "market": "Toronto", "arv_multiplier": 0.8})
    out = compute(client, market="toronto").json()
    assert (out["policy"]["market"], out["buyer_mao"], out["recommended_offer"]) == ("Toronto", 207500, 197500)
    assert compute(client, market="Ottawa").json()["policy"]["market"] == "ALL"


def test_refusals_are_409_with_their_code_and_store_nothing(client, db, data_dir):
    r = compute(client, province="FL")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "no_policy" and r.json()["detail"]["province"] == "FL"
    client.post("/core/deals/offers/policies/upsert", json={"province": "ON", "enabled": False})
    r = compute(client)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "policy_disabled"
    throttle(db, "offers")
    r = compute(client, province="BC")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "throttled" and r.json()["detail"]["domain"] == "offers"
    assert not (data_dir / "offers" / "evidence.json").exists() and kpi_service.events(db, metric="offer_generated") == []


def test_bad_input_is_422_naming_the_field(client, data_dir):
    for extra, field in [({"arv": -1}, "arv"), ({"repairs": -5}, "repairs"), ({"asking_price": -1}, "asking_price"),
                         ({"province": "ZZ"}, "province"), ({"deal_id": "dl_nope"}, "deal_id"), ({"arv": "lots"}, "arv"), ({"colour": 1}, "colour")]:
        r = compute(client, **extra)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], (extra, r.text)
    assert not (data_dir / "offers" / "evidence.json").exists()


def issue(client, evidence_id):
    return client.post(f"/core/deals/offers/{evidence_id}/issue")


def test_issue_records_the_offer_on_the_deal_and_moves_it_to_offer_made(client, db, live):
    d = deal(client)
    ev = compute(client, deal_id=d["id"]).json()
    r = issue(client, ev["id"])
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["offer_amount"], out["mao"], out["stage"], out["deal_id"]) == (167500, 177500, "offer_made", d["id"])
    assert out["evidence"]["issued_at"] == "2026-01-05T15:00:00Z" and out["evidence"]["reservation_id"] == out["reservation_id"]
    got = client.get(f"/core/deals/{d['id']}").json()
    assert (got["offer_amount"], got["mao"], got["stage"]) == (167500, 177500, "offer_made")
    acts = client.get(f"/core/deals/{d['id']}/activities").json()
    assert [(a["kind"], a["to_stage"]) for a in acts] == [("offer", None), ("stage", "offer_made")]
    res = risk_service.get_reservation(db, out["reservation_id"])
    assert (res.engine, res.amount, res.ref, res.status) == ("WHOLESALE", 167500, ev["id"], "open")
    twice = issue(client, ev["id"])
    assert twice.status_code == 409 and twice.json()["detail"]["code"] == "already_issued"
    assert len(risk_service.list_reservations(db)) == 1


def test_issue_is_refused_by_the_kill_switch_and_go_live_off_with_423(client, db, live):
    ev = compute(client, deal_id=deal(client)["id"]).json()
    set_golive(db, enabled=True, kill_switch=True, reason="complaint")
    r = issue(client, ev["id"])
    assert r.status_code == 423 and r.json()["detail"]["code"] == "kill_switch_engaged"
    set_golive(db, enabled=False)
    r = issue(client, ev["id"])
    assert r.status_code == 423 and r.json()["detail"]["code"] == "go_live_disabled"
    assert risk_service.list_reservations(db) == [] and client.get(f"/core/deals/{ev['deal_id']}").json()["stage"] == "lead"


def test_issue_is_refused_by_a_risk_cap_with_the_cap_code(client, db, live):
    client.post("/core/risk/policies/upsert", json={"engine": "WHOLESALE", "max_daily_exposure": 100000})
    ev = compute(client, deal_id=deal(client)["id"]).json()
    r = issue(client, ev["id"])
    assert r.status_code == 409 and r.json()["detail"]["code"] == "max_daily_exposure" and r.json()["detail"]["cap"] == 100000
    d = client.get(f"/core/deals/{ev['deal_id']}").json()
    assert (d["stage"], d["offer_amount"]) == ("lead", None)
    assert client.get(f"/core/deals/offers/evidence/{ev['id']}").json()["issued_at"] is None


def test_issue_is_refused_while_offers_is_throttled(client, db, live):
    ev = compute(client, deal_id=deal(client)["id"]).json()
    throttle(db, "offers")
    r = issue(client, ev["id"])
    assert r.status_code == 409 and r.json()["detail"]["code"] == "throttled"
    assert risk_service.list_reservations(db) == []


def test_issue_needs_a_deal_that_can_still_take_an_offer(client, db, live):
    ev = compute(client).json()
    r = issue(client, ev["id"])
    assert r.status_code == 409 and r.json()["detail"]["code"] == "no_deal"
    d = deal(client)
    late = compute(client, deal_id=d["id"]).json()
    for s in ("contacted", "offer_made", "under_contract"):
        client.post(f"/core/deals/{d['id']}/stage", json={"stage": s, "reason": "x"})
    r = issue(client, late["id"])
    assert r.status_code == 409 and r.json()["detail"]["code"] == "invalid_transition" and r.json()["detail"]["current"] == "under_contract"
    assert risk_service.list_reservations(db) == []
    zero = compute(client, deal_id=deal(client, address="2 B St")["id"], arv=100000, repairs=80000).json()
    assert issue(client, zero["id"]).json()["detail"]["code"] == "no_offer"
    assert issue(client, "ev_nope").status_code == 404


def test_a_deal_update_failing_after_the_reserve_releases_it(client, db, live, monkeypatch):
    ev = compute(client, deal_id=deal(client)["id"]).json()

    def refuse(*a, **k):
        raise Conflict("invalid_transition", "the deal moved meanwhile")

    monkeypatch.setattr(deals_service, "set_stage_by_system", refuse)
    r = issue(client, ev["id"])
    assert r.status_code == 409 and r.json()["detail"]["message"] == "the deal moved meanwhile"
    [res] = risk_service.list_reservations(db)
    assert (res.status, res.amount) == ("released", 167500) and "refused after the reserve" in res.reason
    d = client.get(f"/core/deals/{ev['deal_id']}").json()
    assert (d["offer_amount"], d["stage"]) == (None, "lead")  # the offer record rolled back with the transaction
    assert client.get(f"/core/deals/offers/evidence/{ev['id']}").json()["issued_at"] is None


def test_an_offer_for_a_deal_in_another_province_is_422_naming_both(client, data_dir):
    d = deal(client)  # Hamilton, ON
    r = compute(client, deal_id=d["id"], province="BC")
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"] == ["body", "province"]
    assert err["msg"] == f"deal {d['id']} is in ON, not BC: compute its offer with province ON"
    assert not (data_dir / "offers" / "evidence.json").exists()
    assert compute(client, deal_id=d["id"], province="on").status_code == 201
