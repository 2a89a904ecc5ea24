"""The dashboard in a real browser against a real server: what it shows is what the JSON
endpoints say, the kill switch shows on the next refresh, an empty data dir shows hints, a
corrupt file names itself in the panels that read it, and the token is asked for once."""

from __future__ import annotations

import math
import os
from datetime import date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest

from .conftest import CHROMIUM, TOKEN

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"needs Debian's chromium at {CHROMIUM} (apt-get install -y chromium; scripts/test installs it on CI)")

DOCS = Path(__file__).resolve().parents[2] / "docs"
STAGES = ["lead", "contacted", "offer_made", "under_contract", "assigned", "closed"]
CAPS = ["max_daily_loss", "max_daily_exposure", "max_open_risk", "max_actions_per_day"]
PANELS = ["golive", "runbook", "throttle", "risk", "funnel", "offers", "assignments", "due", "sla", "dnc", "liquidity", "kpis"]
DASH = "\u2014"


# The page's formatting, in Python (JavaScript rounds halves up).
def js_round(x: float) -> int:
    return math.floor(x + 0.5)


def money(v: float, cur: str) -> str:
    body = f"{abs(js_round(v)):,}"
    sign = "-" if js_round(v) < 0 else ""
    return f"{sign}${body}" if cur == "CAD" else f"{sign}{body} {cur}"


def money_map(m: dict[str, float]) -> str:
    return " + ".join(money(m[c], c) for c in sorted(m)) or DASH


def pct(x: float | None) -> str:
    return DASH if x is None else f"{js_round(x * 100)}%"


def number(x: float | None) -> str:
    if x is None:
        return DASH
    if abs(x) >= 100:
        return f"{js_round(x):,}"
    v = js_round(x * 100) / 100
    return str(int(v)) if v == int(v) else repr(v)


def instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


@pytest.fixture
def open_page(browser):
    contexts = []

    def open_(server, *, before=None, width=1360):
        context = browser.new_context(viewport={"width": width, "height": 900})
        contexts.append(context)
        errors: list[str] = []
        if before:
            before(context)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.goto(server.base + "/core/ui")
        wait_refreshes(page, 1)
        return page, errors

    yield open_
    for context in contexts:
        context.close()


def wait_refreshes(page, n: int) -> None:
    page.wait_for_selector(f'body[data-refreshes="{n}"]', state="attached", timeout=10_000)


def state(page, panel: str) -> str:
    return page.get_by_test_id(f"panel-{panel}").get_attribute("data-state")


def test_every_panel_shows_what_the_json_endpoints_say(seeded, open_page, tmp_path):
    page, errors = open_page(seeded)
    get = lambda path, **params: seeded.http.get(path, params=params).json()
    text = lambda testid: page.get_by_test_id(testid).inner_text()
    assert page.get_by_test_id("panel-error").count() == 0
    for panel in PANELS:  # offers and due depend on the week and the hour; the rest have demo data
        assert state(page, panel) in (("ok", "empty") if panel in ("offers", "due") else ("ok",)), panel

    # Safety
    g = get("/core/golive/state")
    assert (text("golive-enabled"), text("golive-reason"), text("golive-by")) == ("ON", g["go_live_reason"], g["go_live_changed_by"])
    assert (text("kill-switch"), text("kill-reason"), text("kill-by")) == ("clear", DASH, DASH)
    assert (text("status-golive"), text("status-kill")) == ("go-live on", "kill switch clear")
    assert page.get_by_test_id("kill-banner").is_hidden()
    runbook = get("/core/runbook/status")
    failing = [i for i in runbook["items"] if not i["ok"]]
    blockers = [i["key"] for i in failing if i["severity"] == "blocker"]
    warnings = [i["key"] for i in failing if i["severity"] == "warning"]
    assert (text("runbook-blockers"), text("runbook-warnings")) == (str(len(blockers)), str(len(warnings)))
    assert text("runbook-ok") == ("may enable" if runbook["ok_to_enable_go_live"] else "blocked")
    assert [li.get_attribute("data-key") for li in page.get_by_test_id("runbook-item").all()] == blockers + warnings
    regression = get("/core/regression/state")
    assert text("throttled-count") == str(len(regression["throttled"]))
    assert [li.get_attribute("data-domain") for li in page.get_by_test_id("throttled").all()] == sorted(regression["throttled"])
    snapshot = get("/core/risk/snapshot")
    assert [e.get_attribute("data-engine") for e in page.get_by_test_id("risk-engine").all()] == [e["engine"] for e in snapshot["engines"]]
    assert "GLOBAL" in [e["engine"] for e in snapshot["engines"]]
    for engine in snapshot["engines"]:
        for cap in CAPS:
            row = page.get_by_test_id(f"risk-{engine['engine']}-{cap}")
            used, limit = engine["used"][cap], engine["caps"][cap] or 0
            assert (float(row.get_attribute("data-used")), float(row.get_attribute("data-cap"))) == (used, limit)
            shown = (lambda v: f"{v:,}") if cap == "max_actions_per_day" else (lambda v: money(v, "CAD"))
            assert row.inner_text().endswith(f"{shown(used)} of {shown(limit)}" if limit else f"{shown(used)} \u00b7 no cap")

    # Pipeline
    summary = get("/core/deals/summary")
    assert summary["count"] > 0
    heads = page.get_by_test_id("funnel-head").locator("span").all()
    assert [h.inner_text().strip().lower() for h in heads] == ["stage", "", "deals", "expected spread"]
    for stage in STAGES:
        assert text(f"funnel-{stage}-count") == str(summary["by_stage"][stage]["count"])
        assert text(f"funnel-{stage}-spread") == money_map(summary["by_stage"][stage]["expected_spread"])
    assert (text("funnel-open-spread"), text("funnel-dead-count")) == (money_map(summary["open_expected_spread"]), str(summary["by_stage"]["dead"]["count"]))
    cutoff = instant(page.get_by_test_id("panel-offers").get_attribute("data-cutoff"))
    evidence = get("/core/deals/offers/evidence", limit=1000)
    if evidence:
        issued = [e for e in evidence if e["issued_at"] and instant(e["issued_at"]) >= cutoff]
        totals: dict[str, float] = {}
        for e in issued:
            totals[e["currency"]] = totals.get(e["currency"], 0) + e["recommended_offer"]
        assert (text("offers-week-count"), text("offers-week-total")) == (str(len(issued)), money_map(totals))
        assert text("offers-week-computed") == str(sum(instant(e["created_at"]) >= cutoff for e in evidence))
    assigned = get("/core/dispo/assignments", status="assigned")
    assert text("awaiting-count") == str(len(assigned)) and assigned
    rows = page.get_by_test_id("awaiting").all()
    assert [r.get_attribute("data-deal") for r in rows] == [a["deal_id"] for a in assigned]
    ready = 0
    for row in rows:
        finalization = get(f"/core/deals/{row.get_attribute('data-deal')}/finalization")
        blocking = [i for i in finalization["items"] if not i["ok"]]
        ready += finalization["can_close"]
        assert int(row.get_attribute("data-blockers")) == len(blocking)
        assert [b.inner_text() for b in row.get_by_test_id("awaiting-blocker").all()] == [i["detail"] for i in blocking]
    assert text("awaiting-ready") == str(ready) and ready
    ready_rows = [r for r in rows if r.get_attribute("data-blockers") == "0"]
    assert [r.get_by_test_id("awaiting-finalize").inner_text() for r in ready_rows] == [
        f"ready: POST /core/deals/{r.get_attribute('data-deal')}/finalize" for r in ready_rows]

    # Outreach
    due = get("/core/followups/due", limit=1000)
    windows = sum(h["reason"] == "outside_contact_window" for h in due["held_back"])
    assert due["halted"] is None
    assert (text("due-count"), text("held-windows"), text("held-other")) == (str(len(due["tasks"])), str(windows), str(len(due["held_back"]) - windows))
    sla = get("/core/followups/sla", since=page.get_by_test_id("panel-sla").get_attribute("data-since"))
    assert sla["count"] > 0
    assert (text("sla-30m"), text("sla-2h"), text("sla-count")) == (pct(sla["within_30m"]), pct(sla["within_2h"]), str(sla["count"]))
    provinces = page.get_by_test_id("sla-row").all()
    assert [r.get_attribute("data-province") for r in provinces] == sorted(sla["by_province"])
    for row in provinces:
        figures = sla["by_province"][row.get_attribute("data-province")]
        assert [row.get_by_test_id(t).inner_text() for t in ("sla-row-count", "sla-row-30m", "sla-row-2h")] == [
            str(figures["count"]), pct(figures["within_30m"]), pct(figures["within_2h"])]
    cutoff = instant(page.get_by_test_id("panel-dnc").get_attribute("data-cutoff"))
    suppressions = seeded.http.get("/core/comms/suppressions", params={"limit": 1000})
    added = sum(instant(s["created_at"]) >= cutoff for s in suppressions.json())
    assert (text("supp-week"), text("supp-total")) == (str(added), suppressions.headers["X-Total-Count"])
    newest = max(i["list_date"] for i in get("/core/comms/suppressions/imports"))
    assert (text("dncl-date"), text("dncl-age")) == (newest, f"{(date.today() - date.fromisoformat(newest)).days} d")
    watch = get("/core/runbook/consents")
    assert (text("consent-expiring"), text("consent-refused")) == (str(len(watch["expiring"])), str(len(watch["refused_drafts"])))

    # Markets
    nodes = sorted(get("/core/buyers/liquidity/nodes"), key=lambda n: (-n["score"], n["province"], n["market"]))
    assert nodes
    rows = page.get_by_test_id("liq-row").all()
    assert [r.get_attribute("data-key") for r in rows] == [f"{n['province']}|{n['market']}|{n['property_type']}" for n in nodes]
    for row, node in zip(rows, nodes):
        assert [row.get_by_test_id(t).inner_text() for t in ("liq-score", "liq-label", "liq-events", "liq-active")] == [
            f"{node['score']:.1f}", node["label"], str(node["events"]), str(node["active_buyers"])]
    assert [text(f"liq-{label}") for label in ("hot", "warm", "cold")] == [str(sum(n["label"] == label for n in nodes)) for label in ("hot", "warm", "cold")]

    # KPIs: each metric's events over the operator's last 30 days, and the tripwire's rates
    card = page.get_by_test_id("panel-kpis")
    since = instant(card.get_attribute("data-since"))
    local = since.astimezone(ZoneInfo(card.get_attribute("data-zone")))
    assert (card.get_attribute("data-zone"), local.time()) == ("America/Toronto", time(0))
    assert local.date() == datetime.now(local.tzinfo).date() - timedelta(days=29)
    days = get("/core/kpi/summary", since=since.isoformat(), limit=1000)
    evaluations = regression["evaluations"]
    metrics = sorted({d["metric"] for d in days} | set(evaluations))
    assert [k.get_attribute("data-metric") for k in page.get_by_test_id("kpi").all()] == metrics
    assert evaluations
    for metric in metrics:
        assert text(f"kpi-{metric}-events") == str(sum(d["count"] for d in days if d["metric"] == metric))
        ev = evaluations.get(metric)
        if ev is None:
            continue
        rate = pct if ev["rate_kind"] == "success_rate" else number
        assert page.get_by_test_id("kpi").and_(page.locator(f'[data-metric="{metric}"]')).get_attribute("data-kind") == ev["rate_kind"]
        assert (text(f"kpi-{metric}-baseline"), text(f"kpi-{metric}-recent")) == (rate(ev["baseline_rate"]), rate(ev["recent_rate"]))
        assert text(f"kpi-{metric}-state") == ("fired" if ev["fired"] else "watching" if ev["enforced"] else "not enforced")
        chart = page.get_by_test_id(f"kpi-chart-{metric}")
        key = "success_rate" if ev["rate_kind"] == "success_rate" else "mean_value"
        assert chart.locator("circle.pt").count() == sum(1 for d in days if d["metric"] == metric and d[key] is not None)
        assert chart.locator("line.base").count() == (ev["baseline_rate"] is not None)
        assert chart.locator("line.recent").count() == (ev["recent_rate"] is not None)

    assert errors == []
    # The README's picture: refreshed with VALHALLA_SCREENSHOT=1, so a plain run leaves the tree clean.
    shot = DOCS / "dashboard.png" if os.environ.get("VALHALLA_SCREENSHOT") == "1" else tmp_path / "dashboard.png"
    shot.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_the_kill_switch_shows_on_the_next_refresh_with_its_own_reason(seeded, open_page):
    page, errors = open_page(seeded)
    assert page.get_by_test_id("kill-switch").inner_text() == "clear"
    reason = "end of day test: halt everything"
    assert seeded.http.post("/core/golive/kill-switch/engage", json={"reason": reason}).status_code == 200
    try:
        assert seeded.http.post("/core/golive/disable", json={"reason": "off"}, headers={"X-Actor": "kim"}).status_code == 200
        page.get_by_test_id("refresh").click()
        wait_refreshes(page, 2)
        assert page.get_by_test_id("kill-switch").inner_text() == "ENGAGED"
        assert page.get_by_test_id("kill-banner").is_visible()
        assert page.get_by_test_id("kill-banner").inner_text() == (
            f"KILL SWITCH ENGAGED {DASH} {reason} {DASH} by ui-test, just now. "
            "Every execution action answers 423 until it is released.")
        assert (page.get_by_test_id("kill-reason").inner_text(), page.get_by_test_id("kill-by").inner_text()) == (reason, "ui-test")
        assert (page.get_by_test_id("golive-reason").inner_text(), page.get_by_test_id("golive-by").inner_text()) == ("off", "kim")
        assert page.get_by_test_id("status-kill").inner_text() == "kill switch engaged"
        assert page.get_by_test_id("due-halted").inner_text() == "kill switch engaged"
        assert "kill_switch_clear" in [li.get_attribute("data-key") for li in page.get_by_test_id("runbook-item").all()]
    finally:
        assert seeded.http.post("/core/golive/kill-switch/release", json={"reason": "test over"}).status_code == 200
        assert seeded.http.post("/core/golive/enable", json={"reason": "runbook clear: opening the week"}).status_code == 200
    page.get_by_test_id("refresh").click()
    wait_refreshes(page, 3)
    assert page.get_by_test_id("kill-banner").is_hidden()
    assert errors == []


def test_an_empty_data_dir_shows_empty_panels_with_hints(empty, open_page):
    page, errors = open_page(empty, width=390)  # a phone, on a fresh install guarded by a token
    sign_in(page)
    assert page.get_by_test_id("panel-error").count() == 0
    for panel in ("risk", "funnel", "offers", "assignments", "due", "sla", "dnc", "liquidity", "kpis"):
        assert state(page, panel) == "empty", panel
        assert page.get_by_test_id(f"panel-{panel}").get_by_test_id("hint").count() >= 1, panel
    assert page.get_by_test_id("golive-enabled").inner_text() == "OFF"
    assert page.get_by_test_id("runbook-ok").inner_text() == "blocked"
    assert int(page.get_by_test_id("runbook-blockers").inner_text()) >= 4  # no risk, regression, Heimdall policy, sender identity
    assert page.get_by_test_id("due-halted").inner_text() == "go live disabled"
    assert page.get_by_test_id("dncl-none").is_visible()
    assert all("401" in e for e in errors), errors  # only the first refresh, before the token
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone


def test_a_corrupt_file_names_itself_in_its_panels_and_the_rest_still_work(seeded, open_page):
    deals_file = seeded.data_dir / "deals" / "deals.json"
    original = deals_file.read_bytes()
    deals_file.write_bytes(b'[{"id": "dl_1",, oops')
    try:
        detail = seeded.http.get("/core/deals/summary").json()["detail"]
        assert (detail["code"], detail["file"]) == ("store_corrupt", "deals/deals.json")
        page, errors = open_page(seeded)
        for panel in ("funnel", "assignments"):
            card = page.get_by_test_id(f"panel-{panel}")
            assert card.get_attribute("data-state") == "error", panel
            assert card.get_by_test_id("error-file").inner_text() == "deals/deals.json"
            assert card.get_by_test_id("error-position").inner_text() == detail["position"]
            assert card.get_by_test_id("panel-error").get_attribute("data-status") == "503"
        for panel in ("golive", "runbook", "throttle", "risk", "offers", "due", "sla", "dnc", "liquidity", "kpis"):
            assert state(page, panel) == "ok", panel
        assert "data_files_valid" in [li.get_attribute("data-key") for li in page.get_by_test_id("runbook-item").all()]
        assert errors and all("503" in e for e in errors), errors  # the browser logs each failed fetch; nothing else
    finally:
        deals_file.write_bytes(original)
    assert seeded.http.get("/core/deals/summary").status_code == 200


def sign_in(page) -> None:
    assert page.get_by_test_id("token-form").is_visible()
    page.get_by_test_id("token-input").fill(TOKEN)
    page.get_by_test_id("token-submit").click()
    wait_refreshes(page, 2)


def test_with_a_token_the_page_asks_for_it_once_and_sends_it_as_bearer(empty, open_page):
    sent: list[tuple[str, str | None]] = []
    record = lambda request: sent.append((urlparse(request.url).path, request.headers.get("authorization")))
    page, errors = open_page(empty, before=lambda context: context.on("request", record))
    assert page.get_by_test_id("token-form").is_visible()
    assert [state(page, p) for p in PANELS] == ["error"] * len(PANELS)
    assert page.get_by_test_id("panel-error").first.get_attribute("data-status") == "401"
    assert {auth for path, auth in sent if path != "/core/ui"} == {None}
    sign_in(page)
    assert page.get_by_test_id("token-form").is_hidden()
    assert page.get_by_test_id("panel-error").count() == 0
    asked = len(sent)
    page.reload()  # kept for the tab (sessionStorage): not asked again
    wait_refreshes(page, 1)
    assert page.get_by_test_id("token-form").is_hidden()
    assert page.get_by_test_id("panel-error").count() == 0
    assert sent[asked][0] == "/core/ui" and {auth for _, auth in sent[asked + 1:]} == {f"Bearer {TOKEN}"}
    assert errors and all("401" in e for e in errors), errors  # the first refresh, before the token


def test_the_page_refreshes_itself_every_30_seconds(seeded, open_page):
    page, errors = open_page(seeded, before=lambda context: context.clock.install())
    page.clock.run_for(29_000)
    assert page.locator("body").get_attribute("data-refreshes") == "1"
    page.clock.run_for(1_500)
    wait_refreshes(page, 2)
    assert errors == []


@pytest.mark.parametrize(("page_path", "title"), [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")])
def test_the_api_reference_renders_with_the_network_beyond_the_server_cut(seeded, browser, page_path, title):
    context = browser.new_context()
    context.route(lambda url: not url.startswith(seeded.base), lambda route: route.abort())
    try:
        page = context.new_page()
        page.goto(seeded.base + page_path)
        page.wait_for_selector(title, timeout=60_000)  # FastAPI builds /openapi.json on the first request
        assert page.locator(title).first.inner_text().startswith("Valhalla Core")
    finally:
        context.close()
