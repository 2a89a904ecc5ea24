from ..storage import Collection, Log
from .schemas import Channel, Content, PublishEntry

channels = Collection("media", "channels", Channel, id_prefix="mch")
content = Collection("media", "content", Content, id_prefix="mct")
publish_log = Log("media", "publish_log", PublishEntry, id_prefix="pub")
