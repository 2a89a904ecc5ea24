# Deals: create a deal in ON (exported as DEAL for later parts), read, patch, move it forward, an
# invalid jump, activities, summary, list with q (a misspelt filter is 422), an absurd amount,
# and CSV imports: a 103-row list with one bad row, again (all duplicates), a 3-row list with one
# bad row (over 1 %: refused whole), a bad header, and a list streamed over VALHALLA_MAX_BODY.
call 201 POST /core/deals '{"seller_name": "Smoke Seller", "seller_phone": "(416) 555-0199", "seller_email": "Smoke.Seller@Example.com", "address": "12 Smoke Street", "city": "Hamilton", "province": "ON", "property_type": "sfr", "lead_score": 0.8, "arv_estimate": 300000, "repairs_estimate": 30000, "asking_price": 190000, "assignment_fee_target": 10000, "costs_estimate": 1500}'
export DEAL="$(field 'b["id"]')"
expect '[b["seller_phone"], b["seller_email"], b["country"], b["expected_spread"], b["stage"]]' '["+14165550199", "smoke.seller@example.com", "CA", 8500.0, "lead"]'
call 200 GET "/core/deals/$DEAL"
call 200 PATCH "/core/deals/$DEAL" '{"costs_estimate": 2500, "tags": ["smoke"]}'
expect '[b["expected_spread"], b["version"]]' '[7500.0, 2]'
call 422 PATCH "/core/deals/$DEAL" '{"stage": "dead"}'
call 200 POST "/core/deals/$DEAL/stage" '{"stage": "contacted", "reason": "smoke: spoke with the seller"}'
expect 'b["stage"]' contacted
call 409 POST "/core/deals/$DEAL/stage" '{"stage": "under_contract", "reason": "smoke: skipping"}'
expect '[b["detail"]["code"], b["detail"]["current"], b["detail"]["allowed"]]' '["invalid_transition", "contacted", ["offer_made", "dead"]]'
call 201 POST "/core/deals/$DEAL/activities" '{"kind": "call", "summary": "smoke: left a voicemail"}'
call 200 GET "/core/deals/$DEAL/activities"
expect '[a["kind"] for a in b]' '["stage", "call"]'
call 200 GET /core/deals/summary
expect 'b["by_stage"]["contacted"]["count"] >= 1' true
call 200 GET '/core/deals?q=smoke%20street&tag=smoke'
expect '[d["id"] for d in b] == ["'"$DEAL"'"]' true
call 422 GET '/core/deals?stag=lead'
expect 'b["detail"][0]["loc"]' '["query", "stag"]'
call 422 POST /core/deals '{"address": "1 Absurd St", "city": "Hamilton", "province": "ON", "asking_price": 1e308}'
expect 'b["detail"][0]["loc"]' '["body", "asking_price"]'
CSV_ROWS=$'seller_name,address,city,province,asking_price\nAnn Smoke,1 Smoke Import Ave,Toronto,ON,250000\nBob Smoke,2 Smoke Import Ave,Ottawa,ZZ,\nCy Smoke,3 Smoke Import Ave,Calgary,AB,310000\n'
CSV_LIST="$CSV_ROWS$(python3 -c 'print("\n".join(f"Filler {n},{n} Smoke Filler Rd,Barrie,ON,{200000 + n}" for n in range(100)))')"
CT=text/csv call 201 POST /core/deals/import "$CSV_LIST"
expect '[b["added"], b["duplicates"], b["invalid_count"], b["invalid"][0]["row"], b["invalid"][0]["field"]]' '[102, 0, 1, 3, "province"]'
CT=text/csv call 201 POST /core/deals/import "$CSV_LIST"
expect '[b["added"], b["duplicates"], len(b["duplicate_rows"])]' '[0, 102, 100]'
CT=text/csv call 422 POST /core/deals/import "$CSV_ROWS"
expect 'b["detail"][0]["msg"].startswith("1 of 3 rows are invalid (more than 1%)")' true
CT=text/csv call 422 POST /core/deals/import $'street,town\n1 A St,X\n'
# The body is streamed: a list over VALHALLA_MAX_BODY (1 MiB) is taken (2,600 rows, 1.1 MB).
LEADS_FILE="$(mktemp)"
python3 -c 'note = "Owner wants a quick as-is close; call after six. " * 8; print("address,city,province,notes"); [print(f"{n} Smoke Stream Cres,Guelph,ON,{note}") for n in range(2600)]' >"$LEADS_FILE"
CT=text/csv call 201 POST /core/deals/import "@$LEADS_FILE"
rm -f "$LEADS_FILE"
expect '[b["added"], b["invalid_count"]]' '[2600, 0]'
