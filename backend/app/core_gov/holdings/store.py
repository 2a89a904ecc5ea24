from ..storage import Collection
from .schemas import Holding

holdings = Collection("holdings", "holdings", Holding, id_prefix="hld")
