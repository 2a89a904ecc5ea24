# Shared by the workflow scripts (sourced, not run): the smoke helpers (call, field, expect) plus
# what several workflows need. Each script works on a fresh server and after scripts/smoke.sh:
# it creates its own deals and buyers, and checks relative values where earlier runs add data.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../smoke.d/_lib.sh"
fail() { echo "workflow FAILED [$CURRENT]: $*" >&2; exit 1; }
section() { CURRENT="$1"; echo "workflow: $1"; }
RUN="$(date +%s)$$"  # makes this run's names unique

# status_of METHOD PATH: the HTTP status only (a probe that is not a check)
status_of() {
  curl -sS -o /dev/null -w '%{http_code}' -X "$1" "${AUTH[@]}" "$BASE$2" || fail "$1 $2: curl could not connect"
}

# utc ISO_INSTANT: the same instant as YYYY-MM-DDTHH:MM:SSZ (whole seconds)
utc() {
  python3 -c 'import sys; from datetime import datetime, timezone; print(datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00")).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))' "$1"
}

# fresh_phone AREA: sets PHONE to an AREA-555-01NN number nobody suppressed (opt-outs, DNCL)
fresh_phone() {
  local tries
  for tries in $(seq 40); do
    PHONE="$1-555-0$((100 + RANDOM % 100))"
    call 200 GET "/core/comms/suppressions/check?to=$PHONE"
    [ "$(field 'b["suppressed"]')" = false ] && return 0
  done
  fail "no unsuppressed $1-555-01NN number left"
}

# ensure_live: go-live on, setting only what the runbook still lacks (a fresh install lacks four
# things); refuses to guess when the kill switch is engaged.
ensure_live() {
  call 200 GET /core/golive/state
  [ "$(field 'b["kill_switch"]')" = false ] || fail "the kill switch is engaged ($(field 'b["kill_switch_reason"]')): release it first"
  [ "$(field 'b["enabled"]')" = true ] && return 0
  call 200 GET /core/risk/policies
  if [ "$(field 'any(p["engine"] == "GLOBAL" and p["enabled"] and p["max_daily_loss"] > 0 for p in b)')" = false ]; then
    call 200 POST /core/risk/policies/upsert '{"engine": "GLOBAL", "max_daily_loss": 25000, "max_daily_exposure": 5000000, "max_actions_per_day": 200, "enabled": true}'
  fi
  call 200 GET /core/heimdall/policies
  [ "$(field 'len(b)')" != 0 ] || call 200 POST /core/heimdall/policies/upsert '{"domain": "offers"}'
  call 200 GET /core/regression/policies
  [ "$(field 'len(b)')" != 0 ] || call 200 POST /core/regression/policies/upsert '{"metric": "followup_completed", "domain": "followups"}'
  if [ "$(status_of GET /core/comms/identity)" = 404 ]; then
    call 200 PUT /core/comms/identity '{"sender_name": "Valhalla Homes Inc.", "mailing_address": "100 King St W, Toronto ON M5X 1C9", "phone": "416-555-0100", "email": "hello@valhallahomes.example", "unsubscribe_text": "Reply STOP to opt out."}'
  fi
  call 200 POST /core/golive/enable '{"reason": "workflow: runbook clear"}'
  expect 'b["enabled"]' true
}
