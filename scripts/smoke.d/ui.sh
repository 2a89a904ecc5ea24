# The dashboard: an HTML page with a nonce Content-Security-Policy; it holds no data, so it answers
# without the bearer token (the curl below sends none).
call 200 GET /core/ui
CHECKS=$((CHECKS + 1))
[[ "$BODY" == *'data-testid="refresh"'* && "$BODY" == *'/core/golive/state'* ]] || fail "GET /core/ui: not the dashboard page"
UI_CSP="$(curl -sS -D - -o /dev/null "$BASE/core/ui" | tr -d '\r' | sed -n 's/^content-security-policy: //Ip')"
CHECKS=$((CHECKS + 1))
[[ "$UI_CSP" == *"script-src 'nonce-"* && "$UI_CSP" == *"connect-src 'self'"* && "$UI_CSP" != *unsafe-inline* ]] || fail "GET /core/ui without the token: CSP is '$UI_CSP'"
call 405 POST /core/ui '{}'
