from ..storage import Log
from .schemas import KpiEvent

events = Log("kpi", "events", KpiEvent, id_prefix="kpe")
