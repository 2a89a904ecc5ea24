"""The runbook through HTTP: each item computed from its module, blockers vs warnings, and go-live
enable refused (412 with the blockers) until the operator has set what is missing."""

from __future__ import annotations

from app import cli
from app.core_gov.storage import archive

FRESH_BLOCKERS = ["global_risk_policy", "heimdall_policies", "regression_policies", "sender_identity"]
IDENTITY = {
    "sender_name": "Valhalla Homes Inc.", "mailing_address": "100 King St W, Toronto ON M5X 1A9",
    "phone": "416-555-0100", "email": "hello@valhalla.example", "unsubscribe_text": "Reply STOP to opt out.",
}


def ok(client, path, body, method="post"):
    r = getattr(client, method)(path, json=body)
    assert r.status_code == 200, (path, r.text)
    return r.json()


def clear_blockers(client) -> None:
    """What a fresh install lacks, set through each module's own route."""
    ok(client, "/core/risk/policies/upsert", {"engine": "GLOBAL", "max_daily_loss": 5000})
    ok(client, "/core/heimdall/policies/upsert", {"domain": "offers"})
    ok(client, "/core/regression/policies/upsert", {"metric": "offer_generated", "domain": "offers"})
    ok(client, "/core/comms/identity", IDENTITY, method="put")


def items(client) -> dict[str, dict]:
    r = client.get("/core/runbook/status")
    assert r.status_code == 200
    return {i["key"]: i for i in r.json()["items"]}


def failing(client) -> list[str]:
    return [k for k, i in items(client).items() if not i["ok"]]


def test_a_fresh_install_has_the_four_blockers_and_three_warnings(client):
    r = client.get("/core/runbook/status")
    body = r.json()
    assert body["ok_to_enable_go_live"] is False and body["as_of"] == "2026-01-05T15:00:00Z"
    assert [(i["key"], i["severity"], i["ok"]) for i in body["items"]] == [
        ("kill_switch_clear", "blocker", True),
        ("global_risk_policy", "blocker", False),
        ("heimdall_policies", "blocker", False),
        ("regression_policies", "blocker", False),
        ("no_throttled_domain", "blocker", True),
        ("market_policies", "blocker", True),
        ("offer_policies", "blocker", True),
        ("sender_identity", "blocker", False),
        ("data_files_valid", "blocker", True),
        ("data_dir_writable", "blocker", True),
        ("backup_recent", "warning", False),
        ("snapshot_clean", "warning", False),
        ("dncl_fresh", "warning", False),
        ("consents", "warning", True),
    ]
    detail = {i["key"]: i["detail"] for i in body["items"]}
    assert "POST /core/risk/policies/upsert" in detail["global_risk_policy"] and "never snapshotted" in detail["snapshot_clean"]
    assert client.get("/core/golive/checklist").json() == body


def test_enable_is_412_listing_each_blocker_then_200_once_they_are_cleared(client, db, data_dir):
    from app.core_gov.golive import service as golive_service

    r = client.post("/core/golive/enable", json={"reason": "launch"})
    assert r.status_code == 412
    detail = r.json()["detail"]
    assert detail["code"] == "runbook_blockers" and "4 runbook blocker(s)" in detail["message"]
    assert [b["key"] for b in detail["blockers"]] == FRESH_BLOCKERS
    assert all(b["severity"] == "blocker" and b["ok"] is False and b["detail"] for b in detail["blockers"])
    assert not (data_dir / "golive" / "state.json").exists()

    ok(client, "/core/risk/policies/upsert", {"engine": "GLOBAL", "max_daily_loss": 5000})
    r = client.post("/core/golive/enable")
    assert r.status_code == 412 and [b["key"] for b in r.json()["detail"]["blockers"]] == FRESH_BLOCKERS[1:]
    clear_blockers(client)
    assert failing(client) == ["backup_recent", "snapshot_clean", "dncl_fresh"]  # warnings never block

    r = client.post("/core/golive/enable", json={"reason": "launch"}, headers={"X-Actor": "owner"})
    assert r.status_code == 200
    assert (r.json()["enabled"], r.json()["reason"], r.json()["changed_by"]) == (True, "launch", "owner")
    assert golive_service.halt_reason(db) is None
    audit = client.get("/core/audit", params={"module": "golive", "action": "transition"}).json()
    assert audit[-1]["changes"]["enabled"] == [False, True]


def test_the_kill_switch_and_a_weak_global_policy_are_blockers(client):
    clear_blockers(client)
    client.post("/core/golive/kill-switch/engage", json={"reason": "complaint"})
    assert failing(client)[:1] == ["kill_switch_clear"] and "complaint" in items(client)["kill_switch_clear"]["detail"]
    r = client.post("/core/golive/enable")
    assert r.status_code == 412 and [b["key"] for b in r.json()["detail"]["blockers"]] == ["kill_switch_clear"]
    client.post("/core/golive/kill-switch/release", json={"reason": "handled"})
    ok(client, "/core/risk/policies/upsert", {"engine": "GLOBAL", "max_daily_loss": 0})
    assert "max_daily_loss" in items(client)["global_risk_policy"]["detail"] and not items(client)["global_risk_policy"]["ok"]
    ok(client, "/core/risk/policies/upsert", {"engine": "GLOBAL", "max_daily_loss": 100, "enabled": False})
    assert items(client)["global_risk_policy"]["detail"] == "the GLOBAL risk policy is disabled"
    ok(client, "/core/risk/policies/upsert", {"engine": "GLOBAL", "enabled": True})
    assert client.post("/core/golive/enable").status_code == 200


def test_the_kill_switch_item_keeps_the_switchs_own_reason_after_a_go_live_toggle(client):
    clear_blockers(client)
    ok(client, "/core/golive/enable", {"reason": "live"})
    client.post("/core/golive/kill-switch/engage", json={"reason": "end of day test: halt everything"})
    ok(client, "/core/golive/disable", {"reason": "off"})
    detail = items(client)["kill_switch_clear"]["detail"]
    assert "(end of day test: halt everything)" in detail and "(off)" not in detail
    r = client.post("/core/golive/enable", json={"reason": "try"})
    assert r.status_code == 412 and "(end of day test: halt everything)" in r.json()["detail"]["blockers"][0]["detail"]


def test_a_throttled_domain_blocks(client, clock):
    clear_blockers(client)
    ok(client, "/core/regression/policies/upsert", {
        "metric": "offer_generated", "domain": "offers", "window_events": 2, "baseline_events": 2, "min_events": 2,
    })
    for success in (True, True, False, False):
        clock.advance(minutes=1)
        assert client.post("/core/kpi/events", json={"metric": "offer_generated", "domain": "offers", "success": success}).status_code == 201
    item = items(client)["no_throttled_domain"]
    assert item["ok"] is False and "offers" in item["detail"]
    assert client.post("/core/golive/enable").status_code == 412


def test_market_windows_are_required_for_every_province(client):
    clear_blockers(client)
    ok(client, "/core/market/policies/upsert", {"province": "NU", "contact_windows": []})
    item = items(client)["market_policies"]
    assert item["ok"] is False and item["detail"].endswith(": NU")


def test_a_corrupt_file_fails_its_items_instead_of_answering_503(client, data_dir):
    clear_blockers(client)
    assert items(client)["offer_policies"]["ok"] is True  # the seeded policies, not yet written
    (data_dir / "offers").mkdir(parents=True, exist_ok=True)
    (data_dir / "offers" / "policies.json").write_text("[{oops")
    got = items(client)
    assert got["offer_policies"]["ok"] is False and got["offer_policies"]["detail"].startswith("cannot check: offers/policies.json")
    assert got["data_files_valid"]["ok"] is False and "offers/policies.json" in got["data_files_valid"]["detail"]
    assert client.post("/core/golive/enable").status_code == 412


def test_backup_warning_follows_the_newest_archive_and_its_age(client, db, clock):
    clear_blockers(client)  # some data to back up
    assert "no backup in" in items(client)["backup_recent"]["detail"]
    archive.backup(db)
    assert items(client)["backup_recent"]["ok"] is True
    clock.advance(days=7, minutes=1)
    item = items(client)["backup_recent"]
    assert item["ok"] is False and "older than 7 days" in item["detail"]
    archive.backup(db)
    assert items(client)["backup_recent"]["ok"] is True


def test_snapshot_warning_tracks_uncommitted_changes_in_the_data_dir(client, data_dir):
    ok(client, "/core/risk/policies/upsert", {"engine": "GLOBAL", "max_daily_loss": 10})
    items(client)  # offers seeds its policies on the first run: snapshot after it
    assert cli.main(["--data-dir", str(data_dir), "snapshot"]) == 0
    assert items(client)["snapshot_clean"] == {"key": "snapshot_clean", "ok": True, "severity": "warning", "detail": "the data dir matches its last snapshot"}
    ok(client, "/core/risk/policies/upsert", {"engine": "GLOBAL", "max_daily_loss": 20})
    item = items(client)["snapshot_clean"]
    assert item["ok"] is False and "changed since the last snapshot" in item["detail"]


def test_dncl_warning_after_25_days(client, clock):
    r = client.post("/core/comms/suppressions/import", params={"list_date": "2026-01-05"}, content=b"4165550123\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    assert items(client)["dncl_fresh"]["ok"] is True
    clock.advance(days=26)
    item = items(client)["dncl_fresh"]
    assert item["ok"] is False and "26 days ago" in item["detail"]


def test_markdown_lists_every_item_as_a_checklist(client):
    r = client.get("/core/runbook/markdown")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    lines = r.text.splitlines()
    assert lines[0] == "# Go-live runbook" and "**not ready**: 4 blocker(s) failing" in lines[2]
    assert "- [x] **kill_switch_clear** (blocker): the kill switch is clear" in lines
    assert sum(line.startswith("- [") for line in lines) == 14


def test_consents_lapsing_within_30_days_and_drafts_refused_for_consent_are_shown(client, clock):
    from tests.comms.conftest import dncl_list, import_dncl, make_draft, record_consent

    clock.set("2025-07-20T15:00:00Z")
    soon = record_consent(client, "416-555-0199", kind="implied_inquiry", obtained_at="2025-07-20T14:00:00Z")  # through 2026-01-20
    record_consent(client, "905-555-0123", kind="implied_inquiry", obtained_at="2025-07-01T14:00:00Z")  # lapsed 2026-01-02
    record_consent(client, "jane@example.com", kind="express", obtained_at="2025-07-01T14:00:00Z", proof="signed form")
    clock.set("2026-01-05T15:00:00Z")
    assert import_dncl(client, dncl_list("905-555-0123")).status_code == 201
    sms = make_draft(client, to="905-555-0123")
    call = make_draft(client, channel="call", to="905-555-0123")
    make_draft(client, channel="email", to="jane@example.com", subject="hi", province=None)
    make_draft(client)  # 416-555-0199: consented
    watch = client.get("/core/runbook/consents").json()
    assert [c["id"] for c in watch["expiring"]] == [soon["id"]] and watch["expiring_before"] == "2026-02-04T15:00:00Z"
    assert [(d["draft_id"], d["code"]) for d in watch["refused_drafts"]] == [(sms["id"], "consent_expired"), (call["id"], "suppressed")]
    item = items(client)["consents"]
    assert (item["ok"], item["severity"]) == (False, "warning")
    assert item["detail"].startswith("1 consent(s) lapse within 30 days, 2 open draft(s) would be refused for consent")
