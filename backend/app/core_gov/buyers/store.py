from ..storage import Log
from .schemas import Feedback

feedback = Log("buyers", "feedback", Feedback, id_prefix="bf")
