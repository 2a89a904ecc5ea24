from ..storage import Collection
from .schemas import Document

documents = Collection("docs", "documents", Document, id_prefix="doc")
