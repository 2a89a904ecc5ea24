#!/usr/bin/env bash
# Workflow 6, consent before a message, against a running server:
#   scripts/workflows/consent_to_send.sh [BASE_URL]      (default http://127.0.0.1:8000)
# an email to a seller is refused 409 no_consent -> the operator records her express consent with
# its proof -> the check names the consent -> the email is sent and the send log names the consent
# -> a second address whose inquiry lapsed is refused consent_expired, naming the last valid day
# -> a seller who phoned in is exempt from the National DNCL for six months -> an opt-out withdraws
# every consent of that contact and the internal list refuses the send. Emails without a province
# are not window-checked, so this runs at any hour. It never imports a DNCL list.
set -euo pipefail
BASE="${1:-http://127.0.0.1:8000}"
source "$(cd "$(dirname "$0")" && pwd)/_common.sh"
section consent_to_send
ensure_live
EMAIL="jane.roy.$RUN@example.com"
OTHER="sam.lee.$RUN@example.com"
START="$(utc "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"

# 1. an email to a stranger is refused: no consent on file
call 201 POST /core/comms/drafts "{\"channel\": \"email\", \"to\": \"$EMAIL\", \"subject\": \"Your house on Elm St\", \"body\": \"Hi Jane, would you consider a cash offer?\"}"
DRAFT="$(field 'b["id"]')"
call 409 POST "/core/comms/drafts/$DRAFT/mark_sent" '{}'
expect '[b["detail"]["code"], b["detail"]["contact"]]' "[\"no_consent\", \"$EMAIL\"]"
call 200 GET "/core/comms/sendlog?channel=email&since=$START"
expect "[e for e in b if e['draft_id'] == '$DRAFT']" '[]'

# 2. she ticked the box on the web form: express consent, with its proof (422 without it)
call 422 POST /core/consents "{\"contact\": \"$EMAIL\", \"kind\": \"express\", \"obtained_at\": \"$(utc "$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ)")\", \"method\": \"web form\"}"
expect 'b["detail"][0]["loc"]' '["body", "proof"]'
call 201 POST /core/consents "{\"contact\": \"$EMAIL\", \"kind\": \"express\", \"obtained_at\": \"$(utc "$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ)")\", \"method\": \"web form\", \"source\": \"valhallahomes.example/sell\", \"proof\": \"Checkbox: 'Yes, Valhalla Homes may email me about my property.' Submission #$RUN\"}"
CONSENT="$(field 'b["id"]')"
expect '[b["state"], b["casl_expires_at"]]' '["valid", null]'
call 200 GET "/core/comms/suppressions/check?to=$EMAIL"
expect '[b["suppressed"], b["casl_consent"]["allowed"], b["casl_consent"]["consent_id"]]' "[false, true, \"$CONSENT\"]"

# 3. now the email goes, and the send log names the consent that allowed it
call 200 POST "/core/comms/drafts/$DRAFT/mark_sent" '{}'
expect 'b["status"]' sent
call 200 GET "/core/comms/sendlog?channel=email&since=$START"
expect "[e['consent_id'] for e in b if e['draft_id'] == '$DRAFT']" "[\"$CONSENT\"]"

# 4. an inquiry of 2025-03-31 held through 2025-09-30 (six months, the recipient's calendar): lapsed
call 201 POST /core/consents "{\"contact\": \"$OTHER\", \"kind\": \"implied_inquiry\", \"obtained_at\": \"2025-03-31T12:00:00-04:00\", \"method\": \"email inquiry\"}"
expect 'b["state"]' expired
call 201 POST /core/comms/drafts "{\"channel\": \"email\", \"to\": \"$OTHER\", \"subject\": \"Still selling?\", \"body\": \"Hi Sam, still thinking about selling?\"}"
call 409 POST "/core/comms/drafts/$(field 'b["id"]')/mark_sent" '{}'
expect '[b["detail"]["code"], b["detail"]["valid_through"]]' '["consent_expired", "2025-09-30"]'

# 5. a seller who phoned in yesterday: her inquiry exempts calls to her number from the DNCL
fresh_phone 905
call 201 POST /core/consents "{\"contact\": \"$PHONE\", \"kind\": \"implied_inquiry\", \"obtained_at\": \"$(utc "$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)")\", \"method\": \"inbound call\", \"source\": \"office line\"}"
INQUIRY="$(field 'b["id"]')"
call 200 GET "/core/comms/suppressions/check?to=$PHONE"
expect '[b["dncl_exemption"]["allowed"], b["dncl_exemption"]["consent_id"], b["casl_consent"]["consent_id"]]' "[true, \"$INQUIRY\", \"$INQUIRY\"]"

# 6. she writes STOP by email: every consent of that address is withdrawn and the list refuses
call 201 POST /core/comms/inbound "{\"from\": \"$EMAIL\", \"channel\": \"email\", \"body\": \"STOP\"}"
expect 'b["action"]' opted_out
call 200 GET "/core/consents/$CONSENT"
expect 'b["state"]' withdrawn
call 201 POST /core/comms/drafts "{\"channel\": \"email\", \"to\": \"$EMAIL\", \"subject\": \"One more thing\", \"body\": \"Hi Jane\"}"
call 409 POST "/core/comms/drafts/$(field 'b["id"]')/mark_sent" '{}'
expect '[b["detail"]["code"], b["detail"]["list"]]' '["suppressed", "internal"]'
echo "workflow consent_to_send: all checks passed against $BASE ($CHECKS checks; consent $CONSENT)"
