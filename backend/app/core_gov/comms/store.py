from array import array
from functools import partial

from ..storage import Collection, Log, Singleton, TextFile
from .schemas import (
    CA_AREA_CODES, DnclCopies, DnclImport, Draft, IdentityFile, InboundMessage, SendLogEntry, Suppression, parse_dncl_copy,
    unpack_dncl_copy,
)

drafts = Collection("comms", "drafts", Draft, id_prefix="dr")
sendlog = Log("comms", "sendlog", SendLogEntry, id_prefix="sl")
suppressions = Collection("comms", "suppressions", Suppression, id_prefix="sup")
identity = Singleton("comms", "identity", IdentityFile, default=IdentityFile)
inbound = Log("comms", "inbound", InboundMessage, id_prefix="in")
# The National DNCL: one sorted copy per area code (comms/dncl/416.txt), what each copy is
# (comms/dncl.json), and the imports that wrote them.
dncl_lists = {
    area: TextFile("comms", f"dncl/{area}", parse=partial(parse_dncl_copy, area), packed=(array.tobytes, partial(unpack_dncl_copy, area)))
    for area in CA_AREA_CODES
}
dncl_copies = Singleton("comms", "dncl", DnclCopies, default=DnclCopies)
dncl_imports = Log("comms", "dncl_imports", DnclImport, id_prefix="dncl")
