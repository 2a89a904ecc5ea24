from ..storage import Collection
from .schemas import MarketPolicy, seed_policies

# Seeded for the 13 provinces: read as the seed until the first upsert writes them.
policies = Collection("market", "policies", MarketPolicy, id_prefix="mkt", seed=seed_policies)
