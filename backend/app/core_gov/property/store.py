from ..storage import Collection
from .schemas import CompsSet, NeighborhoodRating, Property, RepairRent

properties = Collection("property", "properties", Property, id_prefix="pr")
ratings = Collection("property", "ratings", NeighborhoodRating, id_prefix="nr")
comps = Collection("property", "comps", CompsSet, id_prefix="cs")
repair_rent = Collection("property", "repair_rent", RepairRent, id_prefix="rr")
