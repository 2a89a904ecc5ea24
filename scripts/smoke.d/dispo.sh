# dispo: a buyer with a buy box, matches for our own under-contract deal, an assignment's
# transitions moving the deal's stage, and refusals (second assignment, bad transition, closing by PATCH).
call 201 POST /core/deals '{"address": "88 Smoke Dispo Lane", "city": "Hamilton", "province": "ON", "property_type": "sfr", "arv_estimate": 300000, "repairs_estimate": 30000, "offer_amount": 180000, "assignment_fee_target": 10000}'
DISPO_DEAL="$(field 'b["id"]')"
for stage in contacted offer_made under_contract; do
  call 200 POST "/core/deals/$DISPO_DEAL/stage" "{\"stage\": \"$stage\", \"reason\": \"smoke\"}"
done
call 201 POST /core/dispo/buyers '{"name": "Smoke Buyer", "email": "buyer@smoke.example", "buy_box": {"provinces": ["ON"], "markets": ["hamilton"], "property_types": ["sfr"], "max_price": 200000, "max_repairs": 40000, "min_equity_pct": 20, "close_speed_days": 14}}'
DISPO_BUYER="$(field 'b["id"]')"
call 201 POST /core/dispo/buyers '{"name": "Smoke Condo Buyer", "buy_box": {"property_types": ["condo"]}}'
DISPO_OTHER="$(field 'b["id"]')"
call 200 GET "/core/dispo/buyers/$DISPO_BUYER"
expect 'b["buy_box"]["provinces"]' '["ON"]'
call 200 PATCH "/core/dispo/buyers/$DISPO_OTHER" '{"active": false}'
expect 'b["active"]' false
call 200 GET "/core/dispo/deals/$DISPO_DEAL/matches"
expect 'b["buyer_price"]' 190000.0
expect '[m["buyer_id"] for m in b["matches"]] == ["'"$DISPO_BUYER"'"]' true
expect '[e["reasons"] for e in b["excluded"] if e["buyer_id"] == "'"$DISPO_OTHER"'"][0][0]' 'buyer is inactive'
expect 'b["matches"][0]["liquidity"]["label"] in ("hot", "warm", "cold")' true
call 422 POST /core/dispo/assignments "{\"deal_id\": \"$DISPO_DEAL\", \"buyer_id\": \"dbuy_nope\"}"
expect 'b["detail"][0]["loc"]' '["body", "buyer_id"]'
call 201 POST /core/dispo/assignments "{\"deal_id\": \"$DISPO_DEAL\", \"buyer_id\": \"$DISPO_BUYER\"}"
ASSIGNMENT="$(field 'b["id"]')"
expect 'b["status"]' offered
call 409 POST /core/dispo/assignments "{\"deal_id\": \"$DISPO_DEAL\", \"buyer_id\": \"$DISPO_BUYER\"}"
expect 'b["detail"]["code"]' assignment_exists
call 409 PATCH "/core/dispo/assignments/$ASSIGNMENT" '{"status": "closed"}'
expect 'b["detail"]["code"]' invalid_transition
call 200 PATCH "/core/dispo/assignments/$ASSIGNMENT" '{"status": "assigned"}'
call 200 GET "/core/deals/$DISPO_DEAL"
expect 'b["stage"]' assigned
call 409 PATCH "/core/dispo/assignments/$ASSIGNMENT" '{"status": "closed"}'
expect 'b["detail"]["finalize"]' "/core/deals/$DISPO_DEAL/finalize"
call 200 PATCH "/core/dispo/assignments/$ASSIGNMENT" '{"status": "fallout"}'
call 200 GET "/core/deals/$DISPO_DEAL"
expect 'b["stage"]' under_contract
call 200 GET "/core/dispo/assignments?deal_id=$DISPO_DEAL&status=fallout"
expect 'len(b)' 1
