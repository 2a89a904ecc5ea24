# Consent: record an inquiry of 2025-03-31 (valid through 2025-09-30 on the recipient's clock,
# expired now), an express consent with proof, a refusal without proof (422, named field), a
# correction that supersedes, filters, a CSV import with one bad row, and a withdrawal.
# Contacts are new on every run (a smoke against a used data dir finds its own records only).
WHO="smoke-$$-$RANDOM@example.com"
call 201 POST /core/consents '{"contact": "'"$WHO"'", "kind": "implied_inquiry", "obtained_at": "2025-03-31T12:00:00-04:00", "method": "web form"}'
expect '[b["contact"], b["casl_expires_at"], b["dncl_exemption_expires_at"], b["state"], b["recorded_by"]]' '["'"$WHO"'", "2025-10-01T04:00:00Z", "2025-10-01T04:00:00Z", "expired", "smoke"]'
INQUIRY="$(field 'b["id"]')"
call 422 POST /core/consents '{"contact": "'"$WHO"'", "kind": "express", "obtained_at": "2025-06-01T12:00:00-04:00", "method": "web form"}'
expect 'b["detail"][0]["loc"]' '["body", "proof"]'
call 201 POST /core/consents '{"contact": "'"$WHO"'", "kind": "express", "obtained_at": "2025-06-01T12:00:00-04:00", "method": "web form", "proof": "smoke form #1"}'
expect '[b["casl_expires_at"], b["state"]]' '[null, "valid"]'
EXPRESS="$(field 'b["id"]')"
call 201 POST "/core/consents/$EXPRESS/supersede" '{"contact": "'"$WHO"'", "kind": "express", "obtained_at": "2025-06-01T12:00:00-04:00", "method": "web form", "proof": "smoke form #2", "reason": "smoke: wrong form number"}'
expect '[b["supersedes"], b["state"]]' '["'"$EXPRESS"'", "valid"]'
call 200 GET "/core/consents/$EXPRESS"
expect 'b["state"]' superseded
call 409 POST "/core/consents/$EXPRESS/supersede" '{"contact": "'"$WHO"'", "kind": "express", "obtained_at": "2025-06-01T12:00:00-04:00", "method": "web form", "proof": "x", "reason": "again"}'
expect 'b["detail"]["code"]' already_superseded
call 200 GET "/core/consents?contact=$WHO&state=expired"
expect '[c["id"] for c in b]' '["'"$INQUIRY"'"]'
call 422 GET '/core/consents?state=lapsed'
CSV_CONSENTS="contact,kind,obtained_at,method,source,proof"$'\n'"$(python3 -c 'import sys; print("\n".join(f"{n}.{sys.argv[1]},implied_inquiry,2025-12-01T10:00:00-05:00,web form,smoke," for n in range(100)))' "$WHO")"$'\nnobody,implied_inquiry,2025-12-01T10:00:00-05:00,web form,smoke,\n'
CT=text/csv call 201 POST /core/consents/import "$CSV_CONSENTS"
expect '[b["added"], b["duplicates"], b["invalid_count"], b["invalid"][0]["row"], b["invalid"][0]["field"]]' '[100, 0, 1, 102, "contact"]'
CT=text/csv call 422 POST /core/consents/import $'contact,when\na@b.co,now\n'
call 200 POST /core/consents/withdraw '{"contact": "'"$WHO"'", "reason": "smoke: asked not to be contacted"}'
expect 'len(b["consent_ids"])' 2
call 200 GET "/core/consents?contact=$WHO&state=withdrawn"
expect 'len(b)' 2
