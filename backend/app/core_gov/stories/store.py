from ..storage import Collection
from .schemas import Episode, Template

templates = Collection("stories", "templates", Template, id_prefix="stt")
episodes = Collection("stories", "episodes", Episode, id_prefix="ste")
