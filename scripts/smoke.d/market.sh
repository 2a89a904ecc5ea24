# Market: 13 seeded provinces, a city row, can-contact at a fixed instant, refusals.
call 200 GET /core/market/policies
expect 'len(b)' 13
call 200 GET '/core/market/can-contact?province=ON&channel=SMS&at=2026-01-04T17:00:00Z'
expect '[b["allowed"], b["reason"], b["local_time"], b["next_allowed_at"]]' '[false, "outside_contact_window", "2026-01-04T12:00:00-05:00", "2026-01-05T14:00:00Z"]'
call 200 GET '/core/market/can-contact?province=NL&channel=CALL&at=2026-01-05T12:30:00Z&lead_score=0.9'
expect '[b["allowed"], b["local_time"]]' '[true, "2026-01-05T09:00:00-03:30"]'
call 200 POST /core/market/policies/upsert '{"province": "ON", "market": "Thunder Bay", "timezone": "America/Thunder_Bay", "min_lead_score": 0.7}'
expect '[b["market"], b["min_lead_score"], b["version"]]' '["Thunder Bay", 0.7, 1]'
call 200 POST /core/market/policies/upsert '{"province": "ON", "market": "Thunder Bay", "min_lead_score": 0.75}'
expect '[b["min_lead_score"], b["version"]]' '[0.75, 2]'
call 200 GET '/core/market/effective?province=ON&market=thunder%20bay'
expect 'b["market"]' 'Thunder Bay'
call 200 GET /core/market/policies
expect 'len(b)' 14
call 422 GET '/core/market/can-contact?province=ZZ&channel=SMS'
call 422 GET '/core/market/can-contact?province=ON&channel=SMS&at=not-a-time'
call 422 POST /core/market/policies/upsert '{"province": "ON", "contact_windows": [{"days": [6], "start": "07:00", "end": "23:00"}]}'
expect '[b["detail"][0]["loc"], b["detail"][0]["type"]]' '[["body", "contact_windows", 0], "crtc_telemarketing_hours"]'
call 200 GET '/core/market/can-contact?province=ON&channel=SMS&at=2026-01-05T16:30:00Z&to=604-555-0189'
expect '[b["allowed"], b["refused_by"]["province"], b["refused_by"]["local_time"], b["next_allowed_at"]]' '[false, "BC", "2026-01-05T08:30:00-08:00", "2026-01-05T17:00:00Z"]'
