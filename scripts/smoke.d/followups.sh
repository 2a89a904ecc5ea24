# followups: a ladder for our own lead (a known phone, her inquiry as consent), the due batch
# (go-live is enabled; the call step is held: no 416 DNCL copy),
# outcomes, an inbound "Stop." stopping the rest of the ladder, SLA, refusals.
call 201 POST /core/deals '{"seller_name": "Smoke Ladder", "seller_phone": "416-555-0166", "address": "2 Smoke Ladder Rd", "city": "Toronto", "province": "ON"}'
LADDER_DEAL="$(field 'b["id"]')"
call 201 POST /core/consents '{"contact": "416-555-0166", "kind": "implied_inquiry", "obtained_at": "2026-01-01T15:00:00Z", "method": "web form", "source": "smoke"}'
call 201 POST /core/followups/ladder/create "{\"deal_id\": \"$LADDER_DEAL\", \"province\": \"ON\", \"owner\": \"smoke\", \"start_at\": \"2026-01-10T00:50:00Z\"}"
LADDER="$(field 'b["ladder_id"]')"
expect '[t["due_at"] for t in b["tasks"]]' '["2026-01-10T00:50:00Z", "2026-01-10T15:00:00Z", "2026-01-10T17:30:00Z", "2026-01-12T14:00:00Z", "2026-01-14T14:00:00Z", "2026-01-19T14:00:00Z"]'
FIRST_TASK="$(field 'b["tasks"][0]["id"]')"
call 409 POST /core/followups/ladder/create "{\"deal_id\": \"$LADDER_DEAL\", \"province\": \"ON\", \"owner\": \"smoke\"}"
expect 'b["detail"]["code"]' ladder_open
call 200 GET "/core/followups/tasks?ladder_id=$LADDER"
expect 'len(b)' 6
call 200 GET '/core/followups/due?as_of=2026-01-10T23:30:00Z&owner=smoke'
expect '[b["halted"], b["tasks"], [h["reason"] for h in b["held_back"]]]' '[null, [], ["outside_contact_window", "dncl_list_stale", "outside_contact_window"]]'
call 200 GET '/core/followups/due?as_of=2026-01-12T14:00:00Z&owner=smoke'
expect '[t["id"] for t in b["tasks"]][0]' "$FIRST_TASK"
call 200 POST "/core/followups/tasks/$FIRST_TASK/complete" '{"outcome": "no_answer", "note": "smoke"}'
expect '[b["task"]["status"], b["task"]["outcome"], b["canceled"]]' '["done", "no_answer", []]'
call 409 POST "/core/followups/tasks/$FIRST_TASK/complete" '{"outcome": "done"}'
expect 'b["detail"]["code"]' already_completed
call 422 POST "/core/followups/tasks/$FIRST_TASK/complete" '{"outcome": "maybe"}'
call 201 POST /core/comms/inbound '{"from": "+1 (416) 555-0166", "channel": "sms", "body": "Stop."}'
expect '[b["action"], len(b["tasks_canceled"])]' '["opted_out", 5]'
call 200 GET "/core/followups/tasks?ladder_id=$LADDER&status=open"
expect 'len(b)' 0
call 200 GET '/core/followups/sla'
expect 'b["count"] >= 1 and "ON" in b["by_province"]' true
call 422 POST /core/followups/ladder/create "{\"deal_id\": \"dl_nope\", \"province\": \"ON\", \"owner\": \"smoke\"}"
expect 'b["detail"][0]["loc"]' '["body", "deal_id"]'
