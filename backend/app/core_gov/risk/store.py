from ..storage import Collection, Log
from .schemas import LedgerDay, Reservation, RiskEvent, RiskPolicy

policies = Collection("risk", "policies", RiskPolicy, id_prefix="rp")
ledger = Collection("risk", "ledger", LedgerDay, id_prefix="rl")
reservations = Collection("risk", "reservations", Reservation, id_prefix="rsv")
events = Log("risk", "events", RiskEvent, id_prefix="rev")
