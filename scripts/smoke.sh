#!/usr/bin/env bash
# Drive every module of a running Valhalla Core with curl: create, read, update and one refusal
# each. Exits non-zero on the first failed check, saying what failed.
#   scripts/smoke.sh [BASE_URL]          (default http://127.0.0.1:8000)
# Uses a throwaway server's data: it changes state (go-live, policies). Set VALHALLA_TOKEN to
# send the bearer token. Each module's part is scripts/smoke.d/<module>.sh, run in this order
# (the control plane first: later parts rely on its policies).
set -euo pipefail
BASE="${1:-http://127.0.0.1:8000}"
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/smoke.d/_lib.sh"

PARTS=(
  system audit
  golive governance risk heimdall kpi regression market runbook
  offers deals property comms consent followups replies buyers jv dispo closing holdings
  pros contracts docs stories education media
  ui
)

mounted="$(curl -fsS "${AUTH[@]}" "$BASE/core/system/packs" | python3 -c 'import json,sys; print(" ".join(p["id"] for p in json.load(sys.stdin) if p["installed"]))')"
for module in $mounted; do
  [[ " ${PARTS[*]} " == *" $module "* ]] || fail "module $module is mounted but has no smoke part in PARTS"
done
for part in "${PARTS[@]}"; do
  section "$part"
  source "$HERE/smoke.d/$part.sh"
done
echo "smoke: all checks passed against $BASE ($CHECKS checks)"
