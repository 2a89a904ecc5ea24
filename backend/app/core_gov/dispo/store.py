from ..storage import Collection
from .schemas import Assignment, Buyer

buyers = Collection("dispo", "buyers", Buyer, id_prefix="dbuy")
assignments = Collection("dispo", "assignments", Assignment, id_prefix="asg")
