from ..storage import Collection
from .schemas import OfferEvidence, OfferPolicy

policies = Collection("offers", "policies", OfferPolicy, id_prefix="op")
evidence = Collection("offers", "evidence", OfferEvidence, id_prefix="ev")
