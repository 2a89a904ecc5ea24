from ..storage import Collection, Log
from .schemas import Consent, Withdrawal

consents = Collection("consent", "consents", Consent, id_prefix="cn")
withdrawals = Log("consent", "withdrawals", Withdrawal, id_prefix="wd")
