# Contracts: a purchase contract on $DEAL (from deals.sh; created here if unset), read, move it
# draft -> sent -> signed (signed_at stamped); refusals: a step back 409, a missing deal 422.
if [ -z "${DEAL:-}" ]; then
  call 201 POST /core/deals '{"address": "55 Contract Cres", "city": "Hamilton", "province": "ON"}'
  DEAL="$(field 'b["id"]')"
fi
call 201 POST /core/contracts "{\"kind\": \"purchase\", \"deal_id\": \"$DEAL\", \"parties\": [\"Smoke Seller\", {\"name\": \"Valhalla\", \"role\": \"buyer\"}], \"amount\": 180000}"
CONTRACT="$(field 'b["id"]')"
expect 'b["status"]' draft
call 200 GET "/core/contracts/$CONTRACT"
expect 'b["parties"][1]["role"]' buyer
call 200 PATCH "/core/contracts/$CONTRACT" '{"status": "sent", "notes": "smoke"}'
call 200 PATCH "/core/contracts/$CONTRACT" '{"status": "signed"}'
expect 'b["signed_at"] is not None' true
call 409 PATCH "/core/contracts/$CONTRACT" '{"status": "draft"}'
expect 'b["detail"]["code"]' invalid_transition
expect 'b["detail"]["allowed"]' '["active", "completed", "terminated", "expired"]'
call 200 GET "/core/contracts?deal_id=$DEAL&status=signed"
expect '"'"$CONTRACT"'" in [c["id"] for c in b]' true
call 422 POST /core/contracts '{"kind": "purchase", "deal_id": "dl_nope"}'
expect 'b["detail"][0]["loc"]' '["body", "deal_id"]'
