from ..storage import Collection, Singleton
from .schemas import RegressionPolicy, RegressionState

policies = Collection("regression", "policies", RegressionPolicy, id_prefix="rgp")
state = Singleton("regression", "state", RegressionState, default=RegressionState)
