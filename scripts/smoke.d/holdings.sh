call 201 POST /core/holdings '{"name": "Smoke rental", "asset_type": "property", "jurisdiction": "ON", "value_estimate": 250000}'
HOLDING="$(field 'b["id"]')"
call 200 GET "/core/holdings/$HOLDING"
expect 'b["currency"]' CAD
call 200 PATCH "/core/holdings/$HOLDING" '{"value_estimate": 260000}'
expect 'b["version"]' 2
call 200 GET /core/holdings/summary
expect 'b["by_currency"]["CAD"] >= 260000' true
call 422 POST /core/holdings '{"name": "x", "asset_type": "yacht", "jurisdiction": "ON"}'
