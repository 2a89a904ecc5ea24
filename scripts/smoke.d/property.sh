# Property: a subject and 4 recent sales in one city (plus one too big to count), comps with
# count and ARV, a rating and repairs upsert (200), a patch, and a postal code refused for its region.
SOLD="$(python3 -c 'import datetime; print(datetime.date.today() - datetime.timedelta(days=60))')"
call 201 POST /core/property/properties '{"address": "1 Smoke Subject St", "city": "Smokeville", "region": "ON", "postal": "l8p4r5", "property_type": "sfr", "beds": 3, "sqft": 1500}'
SUBJECT="$(field 'b["id"]')"
expect '[b["postal"], b["country"]]' '["L8P 4R5", "CA"]'
for spec in "2:1400:420000" "3:1500:465000" "4:1600:512000" "5:1500:450000" "6:2500:900000"; do
  IFS=: read -r n sqft price <<<"$spec"
  call 201 POST /core/property/properties "{\"address\": \"$n Smoke Comp St\", \"city\": \"Smokeville\", \"region\": \"ON\", \"property_type\": \"sfr\", \"beds\": 3, \"sqft\": $sqft, \"last_sale_price\": $price, \"last_sale_date\": \"$SOLD\"}"
done
call 201 POST /core/property/comps "{\"property_id\": \"$SUBJECT\"}"
expect '[b["count"], b["median_price_per_sqft"], b["arv_estimate"], b["confidence"], b["scope"]]' '[4, 305.0, 457500.0, "medium", "city"]'
call 200 GET "/core/property/properties/$SUBJECT/comps"
expect 'b["count"]' 4
call 200 POST "/core/property/properties/$SUBJECT/neighborhood_rating" '{"score": 72, "factors": {"schools": 8}}'
call 200 POST "/core/property/properties/$SUBJECT/repair_rent" '{"line_items": [{"description": "Roof", "cost": 12000}, {"description": "Kitchen", "cost": 18000}], "rent_estimate": 2400}'
expect 'b["repairs_total"]' 30000.0
call 200 PATCH "/core/property/properties/$SUBJECT" '{"year_built": 1952}'
expect 'b["version"]' 2
call 422 POST /core/property/properties '{"address": "9 Bad Postal Rd", "city": "Vancouver", "region": "BC", "postal": "M5V 2T6", "property_type": "condo"}'
expect 'b["detail"][0]["loc"]' '["body", "postal"]'
