call 200 GET /core/health
expect 'b["status"]' ok
call 200 GET /core/ready
expect 'b["ready"]' true
call 200 GET /core/system/status
call 200 GET /core/system/packs/SYSTEM
expect 'b["installed"]' true
call 404 GET /core/system/packs/no-such-pack
call 200 POST /core/system/status/complete '{"notes": "smoke"}'
expect 'b["backend_complete"]' true
call 200 POST /core/system/status/incomplete '{}'
expect 'b["backend_complete"]' false
call 422 POST /core/system/status/complete '{"unknown_field": 1}'
call 200 GET /core/system/routes
expect '"/core/health" in [r["path"] for r in b["system"]]' true
call 200 GET /core/system/debug
expect 'b["settings"]["token"] is None or b["settings"]["token"] == "set"' true
