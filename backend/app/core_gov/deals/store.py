from ..storage import Collection, Log
from .schemas import Activity, Deal

deals = Collection("deals", "deals", Deal, id_prefix="dl")
activities = Log("deals", "activities", Activity, id_prefix="act")
