# Governance: propose, read, approve once (a second decision is refused), cite it on a release.
call 201 POST /core/governance/decisions '{"title": "Smoke: release after the drill", "kind": "kill_switch", "subject_refs": ["golive"], "rationale": "drill only"}'
GD_ID="$(field 'b["id"]')"
expect '[b["status"], b["proposed_by"]]' '["proposed", "smoke"]'
call 200 GET "/core/governance/decisions/$GD_ID"
expect 'b["title"]' 'Smoke: release after the drill'
call 200 POST /core/golive/kill-switch/engage '{"reason": "smoke: governance drill"}'
call 409 POST /core/golive/kill-switch/release "{\"reason\": \"drill over\", \"decision_id\": \"$GD_ID\"}"
expect 'b["detail"]["code"]' decision_not_approved
call 200 POST "/core/governance/decisions/$GD_ID/approve" '{"reason": "smoke"}'
expect '[b["status"], b["decided_by"]]' '["approved", "smoke"]'
call 409 POST "/core/governance/decisions/$GD_ID/reject" '{"reason": "too late"}'
expect 'b["detail"]["code"]' invalid_transition
call 200 POST /core/golive/kill-switch/release "{\"reason\": \"drill over\", \"decision_id\": \"$GD_ID\"}"
expect '[b["kill_switch"], b["decision_id"]]' "[false, \"$GD_ID\"]"
call 200 GET '/core/governance/decisions?status=approved'
expect "\"$GD_ID\" in [d[\"id\"] for d in b]" true
call 422 POST /core/governance/decisions '{"title": "no rationale"}'
call 404 POST /core/governance/decisions/gd_nope/approve '{"reason": "x"}'
