from ..storage import Collection
from .schemas import Link, Partner

partners = Collection("jv", "partners", Partner, id_prefix="jvp")
links = Collection("jv", "links", Link, id_prefix="jvl")
