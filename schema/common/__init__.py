"""What every context's GraphQL layer shares: request context, loaders, IDs, cursors, errors, payloads, execution."""

from schema.common.caps import DIRECTORY_PAGE, After, DirectoryFirst, capped, directory_page, first_argument
from schema.common.context import AppPorts, AppQueries, AppUnitOfWork, Context, FreshOperation, LiveOptions
from schema.common.cost import CostPlan, CostRules, compile_cost, cost_plan
from schema.common.cost_limits import CostBudget, CostOptions, QueryCost, Throttle
from schema.common.cursors import ValueKind, decode_cursor, encode_cursor
from schema.common.enums import SortDirection
from schema.common.errors import (
    USER_ERROR_TYPES,
    AuthenticationError,
    ErrorCode,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    PublicError,
    PublicErrors,
    UserError,
    VersionConflictError,
    api_field,
    is_expected,
    log_errors,
    user_error_for,
    user_errors,
)
from schema.common.execution import FastPlainFieldExecutionContext, Projector
from schema.common.graphql_core_patch import apply as apply_graphql_core_patch
from schema.common.ids import decode_id, parse_global_id, to_global_id
from schema.common.loaders import AnyLoader, Loader
from schema.common.node import PERSONAL, Node
from schema.common.payloads import INPUT, attempt
from schema.common.selection import selects

__all__ = [
    "DIRECTORY_PAGE",
    "INPUT",
    "PERSONAL",
    "USER_ERROR_TYPES",
    "After",
    "AnyLoader",
    "AppPorts",
    "AppQueries",
    "AppUnitOfWork",
    "AuthenticationError",
    "Context",
    "CostBudget",
    "CostOptions",
    "CostPlan",
    "CostRules",
    "DirectoryFirst",
    "ErrorCode",
    "FastPlainFieldExecutionContext",
    "FreshOperation",
    "InputError",
    "LiveOptions",
    "Loader",
    "Node",
    "NotFoundError",
    "PermissionDeniedError",
    "Projector",
    "PublicError",
    "PublicErrors",
    "QueryCost",
    "SortDirection",
    "Throttle",
    "UserError",
    "ValueKind",
    "VersionConflictError",
    "api_field",
    "apply_graphql_core_patch",
    "attempt",
    "capped",
    "compile_cost",
    "cost_plan",
    "decode_cursor",
    "decode_id",
    "directory_page",
    "encode_cursor",
    "first_argument",
    "is_expected",
    "log_errors",
    "parse_global_id",
    "selects",
    "to_global_id",
    "user_error_for",
    "user_errors",
]
