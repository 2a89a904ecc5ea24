#!/usr/bin/env bash
# Workflow 4, disposition to close, against a running server:
#   scripts/workflows/disposition_to_close.sh [BASE_URL]      (default http://127.0.0.1:8000)
# buyers matched to an under-contract deal -> assigned to the best fit -> purchase and assignment
# contracts signed -> title document routed and acknowledged -> the checklist clears -> finalize
# closes the deal and its assignment. Creates its own deal and buyers each run.
set -euo pipefail
BASE="${1:-http://127.0.0.1:8000}"
source "$(cd "$(dirname "$0")" && pwd)/_common.sh"
section disposition_to_close
ensure_live
fresh_phone 403
ADDRESS="$((RANDOM % 4000 + 100)) 17 Ave SE"
call 201 POST /core/deals "{\"seller_name\": \"Robert Kowalski\", \"seller_phone\": \"$PHONE\", \"address\": \"$ADDRESS\", \"city\": \"Calgary\", \"province\": \"AB\", \"property_type\": \"sfr\", \"arv_estimate\": 540000, \"repairs_estimate\": 40000, \"asking_price\": 380000, \"offer_amount\": 325000, \"assignment_fee_target\": 12000, \"costs_estimate\": 1500, \"tags\": [\"workflow\"]}"
DEAL="$(field 'b["id"]')"
for stage in contacted offer_made under_contract; do
  call 200 POST "/core/deals/$DEAL/stage" "{\"stage\": \"$stage\", \"reason\": \"workflow setup\"}"
  expect 'b["stage"]' "$stage"
done
call 201 POST /core/dispo/buyers "{\"name\": \"Prairie Flip Co. ($RUN)\", \"email\": \"buy@prairieflip.example\", \"buy_box\": {\"provinces\": [\"AB\", \"MB\"], \"markets\": [\"Calgary\", \"Edmonton\"], \"property_types\": [\"sfr\"], \"min_price\": 120000, \"max_price\": 600000, \"max_repairs\": 80000, \"min_equity_pct\": 15, \"close_speed_days\": 21}}"
BUYER="$(field 'b["id"]')"
call 201 POST /core/dispo/buyers "{\"name\": \"Coastal Holdings ($RUN)\", \"buy_box\": {\"provinces\": [\"BC\"], \"markets\": [\"Vancouver\"], \"close_speed_days\": 30}}"
COASTAL="$(field 'b["id"]')"

# 1. who buys it? price 325,000 + 12,000; equity (540,000 - 337,000 - 40,000) / 540,000 = 30.19%
call 200 GET "/core/dispo/deals/$DEAL/matches"
expect '[b["buyer_price"], b["equity_pct"]]' '[337000.0, 30.19]'
expect "[(m['score'], m['reasons'][-2]) for m in b['matches'] if m['buyer_id'] == '$BUYER']" '[[82.9, "equity 30.19% >= min 15%"]]'
expect "[e['reasons'][0] for e in b['excluded'] if e['buyer_id'] == '$COASTAL']" '["province AB not in buy box (BC)"]'

# 2. assign: offered, then assigned (the deal moves with it)
call 201 POST /core/dispo/assignments "{\"deal_id\": \"$DEAL\", \"buyer_id\": \"$BUYER\", \"notes\": \"yes after the walkthrough\"}"
ASSIGNMENT="$(field 'b["id"]')"
expect '[b["status"], b["price"], b["fee"]]' '["offered", 337000.0, 12000.0]'
call 200 PATCH "/core/dispo/assignments/$ASSIGNMENT" '{"status": "assigned"}'
expect 'b["status"]' assigned
call 200 GET "/core/deals/$DEAL"
expect 'b["stage"]' assigned
call 200 GET "/core/deals/$DEAL/finalization"
expect '[b["can_close"], [i["key"] for i in b["items"] if not i["ok"]]]' '[false, ["purchase_contract_signed", "assignment_contract_signed", "title_acknowledged"]]'
call 409 POST "/core/deals/$DEAL/finalize"
expect 'b["detail"]["code"]' finalization_blocked

# 3. the contracts, signed
call 201 POST /core/contracts "{\"kind\": \"purchase\", \"title\": \"APS $ADDRESS\", \"deal_id\": \"$DEAL\", \"amount\": 325000, \"parties\": [{\"name\": \"Robert Kowalski\", \"role\": \"seller\"}, {\"name\": \"Valhalla Homes Inc.\", \"role\": \"buyer\"}]}"
PURCHASE="$(field 'b["id"]')"
expect 'b["status"]' draft
call 200 PATCH "/core/contracts/$PURCHASE" '{"status": "signed"}'
expect '[b["status"], b["signed_at"] is not None]' '["signed", true]'
call 201 POST /core/contracts "{\"kind\": \"assignment\", \"title\": \"Assignment of APS $ADDRESS\", \"deal_id\": \"$DEAL\", \"amount\": 12000, \"parties\": [{\"name\": \"Valhalla Homes Inc.\", \"role\": \"assignor\"}, {\"name\": \"Prairie Flip Co.\", \"role\": \"assignee\"}]}"
ASSIGN_CONTRACT="$(field 'b["id"]')"
call 200 PATCH "/core/contracts/$ASSIGN_CONTRACT" '{"status": "sent"}'
expect 'b["status"]' sent
call 200 PATCH "/core/contracts/$ASSIGN_CONTRACT" '{"status": "signed"}'
expect 'b["status"]' signed
call 200 GET "/core/deals/$DEAL/finalization"
expect '[b["can_close"], [i["key"] for i in b["items"] if not i["ok"]]]' '[false, ["title_acknowledged"]]'

# 4. the title search: routed, then acknowledged
call 201 POST /core/docs "{\"title\": \"Title search $ADDRESS\", \"doc_type\": \"title\", \"file_path\": \"vault/deals/$RUN/title-search.pdf\", \"entity_ids\": [\"$DEAL\"], \"tags\": [\"closing\"]}"
DOC="$(field 'b["id"]')"
expect 'b["routing_status"]' None
call 200 POST "/core/docs/$DOC/route" '{"to": "closing@mapletitle.example", "channel": "email", "status": "sent"}'
expect 'b["routing_status"]' sent
call 200 POST "/core/docs/$DOC/route" '{"to": "closing@mapletitle.example", "channel": "email", "status": "acknowledged", "note": "title clear"}'
expect '[b["routing_status"], [r["status"] for r in b["routing"]]]' '["acknowledged", ["sent", "acknowledged"]]'

# 5. the checklist clears; finalize closes the deal and the assignment together
call 200 GET "/core/deals/$DEAL/finalization"
expect '[b["can_close"], [i["ok"] for i in b["items"]]]' '[true, [true, true, true, true]]'
call 200 POST "/core/deals/$DEAL/finalize"
expect '[b["stage"], b["closed_at"] is not None, b["expected_spread"]]' '["closed", true, 10500.0]'
call 200 GET "/core/dispo/assignments/$ASSIGNMENT"
expect 'b["status"]' closed
call 409 POST "/core/deals/$DEAL/finalize"
expect 'b["detail"]["code"]' invalid_transition
echo "workflow disposition_to_close: all checks passed against $BASE ($CHECKS checks; deal $DEAL)"
