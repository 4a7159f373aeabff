"""Planning a demo order's story: every random choice is made here, before any step runs."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.orders import (
    CommentVisibility,
    CreateOrder,
    Line,
    OrderKind,
    OrderStatus,
    Priority,
    Service,
    approve_order,
    archive_order,
    submit_order,
)
from ordergraph.demo.cast import SPECIALTIES
from ordergraph.demo.script import (
    ACTIVITIES,
    CITIES,
    END_CUSTOMERS,
    EVENT_LIKE,
    FIRST_NAMES,
    HISTORY_DAYS,
    IDLE_DAYS,
    LAST_NAMES,
    LINE_ITEMS,
    PRODUCTS,
    PROGRESS,
    QUOTE_RANGE,
    SAY,
    SHOWS,
    STATUS_WEIGHTS,
    THEMES,
    TOPICS,
    WORK_PATH,
)
from ordergraph.demo.steps import Cast, Org, Person, Plan, Steps

S = OrderStatus
SHARED = CommentVisibility.SHARED
INTERNAL = CommentVisibility.INTERNAL


class Planner:
    """Plans each order's story as steps (made by `steps`), every choice drawn from `rng`."""

    def __init__(self, cast: Cast, steps: Steps, rng: random.Random) -> None:
        self.steps = steps
        self.rng = rng
        self.vendor = cast.vendor
        self.partners = cast.partners
        self.providers = cast.providers
        self.services = cast.services

    def targets(self, count: int) -> list[tuple[OrderStatus, OrderKind]]:
        """Every status at least once (both kinds where it applies), the rest by weight, shuffled."""
        rng = self.rng
        statuses = list(OrderStatus)
        chosen = statuses[:count] if count < len(statuses) else statuses
        weights = [STATUS_WEIGHTS[s] for s in statuses]
        chosen = chosen + rng.choices(statuses, weights=weights, k=max(0, count - len(chosen)))
        pairs: list[tuple[OrderStatus, OrderKind]] = []
        for index, status in enumerate(chosen):
            if status is S.PENDING_QUOTES:
                kind = OrderKind.QUOTED
            elif index < len(statuses):  # the guaranteed ones alternate, so both kinds occur
                kind = OrderKind.FLAT_FEE if index % 2 == 0 else OrderKind.QUOTED
            else:
                kind = rng.choice((OrderKind.QUOTED, OrderKind.FLAT_FEE))
            pairs.append((status, kind))
        rng.shuffle(pairs)
        return pairs

    def plan(self, index: int, target: OrderStatus, kind: OrderKind, end: datetime) -> Plan:
        """One order's story, from its creation by a partner user to `target`, scheduled to end before `end`."""
        rng = self.rng
        plan = Plan(index, target, kind, requested_in_days=rng.randint(25, 75))
        partner = rng.choice(self.partners)
        buyer = rng.choice(partner.people)
        contact = rng.choice(partner.people)
        service: Service | None = None
        named_provider: Org | None = None
        if kind is OrderKind.FLAT_FEE:
            service, named_provider = rng.choice(self.services)
            activity = service.activity_type
        else:
            activity = rng.choice(ACTIVITIES)
            if rng.random() < 0.2:
                named_provider = rng.choice(self._specialists(activity))
        order_name = self._order_name(activity)
        product, theme = rng.choice(PRODUCTS), rng.choice(THEMES)
        end_customer = rng.choice(END_CUSTOMERS) if rng.random() < 0.35 else ""
        po_number = f"PO-{rng.randint(10000, 99999)}" if rng.random() < 0.6 else ""

        def command() -> CreateOrder:  # built when it runs: the campaign is named after the quarter it starts in
            quarter = (plan.times[0].month - 1) // 3 + 1
            return CreateOrder(
                kind=kind,
                name=order_name,
                campaign_name=f"Q{quarter} {plan.times[0].year} {product} {theme}",
                activity_type=activity,
                provider_id=named_provider.org.id if named_provider and service is None else None,
                service_id=service.id if service else None,
                partner_contact_id=contact.user.id,
                end_customer=end_customer,
                requested_completion=plan.requested,
                po_number=po_number,
                po_not_required=not po_number,
            )

        plan.then(self.steps.create(plan, buyer, command))
        if rng.random() < 0.2:
            priority = rng.choice((Priority.HIGH, Priority.HIGH, Priority.URGENT, Priority.LOW))
            plan.then(self.steps.update(plan, buyer, lambda: {"priority": priority}))

        goal = target
        cancel_at: str | None = None
        if target is S.ARCHIVED:
            goal = S.CANCELLED if rng.random() < 0.3 else S.COMPLETE
        if goal is S.CANCELLED:
            cancel_at = rng.choice(("draft", "pending", "pending", "rejected", "released", "released"))

        self._maybe_comment(plan, 0.15, buyer, SAY["partner_draft"], INTERNAL)
        if goal is S.DRAFT:
            return self._schedule(plan, end)
        if cancel_at == "draft":
            plan.then(self.steps.cancel(plan, buyer, rng.choice(SAY["cancel"])))
            return self._finish(plan, goal, target, released=False, provider=None, end=end)
        plan.then(self.steps.simple(plan, buyer, submit_order))
        self._maybe_comment(plan, 0.3, buyer, SAY["brief"], SHARED)
        self._maybe_comment(plan, 0.08, self._someone(self.vendor), SAY["vendor_internal"], INTERNAL)

        provider: Org | None = named_provider
        if kind is OrderKind.QUOTED:
            provider, stopped = self._quoting(plan, buyer, activity, named_provider, goal, cancel_at)
            if stopped:
                released = cancel_at == "rejected"
                return self._finish(plan, goal, target, released=released, provider=provider, end=end)
        else:
            if goal is S.PENDING_APPROVAL:
                return self._schedule(plan, end)
            if cancel_at == "pending":
                who = rng.choice((buyer, self._someone(self.vendor)))
                plan.then(self.steps.cancel(plan, who, rng.choice(SAY["cancel"])))
                return self._finish(plan, goal, target, released=False, provider=provider, end=end)
            vendor_user = self._someone(self.vendor)
            if cancel_at == "rejected":
                plan.then(self.steps.reject(plan, vendor_user, rng.choice(SAY["vendor_reject"])))
                return self._finish(plan, goal, target, released=False, provider=provider, end=end)
            plan.then(self.steps.simple(plan, vendor_user, approve_order))
            self._maybe_comment(plan, 0.15, vendor_user, SAY["vendor_approved"], SHARED)
        if provider is None:
            raise RuntimeError("an approved order without a provider")
        self._working(plan, partner, provider, goal, cancel_at, activity)
        return self._finish(plan, goal, target, released=True, provider=provider, end=end)

    def _quoting(
        self,
        plan: Plan,
        buyer: Person,
        activity: str,
        named: Org | None,
        goal: OrderStatus,
        cancel_at: str | None,
    ) -> tuple[Org | None, bool]:
        """Quotes, declines and the partner's decision; returns the provider chosen and whether the story ends."""
        rng = self.rng
        candidates = [named] if named else rng.sample(self.providers, len(self.providers))
        stop_in_quotes = goal is S.PENDING_QUOTES or cancel_at == "pending"
        needs_approval = goal is S.PENDING_APPROVAL or cancel_at == "rejected"
        if not stop_in_quotes and not needs_approval:
            needs_approval = rng.random() < 0.2
        if named is not None and not stop_in_quotes and not needs_approval and rng.random() < 0.5:
            # "Sometimes a quote is not provided and the order is accepted and processed without it":
            # only a request addressed to one provider (an open one is awarded through a quote).
            self._maybe_comment(plan, 0.5, self._someone(named), SAY["question"], SHARED)
            plan.then(self.steps.simple(plan, self._someone(named), approve_order))
            return named, False

        winner: Org | None = None
        if not stop_in_quotes:
            winner = rng.choice([c for c in candidates if activity in SPECIALTIES[c.name]] or candidates)
        low, high = QUOTE_RANGE[activity]
        amount = rng.uniform(16_000, 32_000) if needs_approval else rng.uniform(low, high)
        quoted: list[Org] = []
        for candidate in candidates:
            specialist = activity in SPECIALTIES[candidate.name]
            if candidate is winner:
                choice = "quote"
            else:
                roll = rng.random()
                if specialist:
                    choice = "quote" if roll < 0.6 else "decline" if roll < 0.75 else "silent"
                else:
                    choice = "quote" if roll < 0.15 else "decline" if roll < 0.7 else "silent"
            if choice == "silent":
                continue
            person = self._someone(candidate)
            if rng.random() < 0.25:
                self._maybe_comment(plan, 1.0, person, SAY["question"], SHARED)
            if choice == "decline":
                plan.then(self.steps.decline(plan, person, rng.choice(SAY["decline"])))
                continue
            value = amount if candidate is winner else amount * rng.uniform(0.85, 1.4)
            lines = self._lines(activity, value)
            message = rng.choice(SAY["quote_message"])
            promised_in = rng.randint(-3, 14)
            plan.then(self.steps.quote(plan, person, lines, message, promised_in))
            quoted.append(candidate)

        losers = [c for c in quoted if c is not winner]
        if losers and rng.random() < (0.4 if winner else 0.2):
            loser = rng.choice(losers)
            plan.then(self.steps.reject_quote(plan, buyer, loser, rng.choice(SAY["reject_quote"])))
        if stop_in_quotes:
            if cancel_at == "pending":
                who = rng.choice((buyer, self._someone(self.vendor)))
                plan.then(self.steps.cancel(plan, who, rng.choice(SAY["cancel"])))
            return None, True
        if winner is None:
            raise RuntimeError("a quoted order goes on without a winning quote")
        plan.accept_step = plan.then(self.steps.accept_quote(plan, buyer, winner))
        if needs_approval:
            if goal is S.PENDING_APPROVAL:
                return winner, True
            vendor_user = self._someone(self.vendor)
            if cancel_at == "rejected":
                plan.then(self.steps.reject(plan, vendor_user, rng.choice(SAY["vendor_reject"])))
                return winner, True
            plan.then(self.steps.simple(plan, vendor_user, approve_order))
            self._maybe_comment(plan, 0.2, vendor_user, SAY["vendor_approved"], SHARED)
        return winner, False

    def _working(
        self, plan: Plan, partner: Org, provider: Org, goal: OrderStatus, cancel_at: str | None, activity: str
    ) -> None:
        """From APPROVED: the provider takes the order on and works it up to `goal`."""
        rng = self.rng
        self._maybe_comment(plan, 0.3, self._someone(provider), SAY["kickoff"], SHARED)
        if cancel_at == "released":
            if rng.random() < 0.5:
                plan.then(self.steps.change(plan, self._someone(provider), S.NOT_STARTED))
            if rng.random() < 0.6:
                plan.then(self.steps.cancel(plan, self._someone(provider), rng.choice(SAY["provider_cancel"])))
            else:
                who = rng.choice((self._someone(partner), self._someone(self.vendor)))
                plan.then(self.steps.cancel(plan, who, rng.choice(SAY["cancel"])))
            return
        if goal is S.APPROVED:
            if rng.random() < 0.5:
                plan.then(self.steps.assign(plan, provider.admin, self._someone(provider)))
            return
        plan.then(self.steps.change(plan, self._someone(provider), S.NOT_STARTED))
        if rng.random() < 0.85:
            plan.then(self.steps.assign(plan, provider.admin, self._someone(provider)))
        owner = self._someone(provider)
        estimated_in = rng.randint(-5, 10)
        planned_before = rng.randint(0, 3)
        notes = rng.choice(SAY["provider_notes"]) if rng.random() < 0.6 else ""

        def provider_fields() -> dict[str, Any]:
            estimated = plan.requested + timedelta(days=estimated_in)
            changes: dict[str, Any] = {
                "estimated_completion": estimated,
                "planned_completion": estimated - timedelta(days=planned_before),
                "owner_id": owner.user.id,
            }
            if notes:
                changes["provider_notes"] = notes
            return changes

        plan.then(self.steps.update(plan, self._someone(provider), provider_fields))
        if goal is S.NOT_STARTED:
            return

        path = list(WORK_PATH)
        if goal is not S.WAITING_FOR_PARTNER:
            if rng.random() < 0.3:  # a detour: waiting for the partner, then back to work
                path.insert(path.index(S.WAITING_FOR_PARTNER) + 1, S.IN_PROGRESS)
            else:
                path.remove(S.WAITING_FOR_PARTNER)
        if activity not in EVENT_LIKE and goal is not S.SCHEDULED and rng.random() < 0.5:
            path.remove(S.SCHEDULED)
        path = path[: len(path) - path[::-1].index(goal)]
        previous = S.NOT_STARTED
        for status in path:
            if previous is S.WAITING_FOR_PARTNER:
                self._maybe_comment(plan, 0.6, self._someone(partner), SAY["reply"], SHARED)
            previous = status
            plan.then(self.steps.change(plan, self._someone(provider), status))
            if status is S.WAITING_FOR_PARTNER:
                self._maybe_comment(plan, 0.8, self._someone(provider), SAY["waiting"], SHARED)
            elif status is S.IN_PROGRESS:
                self._maybe_comment(plan, 0.25, self._someone(provider), SAY["provider_internal"], INTERNAL)
                self._maybe_comment(plan, 0.12, self._someone(partner), SAY["partner_internal"], INTERNAL)
            elif status is S.EXECUTING:
                self._maybe_comment(plan, 0.25, self._someone(provider), SAY["update"], SHARED)
            elif status is S.COMPLETE:
                if rng.random() < 0.5:
                    report = self._lead_report() if rng.random() < 0.5 else None
                    plan.then(
                        self.steps.comment(plan, self._someone(provider), rng.choice(SAY["results"]), SHARED, report)
                    )
                self._maybe_comment(plan, 0.2, self._someone(partner), SAY["thanks"], SHARED)

    def _finish(
        self,
        plan: Plan,
        goal: OrderStatus,
        target: OrderStatus,
        *,
        released: bool,
        provider: Org | None,
        end: datetime,
    ) -> Plan:
        """Archive when the story ends there, then give the steps their times."""
        if target is S.ARCHIVED:
            by_provider = provider is not None and released and self.rng.random() < (0.8 if goal is S.COMPLETE else 0.5)
            archiver = self._someone(provider) if by_provider and provider else self._someone(self.vendor)
            plan.then(self.steps.simple(plan, archiver, archive_order))
        return self._schedule(plan, end)

    def _schedule(self, plan: Plan, end: datetime) -> Plan:
        """Give the steps their times: the story spans part of the expected duration and ends before `end`."""
        rng = self.rng
        expected = timedelta(days=plan.requested_in_days)
        span = expected * rng.uniform(*PROGRESS[plan.target])
        idle = timedelta(days=rng.uniform(*IDLE_DAYS[plan.target]))
        if span + idle > timedelta(days=HISTORY_DAYS):
            span = timedelta(days=HISTORY_DAYS) - idle
        weights = [rng.uniform(0.3, 1.0) for _ in plan.actions[1:]]
        total = sum(weights) or 1.0
        plan.times = [end - idle - span]
        for weight in weights:
            plan.times.append(plan.times[-1] + span * (weight / total))
        return plan

    def _maybe_comment(
        self, plan: Plan, chance: float, who: Person, lines: Sequence[str], visibility: CommentVisibility
    ) -> None:
        if self.rng.random() < chance:
            plan.then(self.steps.comment(plan, who, self.rng.choice(lines), visibility))

    # ---- small choices ----

    def _someone(self, org: Org) -> Person:
        return self.rng.choice(org.people)

    def _specialists(self, activity: str) -> list[Org]:
        return [p for p in self.providers if activity in SPECIALTIES[p.name]] or self.providers

    def _order_name(self, activity: str) -> str:
        rng = self.rng
        if activity == "Trade show":
            return f"Trade show: {rng.choice(SHOWS)}"
        if activity in ("Executive roundtable", "Field event"):
            return f"{activity}: {rng.choice(TOPICS)} ({rng.choice(CITIES)})"
        return f"{activity}: {rng.choice(TOPICS)}"

    def _lines(self, activity: str, total: float) -> tuple[Line, ...]:
        """Two or three line items adding up to `total`, rounded to tens."""
        rng = self.rng
        items = LINE_ITEMS[activity]
        chosen = rng.sample(items, k=min(len(items), rng.randint(2, 3)))
        whole = max(100, round(total / 50) * 50)
        weights = [rng.uniform(0.5, 2.0) for _ in chosen]
        amounts = [max(10, round(whole * w / sum(weights) / 10) * 10) for w in weights[:-1]]
        amounts.append(max(10, whole - sum(amounts)))
        return tuple(Line(item, Decimal(1), Decimal(amount)) for item, amount in zip(chosen, amounts, strict=True))

    def _lead_report(self) -> bytes:
        rng = self.rng
        rows = ["email,first_name,last_name,company,status"]
        for _ in range(rng.randint(4, 12)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            company = rng.choice(END_CUSTOMERS)
            domain = company.split()[0].lower()
            status = rng.choice(("attended", "registered", "MQL", "meeting booked"))
            rows.append(f"{first.lower()}.{last.lower()}@{domain}.example,{first},{last},{company},{status}")
        return ("\n".join(rows) + "\n").encode()
