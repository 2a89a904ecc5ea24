#!/usr/bin/env bash
# Workflow 5, go-live day, against a running server:
#   scripts/workflows/go_live_day.sh [BASE_URL]      (default http://127.0.0.1:8000)
# the runbook's blockers (a fresh install has four) -> each fixed -> go-live enabled -> a
# KILL_SWITCH tripwire (the contact_compliance KPI drifting) engages the kill switch -> an approved
# governance decision -> the kill switch released citing it. On a server whose runbook is already
# clear (after smoke.sh) the fixes are skipped; a kill switch left engaged by an earlier run is
# released first.
set -euo pipefail
BASE="${1:-http://127.0.0.1:8000}"
source "$(cd "$(dirname "$0")" && pwd)/_common.sh"
section go_live_day
FRESH='["global_risk_policy", "heimdall_policies", "regression_policies", "sender_identity"]'
BLOCKERS_EXPR='[i["key"] for i in b["items"] if i["severity"] == "blocker" and not i["ok"]]'
call 200 GET /core/golive/state
if [ "$(field 'b["kill_switch"]')" = true ]; then
  call 200 POST /core/golive/kill-switch/release '{"reason": "workflow: clearing a kill switch left by an earlier run"}'
fi

# 1. the runbook's blockers; enable is refused naming them
call 200 GET /core/runbook/status
BLOCKERS="$(field "$BLOCKERS_EXPR")"
if [ "$BLOCKERS" != "[]" ]; then
  echo "  blockers: $BLOCKERS"
  expect "set($BLOCKERS_EXPR) <= set($FRESH)" true
  call 412 POST /core/golive/enable '{"reason": "first day"}'
  expect '[b["detail"]["code"], [x["key"] for x in b["detail"]["blockers"]]]' "[\"runbook_blockers\", $BLOCKERS]"
else
  echo "  the runbook is already clear: nothing to fix"
fi

# 2. fix each blocker that fails, and see it clear
blocked() { call 200 GET /core/runbook/status; [ "$(field "'$1' in $BLOCKERS_EXPR")" = true ]; }
if blocked global_risk_policy; then
  call 200 POST /core/risk/policies/upsert '{"engine": "GLOBAL", "max_daily_loss": 25000, "max_daily_exposure": 5000000, "max_actions_per_day": 200, "enabled": true}'
  expect '[b["engine"], b["max_daily_loss"], b["enabled"]]' '["GLOBAL", 25000.0, true]'
  ! blocked global_risk_policy || fail "global_risk_policy still blocks"
fi
if blocked heimdall_policies; then
  call 200 POST /core/heimdall/policies/upsert '{"domain": "offers"}'
  expect 'b["prod_enabled"]' false
  ! blocked heimdall_policies || fail "heimdall_policies still blocks"
fi
# the tripwire for today: a compliance KPI whose drift stops everything (set on every run)
call 200 POST /core/regression/policies/upsert '{"metric": "contact_compliance", "domain": "comms", "window_events": 10, "baseline_events": 20, "min_events": 10, "max_drop": 0.2, "action": "KILL_SWITCH", "enabled": true}'
expect '[b["metric"], b["action"], b["enabled"]]' '["contact_compliance", "KILL_SWITCH", true]'
! blocked regression_policies || fail "regression_policies still blocks"
if blocked sender_identity; then
  call 200 PUT /core/comms/identity '{"sender_name": "Valhalla Homes Inc.", "mailing_address": "100 King St W, Toronto ON M5X 1C9", "phone": "416-555-0100", "email": "hello@valhallahomes.example", "unsubscribe_text": "Reply STOP to opt out."}'
  expect 'b["sender_name"]' 'Valhalla Homes Inc.'
  ! blocked sender_identity || fail "sender_identity still blocks"
fi
call 200 GET /core/golive/checklist
expect "[$BLOCKERS_EXPR, b['ok_to_enable_go_live']]" '[[], true]'

# 3. go live
call 200 POST /core/golive/enable '{"reason": "runbook clear; ON and AB first"}'
expect '[b["enabled"], b["kill_switch"], b["reason"]]' '[true, false, "runbook clear; ON and AB first"]'
call 200 GET /core/followups/due
expect 'b["halted"]' None

# 4. the compliance KPI drifts: 30 clean checks, then failures; the second failure trips the switch
for i in $(seq 30); do
  call 201 POST /core/kpi/events "{\"metric\": \"contact_compliance\", \"domain\": \"comms\", \"success\": true, \"ref\": \"wf-$RUN-$i\"}"
done
call 200 GET /core/regression/state
expect '[b["evaluations"]["contact_compliance"][k] for k in ("enforced", "fired", "drop")]' '[true, false, 0.0]'
call 201 POST /core/kpi/events "{\"metric\": \"contact_compliance\", \"domain\": \"comms\", \"success\": false, \"ref\": \"wf-$RUN-bad-1\"}"
call 200 GET /core/golive/state
expect 'b["kill_switch"]' false
call 201 POST /core/kpi/events "{\"metric\": \"contact_compliance\", \"domain\": \"comms\", \"success\": false, \"ref\": \"wf-$RUN-bad-2\"}"
call 200 GET /core/golive/state
expect '[b["enabled"], b["kill_switch"], b["reason"]]' '[true, true, "regression tripwire: contact_compliance in comms fell from 1.000 to 0.800 (drop 20.0% >= 20%)"]'
call 423 POST /core/risk/reserve '{"engine": "WHOLESALE", "amount": 1000, "ref": "workflow"}'
expect 'b["detail"]["code"]' kill_switch_engaged
call 200 GET /core/followups/due
expect 'b["halted"]' kill_switch_engaged
call 200 GET /core/runbook/status
expect "$BLOCKERS_EXPR" '["kill_switch_clear"]'

# 5. a governance decision: proposed is not enough; approved is
call 201 POST /core/governance/decisions '{"title": "Release the kill switch after the compliance review", "kind": "kill_switch", "subject_refs": ["golive:kill_switch", "kpi:contact_compliance"], "rationale": "Two texts were queued before the Alberta window changed; the queue is fixed and the windows re-checked."}'
DECISION="$(field 'b["id"]')"
expect 'b["status"]' proposed
call 409 POST /core/golive/kill-switch/release "{\"reason\": \"reviewed\", \"decision_id\": \"$DECISION\"}"
expect 'b["detail"]["code"]' decision_not_approved
call 200 POST "/core/governance/decisions/$DECISION/approve" '{"reason": "queue fix verified"}'
expect '[b["status"], b["decided_by"]]' '["approved", "smoke"]'

# 6. release citing it: execution resumes
call 200 POST /core/golive/kill-switch/release "{\"reason\": \"compliance review done\", \"decision_id\": \"$DECISION\"}"
expect '[b["enabled"], b["kill_switch"], b["decision_id"]]' "[true, false, \"$DECISION\"]"
call 200 GET /core/followups/due
expect 'b["halted"]' None
call 200 GET /core/runbook/status
expect "$BLOCKERS_EXPR" '[]'
echo "workflow go_live_day: all checks passed against $BASE ($CHECKS checks)"
