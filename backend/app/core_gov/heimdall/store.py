from ..storage import Collection, Log
from .schemas import HeimdallPolicy, Recommendation, Trial

policies = Collection("heimdall", "policies", HeimdallPolicy, id_prefix="hmp")
recommendations = Collection("heimdall", "recommendations", Recommendation, id_prefix="hmr")
trials = Log("heimdall", "trials", Trial, id_prefix="hmt")
