from ..storage import Collection
from .schemas import Contract

contracts = Collection("contracts", "contracts", Contract, id_prefix="ct")
