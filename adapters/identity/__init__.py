"""Identity's storage: programmes, organisations, users and access tokens, and the directory's read side."""

from adapters.identity import mapping as identity_mapping
from adapters.identity import tables as identity_tables
from adapters.identity.directory import SqlDirectory
from adapters.identity.mapping import organisation_from_row, user_from_row
from adapters.identity.queries import (
    SqlIdentityQueries,
    directory_params,
    organisation_scope,
    user_columns,
    user_scope,
)

__all__ = [
    "SqlDirectory",
    "SqlIdentityQueries",
    "directory_params",
    "identity_mapping",
    "identity_tables",
    "organisation_from_row",
    "organisation_scope",
    "user_columns",
    "user_from_row",
    "user_scope",
]
