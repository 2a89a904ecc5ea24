# KPI: record events, read them back filtered, the local-day summary, a refused future event.
call 201 POST /core/kpi/events '{"metric": "smoke_metric", "domain": "offers", "value": 2, "success": true, "ref": "smoke"}'
expect '[b["metric"], b["value"], b["success"]]' '["smoke_metric", 2.0, true]'
call 201 POST /core/kpi/events '{"metric": "smoke_metric", "domain": "offers", "value": 4, "success": false}'
call 200 GET '/core/kpi/events?metric=smoke_metric&domain=offers'
expect '[e["value"] for e in b]' '[2.0, 4.0]'
call 200 GET '/core/kpi/summary?metric=smoke_metric'
expect '[sum(d["count"] for d in b), b[-1]["success_rate"] is not None]' '[2, true]'
call 422 POST /core/kpi/events '{"metric": "smoke_metric", "domain": "offers", "at": "2999-01-01T00:00:00Z"}'
