call 200 GET "/core/audit?module=system&action=action"
expect 'b[0]["actor"]' smoke
expect 'b[0]["changes"]["backend_complete"]' '[true, false]'
call 422 GET "/core/audit?since=yesterday"
call 422 GET "/core/audit?order=newest"
