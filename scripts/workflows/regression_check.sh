#!/usr/bin/env bash
# Workflow 2, the daily regression check, against a running server:
#   scripts/workflows/regression_check.sh [BASE_URL]      (default http://127.0.0.1:8000)
# follow-up KPIs drift (a clean baseline, then late follow-ups) -> the tripwire throttles
# `followups` (a new ladder is refused 409 throttled) -> the operator reviews baseline, recent rate
# and drop -> resets with a reason -> ladders work again. The followup_completed policy is set to
# windows sized for a one-person business (20 recent vs the 60 before them, 20% drop).
set -euo pipefail
BASE="${1:-http://127.0.0.1:8000}"
source "$(cd "$(dirname "$0")" && pwd)/_common.sh"
section regression_check
fresh_phone 613
call 201 POST /core/deals "{\"seller_name\": \"Nathalie Bouchard\", \"seller_phone\": \"$PHONE\", \"address\": \"$((RANDOM % 2000 + 100)) Bank St\", \"city\": \"Ottawa\", \"province\": \"ON\", \"property_type\": \"sfr\", \"lead_score\": 0.75, \"tags\": [\"workflow\"]}"
DEAL="$(field 'b["id"]')"
LADDER_BODY="{\"deal_id\": \"$DEAL\", \"province\": \"ON\", \"market\": \"Ottawa\", \"owner\": \"wf-$RUN\"}"
call 200 GET /core/regression/state
if [ "$(field '"followups" in b["throttled"]')" = true ]; then
  call 200 POST /core/regression/reset '{"domain": "followups", "reason": "workflow: lifting a throttle left by an earlier run"}'
fi
call 200 POST /core/regression/policies/upsert '{"metric": "followup_completed", "domain": "followups", "window_events": 20, "baseline_events": 60, "min_events": 20, "max_drop": 0.2, "action": "THROTTLE", "enabled": true}'
expect '[b["window_events"], b["baseline_events"], b["min_events"], b["max_drop"], b["action"]]' '[20, 60, 20, 0.2, "THROTTLE"]'

# 1. a clean baseline: 80 follow-ups completed within two hours of due
for i in $(seq 80); do
  call 201 POST /core/kpi/events "{\"metric\": \"followup_completed\", \"domain\": \"followups\", \"value\": 12, \"success\": true, \"ref\": \"wf-$RUN-ok-$i\"}"
done
call 200 GET /core/regression/state
expect '[b["evaluations"]["followup_completed"][k] for k in ("enforced", "fired", "recent_events", "baseline_events", "recent_rate", "baseline_rate", "drop")]' '[true, false, 20, 60, 1.0, 1.0, 0.0]'
expect '"followups" in b["throttled"]' false

# 2. the drift: three late follow-ups stay under 20%, the fourth fires
for i in 1 2 3; do
  call 201 POST /core/kpi/events "{\"metric\": \"followup_completed\", \"domain\": \"followups\", \"value\": 180, \"success\": false, \"ref\": \"wf-$RUN-late-$i\"}"
done
call 200 GET /core/regression/state
expect '[b["evaluations"]["followup_completed"][k] for k in ("fired", "recent_rate", "drop")]' '[false, 0.85, 0.15]'
expect '"followups" in b["throttled"]' false
call 201 POST /core/kpi/events "{\"metric\": \"followup_completed\", \"domain\": \"followups\", \"value\": 240, \"success\": false, \"ref\": \"wf-$RUN-late-4\"}"
call 200 GET /core/regression/state
expect '[b["evaluations"]["followup_completed"]["fired"], b["evaluations"]["followup_completed"]["drop"], b["throttled"]["followups"]["metric"]]' '[true, 0.2, "followup_completed"]'

# 3. the throttle holds: a new ladder is refused and nothing is written
call 409 POST /core/followups/ladder/create "$LADDER_BODY"
expect '[b["detail"]["code"], b["detail"]["domain"], b["detail"]["metric"]]' '["throttled", "followups", "followup_completed"]'
call 200 GET "/core/followups/tasks?deal_id=$DEAL"
expect 'len(b)' 0
call 200 GET /core/runbook/status
expect '[i["ok"] for i in b["items"] if i["key"] == "no_throttled_domain"]' '[false]'

# 4. the operator reviews: baseline, recent rate, drop, and why
call 200 GET /core/regression/state
expect '[b["evaluations"]["followup_completed"][k] for k in ("baseline_events", "baseline_rate", "recent_events", "recent_rate", "drop", "max_drop")]' '[60, 1.0, 20, 0.8, 0.2, 0.2]'
expect 'b["throttled"]["followups"]["reason"]' 'followup_completed in followups fell from 1.000 to 0.800 (drop 20.0% >= 20%)'
call 200 GET /core/kpi/summary?metric=followup_completed
expect 'sum(d["count"] for d in b) >= 84' true

# 5. reset with a reason (a blank one is refused)
call 422 POST /core/regression/reset '{"domain": "followups", "reason": "  "}'
call 200 POST /core/regression/reset '{"domain": "followups", "reason": "the late tasks were a holiday backlog; cleared"}'
expect '[b["throttled"], b["last_reset"]["followups"]["reason"]]' '[{}, "the late tasks were a holiday backlog; cleared"]'
call 200 GET /core/runbook/status
expect '[i["ok"] for i in b["items"] if i["key"] == "no_throttled_domain"]' '[true]'

# 6. ladders work again
call 201 POST /core/followups/ladder/create "$LADDER_BODY"
expect '[len(b["tasks"]), b["deal_id"]]' "[6, \"$DEAL\"]"
call 200 GET "/core/followups/tasks?deal_id=$DEAL&status=open"
expect 'len(b)' 6
echo "workflow regression_check: all checks passed against $BASE ($CHECKS checks; deal $DEAL)"
