from ..storage import Collection
from .schemas import MarketPolicy

policies = Collection("market", "policies", MarketPolicy, id_prefix="mkt")
