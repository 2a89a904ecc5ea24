# Heimdall: a policy for offers (the runbook needs at least one), trials, the gate, a refused promote.
call 200 POST /core/heimdall/policies/upsert '{"domain": "offers", "min_confidence": 0.9, "min_sandbox_trials": 50, "min_success_rate": 0.8, "window_days": 30}'
expect 'b["prod_enabled"]' false
call 200 POST /core/heimdall/policies/upsert '{"domain": "offers", "min_confidence": 0.85, "prod_enabled": true}'
expect '[b["version"], b["min_confidence"], b["prod_enabled"]]' '[2, 0.85, false]'
call 201 POST /core/heimdall/trials '{"domain": "offers", "success": true, "confidence": 0.93}'
call 201 POST /core/heimdall/trials '{"domain": "offers", "success": false, "confidence": 0.71}'
call 200 GET '/core/heimdall/scorecard?domain=offers'
expect '[b[0]["trials"], b[0]["success_rate"], round(b[0]["mean_confidence"], 6)]' '[2, 0.5, 0.82]'
call 201 POST /core/heimdall/recommend '{"domain": "offers", "confidence": 0.95, "payload": {"note": "smoke"}}'
expect '[b["gate_reason"], b["prod_eligible"]]' '["prod_disabled", false]'
call 200 GET '/core/heimdall/recommendations?domain=offers'
expect 'len(b) >= 1' true
call 409 POST /core/heimdall/promote '{"domain": "offers"}'
expect 'b["detail"]["code"]' insufficient_sandbox_trials
call 422 POST /core/heimdall/trials '{"domain": "offers", "success": true, "confidence": 1.5}'
