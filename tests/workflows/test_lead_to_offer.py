"""Workflow 1, lead intake to offer: contact policy -> ladder -> first due task worked -> buyer
liquidity -> bounded offer -> risk reserve and issue (offer_made) -> the offer sent by SMS.
Issuing the offer IS the risk reserve (offers.issue reserves WHOLESALE for the amount before it
records the offer), so the reserve is checked in the reservation and the snapshot around it."""

from __future__ import annotations

from . import deal, go_live, ok

FEEDBACK = [  # buyers' reactions to earlier Hamilton blasts: 8 answers from 4 buyers, 3 purchases
    ("bu_north", "responded"), ("bu_north", "bought"), ("bu_gh", "responded"), ("bu_gh", "bought"), ("bu_bay", "responded"),
    ("bu_bay", "bought"), ("bu_steel", "passed"), ("bu_steel", "responded"), ("bu_quiet", "no_response"), ("bu_late", "no_response"),
]


def test_a_lead_becomes_an_issued_offer_and_a_sent_text(client):
    go_live(client)
    lead = deal(client)
    assert (lead["stage"], lead["seller_phone"], lead["expected_spread"]) == ("lead", "+12895550142", 8500.0)
    # the lead came from the web form: her inquiry is her CASL consent (and DNCL exemption) for six months
    inquiry = ok(client.post("/core/consents", json={"contact": "(289) 555-0142", "kind": "implied_inquiry", "obtained_at": "2026-01-04T18:00:00Z", "method": "web form", "source": "we-buy-houses form"}), 201)

    # 1. may we text this seller now? (Monday 10:00 in Hamilton)
    check = ok(client.get("/core/market/can-contact", params={"province": "ON", "market": "Hamilton", "channel": "SMS", "lead_score": 0.8}))
    assert check | {"checks": None} == {
        "allowed": True, "reason": "ok", "local_time": "2026-01-05T10:00:00-05:00", "next_allowed_at": None, "refused_by": None, "checks": None}

    # 2. the six-step ladder
    ladder = ok(client.post("/core/followups/ladder/create", json={"deal_id": lead["id"], "province": "ON", "market": "Hamilton", "owner": "alex"}), 201)
    assert ladder["contact"] == "+12895550142" and ladder["email"] == "jane.roy@example.com"
    assert [(t["step"], t["channel"], t["due_at"], t["status"]) for t in ladder["tasks"]] == [
        (1, "SMS", "2026-01-05T15:00:00Z", "open"), (2, "CALL", "2026-01-05T15:30:00Z", "open"),
        (3, "SMS", "2026-01-05T18:00:00Z", "open"), (4, "CALL", "2026-01-06T15:00:00Z", "open"),
        (5, "SMS", "2026-01-08T15:00:00Z", "open"), (6, "CALL", "2026-01-12T15:00:00Z", "open"),
    ]
    kpi = ok(client.get("/core/kpi/events", params={"metric": "ladder_created"}))
    assert [(e["domain"], e["value"], e["ref"]) for e in kpi] == [("followups", 6.0, ladder["ladder_id"])]

    # 3. the dispatch batch holds step 1 only; working it: the seller answered the text
    due = ok(client.get("/core/followups/due"))
    assert due["halted"] is None and [t["id"] for t in due["tasks"]] == [ladder["tasks"][0]["id"]] and due["held_back"] == []
    done = ok(client.post(f"/core/followups/tasks/{ladder['tasks'][0]['id']}/complete", json={"outcome": "responded", "note": "wants an offer this week"}))
    assert (done["task"]["status"], done["task"]["outcome"], done["task"]["completed_at"]) == ("done", "responded", "2026-01-05T15:00:00Z")
    assert [t["step"] for t in done["canceled"]] == [2, 3, 4, 5, 6] and all(t["cancel_reason"] == "responded" for t in done["canceled"])
    completed = ok(client.get("/core/kpi/events", params={"metric": "followup_completed"}))
    assert [(e["value"], e["success"], e["ref"]) for e in completed] == [(0.0, True, ladder["tasks"][0]["id"])]
    assert ok(client.get("/core/followups/due"))["tasks"] == []
    moved = ok(client.post(f"/core/deals/{lead['id']}/stage", json={"stage": "contacted", "reason": "Seller answered our text"}))
    assert moved["stage"] == "contacted"

    # 4. is the Hamilton SFR market liquid enough?
    for buyer, event in FEEDBACK:
        ok(client.post("/core/buyers/liquidity/feedback", json={"buyer_id": buyer, "province": "ON", "market": "Hamilton", "property_type": "sfr", "event": event}), 201)
    score = ok(client.get("/core/buyers/liquidity/score", params={"province": "ON", "market": "Hamilton", "property_type": "sfr"}))
    assert score == {
        "province": "ON", "market": "Hamilton", "property_type": "sfr", "events": 10, "responses": 8, "bought": 3, "active_buyers": 4,
        "response_rate": 0.7, "close_rate": 0.3667, "score": 50.7, "label": "warm",
    }

    # 5. the bounded offer: 300,000 x 0.70 - 30,000 - 2,500 = 177,500; minus the 10,000 fee = 167,500
    offer = ok(client.post("/core/deals/offers/compute", json={
        "deal_id": lead["id"], "province": "ON", "market": "Hamilton", "arv": 300000, "repairs": 30000, "asking_price": 190000,
        "comps": [{"address": "40 Oak Ave", "sale_price": 305000}], "assumptions": {"hold_days": 30},
    }), 201)
    assert (offer["buyer_mao"], offer["recommended_offer"], offer["issued_at"], offer["policy"]["market"]) == (177500.0, 167500.0, None, "ALL")
    evidence = offer["evidence_id"]
    assert [(e["value"], e["ref"]) for e in ok(client.get("/core/kpi/events", params={"metric": "offer_generated"}))] == [(167500.0, evidence)]
    assert ok(client.get(f"/core/deals/{lead['id']}"))["stage"] == "contacted"  # computing changes nothing on the deal

    # 6. reserve the risk and issue the offer: the deal moves to offer_made
    before = ok(client.get("/core/risk/snapshot"))
    assert [(e["engine"], e["used"]["max_daily_exposure"], e["remaining"]["max_daily_exposure"]) for e in before["engines"]] == [("GLOBAL", 0.0, 1000000.0)]
    issued = ok(client.post(f"/core/deals/offers/{evidence}/issue"))
    assert (issued["offer_amount"], issued["mao"], issued["stage"]) == (167500.0, 177500.0, "offer_made")
    reservation = ok(client.get(f"/core/risk/reservations/{issued['reservation_id']}"))
    assert (reservation["engine"], reservation["amount"], reservation["ref"], reservation["status"]) == ("WHOLESALE", 167500.0, evidence, "open")
    after = {e["engine"]: e for e in ok(client.get("/core/risk/snapshot"))["engines"]}
    assert after["GLOBAL"]["used"] == {"max_actions_per_day": 1, "max_daily_exposure": 167500.0, "max_open_risk": 167500.0, "max_daily_loss": 0.0}
    assert after["GLOBAL"]["remaining"]["max_daily_exposure"] == 832500.0 and after["WHOLESALE"]["used"]["max_open_risk"] == 167500.0
    now_deal = ok(client.get(f"/core/deals/{lead['id']}"))
    assert (now_deal["stage"], now_deal["offer_amount"], now_deal["mao"]) == ("offer_made", 167500.0, 177500.0)
    assert ok(client.get(f"/core/deals/offers/evidence/{evidence}"))["issued_at"] == "2026-01-05T15:00:00Z"

    # 7. send the offer to the seller: a draft, marked sent, logged with the CASL lines
    body = "Hi Jane, as promised: our cash offer for 12 Elm Street is $167,500, closing in 30 days, as is."
    draft = ok(client.post("/core/comms/drafts", json={"channel": "sms", "to": "(289) 555-0142", "province": "ON", "deal_id": lead["id"], "body": body, "tone": "warm"}), 201)
    assert (draft["status"], draft["to"]) == ("draft", "+12895550142")
    sent = ok(client.post(f"/core/comms/drafts/{draft['id']}/mark_sent", json={}))
    assert (sent["status"], sent["sent_at"], sent["override_reason"]) == ("sent", "2026-01-05T15:00:00Z", None)
    log = ok(client.get("/core/comms/sendlog", params={"deal_id": lead["id"]}))
    assert len(log) == 1 and log[0]["draft_id"] == draft["id"] and log[0]["local_time"] == "2026-01-05T10:00:00-05:00"
    assert log[0]["consent_id"] == inquiry["id"]
    assert log[0]["body"] == body + "\nValhalla Homes Inc., 100 King St W, Toronto ON M5X 1C9, +14165550100\nReply STOP to opt out."
    assert (log[0]["identification_appended"], log[0]["unsubscribe_appended"]) == (True, True)
    stages = [(a["from_stage"], a["to_stage"]) for a in ok(client.get(f"/core/deals/{lead['id']}/activities")) if a["kind"] == "stage"]
    assert stages == [("lead", "contacted"), ("contacted", "offer_made")]
