call 201 POST /core/education/courses '{"title": "Smoke course", "status": "active"}'
COURSE="$(field 'b["id"]')"
call 201 POST /core/education/lessons "{\"course_id\": \"$COURSE\", \"order\": 2, \"title\": \"Second\"}"
LESSON2="$(field 'b["id"]')"
call 201 POST /core/education/lessons "{\"course_id\": \"$COURSE\", \"order\": 1, \"title\": \"First\"}"
LESSON1="$(field 'b["id"]')"
call 200 GET "/core/education/courses/$COURSE/lessons"
expect '[l["order"] for l in b]' '[1, 2]'
call 409 POST /core/education/lessons "{\"course_id\": \"$COURSE\", \"order\": 1, \"title\": \"Clash\"}"
expect 'b["detail"]["code"]' duplicate_order
call 200 PATCH "/core/education/courses/$COURSE" '{"description": "Smoke-tested"}'
expect 'b["version"]' 2
call 201 POST /core/education/enrollments "{\"learner\": \"Smoke Learner\", \"course_id\": \"$COURSE\"}"
ENROLLMENT="$(field 'b["id"]')"
call 409 POST /core/education/enrollments "{\"learner\": \"smoke learner\", \"course_id\": \"$COURSE\"}"
expect 'b["detail"]["code"]' duplicate_enrollment
call 200 POST "/core/education/enrollments/$ENROLLMENT/progress" "{\"lesson_id\": \"$LESSON1\"}"
expect 'b["percent_complete"]' 50.0
call 200 POST "/core/education/enrollments/$ENROLLMENT/progress" "{\"lesson_id\": \"$LESSON2\"}"
expect 'b["percent_complete"]' 100.0
expect 'b["completed_at"] is not None' true
call 200 GET "/core/education/enrollments/$ENROLLMENT"
expect 'b["status"]' completed
