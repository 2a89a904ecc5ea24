from ..storage import Collection
from .schemas import OfferEvidence, OfferPolicy, seed_policies

# Seeded for the 13 provinces: read as the seed until the first upsert writes them.
policies = Collection("offers", "policies", OfferPolicy, id_prefix="op", seed=seed_policies)
evidence = Collection("offers", "evidence", OfferEvidence, id_prefix="ev")
