"""Comments: who sees them (SHARED / INTERNAL / a provider still quoting), and the checks on uploads."""

from __future__ import annotations

import hashlib
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.common.errors import FileTooLarge, FileTypeNotAllowed, InvalidInput, PermissionDenied
from domain.orders.comments import (
    ALLOWED_CONTENT_TYPES,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS_PER_COMMENT,
    MAX_COMMENT_CHARS,
    CommentVisibility,
    Upload,
    check_upload,
    comment_audience,
    new_comment,
    safe_filename,
)
from domain.orders.events import EVERYONE, Audience, EventKind
from domain.orders.lifecycle import OrderStatus
from domain.orders.order import Order
from tests.domain.world import (
    FOREIGN_VENDOR,
    OTHER_PARTNER,
    OTHER_PROVIDER,
    PARTNER,
    PARTNER_2,
    PROVIDER,
    PROVIDER_2,
    VENDOR,
    World,
    committed,
    flat_fee_draft,
    make_world,
    quote_on,
    quoted_draft,
)

SHARED, INTERNAL = CommentVisibility.SHARED, CommentVisibility.INTERNAL
READERS = (PARTNER, PARTNER_2, OTHER_PARTNER, PROVIDER, PROVIDER_2, OTHER_PROVIDER, VENDOR, FOREIGN_VENDOR)


def approved(world: World) -> Order:
    order = flat_fee_draft(world)
    order.submit(world.actor(PARTNER), world.tick())
    order.approve(world.actor(VENDOR), world.tick())
    return committed(order)


def open_request(world: World) -> Order:
    order = quoted_draft(world)
    order.submit(world.actor(PARTNER), world.tick())
    return committed(order)


def readers(world: World, order: Order, audience: Audience) -> set[str]:
    """Who, among those who can see the order, the audience admits."""
    return {
        who
        for who in READERS
        if order.can_see(world.actor(who)) and audience.admits(world.actor(who), order.partner_id)
    }


BUYERS_AND_PROVIDER = {PARTNER, PARTNER_2, PROVIDER, PROVIDER_2, VENDOR}

# (order, author, visibility) -> who reads the comment
AUDIENCES: list[tuple[str, str, CommentVisibility, set[str]]] = [
    ("approved", PARTNER, SHARED, BUYERS_AND_PROVIDER),
    ("approved", PROVIDER, SHARED, BUYERS_AND_PROVIDER),
    ("approved", VENDOR, SHARED, BUYERS_AND_PROVIDER),
    ("approved", PARTNER, INTERNAL, {PARTNER, PARTNER_2}),
    ("approved", PROVIDER_2, INTERNAL, {PROVIDER, PROVIDER_2}),
    ("approved", VENDOR, INTERNAL, {VENDOR}),
    # on an open request, a candidate provider's shared comment reaches it and the buyer side only...
    ("open", PROVIDER, SHARED, {PROVIDER, PROVIDER_2, PARTNER, PARTNER_2, VENDOR}),
    ("open", OTHER_PROVIDER, SHARED, {OTHER_PROVIDER, PARTNER, PARTNER_2, VENDOR}),
    ("open", PROVIDER, INTERNAL, {PROVIDER, PROVIDER_2}),
    # ...while the partner's shared comment reaches every provider that may quote
    ("open", PARTNER, SHARED, {PARTNER, PARTNER_2, PROVIDER, PROVIDER_2, OTHER_PROVIDER, VENDOR}),
    ("open", PARTNER_2, INTERNAL, {PARTNER, PARTNER_2}),
]


@pytest.mark.parametrize(("state", "author", "visibility", "expected"), AUDIENCES)
def test_who_reads_a_comment(state: str, author: str, visibility: CommentVisibility, expected: set[str]) -> None:
    # given an order, when `author` comments with `visibility`, then exactly `expected` may read it
    world = make_world()
    order = approved(world) if state == "approved" else open_request(world)
    comment = new_comment(
        actor=world.actor(author), order=order, now=world.tick(), body="Hello", visibility=visibility, files=[]
    )
    assert comment.audience == comment_audience(world.actor(author), order, visibility)
    assert readers(world, order, comment.audience) == expected
    # and its event has the same audience
    [event] = comment.pull_events()
    assert event.kind is EventKind.COMMENT_ADDED
    assert event.audience == comment.audience
    assert event.subject_id == comment.id
    assert event.after == {"comment_id": str(comment.id), "visibility": visibility.value, "attachments": 0}
    assert (event.actor_user_id, event.occurred_at) == (world.users[author].id, world.now)
    assert comment.pull_events() == []


def test_audiences_as_data() -> None:
    world = make_world()
    order = open_request(world)
    provider = world.actor(PROVIDER)
    assert comment_audience(provider, order, SHARED) == Audience(org_id=provider.organisation_id, buyer_side=True)
    assert comment_audience(provider, order, INTERNAL) == Audience(org_id=provider.organisation_id)
    assert comment_audience(world.actor(PARTNER), order, SHARED) == EVERYONE


def test_a_candidate_providers_shared_comment_stays_between_it_and_the_buyer_after_another_wins() -> None:
    # given a shared comment by a provider while it was quoting
    world = make_world()
    order = open_request(world)
    comment = new_comment(
        actor=world.actor(OTHER_PROVIDER), order=order, now=world.tick(), body="Q?", visibility=SHARED, files=[]
    )
    # when the partner awards the order to the other provider, by accepting its quote
    quote = quote_on(order, world, PROVIDER)
    order.accept_quote(world.actor(PARTNER), world.tick(), quote.id, world.programme.quote_approval_threshold)
    assert order.provider_id == world.org_id(PROVIDER)
    # then the winner still does not read it (and the loser no longer sees the order at all)
    assert readers(world, order, comment.audience) == {PARTNER, PARTNER_2, VENDOR}


@pytest.mark.parametrize("who", [OTHER_PARTNER, OTHER_PROVIDER, FOREIGN_VENDOR])
def test_only_those_who_see_the_order_comment_on_it(who: str) -> None:
    world = make_world()
    order = approved(world)
    with pytest.raises(PermissionDenied):
        new_comment(actor=world.actor(who), order=order, now=world.tick(), body="Hi", visibility=SHARED, files=[])


def test_an_archived_order_takes_no_more_comments_but_a_cancelled_one_does() -> None:
    world = make_world()
    order = approved(world)
    order.cancel(world.actor(PARTNER), world.tick(), "Called off")
    new_comment(actor=world.actor(PARTNER), order=order, now=world.tick(), body="Why?", visibility=SHARED, files=[])
    order.archive(world.actor(PROVIDER), world.tick())
    assert order.status is OrderStatus.ARCHIVED
    with pytest.raises(PermissionDenied):
        new_comment(actor=world.actor(PARTNER), order=order, now=world.tick(), body="Hi", visibility=SHARED, files=[])


def pdf(name: str = "brief.pdf", size: int = 100) -> Upload:
    return Upload(name, b"%PDF-1.7" + b"x" * (size - 8), "application/pdf")


def test_a_comment_with_attachments() -> None:
    world = make_world()
    order = approved(world)
    upload = pdf("../../etc/brief.pdf", 1234)
    digest = hashlib.sha256(upload.data).hexdigest()
    comment = new_comment(
        actor=world.actor(PARTNER),
        order=order,
        now=world.tick(),
        body="  ",
        visibility=SHARED,
        files=[(upload, digest)],
    )
    assert comment.body == ""
    [attachment] = comment.attachments
    assert (attachment.filename, attachment.content_type, attachment.size, attachment.sha256) == (
        "brief.pdf",
        "application/pdf",
        1234,
        digest,
    )
    assert (attachment.comment_id, attachment.order_id, attachment.created_at) == (comment.id, order.id, world.now)
    [event] = comment.pull_events()
    assert event.after["attachments"] == 1


@pytest.mark.parametrize(
    ("body", "files", "error"),
    [
        ("   ", 0, InvalidInput),
        ("x" * (MAX_COMMENT_CHARS + 1), 0, InvalidInput),
        ("many", MAX_ATTACHMENTS_PER_COMMENT + 1, InvalidInput),
    ],
)
def test_comment_limits(body: str, files: int, error: type[Exception]) -> None:
    world = make_world()
    order = approved(world)
    uploads = [(pdf(f"{i}.pdf"), "0" * 64) for i in range(files)]
    with pytest.raises(error):
        new_comment(
            actor=world.actor(PARTNER), order=order, now=world.tick(), body=body, visibility=SHARED, files=uploads
        )


def test_the_most_attachments_a_comment_takes() -> None:
    world = make_world()
    order = approved(world)
    uploads = [(pdf(f"{i}.pdf"), "0" * 64) for i in range(MAX_ATTACHMENTS_PER_COMMENT)]
    comment = new_comment(
        actor=world.actor(PARTNER), order=order, now=world.tick(), body="", visibility=SHARED, files=uploads
    )
    assert len(comment.attachments) == MAX_ATTACHMENTS_PER_COMMENT


def test_a_bad_upload_is_refused_inside_new_comment_too() -> None:
    world = make_world()
    order = approved(world)
    with pytest.raises(FileTypeNotAllowed):
        new_comment(
            actor=world.actor(PARTNER),
            order=order,
            now=world.tick(),
            body="",
            visibility=SHARED,
            files=[(Upload("x.exe", b"MZ", "application/x-msdownload"), "0" * 64)],
        )


# ---- upload checks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", sorted(ALLOWED_CONTENT_TYPES))
def test_every_allowed_type_passes_up_to_5_mb(content_type: str) -> None:
    assert check_upload(Upload("f", b"x" * MAX_ATTACHMENT_BYTES, content_type)) == content_type


def test_the_limit_is_5_mb() -> None:
    assert MAX_ATTACHMENT_BYTES == 5 * 1024 * 1024


def test_one_byte_over_5_mb_is_too_large() -> None:
    with pytest.raises(FileTooLarge) as refused:
        check_upload(Upload("big.pdf", b"x" * (MAX_ATTACHMENT_BYTES + 1), "application/pdf"))
    assert refused.value.field == "attachments"
    assert refused.value.code.value == "FILE_TOO_LARGE"


def test_size_is_checked_before_type() -> None:
    with pytest.raises(FileTooLarge):
        check_upload(Upload("big.exe", b"x" * (MAX_ATTACHMENT_BYTES + 1), None))


@pytest.mark.parametrize(
    "detected",
    [None, "text/html", "image/svg+xml", "application/x-msdownload", "application/javascript", "APPLICATION/PDF", ""],
)
def test_types_not_on_the_list_or_unrecognised_are_refused(detected: str | None) -> None:
    # the type is judged by content (detected_type), never by the name: a .pdf name does not help
    with pytest.raises(FileTypeNotAllowed) as refused:
        check_upload(Upload("invoice.pdf", b"<html>", detected))
    assert refused.value.field == "attachments"
    assert refused.value.code.value == "FILE_TYPE_NOT_ALLOWED"
    assert ("unrecognised content" in refused.value.message) is (not detected)


def test_messages_name_the_file_safely() -> None:
    with pytest.raises(FileTypeNotAllowed, match=r"^passwd is unrecognised content"):
        check_upload(Upload("../../etc/passwd", b"root:x", None))


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("Report (final) v2.pdf", "Report (final) v2.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Desktop\\brief.docx", "brief.docx"),
        ("/abs/path/to/file.csv", "file.csv"),
        ("a\x00b.pdf", "a_b.pdf"),
        ("line\nbreak\r.txt", "line_break_.txt"),
        ("tab\there.txt", "tab_here.txt"),
        ("evil\u202etxt.exe", "evil_txt.exe"),  # right-to-left override
        ("résumé.pdf", "résumé.pdf"),
        ("a;b|c&d$e.pdf", "a_b_c_d_e.pdf"),
        (".htaccess", "htaccess"),
        ("..", "attachment"),
        ("", "attachment"),
        ("   ", "attachment"),
        ("dir/", "attachment"),
        ("x" * 300 + ".pdf", "x" * 120),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


NAMES = st.one_of(
    st.text(),
    st.lists(st.sampled_from(["a", "é", ".", " ", "/", "\\", "\x00", "\n", "\u202e", "..", "_"]), max_size=300).map(
        "".join
    ),
)


@given(NAMES)
def test_safe_filename_never_keeps_a_path_or_a_control_character(name: str) -> None:
    safe = safe_filename(name)
    assert 0 < len(safe) <= 120
    assert "/" not in safe and "\\" not in safe
    assert safe not in (".", "..")
    assert not safe.startswith((".", " "))
    assert all(unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp") for ch in safe)


@given(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=120))
def test_a_plain_name_is_kept_as_it_is(name: str) -> None:
    assert safe_filename(name) == name
