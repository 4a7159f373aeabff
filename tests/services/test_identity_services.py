"""The token use cases in domain/identity/services, over the in-memory fakes: sign-in, expiry, revocation."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from domain.common.errors import InvalidCredentials, Unauthenticated
from domain.common.ports import Policy
from domain.identity import services as identity_services
from domain.identity.model import Actor, OrgKind, Role, token_digest
from tests.domain.world import PARTNER, PASSWORD, World
from tests.services.conftest import Scene
from tests.services.fakes import FakeStore, make_fakes

# ---- tokens ---------------------------------------------------------------------------------------------------


async def test_a_token_for_the_right_password(scene: Scene) -> None:
    secret, token, user = await identity_services.create_token(scene.ports, "  Partner@Example.TEST ", PASSWORD)
    assert user.id == scene.world.users[PARTNER].id
    assert token.digest == token_digest(secret) == hashlib.sha256(secret.encode()).hexdigest()
    assert (token.created_at, token.expires_at) == (scene.clock.now(), scene.clock.now() + timedelta(days=7))
    assert scene.store.tokens[token.digest] == token
    assert secret not in repr(scene.store.tokens)  # only the digest is kept
    async with scene.ports.uow() as uow:
        actor = await identity_services.actor_for_token(uow.directory, secret, scene.clock)
    assert actor == Actor(user.id, scene.world.org_id(PARTNER), OrgKind.PARTNER, Role.ADMIN, scene.world.programme.id)


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("partner@example.test", "wrong"),
        ("partner@example.test", ""),
        ("nobody@example.test", PASSWORD),
        ("inactive_provider@example.test", PASSWORD),
    ],
)
async def test_wrong_credentials_are_refused_the_same_way(scene: Scene, email: str, password: str) -> None:
    before = scene.store.snapshot()
    with pytest.raises(InvalidCredentials) as refused:
        await identity_services.create_token(scene.ports, email, password)
    assert (refused.value.message, refused.value.field) == ("Email or password is wrong.", "password")
    # a password is checked whether or not the user exists, so both failures take as long
    assert scene.fakes.passwords.verifications == 1
    assert scene.store.snapshot() == before


@pytest.mark.parametrize("email", ["partner@example.test", "nobody@example.test", "inactive_provider@example.test"])
async def test_every_sign_in_costs_one_verification_and_no_hash(scene: Scene, email: str) -> None:
    # given a count of the password work before
    passwords = scene.fakes.passwords
    hashes = passwords.hashes
    # when someone signs in with a known, an unknown or an inactive email (right password or not)
    with pytest.raises(InvalidCredentials):
        await identity_services.create_token(scene.ports, email, "wrong")
    if email == "partner@example.test":
        await identity_services.create_token(scene.ports, email, PASSWORD)
    # then each attempt was one verification and no hashing: the same work, so the same time, either way
    attempts = 2 if email == "partner@example.test" else 1
    assert (passwords.verifications, passwords.hashes - hashes) == (attempts, 0)


async def test_a_token_works_until_it_expires(world: World) -> None:
    store = FakeStore()
    store.seed(world)
    fakes = make_fakes(store, world.now, policy=Policy(token_ttl=timedelta(hours=1)))
    secret, token, _ = await identity_services.create_token(fakes.ports, "provider@example.test", PASSWORD)
    assert token.expires_at == world.now + timedelta(hours=1)
    fakes.clock.advance(minutes=59, seconds=59)
    async with fakes.ports.uow() as uow:
        assert (await identity_services.actor_for_token(uow.directory, secret, fakes.clock)).kind is OrgKind.PROVIDER
    fakes.clock.advance(seconds=1)
    async with fakes.ports.uow() as uow:
        with pytest.raises(Unauthenticated, match="expired"):
            await identity_services.actor_for_token(uow.directory, secret, fakes.clock)


async def test_a_revoked_token_no_longer_works_and_revoking_is_idempotent(scene: Scene) -> None:
    secret, token, _ = await identity_services.create_token(scene.ports, "vendor@example.test", PASSWORD)
    revoked_at = scene.clock.advance(minutes=5)
    assert await identity_services.revoke_token(scene.ports, secret)
    assert scene.store.tokens[token.digest].revoked_at == revoked_at
    scene.clock.advance(minutes=5)
    assert not await identity_services.revoke_token(scene.ports, secret)  # again: no change
    assert not await identity_services.revoke_token(scene.ports, "never-issued")  # unknown: no error
    assert scene.store.tokens[token.digest].revoked_at == revoked_at
    async with scene.ports.uow() as uow:
        with pytest.raises(Unauthenticated):
            await identity_services.actor_for_token(uow.directory, secret, scene.clock)


async def test_a_token_of_a_deactivated_user_or_an_unknown_token_does_not_authenticate(scene: Scene) -> None:
    secret, _, user = await identity_services.create_token(scene.ports, "partner_2@example.test", PASSWORD)
    async with scene.ports.uow() as uow:
        with pytest.raises(Unauthenticated):
            await identity_services.actor_for_token(uow.directory, "made-up", scene.clock)
    scene.store.users[user.id].active = False
    async with scene.ports.uow() as uow:
        with pytest.raises(Unauthenticated, match="no longer active"):
            await identity_services.actor_for_token(uow.directory, secret, scene.clock)


async def test_each_token_is_new(scene: Scene) -> None:
    first, _, _ = await identity_services.create_token(scene.ports, "partner@example.test", PASSWORD)
    second, _, _ = await identity_services.create_token(scene.ports, "partner@example.test", PASSWORD)
    assert first != second and len(scene.store.tokens) == 2
