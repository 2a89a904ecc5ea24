# comms: a draft through its transitions and mark_sent (with an override, so any hour works), the
# do-not-contact list by any phone spelling, National DNCL imports (one streamed over the body
# limit), the CASL identity and consent (an SMS needs one), an inbound reply.
# Go-live is enabled by runbook.sh; $DEAL comes from deals.sh (a deal is created if it is unset).
if [ -z "${DEAL:-}" ]; then
  call 201 POST /core/deals '{"seller_name": "Smoke Seller", "seller_phone": "416-555-0150", "address": "1 Smoke Comms Rd", "city": "Hamilton", "province": "ON"}'
  DEAL="$(field 'b["id"]')"
fi
call 200 PUT /core/comms/identity '{"sender_name": "Valhalla Homes Inc.", "mailing_address": "100 King St W, Toronto ON M5X 1A9", "phone": "416-555-0100", "email": "hello@valhalla.example", "unsubscribe_text": "Reply STOP to opt out."}'
call 200 GET /core/comms/identity
expect 'b["phone"]' '+14165550100'
call 201 POST /core/comms/drafts "{\"channel\": \"sms\", \"to\": \"(416) 555-0188\", \"body\": \"Hi, still selling?\", \"province\": \"on\", \"deal_id\": \"$DEAL\", \"tags\": [\"Smoke\", \"smoke\"]}"
COMMS_DRAFT="$(field 'b["id"]')"
expect '[b["to"], b["province"], b["tags"], b["status"]]' '["+14165550188", "ON", ["smoke"], "draft"]'
call 200 GET "/core/comms/drafts/$COMMS_DRAFT"
call 200 PATCH "/core/comms/drafts/$COMMS_DRAFT" '{"status": "ready", "tone": "warm"}'
expect '[b["status"], b["tone"], b["version"]]' '["ready", "warm", 2]'
call 409 PATCH "/core/comms/drafts/$COMMS_DRAFT" '{"status": "sent"}'
expect 'b["detail"]["code"]' invalid_transition
call 422 POST /core/comms/drafts '{"channel": "email", "subject": "no recipient"}'
expect 'b["detail"][0]["loc"]' '["body", "to"]'
call 422 POST /core/comms/drafts '{"channel": "sms", "to": "416-555-0188"}'
expect 'b["detail"][0]["loc"]' '["body", "province"]'
call 201 POST /core/consents '{"contact": "416-555-0188", "kind": "express", "obtained_at": "2025-12-01T15:00:00Z", "method": "web form", "proof": "smoke: checkbox wording"}'
COMMS_CONSENT="$(field 'b["id"]')"
call 200 POST "/core/comms/drafts/$COMMS_DRAFT/mark_sent" '{"override_reason": "smoke: any hour"}'
expect '[b["status"], b["sent_at"] is not None]' '["sent", true]'
call 200 GET "/core/comms/sendlog?deal_id=$DEAL"
expect '[len(b), b[0]["draft_id"], b[0]["body"].endswith("Reply STOP to opt out."), b[0]["consent_id"]]' "[1, \"$COMMS_DRAFT\", true, \"$COMMS_CONSENT\"]"
call 409 PATCH "/core/comms/drafts/$COMMS_DRAFT" '{"body": "changed"}'
expect 'b["detail"]["code"]' sent_immutable
call 201 POST /core/comms/suppressions '{"value": "(416) 555-0177", "reason": "opt_out", "source": "smoke"}'
SUPPRESSION="$(field 'b["id"]')"
expect 'b["value"]' '+14165550177'
call 200 POST /core/comms/suppressions '{"value": "+1 416 555 0177"}'
expect 'b["id"]' "$SUPPRESSION"
call 200 GET '/core/comms/suppressions/check?to=4165550177'
expect 'b["suppressed"]' true
call 201 POST /core/comms/drafts '{"channel": "sms", "to": "416.555.0177", "body": "hello", "province": "ON"}'
call 409 POST "/core/comms/drafts/$(field 'b["id"]')/mark_sent" '{"override_reason": "smoke"}'
expect 'b["detail"]["code"]' suppressed
call 409 DELETE "/core/comms/suppressions/$SUPPRESSION?reason=smoke"
expect 'b["detail"]["code"]' retention_period
call 422 DELETE "/core/comms/suppressions/$SUPPRESSION"
# The National DNCL: an import replaces the copy of each area code in the file (numbers that
# left stop being suppressed) and never touches the internal list; a broken file changes nothing.
TODAY="$(date -u +%F)"
CT=text/csv call 201 POST "/core/comms/suppressions/import?list_date=$TODAY" $'phone\n905-555-0111\n(905) 555-0111\n+1 905 555 0112\n'
expect '[b["duplicates"], b["area_codes"]["905"]]' "[1, {\"count\": 2, \"list_date\": \"$TODAY\"}]"
CT=text/csv call 201 POST "/core/comms/suppressions/import?list_date=$TODAY" $'phone\n905-555-0112\n'
expect '[b["added"], b["removed"], b["area_codes"]["905"]["count"]]' '[0, 1, 1]'
call 200 GET '/core/comms/suppressions/check?to=9055550111'
expect '[b["suppressed"], b["list"], b["dncl"]["listed"]]' '[false, null, false]'
call 200 GET '/core/comms/suppressions/check?to=9055550112'
expect '[b["list"], b["dncl"]["area_code"], b["dncl"]["list_date"]]' "[\"dncl\", \"905\", \"$TODAY\"]"
call 200 GET '/core/comms/suppressions/check?to=4165550177'
expect 'b["list"]' internal
CT=text/csv call 422 POST "/core/comms/suppressions/import?list_date=$TODAY" $'phone\n905-555-0111\nnope\n'
expect 'b["detail"][0]["loc"]' '["body"]'
# The body is streamed: a list far over VALHALLA_MAX_BODY (1 MiB) is taken (99,000 numbers, 1.3 MB).
DNCL_FILE="$(mktemp)"
python3 -c 'print("phone"); [print(f"{a}-555-{n:04d}") for a in "867 506 428 709 879 306 474 639 204 431".split() for n in range(10000) if not 100 <= n < 200]' >"$DNCL_FILE"
CT=text/csv call 201 POST "/core/comms/suppressions/import?list_date=$TODAY" "@$DNCL_FILE"
rm -f "$DNCL_FILE"
expect '[sum(c["count"] for c in b["area_codes"].values()), b["invalid_count"]]' '[99000, 0]'
call 201 POST /core/comms/inbound '{"from": "+1 905 555 0122", "channel": "sms", "body": "Who is this?"}'
expect 'b["action"]' recorded
call 200 GET '/core/comms/inbound?from=905-555-0122'
expect 'len(b)' 1
