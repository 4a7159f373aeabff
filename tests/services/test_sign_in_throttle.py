"""Sign-in throttling (domain/identity/throttle), through the sign-in service over the fakes and a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.common.errors import InvalidCredentials, TooManyAttempts
from domain.common.ports import Policy
from domain.identity import services as identity_services
from domain.identity.throttle import MAX_LOCKOUT, lockout
from tests.domain.world import PASSWORD, World
from tests.services.conftest import Scene
from tests.services.fakes import Fakes, FakeStore, make_fakes

PARTNER_EMAIL, UNKNOWN_EMAIL = "partner@example.test", "nobody@example.test"
HERE, THERE = "198.51.100.7", "203.0.113.9"


async def sign_in(scene: Scene, email: str, password: str, address: str = HERE) -> None:
    await identity_services.sign_in(scene.ports, email, password, address=address)


async def fail(scene: Scene, times: int, email: str = PARTNER_EMAIL, address: str = HERE) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            await sign_in(scene, email, "wrong", address)


async def refused(scene: Scene, email: str = PARTNER_EMAIL, address: str = HERE) -> TooManyAttempts:
    with pytest.raises(TooManyAttempts) as refusal:
        await sign_in(scene, email, PASSWORD, address)
    return refusal.value


@pytest.mark.parametrize("email", [PARTNER_EMAIL, UNKNOWN_EMAIL])
async def test_the_eleventh_attempt_within_a_minute_is_refused_unchecked(scene: Scene, email: str) -> None:
    # given ten wrong passwords for one email from one address within a minute (across a minute of the clock),
    # each checked and refused as wrong
    scene.clock.advance(seconds=60 - scene.clock.now().timestamp() % 60 - 20)
    for _ in range(10):
        await fail(scene, 1, email)
        scene.clock.advance(seconds=5)
    assert scene.fakes.passwords.verifications == 10
    # when the eleventh attempt comes, with the right password
    refusal = await refused(scene, email)
    # then it is refused without its password being checked, saying when to retry (a minute after the 10th)
    assert scene.fakes.passwords.verifications == 10
    assert (refusal.code.value, refusal.retry_after) == ("TOO_MANY_ATTEMPTS", 55)
    assert refusal.message == "Too many failed sign-in attempts; try again in 55 seconds."


async def test_a_throttled_known_email_is_answered_as_an_unknown_one(scene: Scene) -> None:
    answers = []
    for email in (PARTNER_EMAIL, UNKNOWN_EMAIL):
        await fail(scene, 10, email)
        refusal = await refused(scene, email)
        answers.append((type(refusal), refusal.message, refusal.field, refusal.retry_after))
    assert answers[0] == answers[1]


async def test_after_the_lockout_the_right_password_works_again(scene: Scene) -> None:
    await fail(scene, 10)
    scene.clock.advance(seconds=59)
    assert (await refused(scene)).retry_after == 1
    scene.clock.advance(seconds=1)
    await sign_in(scene, PARTNER_EMAIL, PASSWORD)


async def test_each_lockout_is_twice_as_long_as_the_last_up_to_a_maximum(scene: Scene) -> None:
    # given an attacker who tries ten passwords each time the lockout ends
    waits = []
    for _ in range(7):
        await fail(scene, 10)
        wait = (await refused(scene)).retry_after
        waits.append(wait)
        scene.clock.advance(seconds=wait)
    # then each wait doubles, to at most MAX_LOCKOUT
    assert waits == [60, 120, 240, 480, 900, 900, 900]
    assert lockout(5) == lockout(50) == MAX_LOCKOUT == timedelta(minutes=15)


async def test_a_success_forgets_the_emails_failures_and_strikes(scene: Scene) -> None:
    # given a user locked out once by their own typos, then nine more, then signing in
    await fail(scene, 10)
    scene.clock.advance(minutes=1)
    await fail(scene, 9)
    await sign_in(scene, PARTNER_EMAIL, PASSWORD)
    # then ten more typos are allowed, and the lockout after them is the first one's again
    await fail(scene, 10)
    assert (await refused(scene)).retry_after == 60


async def test_one_address_does_not_lock_a_user_out_elsewhere(scene: Scene) -> None:
    # given an attacker's address locked out of the partner's email
    await fail(scene, 10, address=HERE)
    await refused(scene, address=HERE)
    # then the partner still signs in from another address, and other emails from the attacker's address work
    await sign_in(scene, PARTNER_EMAIL, PASSWORD, address=THERE)
    await sign_in(scene, "vendor@example.test", PASSWORD, address=HERE)


async def test_an_email_fails_at_most_five_times_as_often_from_all_addresses_together(scene: Scene) -> None:
    # given ten failures for one email from each of five addresses within a minute
    for n in range(5):
        await fail(scene, 10, address=f"192.0.2.{n}")
    # then the email is refused from any address, for a minute
    assert (await refused(scene, address="192.0.2.99")).retry_after == 60
    assert scene.fakes.passwords.verifications == 50


def scene_with(world: World, policy: Policy) -> Scene:
    store = FakeStore()
    store.seed(world)
    fakes: Fakes = make_fakes(store, world.now, policy=policy)
    return Scene(world, fakes)


async def test_an_address_is_limited_whatever_the_emails(world: World) -> None:
    scene = scene_with(world, Policy(sign_in_failures_per_address=30))
    # given 30 failures from one address, each for another (unknown) email
    for n in range(30):
        await fail(scene, 1, email=f"guess{n}@example.test")
    # then the address is refused whatever the email, and other addresses are not
    await refused(scene, email="guess-next@example.test")
    await refused(scene, email=PARTNER_EMAIL)
    await sign_in(scene, PARTNER_EMAIL, PASSWORD, address=THERE)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff:abcd:1:2"),  # one IPv6 /64: one subscriber
        ("192.0.2.10", "::ffff:192.0.2.10"),  # an IPv4 address, also written as IPv6
    ],
)
async def test_the_addresses_of_one_ipv6_network_count_as_one(world: World, first: str, second: str) -> None:
    scene = scene_with(world, Policy(sign_in_failures_per_address=4))
    # given an address's limit failed from two addresses of one subscriber
    await fail(scene, 2, email=UNKNOWN_EMAIL, address=first)
    await fail(scene, 2, email="another@example.test", address=second)
    # then both are refused, and the next /64 (or address) is not
    await refused(scene, address=first)
    await refused(scene, address=second)
    await sign_in(scene, PARTNER_EMAIL, PASSWORD, address="2001:db8:1:3::1")


async def test_successes_do_not_clear_an_addresss_failures(world: World) -> None:
    scene = scene_with(world, Policy(sign_in_failures_per_address=3))
    # given an address with two failures, then many successful sign-ins from it (each for its own count only)
    await fail(scene, 2, email=UNKNOWN_EMAIL)
    for _ in range(5):
        await sign_in(scene, PARTNER_EMAIL, PASSWORD)
    # when it fails once more: its third failure in the minute
    await fail(scene, 1, email="someone@example.test")
    # then the address is locked out
    await refused(scene, email="vendor@example.test")


async def test_a_refused_attempt_is_not_counted(scene: Scene) -> None:
    # given an email locked out, and the attacker going on trying during the lockout
    await fail(scene, 10)
    for _ in range(30):
        await refused(scene)
    # then the lockout is not extended: a minute after the tenth failure the right password works
    scene.clock.advance(minutes=1)
    await sign_in(scene, PARTNER_EMAIL, PASSWORD)
