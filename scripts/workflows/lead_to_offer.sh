#!/usr/bin/env bash
# Workflow 1, lead intake to offer, against a running server:
#   scripts/workflows/lead_to_offer.sh [BASE_URL]      (default http://127.0.0.1:8000)
# contact policy -> follow-up ladder -> the first due task worked -> buyer liquidity -> bounded
# offer -> risk reserve + issue (offer_made) -> the offer texted (draft -> mark_sent -> send log).
# Outside the contact window (nights, Sundays) the ladder starts at the next allowed time and the
# dispatch batch is read as of then; the text is refused (outside_contact_window) and waits as a
# draft until next_allowed_at. An override_reason is for a seller's own request, never routine.
set -euo pipefail
BASE="${1:-http://127.0.0.1:8000}"
source "$(cd "$(dirname "$0")" && pwd)/_common.sh"
section lead_to_offer
ensure_live
fresh_phone 289
OWNER="wf-$RUN"
call 201 POST /core/deals "{\"seller_name\": \"Jane Roy\", \"seller_phone\": \"$PHONE\", \"seller_email\": \"jane.roy.$RUN@example.com\", \"address\": \"$((RANDOM % 900 + 10)) Sherman Ave N\", \"city\": \"Hamilton\", \"province\": \"ON\", \"property_type\": \"sfr\", \"lead_score\": 0.8, \"arv_estimate\": 300000, \"repairs_estimate\": 30000, \"asking_price\": 190000, \"assignment_fee_target\": 10000, \"costs_estimate\": 1500, \"tags\": [\"workflow\"]}"
DEAL="$(field 'b["id"]')"
SINCE="$(field 'b["created_at"]')"  # this run's KPI events are read from here on
expect '[b["stage"], b["expected_spread"]]' '["lead", 8500.0]'
# The seller's web-form inquiry is her CASL consent (implied, six months).
call 201 POST /core/consents "{\"contact\": \"$PHONE\", \"kind\": \"implied_inquiry\", \"obtained_at\": \"$(utc "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)")\", \"method\": \"web form\", \"source\": \"we-buy-houses form\"}"
INQUIRY="$(field 'b["id"]')"

# 1. may we text this seller? Now, or else at the next allowed time T.
call 200 GET "/core/market/can-contact?province=ON&market=Hamilton&channel=SMS&lead_score=0.8&to=$PHONE"
NOW_OK="$(field 'b["allowed"]')"
if [ "$NOW_OK" = true ]; then
  expect '[b["reason"], b["next_allowed_at"]]' '["ok", null]'
  T="$(utc "$(field 'b["local_time"]')")"
else
  expect 'b["reason"]' outside_contact_window
  T="$(utc "$(field 'b["next_allowed_at"]')")"
  echo "  outside the contact window now; working the ladder as of $T"
fi
call 200 GET "/core/market/can-contact?province=ON&market=Hamilton&channel=SMS&lead_score=0.8&to=$PHONE&at=$T"
expect '[b["allowed"], b["reason"], b["next_allowed_at"]]' '[true, "ok", null]'

# 2. the six-step ladder, starting at T
call 201 POST /core/followups/ladder/create "{\"deal_id\": \"$DEAL\", \"province\": \"ON\", \"market\": \"Hamilton\", \"owner\": \"$OWNER\", \"start_at\": \"$T\"}"
LADDER="$(field 'b["ladder_id"]')"
STEP1="$(field 'b["tasks"][0]["id"]')"
expect '[(t["step"], t["channel"], t["status"]) for t in b["tasks"]]' '[[1, "SMS", "open"], [2, "CALL", "open"], [3, "SMS", "open"], [4, "CALL", "open"], [5, "SMS", "open"], [6, "CALL", "open"]]'
expect 'b["tasks"][0]["due_at"]' "$T"
call 200 GET "/core/kpi/events?metric=ladder_created&since=$SINCE&limit=1000"
expect "[(e['domain'], e['value']) for e in b if e['ref'] == '$LADDER']" '[["followups", 6.0]]'

# 3. the dispatch batch holds step 1; the seller answered it
call 200 GET "/core/followups/due?as_of=$T&owner=$OWNER"
expect '[b["halted"], [t["id"] for t in b["tasks"]]]' "[null, [\"$STEP1\"]]"
call 200 POST "/core/followups/tasks/$STEP1/complete" '{"outcome": "responded", "note": "wants an offer this week"}'
expect '[b["task"]["status"], b["task"]["outcome"], [t["step"] for t in b["canceled"]]]' '["done", "responded", [2, 3, 4, 5, 6]]'
call 200 GET "/core/kpi/events?metric=followup_completed&since=$SINCE&limit=1000"
expect "[(e['value'] <= 5, e['success']) for e in b if e['ref'] == '$STEP1']" '[[true, true]]'  # minutes late; success = within 2 h
call 200 GET "/core/followups/tasks?ladder_id=$LADDER&status=open"
expect 'len(b)' 0
call 200 POST "/core/deals/$DEAL/stage" '{"stage": "contacted", "reason": "Seller answered our text"}'
expect 'b["stage"]' contacted

# 4. is the Hamilton SFR market liquid? four buyers react to the blast
call 200 GET '/core/buyers/liquidity/score?province=ON&market=Hamilton&property_type=sfr'
N0="$(field 'b["events"]')"; R0="$(field 'b["responses"]')"; B0="$(field 'b["bought"]')"
for pair in a:responded a:bought b:responded c:no_response; do
  call 201 POST /core/buyers/liquidity/feedback "{\"buyer_id\": \"wf-$RUN-${pair%%:*}\", \"province\": \"ON\", \"market\": \"Hamilton\", \"property_type\": \"sfr\", \"event\": \"${pair#*:}\"}"
done
call 200 GET '/core/buyers/liquidity/score?province=ON&market=Hamilton&property_type=sfr'
expect '[b["events"], b["responses"], b["bought"]]' "[$((N0 + 4)), $((R0 + 3)), $((B0 + 1))]"
expect 'b["active_buyers"] >= 2 and b["score"] == round(100 * (0.4 * (b["responses"] + 2.5) / (b["events"] + 5) + 0.4 * (b["bought"] + 2.5) / (b["events"] + 5) + 0.2 * min(b["active_buyers"] / 10, 1)), 1)' true
expect 'b["label"] == ("hot" if b["score"] >= 70 else "warm" if b["score"] >= 50 else "cold")' true

# 5. the bounded offer (defaults: 300,000 x 0.70 - 30,000 - 2,500 = 177,500; - 10,000 = 167,500)
call 201 POST /core/deals/offers/compute "{\"deal_id\": \"$DEAL\", \"province\": \"ON\", \"market\": \"Hamilton\", \"arv\": 300000, \"repairs\": 30000, \"asking_price\": 190000, \"assumptions\": {\"hold_days\": 30}}"
EVIDENCE="$(field 'b["evidence_id"]')"
OFFER="$(field 'b["recommended_offer"]')"
expect 'b["buyer_mao"] == round(300000 * b["policy"]["arv_multiplier"] - 30000 - b["policy"]["fees_buffer"], 2)' true
expect 'b["recommended_offer"] == max(b["policy"]["min_offer"], 0, min(b["buyer_mao"] - b["policy"]["assignment_fee"], b["policy"]["max_offer_pct_of_arv"] * 300000, 190000))' true
expect 'b["recommended_offer"] > 0 and b["issued_at"] is None' true
call 200 GET "/core/kpi/events?metric=offer_generated&since=$SINCE&limit=1000"
expect "[e['value'] for e in b if e['ref'] == '$EVIDENCE']" "[$OFFER]"

# 6. reserve the risk and issue: the WHOLESALE reserve for the offer, the deal at offer_made
call 200 GET /core/risk/snapshot
EXPOSURE0="$(field '[e["used"]["max_daily_exposure"] for e in b["engines"] if e["engine"] == "GLOBAL"][0]')"
call 200 POST "/core/deals/offers/$EVIDENCE/issue"
RESERVATION="$(field 'b["reservation_id"]')"
expect '[b["offer_amount"], b["stage"]]' "[$OFFER, \"offer_made\"]"
call 200 GET "/core/risk/reservations/$RESERVATION"
expect '[b["engine"], b["amount"], b["ref"], b["status"]]' "[\"WHOLESALE\", $OFFER, \"$EVIDENCE\", \"open\"]"
call 200 GET /core/risk/snapshot
expect "[e['used']['max_daily_exposure'] for e in b['engines'] if e['engine'] == 'GLOBAL'][0] == round($EXPOSURE0 + $OFFER, 2)" true
call 200 GET "/core/deals/$DEAL"
expect '[b["stage"], b["offer_amount"]]' "[\"offer_made\", $OFFER]"

# 7. text the offer: draft, then mark_sent inside the window (send log), or refused outside it
BODY_TEXT="Hi Jane, as promised: our cash offer for your house is \$$OFFER, closing in 30 days, as is."
call 201 POST /core/comms/drafts "{\"channel\": \"sms\", \"to\": \"$PHONE\", \"province\": \"ON\", \"deal_id\": \"$DEAL\", \"tone\": \"warm\", \"body\": \"$BODY_TEXT\"}"
DRAFT="$(field 'b["id"]')"
expect 'b["status"]' draft
call 200 GET "/core/market/can-contact?province=ON&market=Hamilton&channel=SMS&to=$PHONE"
if [ "$(field 'b["allowed"]')" = true ]; then
  call 200 POST "/core/comms/drafts/$DRAFT/mark_sent" '{}'
  expect '[b["status"], b["override_reason"]]' '["sent", null]'
  call 200 GET /core/comms/identity
  UNSUB="$(field 'b["unsubscribe_text"]')"
  call 200 GET "/core/comms/sendlog?deal_id=$DEAL"
  expect '[len(b), b[0]["draft_id"], b[0]["to"], b[0]["consent_id"]]' "[1, \"$DRAFT\", \"+1${PHONE//-/}\", \"$INQUIRY\"]"
  expect "b[0]['body'].startswith('Hi Jane') and b[0]['body'].endswith('''$UNSUB''')" true
else
  NEXT="$(field 'b["next_allowed_at"]')"
  call 409 POST "/core/comms/drafts/$DRAFT/mark_sent" '{}'
  expect '[b["detail"]["code"], b["detail"]["next_allowed_at"]]' "[\"outside_contact_window\", \"$NEXT\"]"
  call 200 GET "/core/comms/sendlog?deal_id=$DEAL"
  expect 'len(b)' 0
  echo "  outside the contact window now: draft $DRAFT waits; send it at $NEXT with POST /core/comms/drafts/$DRAFT/mark_sent"
fi
call 200 GET "/core/deals/$DEAL/activities"
expect '[(a["from_stage"], a["to_stage"]) for a in b if a["kind"] == "stage"]' '[["lead", "contacted"], ["contacted", "offer_made"]]'
echo "workflow lead_to_offer: all checks passed against $BASE ($CHECKS checks; deal $DEAL)"
