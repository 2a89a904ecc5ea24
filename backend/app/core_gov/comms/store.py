from ..storage import Collection, Log, Singleton
from .schemas import DnclImport, Draft, IdentityFile, InboundMessage, SendLogEntry, Suppression

drafts = Collection("comms", "drafts", Draft, id_prefix="dr")
sendlog = Log("comms", "sendlog", SendLogEntry, id_prefix="sl")
suppressions = Collection("comms", "suppressions", Suppression, id_prefix="sup")
dncl_imports = Log("comms", "dncl_imports", DnclImport, id_prefix="dncl")
identity = Singleton("comms", "identity", IdentityFile, default=IdentityFile)
inbound = Log("comms", "inbound", InboundMessage, id_prefix="in")
