from ..storage import Singleton
from .schemas import GoLiveState

state = Singleton("golive", "state", GoLiveState, default=GoLiveState)
