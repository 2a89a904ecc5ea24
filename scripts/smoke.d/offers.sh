# Offers: 13 seeded policies, an upsert, the default computation (300k ARV, 30k repairs ->
# 177,500 / 167,500), refusals (US state, negative ARV, the deal's province contradicted), and
# issuing on our own deal (go-live is on), which reserves WHOLESALE (a misspelt engine is refused).
call 200 GET /core/deals/offers/policies
expect 'len(b)' 13
expect '[b[0]["arv_multiplier"], b[0]["fees_buffer"], b[0]["assignment_fee"], b[0]["enabled"]]' '[0.7, 2500.0, 10000.0, true]'
call 200 POST /core/deals/offers/policies/upsert '{"province": "NS", "min_offer": 1000}'
expect '[b["province"], b["min_offer"], b["version"]]' '["NS", 1000.0, 2]'
call 201 POST /core/deals '{"seller_name": "Smoke Offer Seller", "address": "7 Smoke Offer Rd", "city": "Hamilton", "province": "ON", "asking_price": 200000}'
OFFER_DEAL="$(field 'b["id"]')"
call 201 POST /core/deals/offers/compute "{\"deal_id\": \"$OFFER_DEAL\", \"province\": \"ON\", \"market\": \"ALL\", \"arv\": 300000, \"repairs\": 30000}"
expect '[b["buyer_mao"], b["recommended_offer"]]' '[177500.0, 167500.0]'
EVIDENCE="$(field 'b["evidence_id"]')"
call 200 GET "/core/deals/offers/evidence/$EVIDENCE"
expect 'b["issued_at"]' None
call 409 POST /core/deals/offers/compute '{"province": "FL", "market": "ALL", "arv": 300000, "repairs": 30000}'
expect 'b["detail"]["code"]' no_policy
call 422 POST /core/deals/offers/compute '{"province": "ON", "arv": -1, "repairs": 0}'
call 422 POST /core/deals/offers/compute "{\"deal_id\": \"$OFFER_DEAL\", \"province\": \"BC\", \"arv\": 300000, \"repairs\": 30000}"
expect 'b["detail"][0]["loc"]' '["body", "province"]'
call 200 POST "/core/deals/offers/$EVIDENCE/issue"
expect '[b["offer_amount"], b["mao"], b["stage"]]' '[167500.0, 177500.0, "offer_made"]'
call 409 POST "/core/deals/offers/$EVIDENCE/issue"
expect 'b["detail"]["code"]' already_issued
call 422 POST /core/risk/reserve '{"engine": "WHOLESAEL", "amount": 1}'  # the issue reserved WHOLESALE; a misspelt engine is refused
expect 'b["detail"][0]["loc"]' '["body", "engine"]'
