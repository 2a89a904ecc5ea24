# Regression: a THROTTLE policy for follow-ups (the runbook needs at least one), on-demand
# evaluation that enforces nothing with too few events, a refused blank-reason reset.
call 200 POST /core/regression/policies/upsert '{"metric": "followup_completed", "domain": "followups", "action": "THROTTLE", "max_drop": 0.25}'
expect '[b["window_events"], b["baseline_events"], b["min_events"]]' '[50, 200, 50]'
call 200 POST /core/regression/policies/upsert '{"metric": "followup_completed", "domain": "followups", "action": "THROTTLE", "max_drop": 0.2}'
expect '[b["version"], b["max_drop"]]' '[2, 0.2]'
call 200 GET /core/regression/policies
expect 'any(p["metric"] == "followup_completed" for p in b)' true
call 200 POST '/core/regression/evaluate?metric=followup_completed'
expect '[b[0]["enforced"], b[0]["fired"]]' '[false, false]'
call 200 GET /core/regression/state
expect 'b["evaluations"]["followup_completed"]["detail"].startswith("not enforced: too few events")' true
expect 'b["throttled"]' '{}'
call 422 POST /core/regression/reset '{"domain": "followups", "reason": "   "}'
call 200 POST /core/regression/reset '{"domain": "followups", "reason": "smoke: nothing throttled"}'
expect 'b["throttled"]' '{}'
