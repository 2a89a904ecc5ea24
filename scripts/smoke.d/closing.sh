# closing: the dispo part's deal, its assignment fallen out, has a closing checklist that is not
# clear, and finalizing it is refused naming every blocker.
call 200 GET "/core/deals/$DISPO_DEAL/finalization"
expect '[b["can_close"], b["stage"], [i["key"] for i in b["items"] if not i["ok"]]]' '[false, "under_contract", ["purchase_contract_signed", "assignment_contract_signed", "title_acknowledged", "assignment_fee_recorded"]]'
call 409 POST "/core/deals/$DISPO_DEAL/finalize"
expect '[b["detail"]["code"], b["detail"]["blockers"][0]["key"]]' '["finalization_blocked", "stage_assigned"]'
