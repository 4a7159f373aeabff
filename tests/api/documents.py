"""GraphQL documents shared by the API acceptance tests (lifecycle, concurrency, isolation, uploads, lists)."""

from __future__ import annotations

from collections.abc import Iterable

USER_ERROR_FIELDS = """
fragment UserErrorFields on UserError {
  __typename field message code
  ... on InvalidTransitionError { currentStatus requestedStatus allowedStatuses }
  ... on VersionConflictError { currentVersion }
}"""

ORDER_FIELDS = """
fragment OrderFields on Order {
  id number name campaignName activityType kind status priority version total
  providerNotes cancelReason rejected submittedAt lastActivityAt estimatedCompletion
  partner { id name } provider { id name } assignee { id }
  allowedTransitions { action status }
}"""

FLOW_ORDER_FIELDS = """
fragment OrderFields on Order {
  id status version total cancelReason rejected provider { id } allowedTransitions { action status }
}"""
"""What the flows helpers read back from each step (lighter than ORDER_FIELDS, so building orders is quick)."""

QUOTE_FIELDS = """
fragment QuoteFields on Quote { id status total message expiresOn decidedAt provider { id name } }"""


def _order_mutation(name: str, input_type: str, order_fields: str = ORDER_FIELDS) -> str:
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{"
        " order { ...OrderFields } userErrors { ...UserErrorFields } } }" + order_fields + USER_ERROR_FIELDS
    )


def _quote_mutation(name: str, input_type: str, order_fields: str = ORDER_FIELDS) -> str:
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{"
        " quote { ...QuoteFields } order { ...OrderFields } userErrors { ...UserErrorFields } } }"
        + QUOTE_FIELDS
        + order_fields
        + USER_ERROR_FIELDS
    )


ORDER_CREATE = _order_mutation("orderCreate", "OrderCreateInput")
ORDER_UPDATE = _order_mutation("orderUpdate", "OrderUpdateInput")
ORDER_SUBMIT = _order_mutation("orderSubmit", "OrderSubmitInput")
ORDER_APPROVE = _order_mutation("orderApprove", "OrderApproveInput")
ORDER_REJECT = _order_mutation("orderReject", "OrderRejectInput")
ORDER_STATUS_CHANGE = _order_mutation("orderStatusChange", "OrderStatusChangeInput")
ORDER_CANCEL = _order_mutation("orderCancel", "OrderCancelInput")
ORDER_ARCHIVE = _order_mutation("orderArchive", "OrderArchiveInput")
ORDER_ASSIGN = _order_mutation("orderAssign", "OrderAssignInput")
QUOTE_SUBMIT = _quote_mutation("quoteSubmit", "QuoteSubmitInput")
QUOTE_DECLINE = _quote_mutation("quoteDecline", "QuoteDeclineInput")
QUOTE_ACCEPT = _quote_mutation("quoteAccept", "QuoteAcceptInput")
QUOTE_REJECT = _quote_mutation("quoteReject", "QuoteRejectInput")

COMMENT_CREATE = (
    """
mutation($input: CommentCreateInput!) {
  commentCreate(input: $input) {
    comment {
      id body visibility author { id }
      attachments { id filename contentType size sha256 url }
    }
    userErrors { ...UserErrorFields }
  }
}"""
    + USER_ERROR_FIELDS
)

# Every mutation's name -> its document (the order mutations return `order`, the quote ones also `quote`).
MUTATIONS = {
    "orderCreate": ORDER_CREATE,
    "orderUpdate": ORDER_UPDATE,
    "orderSubmit": ORDER_SUBMIT,
    "orderApprove": ORDER_APPROVE,
    "orderReject": ORDER_REJECT,
    "orderStatusChange": ORDER_STATUS_CHANGE,
    "orderCancel": ORDER_CANCEL,
    "orderArchive": ORDER_ARCHIVE,
    "orderAssign": ORDER_ASSIGN,
    "quoteSubmit": QUOTE_SUBMIT,
    "quoteDecline": QUOTE_DECLINE,
    "quoteAccept": QUOTE_ACCEPT,
    "quoteReject": QUOTE_REJECT,
    "commentCreate": COMMENT_CREATE,
}

FLOW_MUTATIONS = {
    name: (_quote_mutation if name.startswith("quote") else _order_mutation)(
        name, f"{name[0].upper()}{name[1:]}Input", FLOW_ORDER_FIELDS
    )
    for name in MUTATIONS
    if name != "commentCreate"
}
"""The mutations again, reading back FLOW_ORDER_FIELDS: what flows.py builds orders with."""

ORDER = (
    """
query($id: ID!) { order(id: $id) { ...OrderFields } }"""
    + ORDER_FIELDS
)

ORDER_DETAIL = (
    """
query($id: ID!) {
  order(id: $id) {
    ...OrderFields
    quotes { ...QuoteFields }
    comments {
      id body visibility author { id }
      attachments { id filename contentType size sha256 url }
    }
    latestComment { id body visibility }
    activity { id kind before after actor { id } }
  }
}"""
    + ORDER_FIELDS
    + QUOTE_FIELDS
)

NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Order { status version providerNotes comments { id body } }
  }
}"""

NODES = """
query($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename id
    ... on Order { status version providerNotes comments { id body } }
  }
}"""

ORDERS = """
query(
  $search: String, $filter: OrderFilterInput, $sortBy: OrderSortInput,
  $first: Int, $after: String, $last: Int, $before: String
) {
  orders(search: $search, filter: $filter, sortBy: $sortBy, first: $first, after: $after, last: $last,
         before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node {
        id number name campaignName activityType status version providerNotes
        submittedAt lastActivityAt estimatedCompletion
        partner { id name } provider { id name } partnerContact { id name } assignee { id }
        latestComment { id body }
      }
    }
  }
}"""

ORDER_STATUS_COUNTS = """
query($search: String, $filter: OrderFilterInput) {
  orderStatusCounts(search: $search, filter: $filter) { status count }
}"""

VIEWER_COLLEAGUES = "{ viewer { user { id } organisation { id } colleagues { id email } } }"


# ---- the lifecycle matrix: every move one member may try, in one request of aliased mutations ------

MATRIX_STATUSES = (
    "DRAFT",
    "PENDING_QUOTES",
    "PENDING_APPROVAL",
    "APPROVED",
    "NOT_STARTED",
    "IN_PROGRESS",
    "WAITING_FOR_PARTNER",
    "SCHEDULED",
    "EXECUTING",
    "COMPLETE",
    "CANCELLED",
    "ARCHIVED",
)
MATRIX_REASON = "Matrix"
_LEAN_ERRORS = """
fragment LeanErrors on UserError {
  __typename field code
  ... on InvalidTransitionError { currentStatus requestedStatus allowedStatuses }
}"""
_LEAN_RESULT = "{ order { status version } userErrors { ...LeanErrors } }"

MATRIX_MOVES: dict[str, tuple[str, str | None]] = {
    **{f"to_{status}": ("orderStatusChange", status) for status in MATRIX_STATUSES},
    "submit": ("orderSubmit", None),
    "approve": ("orderApprove", None),
    "reject": ("orderReject", None),
    "cancel": ("orderCancel", None),
    "archive": ("orderArchive", None),
}
"""Every lifecycle move the matrix tries: alias -> (mutation, requested status for orderStatusChange)."""


def _matrix_field(alias: str, mutation: str, status: str | None) -> str:
    extra = f", status: {status}" if status else ""
    if mutation in ("orderReject", "orderCancel"):
        extra = f', reason: "{MATRIX_REASON}"'
    return f"{alias}: {mutation}(input: {{id: $id{extra}}}) {_LEAN_RESULT}"


def lifecycle_moves(aliases: Iterable[str]) -> str:
    """The moves of MATRIX_MOVES named by `aliases` on one order, as aliased mutations run in turn."""
    fields = [_matrix_field(alias, *MATRIX_MOVES[alias]) for alias in aliases]
    return "mutation($id: ID!) {\n" + "\n".join(fields) + "\n}" + _LEAN_ERRORS


LIFECYCLE_MOVE = {
    mutation: f"mutation($input: {mutation[0].upper()}{mutation[1:]}Input!) "
    f"{{ {mutation}(input: $input) {_LEAN_RESULT} }}" + _LEAN_ERRORS
    for mutation in ("orderStatusChange", "orderSubmit", "orderApprove", "orderReject", "orderCancel", "orderArchive")
}
"""One lifecycle move with the lean result the matrix reads."""

ALLOWED_TRANSITIONS = "query($id: ID!) { order(id: $id) { status version allowedTransitions { action status } } }"


# ---- isolation: everything one member can read about one order, and many refused changes at once ---

ISOLATION_READ = (
    """
query($id: ID!, $search: String!) {
  order(id: $id) {
    ...OrderFields
    quotes { ...QuoteFields }
    comments { id body visibility attachments { id sha256 url } }
    latestComment { id body visibility attachments { id } }
    activity { id kind before after actor { id } }
  }
  node(id: $id) {
    __typename id
    ... on Order { status providerNotes comments { id body } latestComment { id body } quotes { id } }
  }
  orders(search: $search, filter: {archived: null}, first: 10) {
    totalCount
    edges { node { id providerNotes latestComment { id body } quotes { id } } }
  }
  orderStatusCounts(search: $search, filter: {archived: null}) { status count }
}"""
    + ORDER_FIELDS
    + QUOTE_FIELDS
)
"""order, node, orders (searched by the order's unique name) and orderStatusCounts, in one request.

The search matches one order, so a page of 10 holds every match; a page of 100 with each order's
quotes would cost more than a request may (README: Query cost)."""

_INPUT_TYPES = {name: f"{name[0].upper()}{name[1:]}Input" for name in MUTATIONS}


def refusal_batch(cases: Iterable[tuple[str, str]]) -> str:
    """(alias, mutation) pairs as one document; each alias takes its input from the variable of its name."""
    cases = list(cases)
    variables = ", ".join(f"${alias}: {_INPUT_TYPES[mutation]}!" for alias, mutation in cases)
    fields = "\n".join(
        f"{alias}: {mutation}(input: ${alias}) {{ {'comment' if mutation == 'commentCreate' else 'order'} {{ id }}"
        " userErrors { __typename code field message } }"
        for alias, mutation in cases
    )
    return f"mutation({variables}) {{\n{fields}\n}}"
