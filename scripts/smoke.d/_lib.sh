# Helpers for the smoke parts. `call` makes a request, checks the status, and leaves the body in
# $BODY; `field` reads a value from it (python3 for JSON, so no jq needed).
AUTH=()
[ -n "${VALHALLA_TOKEN:-}" ] && AUTH=(-H "Authorization: Bearer $VALHALLA_TOKEN")
CHECKS=0
BODY=""
CURRENT=""

fail() { echo "smoke FAILED [$CURRENT]: $*" >&2; exit 1; }
section() { CURRENT="$1"; echo "smoke: $1"; }

# call EXPECTED_STATUS METHOD PATH [JSON_BODY | @file | <raw with CT=...>]
call() {
  local expected="$1" method="$2" path="$3" data="${4-}"
  local args=(-sS -o /tmp/smoke-body.$$ -w '%{http_code}' -X "$method" "${AUTH[@]}" -H "X-Actor: smoke")
  if [ -n "$data" ]; then
    args+=(-H "Content-Type: ${CT:-application/json}" --data-binary "$data")
  fi
  local status
  status="$(curl "${args[@]}" "$BASE$path")" || fail "$method $path: curl could not connect"
  BODY="$(cat /tmp/smoke-body.$$)"; rm -f /tmp/smoke-body.$$
  CHECKS=$((CHECKS + 1))
  [ "$status" = "$expected" ] || fail "$method $path: expected $expected, got $status: ${BODY:0:400}"
}

# field EXPR: evaluate a Python expression over the parsed body `b`, e.g. field 'b["id"]'
field() {
  printf '%s' "$BODY" | python3 -c "import json,sys; b=json.load(sys.stdin); v=($1); print(v if not isinstance(v,(dict,list,bool)) else json.dumps(v))"
}

# expect EXPR VALUE: the expression over the body must print VALUE
expect() {
  local got
  got="$(field "$1")" || fail "could not read $1 from ${BODY:0:400}"
  CHECKS=$((CHECKS + 1))
  [ "$got" = "$2" ] || fail "expected $1 == $2, got $got"
}
