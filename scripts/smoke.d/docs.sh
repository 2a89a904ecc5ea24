# Documents: metadata linked to $DEAL (from deals.sh; any id works as a link), read, patch, route
# sent -> delivered; refusals: routing back 409, an unknown doc_type 422.
call 201 POST /core/docs "{\"title\": \"Smoke title search\", \"doc_type\": \"title\", \"file_path\": \"vault/smoke/title.pdf\", \"entity_ids\": [\"${DEAL:-dl_smoke}\"], \"tags\": [\"Smoke\"]}"
DOC="$(field 'b["id"]')"
expect 'b["routing_status"]' None
call 200 GET "/core/docs/$DOC"
expect 'b["tags"]' '["smoke"]'
call 200 PATCH "/core/docs/$DOC" '{"notes": "from the title company"}'
expect 'b["version"]' 2
call 200 POST "/core/docs/$DOC/route" '{"to": "closing@titleco.example", "channel": "email"}'
expect 'b["routing_status"]' sent
call 200 POST "/core/docs/$DOC/route" '{"to": "closing@titleco.example", "channel": "email", "status": "delivered"}'
expect '[r["status"] for r in b["routing"]]' '["sent", "delivered"]'
call 409 POST "/core/docs/$DOC/route" '{"to": "closing@titleco.example", "channel": "email", "status": "sent"}'
expect 'b["detail"]["code"]' invalid_transition
call 200 GET "/core/docs?entity_id=${DEAL:-dl_smoke}&doc_type=title"
expect '"'"$DOC"'" in [d["id"] for d in b]' true
call 422 POST /core/docs '{"title": "x", "doc_type": "spreadsheet", "file_path": "a.xls"}'
