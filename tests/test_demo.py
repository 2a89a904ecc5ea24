"""valhalla seed-demo: a realistic data set written through the services into an empty data dir;
the runbook is clear but go-live stays off; the operator enables it and closes the prepared deal."""

from __future__ import annotations

import io
import re
import shutil
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from app import cli, demo
from app.cli import main
from app.core_gov.kpi import service as kpi_service
from app.core_gov.regression import service as regression_service
from app.core_gov.regression.schemas import RegressionPolicyUpsert
from app.core_gov.risk import service as risk_service
from app.core_gov.storage import FrozenClock, Storage
from app.core_gov.storage.archive import default_backup_dir, read_archive, record_counts

NOW = "2026-01-05T15:00:00Z"  # the conftest clock: Monday 10:00 in Toronto


def run_cli(*argv: str, clock: FrozenClock | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, redirect_stdout(out), redirect_stderr(err):
        if clock is not None:
            mp.setattr(cli, "_storage", lambda s: Storage(s.data_dir, clock, s.zone))
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[Path, str]:
    """One seed for the module (it takes a second or two); each test works on its own copy."""
    data = tmp_path_factory.mktemp("demo") / "data"
    code, out, err = run_cli("--data-dir", str(data), "seed-demo", clock=FrozenClock(NOW))
    assert code == 0, err
    return data, out


@pytest.fixture
def demo_dir(seeded, data_dir) -> Path:
    shutil.copytree(seeded[0], data_dir)
    return data_dir


def printed_counts(out: str) -> dict[str, dict[str, int]]:
    found = {}
    for line in out.splitlines():
        m = re.match(r"^  (\w+) +(.*)$", line)
        if m:
            found[m.group(1)] = {name: int(n) for n, name in (part.split(" ", 1) for part in m.group(2).split(", "))}
    return found


def total(client, path: str, **params) -> int:
    r = client.get(path, params={"limit": 1, **params})
    assert r.status_code == 200, r.text
    return int(r.headers["x-total-count"])


def test_the_printed_counts_are_what_the_api_and_the_files_hold(seeded, demo_dir, client, db):
    counts = printed_counts(seeded[1])
    assert counts == demo.counts(db)
    assert counts["deals"]["deals"] == total(client, "/core/deals") == 25
    assert counts["property"]["properties"] == total(client, "/core/property/properties") == 40
    assert counts["dispo"]["buyers"] == total(client, "/core/dispo/buyers") == 8
    assert counts["jv"]["partners"] == total(client, "/core/jv/partners") == 3
    assert counts["pros"]["professionals"] == total(client, "/core/pros") == 4
    assert counts["holdings"]["holdings"] == total(client, "/core/holdings") == 6
    assert counts["followups"]["tasks"] == total(client, "/core/followups/tasks") == 18
    assert counts["kpi"]["events"] == total(client, "/core/kpi/events") == 524
    assert counts["buyers"]["feedback"] == 120 and counts["heimdall"]["trials"] == 127
    on_disk = record_counts(demo_dir)  # record_counts also counts single-object files (identity, states)
    for module, files in counts.items():
        assert on_disk[module] - sum(files.values()) in (0, 1, 2), module
    assert "go-live stays off" in seeded[1]


def test_the_data_set_spans_six_provinces_every_stage_and_real_contacts(demo_dir, client):
    deals = client.get("/core/deals", params={"limit": 100}).json()
    assert Counter(d["stage"] for d in deals) == {"lead": 7, "contacted": 6, "offer_made": 4, "under_contract": 4, "assigned": 2, "dead": 2}
    assert {d["province"] for d in deals} == {"ON", "BC", "AB", "QC", "NS", "MB"}
    assert {d["city"] for d in deals} == {"Toronto", "Hamilton", "Ottawa", "Vancouver", "Surrey", "Calgary", "Edmonton", "Montréal", "Halifax", "Winnipeg"}
    assert all(re.fullmatch(r"\+1(416|647|437|905|289|365|613|343|604|778|236|403|587|825|780|514|438|902|782|204|431)5550[1]\d\d", d["seller_phone"]) for d in deals)
    assert len({d["seller_phone"] for d in deals}) == 25
    assert sum(1 for d in deals if d["seller_email"]) >= 10
    assert all(d["created_at"] < NOW for d in deals)
    offered = [d for d in deals if d["stage"] in ("offer_made", "under_contract", "assigned")]
    assert all(d["offer_amount"] and d["mao"] > d["offer_amount"] for d in offered)
    comps = client.post("/core/property/comps", json={"property_id": deals[0]["property_id"]})
    assert comps.status_code == 201 and comps.json()["count"] >= 6 and comps.json()["confidence"] == "high"
    holdings = client.get("/core/holdings/summary").json()
    assert set(holdings["by_currency"]) == {"CAD", "USD"}
    buyers = client.get("/core/dispo/buyers", params={"limit": 100}).json()
    assert sum(b["active"] for b in buyers) == 7 and all(b["buy_box"]["close_speed_days"] for b in buyers)
    under_contract = next(d for d in deals if d["stage"] == "under_contract")
    assert client.get(f"/core/dispo/deals/{under_contract['id']}/matches").json()["matches"]
    identity = client.get("/core/comms/identity").json()
    assert identity | {"updated_at": None} == {
        "sender_name": "Valhalla Homes Inc.", "mailing_address": "100 King St W, Suite 5600, Toronto ON M5X 1C9", "phone": "+14165550100",
        "email": "hello@valhallahomes.example", "web": "https://valhallahomes.example",
        "unsubscribe_text": "Reply STOP to opt out / Répondez ARRÊT pour vous désabonner.", "updated_at": None,
    }
    assert identity["updated_at"] < NOW
    imports = client.get("/core/comms/suppressions/imports").json()
    assert [i["list_date"] for i in imports] == ["2025-12-30"] and imports[0]["added"] == 35 and len(imports[0]["area_codes"]) == 21
    assert total(client, "/core/comms/suppressions") == 3 and total(client, "/core/comms/drafts") == 4  # the internal list
    assert len({t["deal_id"] for t in client.get("/core/followups/tasks", params={"limit": 100}).json()}) == 3
    assert client.get("/core/stories/templates").json()[0]["title"] == "Seller success story"
    assert len(client.get("/core/education/lessons").json()) == 5
    assert client.get("/core/media/channels").json()[0]["platform"] == "youtube"


def test_the_demo_has_consents_of_each_kind_some_lapsed_and_the_runbook_shows_them(demo_dir, client):
    consents = client.get("/core/consents", params={"limit": 100}).json()
    assert {c["kind"] for c in consents} == {"express", "implied_inquiry", "implied_transaction"}
    states = [c["state"] for c in consents]
    assert states.count("expired") == 2 and states.count("valid") == len(consents) - 2
    express = next(c for c in consents if c["kind"] == "express")
    assert express["proof"] and express["casl_expires_at"] is None
    watch = client.get("/core/runbook/consents").json()
    assert len(watch["expiring"]) == 1 and watch["expiring"][0]["kind"] == "implied_inquiry"
    assert [(d["channel"], d["code"]) for d in watch["refused_drafts"]] == [("email", "consent_expired")]


def test_the_runbook_is_clear_but_go_live_stays_off_and_no_tripwire_fires(demo_dir, client):
    status = client.get("/core/runbook/status").json()
    blockers = {i["key"]: i["ok"] for i in status["items"] if i["severity"] == "blocker"}
    assert all(blockers.values()) and len(blockers) == 10 and status["ok_to_enable_go_live"] is True
    warnings = {i["key"]: i["ok"] for i in status["items"] if i["severity"] == "warning"}
    assert warnings == {"backup_recent": False, "snapshot_clean": False, "dncl_fresh": True, "consents": False}
    assert client.get("/core/golive/state").json() | {"changed_at": None} == {
        "enabled": False, "kill_switch": False, "reason": None, "changed_by": None, "changed_at": None, "decision_id": None,
        "go_live_reason": None, "go_live_changed_by": None, "go_live_changed_at": None,
        "kill_switch_reason": None, "kill_switch_changed_by": None, "kill_switch_changed_at": None,
    }
    regression = client.get("/core/regression/state").json()
    assert regression["throttled"] == {}
    assert {m: (e["enforced"], e["fired"]) for m, e in regression["evaluations"].items()} == {
        m: (True, False) for m in ("ladder_created", "followup_completed", "buyer_feedback", "offer_generated")
    }
    summary = client.get("/core/kpi/summary").json()
    assert {d["metric"] for d in summary} == {"ladder_created", "followup_completed", "buyer_feedback", "offer_generated"}
    assert len({d["day"] for d in summary}) >= 28
    cards = {c["domain"]: c for c in client.get("/core/heimdall/scorecard").json()}
    assert (cards["offers"]["trials"], cards["offers"]["successes"], len(cards["offers"]["daily"])) == (64, 58, 25)
    assert client.get("/core/followups/due").json()["halted"] == "go_live_disabled"


def test_the_operator_enables_go_live_and_closes_the_prepared_deal(seeded, demo_dir, client):
    assigned = client.get("/core/deals", params={"stage": "assigned"}).json()
    ready = [d for d in assigned if client.get(f"/core/deals/{d['id']}/finalization").json()["can_close"]]
    assert len(assigned) == 2 and len(ready) == 1
    deal = ready[0]
    assert f"deal {deal['id']} is ready to close once go-live is on: POST /core/deals/{deal['id']}/finalize" in seeded[1]
    refused = client.post(f"/core/deals/{deal['id']}/finalize")
    assert refused.status_code == 423 and refused.json()["detail"]["code"] == "go_live_disabled"
    enabled = client.post("/core/golive/enable", json={"reason": "demo: runbook clear"})
    assert enabled.status_code == 200 and enabled.json()["enabled"] is True
    closed = client.post(f"/core/deals/{deal['id']}/finalize")
    assert closed.status_code == 200 and closed.json()["stage"] == "closed" and closed.json()["closed_at"] == NOW
    assignment = client.get("/core/dispo/assignments", params={"deal_id": deal["id"]}).json()
    assert [a["status"] for a in assignment] == ["closed"]
    other = next(d for d in assigned if d["id"] != deal["id"])
    blocked = client.post(f"/core/deals/{other['id']}/finalize")
    assert blocked.status_code == 409 and blocked.json()["detail"]["code"] == "finalization_blocked"
    assert [b["key"] for b in blocked.json()["detail"]["blockers"]] == ["assignment_contract_signed", "title_acknowledged"]
    due = client.get("/core/followups/due").json()
    assert due["halted"] is None and len(due["tasks"]) >= 1


def test_the_seed_takes_no_backup_so_the_runbook_still_asks_for_one(seeded, demo_dir, client):
    backups = default_backup_dir(seeded[0])
    if backups.exists():  # what the seed left beside its data dir goes beside the copy too
        shutil.copytree(backups, default_backup_dir(demo_dir))
    item = next(i for i in client.get("/core/runbook/status").json()["items"] if i["key"] == "backup_recent")
    assert item == {"key": "backup_recent", "severity": "warning", "ok": False, "detail": f"no backup in {default_backup_dir(demo_dir)}: run `valhalla backup`"}
    assert not backups.exists() or sorted(p.name for p in backups.iterdir()) == []


def test_verify_passes_on_the_seeded_data_dir(demo_dir):
    code, out, _ = run_cli("--data-dir", str(demo_dir), "verify")
    assert code == 0 and out.strip() == f"{demo_dir}: every file is valid"


def test_a_non_empty_dir_is_refused_without_force_and_backed_up_then_seeded_with_it(demo_dir):
    before = {p: p.read_bytes() for p in demo_dir.rglob("*") if p.is_file()}
    code, out, err = run_cli("--data-dir", str(demo_dir), "seed-demo")
    assert code == 1 and out == ""
    assert err == f"error: {demo_dir} already holds data; seed-demo fills an empty data dir (--force backs it up, then adds the demo data)\n"
    assert {p: p.read_bytes() for p in demo_dir.rglob("*") if p.is_file()} == before
    assert not default_backup_dir(demo_dir).exists()

    code, out, err = run_cli("--data-dir", str(demo_dir), "seed-demo", "--force")
    assert code == 0, err
    backup = Path(re.match(r"backed up .* to (\S+)\n", out).group(1))
    _, members = read_archive(backup)
    assert members["deals/deals.json"] == before[demo_dir / "deals" / "deals.json"]  # the data as it was
    assert printed_counts(out)["deals"]["deals"] == 50 and printed_counts(out)["dispo"]["buyers"] == 16
    counts = printed_counts(out)
    assert counts["risk"]["policies"] == 4 and counts["regression"]["policies"] == 4 and counts["offers"]["policies"] == 15
    db = Storage(demo_dir, FrozenClock(NOW))
    assert risk_service.find_policy(db, "GLOBAL").max_daily_exposure == 1500000  # the operator's settings are kept, not re-seeded


def test_a_throttled_domain_refuses_the_seed_before_it_writes(tmp_path):
    data = tmp_path / "data"
    db = Storage(data, FrozenClock(NOW))
    regression_service.upsert_policy(db, RegressionPolicyUpsert(metric="followup_completed", domain="followups", window_events=1, baseline_events=1, min_events=1))
    kpi_service.record(db, metric="followup_completed", domain="followups", success=True)
    kpi_service.record(db, metric="followup_completed", domain="followups", success=False)
    assert regression_service.throttled_domains(db) == ["followups"]
    code, out, err = run_cli("--data-dir", str(data), "seed-demo", "--force", clock=FrozenClock(NOW))
    assert code == 1
    assert err.strip().endswith("domain followups is throttled by the regression tripwire; lift it first (POST /core/regression/reset)")
    assert record_counts(data).get("deals", 0) == 0
