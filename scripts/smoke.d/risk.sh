# Risk: GLOBAL and WHOLESALE policies with generous caps, a reserve refused while go-live is off,
# the snapshot, a bad engine name. (runbook.sh enables go-live; later parts reserve for real.)
call 200 POST /core/risk/policies/upsert '{"engine": "GLOBAL", "max_daily_loss": 50000, "max_daily_exposure": 5000000, "max_open_risk": 10000000, "max_actions_per_day": 500}'
expect '[b["engine"], b["max_daily_loss"], b["enabled"]]' '["GLOBAL", 50000.0, true]'
call 200 POST /core/risk/policies/upsert '{"engine": "wholesale", "max_daily_loss": 25000, "max_daily_exposure": 2500000, "max_actions_per_day": 200}'
expect '[b["engine"], b["max_open_risk"], b["version"]]' '["WHOLESALE", 0.0, 1]'
call 200 POST /core/risk/policies/upsert '{"engine": "WHOLESALE", "max_open_risk": 5000000}'
expect '[b["max_open_risk"], b["max_daily_loss"], b["version"]]' '[5000000.0, 25000.0, 2]'
call 200 GET /core/risk/policies
expect 'sorted(p["engine"] for p in b)[:2]' '["GLOBAL", "WHOLESALE"]'
call 423 POST /core/risk/reserve '{"engine": "WHOLESALE", "amount": 1000, "ref": "smoke"}'
expect 'b["detail"]["code"]' go_live_disabled
call 200 GET /core/risk/snapshot
expect '[e["engine"] for e in b["engines"]][:1]' '["GLOBAL"]'
expect 'b["engines"][0]["remaining"]["max_daily_loss"]' 50000.0
call 422 POST /core/risk/policies/upsert '{"engine": "whole sale"}'
call 422 POST /core/risk/reserve '{"engine": "WHOLESALE", "amount": -1}'
call 200 GET '/core/risk/events?kind=denied'
