# Go-live: a fresh install is off, enable is refused with the runbook's blockers, the kill switch
# needs a reason, and release refuses an unknown decision. Go-live stays OFF (runbook.sh enables it).
call 200 GET /core/golive/state
expect '[b["enabled"], b["kill_switch"]]' '[false, false]'
call 200 GET /core/golive/checklist
expect 'b["ok_to_enable_go_live"]' false
call 412 POST /core/golive/enable '{"reason": "smoke"}'
expect 'b["detail"]["code"]' runbook_blockers
expect '"global_risk_policy" in [x["key"] for x in b["detail"]["blockers"]]' true
call 422 POST /core/golive/kill-switch/engage '{}'
call 422 POST /core/golive/kill-switch/engage '{"reason": "   "}'
call 200 POST /core/golive/kill-switch/engage '{"reason": "smoke: drill"}'
expect '[b["kill_switch"], b["reason"], b["changed_by"]]' '[true, "smoke: drill", "smoke"]'
expect '[b["kill_switch_reason"], b["kill_switch_changed_by"]]' '["smoke: drill", "smoke"]'
call 423 POST /core/risk/reserve '{"engine": "GLOBAL", "amount": 1}'
expect '[b["detail"]["code"], b["detail"]["reason"]]' '["kill_switch_engaged", "smoke: drill"]'
call 422 POST /core/golive/kill-switch/release '{"reason": "drill over", "decision_id": "gd_nope"}'
call 200 POST /core/golive/kill-switch/release '{"reason": "drill over"}'
expect '[b["kill_switch"], b["enabled"], b["reason"]]' '[false, false, "drill over"]'
call 409 POST /core/golive/kill-switch/release '{"reason": "again"}'
expect 'b["detail"]["code"]' kill_switch_not_engaged
call 200 POST /core/golive/disable '{"reason": "smoke"}'
expect 'b["enabled"]' false
