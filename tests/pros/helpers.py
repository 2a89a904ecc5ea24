"""Request helpers shared by the pros tests."""

from __future__ import annotations


def pro(client, name="Priya Shah", kind="lawyer", jurisdictions=("ON",), **fields):
    r = client.post("/core/pros", json={"name": name, "kind": kind, "jurisdictions": list(jurisdictions), **fields})
    assert r.status_code == 201, r.text
    return r.json()


def signal(client, pro_id, rating=4.5, review_count=20, response_hours=2, license_verified=True, complaints=1):
    body = {"rating": rating, "review_count": review_count, "response_hours": response_hours,
            "license_verified": license_verified, "complaints": complaints}
    r = client.post(f"/core/pros/{pro_id}/signals", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def task(client, pro_id, title="Review APS", **fields):
    r = client.post("/core/pros/tasks", json={"title": title, "pro_id": pro_id, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def retainer(client, pro_id, hours_included=10, **fields):
    r = client.post("/core/pros/retainers", json={"pro_id": pro_id, "monthly_amount": 1500, "hours_included": hours_included, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def handoff(client, frm, to, **fields):
    r = client.post("/core/pros/handoffs", json={"from": frm, "to": to, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def patch(client, path, **body):
    return client.patch(f"/core/pros/{path}", json=body)
