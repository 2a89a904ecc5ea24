from ..storage import Collection, Log
from .schemas import Handoff, Professional, Retainer, RetainerHours, Signal, Task

professionals = Collection("pros", "professionals", Professional, id_prefix="pro")
signals = Log("pros", "signals", Signal, id_prefix="sig")
retainers = Collection("pros", "retainers", Retainer, id_prefix="ret")
retainer_hours = Log("pros", "retainer_hours", RetainerHours, id_prefix="rh")
handoffs = Collection("pros", "handoffs", Handoff, id_prefix="ho")
tasks = Collection("pros", "tasks", Task, id_prefix="pt")
