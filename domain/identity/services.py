"""Identity use cases: tokens in and out, and resolving a bearer token to an actor."""

from __future__ import annotations

from dataclasses import dataclass

from domain.common import Clock, InvalidCredentials, Ports, Unauthenticated
from domain.identity.model import (
    AccessToken,
    Actor,
    Organisation,
    User,
    new_token_secret,
    normalise_email,
    token_digest,
)
from domain.identity.ports import IdentityUnitOfWork, TokenHolders
from domain.identity.throttle import SignInThrottle


@dataclass(frozen=True, slots=True)
class SignIn:
    """A successful sign-in: the bearer token (its secret shown once) and who it signs in as."""

    secret: str
    token: AccessToken
    user: User
    actor: Actor


async def sign_in(ports: Ports[IdentityUnitOfWork], email: str, password: str, *, address: str | None = None) -> SignIn:
    """Exchange email and password for a new bearer token (returned once, stored hashed) and its actor.

    `address`: the client's address, which the throttle counts failures from (domain.identity.throttle). An
    attempt it refuses raises TooManyAttempts and is not checked at all; the others, one password
    verification whatever the email (an unknown one is verified against nothing), and no pooled connection
    held while it runs: the user is read in one unit of work, the token added in another.
    """
    throttle = SignInThrottle(ports.counters, ports.clock, ports.policy)
    normalised = normalise_email(email)
    attempt = await throttle.admit(normalised, address or "")
    async with ports.uow() as uow:
        user = await uow.directory.user_by_email(normalised)
        organisation = await uow.directory.organisation(user.organisation_id) if user else None
    stored = user.password_hash if user is not None and user.active and organisation is not None else None
    matched = await ports.passwords.verify(stored, password)  # no hash (None) never matches, at the same cost
    if not matched or user is None or organisation is None:
        await throttle.failed(attempt)
        raise InvalidCredentials("Email or password is wrong.", field="password")
    await throttle.succeeded(attempt)
    async with ports.uow() as uow:
        now = ports.clock.now()
        secret = new_token_secret()
        token = AccessToken(token_digest(secret), user.id, now, now + ports.policy.token_ttl)
        await uow.directory.add_token(token)
        await uow.commit()
    return SignIn(secret, token, user, _actor(user, organisation))


async def create_token(ports: Ports[IdentityUnitOfWork], email: str, password: str) -> tuple[str, AccessToken, User]:
    """Exchange email and password for a new bearer token (returned once, stored hashed)."""
    signed_in = await sign_in(ports, email, password)
    return signed_in.secret, signed_in.token, signed_in.user


async def revoke_token(ports: Ports[IdentityUnitOfWork], secret: str) -> bool:
    """Revoke a bearer token (announced after commit, see `Directory.revoke_token`); False: unknown or revoked."""
    async with ports.uow() as uow:
        revoked = await uow.directory.revoke_token(token_digest(secret), ports.clock.now())
        await uow.commit()
    return revoked


async def actor_for_token(tokens: TokenHolders, secret: str, clock: Clock) -> Actor:
    """The actor behind a live bearer token, looked up in `tokens` (the read side, or a directory)."""
    actor, _ = await bearer_for_token(tokens, secret, clock)
    return actor


async def bearer_for_token(tokens: TokenHolders, secret: str, clock: Clock) -> tuple[Actor, AccessToken]:
    """The actor behind a live bearer token and the token itself (when it expires, its digest)."""
    found = await tokens.token_holder(token_digest(secret))
    if found is None or not found[0].is_live(clock.now()):
        raise Unauthenticated("The access token is invalid or has expired; create a new one with tokenCreate.")
    token, user, org = found
    if not user.active:
        raise Unauthenticated("The access token's user is no longer active.")
    return _actor(user, org), token


def _actor(user: User, organisation: Organisation) -> Actor:
    return Actor(user.id, organisation.id, organisation.kind, user.role, organisation.programme_id)
