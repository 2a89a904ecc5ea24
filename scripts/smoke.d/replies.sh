# replies: an inbound opt-out in French opts its sender out (suppressed, on the internal list);
# an outcome for an unknown task is 404.
call 201 POST /core/comms/inbound '{"from": "+1 613 555 0177", "channel": "sms", "body": " Arrêt! "}'
expect '[b["action"], b["suppression_id"] is not None]' '["opted_out", true]'
call 200 GET '/core/comms/suppressions/check?to=613-555-0177'
expect '[b["suppressed"], b["list"], b["suppression"]["reason"]]' '[true, "internal", "opt_out"]'
call 404 POST /core/followups/tasks/tsk_nope/complete '{"outcome": "opted_out"}'
