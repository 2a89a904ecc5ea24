"""The operator's day, end to end through HTTP: one test file per workflow (scripts/workflows/ has
the same workflows as curl scripts). Helpers shared by the workflow tests live here."""

from __future__ import annotations

IDENTITY = {
    "sender_name": "Valhalla Homes Inc.", "mailing_address": "100 King St W, Toronto ON M5X 1C9",
    "phone": "416-555-0100", "unsubscribe_text": "Reply STOP to opt out.",
}


def ok(response, status: int = 200):
    """The JSON body, after checking the status (the body is shown when it differs)."""
    assert response.status_code == status, f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
    return response.json()


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail["code"] == code, detail
    return detail


def failing_blockers(client) -> list[str]:
    status = ok(client.get("/core/runbook/status"))
    return [i["key"] for i in status["items"] if i["severity"] == "blocker" and not i["ok"]]


def go_live(client) -> None:
    """What a fresh install needs before execution actions: the runbook's four blockers set, go-live on."""
    ok(client.post("/core/risk/policies/upsert", json={
        "engine": "GLOBAL", "max_daily_loss": 25000, "max_daily_exposure": 1000000, "max_open_risk": 3000000, "max_actions_per_day": 60,
    }))
    ok(client.post("/core/heimdall/policies/upsert", json={"domain": "offers"}))
    ok(client.post("/core/regression/policies/upsert", json={"metric": "followup_completed", "domain": "followups"}))
    ok(client.put("/core/comms/identity", json=IDENTITY))
    assert failing_blockers(client) == []
    assert ok(client.post("/core/golive/enable", json={"reason": "runbook clear"}))["enabled"] is True


def deal(client, **fields) -> dict:
    body = {
        "seller_name": "Jane Roy", "seller_phone": "289-555-0142", "seller_email": "Jane.Roy@Example.com",
        "address": "12 Elm Street", "city": "Hamilton", "province": "ON", "property_type": "sfr", "lead_score": 0.8,
        "arv_estimate": 300000, "repairs_estimate": 30000, "asking_price": 190000, "assignment_fee_target": 10000,
        "costs_estimate": 1500, "lead_source": "driving for dollars", **fields,
    }
    return ok(client.post("/core/deals", json=body), 201)
