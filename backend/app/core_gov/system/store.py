from ..storage import Singleton
from .schemas import StatusMark

status = Singleton("system", "status", StatusMark, default=StatusMark)
