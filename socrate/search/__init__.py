"""Search over a tenant's ready documents, in the database.

``service`` answers queries; ``store`` writes the rows they read; ``fusion`` and ``snippets`` are the
pure parts (scores, cut-offs, highlighted snippets); ``reindex`` fills the rows for documents encoded
before search moved into the database.
"""

from socrate.search.service import MAX_K, Hit, SearchResponse, search, validate

__all__ = ["MAX_K", "Hit", "SearchResponse", "search", "validate"]
