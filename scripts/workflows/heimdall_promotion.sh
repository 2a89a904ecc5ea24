#!/usr/bin/env bash
# Workflow 3, Friday's Heimdall promotion, against a running server:
#   scripts/workflows/heimdall_promotion.sh [BASE_URL]      (default http://127.0.0.1:8000)
# sandbox trials for the buyer-matching domain (`dispo`) -> scorecard -> promote -> a
# recommendation that passes the gate (gate_pass, prod_eligible). The domain starts the run in the
# sandbox (demoted), so a re-run shows the same path; trial counts are checked relative to before.
set -euo pipefail
BASE="${1:-http://127.0.0.1:8000}"
source "$(cd "$(dirname "$0")" && pwd)/_common.sh"
section heimdall_promotion
call 200 POST /core/heimdall/policies/upsert '{"domain": "dispo", "min_confidence": 0.9, "min_sandbox_trials": 20, "min_success_rate": 0.8, "window_days": 30}'
expect '[b["domain"], b["min_sandbox_trials"], b["min_success_rate"]]' '["dispo", 20, 0.8]'
call 200 POST /core/heimdall/demote '{"domain": "dispo"}'
expect 'b["prod_enabled"]' false
call 201 POST /core/heimdall/recommend '{"domain": "dispo", "confidence": 0.95, "payload": {"note": "before promotion"}}'
expect '[b["gate_reason"], b["prod_eligible"]]' '["prod_disabled", false]'
call 200 GET '/core/heimdall/scorecard?domain=dispo'
T0="$(field 'b[0]["trials"]')"; S0="$(field 'b[0]["successes"]')"
if [ "$T0" -lt 20 ]; then
  call 409 POST /core/heimdall/promote '{"domain": "dispo"}'
  expect '[b["detail"]["code"], b["detail"]["trials"]]' "[\"insufficient_sandbox_trials\", $T0]"
fi

# 1. a week of sandbox runs: 25 trials, 21 successful
for i in $(seq 25); do
  if [ $((i % 6)) -eq 0 ]; then ok=false; conf=0.78; else ok=true; conf=0.94; fi
  call 201 POST /core/heimdall/trials "{\"domain\": \"dispo\", \"success\": $ok, \"confidence\": $conf}"
  expect 'b["success"]' "$ok"
done

# 2. the scorecard over the rolling window
call 200 GET '/core/heimdall/scorecard?domain=dispo'
expect '[b[0]["trials"], b[0]["successes"], b[0]["prod_enabled"], b[0]["has_policy"]]' "[$((T0 + 25)), $((S0 + 21)), false, true]"
expect "round(b[0]['success_rate'], 6) == round($((S0 + 21)) / $((T0 + 25)), 6) and b[0]['success_rate'] >= 0.8" true
expect 'sum(d["trials"] for d in b[0]["daily"]) == b[0]["trials"]' true

# 3. promote
call 200 POST /core/heimdall/promote '{"domain": "dispo"}'
expect 'b["prod_enabled"]' true
call 200 GET '/core/heimdall/scorecard?domain=dispo'
expect 'b[0]["prod_enabled"]' true

# 4. a confident recommendation passes every gate; a timid one is held back
call 201 POST /core/heimdall/recommend "{\"domain\": \"dispo\", \"confidence\": 0.93, \"payload\": {\"run\": \"$RUN\", \"buyer\": \"Prairie Flip Co.\"}}"
REC="$(field 'b["id"]')"
expect '[b["gate_reason"], b["prod_eligible"], b["window_trials"]]' "[\"gate_pass\", true, $((T0 + 25))]"
call 201 POST /core/heimdall/recommend '{"domain": "dispo", "confidence": 0.85}'
expect '[b["gate_reason"], b["prod_eligible"]]' '["confidence_below_threshold", false]'
call 200 GET '/core/heimdall/recommendations?domain=dispo&prod_eligible=true&limit=1000'
expect "'$REC' in [r['id'] for r in b]" true
echo "workflow heimdall_promotion: all checks passed against $BASE ($CHECKS checks)"
