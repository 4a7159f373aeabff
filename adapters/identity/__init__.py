"""Identity's storage: programmes, organisations, users and access tokens."""

from adapters.identity import mapping as identity_mapping
from adapters.identity import tables as identity_tables
from adapters.identity.directory import SqlDirectory
from adapters.identity.mapping import organisation_from_row, user_from_row

__all__ = ["SqlDirectory", "identity_mapping", "identity_tables", "organisation_from_row", "user_from_row"]
