call 201 POST /core/media/channels '{"name": "Smoke channel", "platform": "YouTube"}'
MEDIA_CHANNEL="$(field 'b["id"]')"
call 201 POST /core/media/content '{"title": "Smoke post", "body": "Sold in 9 days."}'
MEDIA_CONTENT="$(field 'b["id"]')"
call 200 GET "/core/media/content/$MEDIA_CONTENT"
expect 'b["status"]' draft
call 200 PATCH "/core/media/content/$MEDIA_CONTENT" '{"status": "scheduled", "scheduled_for": "2030-01-07T15:00:00Z"}'
expect 'b["status"]' scheduled
call 422 POST /core/media/content '{"title": "Empty"}'
call 422 POST "/core/media/content/$MEDIA_CONTENT/publish" '{"channel_id": "mch_nope"}'
call 201 POST "/core/media/content/$MEDIA_CONTENT/publish" "{\"channel_id\": \"$MEDIA_CHANNEL\"}"
expect 'b["content"]["status"]' published
call 409 POST "/core/media/content/$MEDIA_CONTENT/publish" "{\"channel_id\": \"$MEDIA_CHANNEL\"}"
expect 'b["detail"]["code"]' already_published
call 200 GET "/core/media/publish-log?content_id=$MEDIA_CONTENT"
expect 'len(b)' 1
