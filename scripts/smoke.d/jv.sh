# jv: partners, links with the 100 % split cap on one deal's active links, the partner dashboard.
call 201 POST /core/deals '{"address": "77 Smoke Jv Road", "city": "Hamilton", "province": "ON", "property_type": "sfr", "assignment_fee_target": 10000, "costs_estimate": 1500}'
JV_DEAL="$(field 'b["id"]')"
call 201 POST /core/jv/partners '{"name": "Smoke Capital", "partner_type": "jv", "email": "Smoke@Capital.Example", "phone": "(416) 555-0142", "tags": ["Capital"]}'
JV_A="$(field 'b["id"]')"
expect 'b["email"]' smoke@capital.example
expect 'b["phone"]' +14165550142
call 200 GET "/core/jv/partners/$JV_A"
expect 'b["status"]' active
call 200 PATCH "/core/jv/partners/$JV_A" '{"notes": "funds deposits"}'
expect 'b["version"]' 2
call 201 POST /core/jv/partners '{"name": "Smoke Agent", "partner_type": "agent"}'
JV_B="$(field 'b["id"]')"
call 201 POST /core/jv/links "{\"partner_id\": \"$JV_A\", \"deal_id\": \"$JV_DEAL\", \"role\": \"capital\", \"split_pct\": 60}"
JV_LINK="$(field 'b["id"]')"
call 201 POST /core/jv/links "{\"partner_id\": \"$JV_B\", \"deal_id\": \"$JV_DEAL\", \"role\": \"agent\", \"split_pct\": 40}"
call 409 POST /core/jv/links "{\"partner_id\": \"$JV_B\", \"deal_id\": \"$JV_DEAL\", \"role\": \"agent\", \"split_pct\": 1}"
expect 'b["detail"]["code"]' split_exceeds_100
expect 'b["detail"]["current_total"]' 100.0
call 422 POST /core/jv/links "{\"partner_id\": \"jvp_nope\", \"deal_id\": \"$JV_DEAL\", \"role\": \"agent\", \"split_pct\": 1}"
expect 'b["detail"][0]["loc"]' '["body", "partner_id"]'
call 409 PATCH "/core/jv/links/$JV_LINK" '{"split_pct": 61}'
expect 'b["detail"]["code"]' split_exceeds_100
call 200 GET "/core/jv/links?deal_id=$JV_DEAL&status=active"
expect 'len(b)' 2
call 200 GET "/core/jv/partners/$JV_A/dashboard"
expect 'b["links_by_status"]["active"][0]["partner_share"]' 5100.0
expect 'b["totals"]["active"]["partner_share"]' '{"CAD": 5100.0}'
