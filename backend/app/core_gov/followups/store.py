from ..storage import Collection
from .schemas import Task

tasks = Collection("followups", "tasks", Task, id_prefix="fu")
