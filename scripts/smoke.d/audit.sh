call 200 GET "/core/audit?module=system&action=action"
expect 'b[-1]["actor"]' smoke
expect 'b[-1]["changes"]["backend_complete"]' '[true, false]'
call 422 GET "/core/audit?since=yesterday"
