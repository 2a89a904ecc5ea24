from ..storage import Collection
from .schemas import Decision

decisions = Collection("governance", "decisions", Decision, id_prefix="gd")
