call 201 POST /core/stories/templates '{"title": "Smoke story", "mood": "hopeful", "body": "{seller} sold in {city}. {{cash}}"}'
STORY_TEMPLATE="$(field 'b["id"]')"
call 200 GET "/core/stories/templates/$STORY_TEMPLATE"
expect 'b["mood"]' hopeful
call 200 POST "/core/stories/templates/$STORY_TEMPLATE/render" '{"values": {"seller": "Dana", "city": "Moncton", "extra": 1}}'
expect 'b["text"]' 'Dana sold in Moncton. {cash}'
expect 'b["ignored"]' '["extra"]'
call 422 POST "/core/stories/templates/$STORY_TEMPLATE/render" '{"values": {}}'
expect '[e["loc"][-1] for e in b["detail"]]' '["seller", "city"]'
call 200 PATCH "/core/stories/templates/$STORY_TEMPLATE" '{"title": "Smoke story v2"}'
expect 'b["version"]' 2
call 422 POST /core/stories/templates '{"title": "Broken", "body": "Hello {name"}'
call 201 POST /core/stories/episodes "{\"template_id\": \"$STORY_TEMPLATE\", \"sequence\": 1, \"text\": \"Dana sold in Moncton.\"}"
STORY_EPISODE="$(field 'b["id"]')"
call 200 PATCH "/core/stories/episodes/$STORY_EPISODE" '{"status": "published"}'
expect 'b["status"]' published
call 409 POST /core/stories/episodes "{\"template_id\": \"$STORY_TEMPLATE\", \"sequence\": 1}"
expect 'b["detail"]["code"]' duplicate_sequence
