# Professionals: create, read, patch, a signal (score from the documented formula), alignment,
# a retainer over its hours (then seen by the internal auditor), a task rated once done, a
# handoff; refusals: unknown kind 422, rating before done 409, invalid transition 409.
call 201 POST /core/pros '{"name": "Smoke Law LLP", "kind": "lawyer", "jurisdictions": ["on"], "specialties": ["Assignment"], "email": "law@smoke.example"}'
PRO="$(field 'b["id"]')"
expect 'b["jurisdictions"]' '["ON"]'
call 201 POST /core/pros '{"name": "Smoke Title Co", "kind": "title", "jurisdictions": ["ON"]}'
PRO_TITLE="$(field 'b["id"]')"
call 200 GET "/core/pros/$PRO"
expect 'b["status"]' active
call 200 PATCH "/core/pros/$PRO" '{"phone": "416-555-0142"}'
expect 'b["phone"]' +14165550142
call 422 POST /core/pros '{"name": "x", "kind": "plumber", "jurisdictions": ["ON"]}'
expect 'b["detail"][0]["loc"]' '["body", "kind"]'

call 201 POST "/core/pros/$PRO/signals" '{"rating": 4.5, "review_count": 20, "response_hours": 2, "license_verified": true, "complaints": 1}'
expect 'b["score"]' 79.1
call 200 GET "/core/pros/$PRO"
expect 'b["signal_score"]' 79.1
call 200 POST /core/pros/align '{"kind": "lawyer", "jurisdiction": "ON", "specialty": "assignment"}'
expect 'b["matches"][0]["pro_id"] == "'"$PRO"'"' true

call 201 POST /core/pros/retainers "{\"pro_id\": \"$PRO\", \"monthly_amount\": 1500, \"hours_included\": 10, \"renewal_date\": \"2030-02-01\"}"
RETAINER="$(field 'b["id"]')"
call 409 POST "/core/pros/retainers/$RETAINER/hours" '{"hours": 1}'
expect 'b["detail"]["code"]' retainer_not_active
call 200 PATCH "/core/pros/retainers/$RETAINER" '{"status": "active"}'
call 200 POST "/core/pros/retainers/$RETAINER/hours" '{"hours": 12.5, "note": "smoke"}'
expect '[b["utilisation"], b["overage_hours"]]' '[1.25, 2.5]'
call 200 POST /core/audit/scan
expect '[f["code"] for f in b["findings"] if f["record_id"] == "'"$RETAINER"'"]' '["retainer_over_hours"]'

call 201 POST /core/pros/tasks "{\"title\": \"Review APS\", \"pro_id\": \"$PRO\", \"due_at\": \"2030-01-10T17:00:00Z\"}"
TASK="$(field 'b["id"]')"
call 409 PATCH "/core/pros/tasks/$TASK" '{"rating": 5}'
expect 'b["detail"]["code"]' task_not_done
call 200 PATCH "/core/pros/tasks/$TASK" '{"status": "done", "rating": 5}'
expect 'b["completed_at"] is not None and b["rating"] == 5' true
call 409 PATCH "/core/pros/tasks/$TASK" '{"status": "todo"}'
expect 'b["detail"]["code"]' invalid_transition

call 201 POST /core/pros/handoffs "{\"from\": \"$PRO\", \"to\": \"$PRO_TITLE\", \"task_ids\": [\"$TASK\"], \"checklist\": [\"Signed APS\"]}"
HANDOFF="$(field 'b["id"]')"
call 200 PATCH "/core/pros/handoffs/$HANDOFF" '{"status": "accepted"}'
call 409 PATCH "/core/pros/handoffs/$HANDOFF" '{"status": "completed"}'
expect 'b["detail"]["code"]' checklist_incomplete
call 422 POST /core/pros/handoffs "{\"from\": \"$PRO\", \"to\": \"pro_nope\"}"
expect 'b["detail"][0]["loc"]' '["body", "to"]'

call 200 GET "/core/pros/$PRO/scorecard"
expect '[b["on_time_rate"], b["mean_rating"], b["signal_score"]]' '[1.0, 5.0, 79.1]'
