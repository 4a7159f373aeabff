"""The demo data set: one realistic programme, built through the domain's use cases.

Every order is driven by the services, each step as the user whose job it is (partner,
vendor or provider), so its timeline, quotes, comments and outbox rows are exactly those
the API would have written. Times come from `DemoClock`, which the loader moves forward
through the months before the moment of loading: steps of all orders run in time order.
`random.Random(seed)` makes every choice, so one seed always gives the same programme
(only ids, and timestamps relative to the moment of loading, differ).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from uuid import UUID, uuid4

from domain.identity import Actor, Organisation, OrgKind, Programme, Role, User
from domain.orders import (
    AssignOrder,
    ChangeOrderStatus,
    CommentVisibility,
    CreateComment,
    CreateOrder,
    DecideQuote,
    DeclineQuote,
    Line,
    Order,
    OrderCommand,
    OrderKind,
    OrderStatus,
    Priority,
    ReasonedOrderCommand,
    Service,
    SubmitQuote,
    UpdateOrder,
    Upload,
    accept_quote,
    approve_order,
    archive_order,
    assign_order,
    cancel_order,
    change_order_status,
    create_comment,
    create_order,
    decline_quote,
    reject_order,
    reject_quote,
    submit_order,
    submit_quote,
    update_order,
)
from schema.common import AppPorts

DEMO_PASSWORD: Final = "ordergraph-demo"  # noqa: S105 - published on purpose: demo data only
"""The password of every demo user."""

PROGRAMME_NAME: Final = "Northwind Partner Marketplace"
APPROVAL_THRESHOLD: Final = Decimal("15000.00")
"""Accepted quotes above this need the vendor's approval."""

S = OrderStatus
SHARED = CommentVisibility.SHARED
INTERNAL = CommentVisibility.INTERNAL
Action = Callable[[], Awaitable[None]]


# ---- the cast ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """One demo user to sign in as."""

    email: str
    name: str
    organisation: str
    kind: OrgKind
    role: Role


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What `load_demo` created: who can sign in, and how many of what."""

    programme_id: UUID
    programme_name: str
    password: str
    logins: tuple[DemoLogin, ...]
    status_counts: dict[OrderStatus, int]
    """Orders per status, every status in lifecycle order (zeros included)."""
    kind_counts: dict[OrderKind, int]
    orders: int
    quotes: int
    comments: int


def _cast(organisation: str, kind: OrgKind, domain: str, *names: str) -> tuple[DemoLogin, ...]:
    """The first person named is the organisation's admin; emails are first names at `domain`."""
    return tuple(
        DemoLogin(
            email=f"{name.split()[0].lower()}@{domain}",
            name=name,
            organisation=organisation,
            kind=kind,
            role=Role.ADMIN if index == 0 else Role.MEMBER,
        )
        for index, name in enumerate(names)
    )


DEMO_LOGINS: Final = (
    *_cast("Northwind Software", OrgKind.VENDOR, "northwind.example", "Olivia Hart", "Marcus Webb", "Priya Nair"),
    *_cast(
        "Bluefin IT Solutions",
        OrgKind.PARTNER,
        "bluefin-it.example",
        "Daniel Okafor",
        "Sophie Laurent",
        "Tom Becker",
        "Aisha Rahman",
    ),
    *_cast(
        "Summit Cloud Partners", OrgKind.PARTNER, "summitcloud.example", "Grace Kim", "Luis Moreno", "Hannah Schultz"
    ),
    *_cast(
        "Brightwave Marketing",
        OrgKind.PROVIDER,
        "brightwave.example",
        "Chloe Bennett",
        "Ravi Patel",
        "Emma Lindqvist",
        "Jack Turner",
    ),
    *_cast("Stagecraft Events", OrgKind.PROVIDER, "stagecraft.example", "Noah Fischer", "Mia Rossi", "Ethan Clarke"),
)
"""Every demo user (password DEMO_PASSWORD), vendor first, in organisation order."""

# Flat-fee services: provider -> (name, activity type, price).
SERVICES: Final[dict[str, tuple[tuple[str, str, str], ...]]] = {
    "Brightwave Marketing": (
        ("Email nurture campaign (3 sends)", "Email campaign", "2400.00"),
        ("Content syndication (100 MQLs)", "Content syndication", "5500.00"),
        ("Telemarketing sprint (10 calling days)", "Telemarketing", "6500.00"),
        ("Webinar in a box", "Webinar", "3200.00"),
        ("Social media boost (4 weeks)", "Social media campaign", "1900.00"),
    ),
    "Stagecraft Events": (
        ("Turnkey trade show booth (10x10)", "Trade show", "12500.00"),
        ("Executive roundtable dinner (12 guests)", "Executive roundtable", "8900.00"),
        ("Virtual webinar production", "Webinar", "2750.00"),
        ("Regional lunch and learn", "Field event", "4200.00"),
    ),
}

SPECIALTIES: Final[dict[str, frozenset[str]]] = {
    "Brightwave Marketing": frozenset(
        {"Webinar", "Email campaign", "Content syndication", "Telemarketing", "Social media campaign"}
    ),
    "Stagecraft Events": frozenset({"Webinar", "Trade show", "Executive roundtable", "Field event"}),
}

# ---- the script: what orders are about, and what people say ------------------------------

ACTIVITIES: Final = (
    "Webinar",
    "Email campaign",
    "Trade show",
    "Content syndication",
    "Telemarketing",
    "Executive roundtable",
    "Social media campaign",
    "Field event",
)
EVENT_LIKE: Final = frozenset({"Webinar", "Trade show", "Executive roundtable", "Field event"})

# The usual value of a quote for each activity (below the approval threshold).
QUOTE_RANGE: Final[dict[str, tuple[int, int]]] = {
    "Webinar": (2500, 9000),
    "Email campaign": (1800, 7500),
    "Trade show": (9000, 14500),
    "Content syndication": (4000, 13000),
    "Telemarketing": (5000, 13500),
    "Executive roundtable": (6000, 14000),
    "Social media campaign": (1500, 6000),
    "Field event": (3500, 12000),
}

LINE_ITEMS: Final[dict[str, tuple[str, ...]]] = {
    "Webinar": (
        "Strategy and run-of-show",
        "Speaker coaching and rehearsal",
        "Registration page and reminder emails",
        "Platform licence and hosting",
        "Post-event lead report",
    ),
    "Email campaign": (
        "Audience segmentation",
        "Copywriting and design (3 emails)",
        "Deployment and A/B testing",
        "Landing page",
        "Results report",
    ),
    "Trade show": (
        "Booth space and build",
        "Booth staffing (2 days)",
        "Shipping and drayage",
        "Lead capture app licences",
        "Giveaways",
    ),
    "Content syndication": (
        "Qualified leads (MQL)",
        "Asset hosting and landing page",
        "Lead validation",
        "Weekly reporting",
    ),
    "Telemarketing": ("Calling days (SDR)", "Script development", "Appointment setting", "Call list cleansing"),
    "Executive roundtable": (
        "Venue and catering",
        "Executive recruitment",
        "Moderator and agenda",
        "Follow-up kit",
    ),
    "Social media campaign": ("Creative (6 posts)", "Paid promotion budget", "Community management", "Reporting"),
    "Field event": ("Venue and catering", "Invitations and registration", "Event staff", "Follow-up calls"),
}

PRODUCTS: Final = ("Cloud Backup", "Secure Mail", "Endpoint Shield", "Compliance Archive", "Identity Guard")
THEMES: Final = (
    "launch",
    "renewal push",
    "SMB awareness",
    "healthcare vertical",
    "migration offer",
    "year-end promotion",
    "competitive takeout",
    "cross-sell",
)
TOPICS: Final = (
    "Ransomware recovery in 15 minutes",
    "Email security for healthcare",
    "Moving off on-prem Exchange",
    "Zero trust for small IT teams",
    "The 3-2-1 backup rule explained",
    "Compliance archiving for finance",
    "Phishing simulation kick-off",
    "Securing the hybrid workplace",
    "Cyber insurance readiness",
    "Protecting Microsoft 365 data",
)
SHOWS: Final = (
    "Channel Partners Expo, Las Vegas",
    "IT Nation Connect, Orlando",
    "MSP GeekCon, Denver",
    "Infosecurity Europe, London",
    "DattoCon, Miami",
    "Black Hat, Las Vegas",
)
CITIES: Final = ("Chicago", "Boston", "Austin", "Seattle", "Atlanta", "Toronto", "Denver", "Minneapolis")
END_CUSTOMERS: Final = (
    "Contoso Dental Group",
    "Fabrikam Logistics",
    "Tailspin Toys",
    "Adventure Works Cycles",
    "Litware Legal",
    "Wide World Importers",
    "Proseware Health",
    "Woodgrove Credit Union",
    "Alpine Ski House",
    "Coho Winery",
)
FIRST_NAMES: Final = ("Ann", "Ben", "Carla", "Dev", "Eli", "Fatima", "Gus", "Hiro", "Ines", "Jonah", "Kara", "Liam")
LAST_NAMES: Final = ("Adams", "Brooks", "Chen", "Diaz", "Evans", "Foster", "Garcia", "Hughes", "Ito", "Jensen")

SAY: Final[dict[str, tuple[str, ...]]] = {
    "partner_draft": (
        "Need budget sign-off from finance before we submit this one.",
        "Waiting on the final attendee target from sales.",
        "Sophie, can you check the MDF balance before we send this?",
    ),
    "vendor_internal": (
        "Good fit for the SMB backup push; happy to co-fund.",
        "Check the new brand guidelines are used here.",
    ),
    "brief": (
        "Target audience: IT managers at 50-500 seat companies in the Midwest.",
        "Please use our logo and the co-branded landing page from the partner portal.",
        "Budget comes from this quarter's MDF; PO to follow.",
        "We'd like at least 40 registrations; happy to share our customer list.",
        "Focus on healthcare and legal; they are our best verticals this year.",
    ),
    "question": (
        "Do you have a preferred date range for this?",
        "Will you supply the contact list, or should we source one?",
        "Is there an existing asset we should syndicate, or do we write a new one?",
        "How many of your sales reps will attend?",
    ),
    "quote_message": (
        "Includes two rounds of revisions.",
        "Price assumes 150 registrations; travel not included.",
        "We can start within a week of approval.",
        "Fixed price; reporting weekly until completion.",
        "",
    ),
    "decline": (
        "Not our specialty, sorry; we don't run this kind of activity.",
        "Fully booked that month, unfortunately.",
        "The timeline is too tight for us to deliver well.",
    ),
    "reject_quote": ("Over budget for this quarter.", "Timeline too long for our launch.", "Went with a fuller scope."),
    "vendor_approved": (
        "Approved; please make sure the new Secure Mail messaging is used.",
        "Approved. MDF claim pre-approved for this activity.",
    ),
    "kickoff": (
        "Thanks! Kick-off call booked; we'll share a draft plan this week.",
        "Great to work with you again. We'll send the creative brief for sign-off shortly.",
        "Received, thank you. Our project lead will be in touch tomorrow.",
    ),
    "provider_internal": (
        "Ravi to draft the copy; reuse the March template.",
        "Venue hold expires Friday; confirm with the client.",
        "Client prefers Tuesday sends, 10am local time.",
        "Watch the budget: the print costs went up this quarter.",
    ),
    "partner_internal": (
        "Let's push for more healthcare leads on this one.",
        "Tom to own follow-up calls on the leads.",
        "Remember to file the MDF claim when this completes.",
    ),
    "waiting": (
        "We're waiting on your final logo files before we can go ahead.",
        "Could you approve the email copy we sent yesterday?",
        "We need the attendee list by Friday to print badges.",
        "Please confirm the speaker for the session.",
    ),
    "reply": (
        "Sent by email just now; go ahead.",
        "Copy approved, thanks!",
        "Speaker confirmed: our CTO will present.",
        "List uploaded to the shared folder.",
    ),
    "update": (
        "All set: invitations went out this morning.",
        "Booth shipped; set-up is confirmed for the day before the show.",
        "First batch of leads delivered; the next one follows on Monday.",
    ),
    "results": (
        "Campaign delivered: 38 registrations, 21 attended. Lead file attached.",
        "Done: 112 MQLs delivered against a target of 100. Report attached.",
        "Event wrapped up with 14 executives; notes and contacts attached.",
    ),
    "thanks": ("Great results, thank you!", "Thanks team, the sales reps loved it.", "Brilliant, let's do it again."),
    "provider_notes": (
        "Client prefers Tuesday sends.",
        "Use Northwind brand kit v3; partner logo bottom right.",
        "Venue contact: events desk, load-in from 7am.",
        "Partner asked for weekly status calls on Mondays.",
    ),
    "cancel": (
        "Budget reallocated to next quarter.",
        "Event postponed by the client.",
        "Duplicate of another order.",
        "Customer went with a direct campaign instead.",
    ),
    "provider_cancel": (
        "We can no longer staff this on the requested dates.",
        "The venue cancelled; we can't deliver this as ordered.",
    ),
    "vendor_reject": (
        "Outside this quarter's MDF guidelines.",
        "Needs the new brand messaging; please resubmit.",
    ),
}

# How far through its expected duration (creation to requested completion) an order's story
# runs, by where it ends up; an archived order, say, ran a little over and was archived later.
PROGRESS: Final[dict[OrderStatus, tuple[float, float]]] = {
    S.DRAFT: (0.0, 0.05),
    S.PENDING_QUOTES: (0.05, 0.25),
    S.PENDING_APPROVAL: (0.05, 0.25),
    S.APPROVED: (0.15, 0.35),
    S.NOT_STARTED: (0.2, 0.4),
    S.IN_PROGRESS: (0.3, 0.7),
    S.WAITING_FOR_PARTNER: (0.3, 0.7),
    S.SCHEDULED: (0.5, 0.8),
    S.EXECUTING: (0.7, 0.95),
    S.COMPLETE: (0.85, 1.15),
    S.CANCELLED: (0.05, 0.5),
    S.ARCHIVED: (1.0, 1.4),
}
# Days from an order's last step to the moment of loading: open work is recent, closed work older.
IDLE_DAYS: Final[dict[OrderStatus, tuple[float, float]]] = {
    S.DRAFT: (0.05, 15),
    S.PENDING_QUOTES: (0.05, 10),
    S.PENDING_APPROVAL: (0.05, 8),
    S.APPROVED: (0.05, 6),
    S.NOT_STARTED: (0.05, 6),
    S.IN_PROGRESS: (0.05, 7),
    S.WAITING_FOR_PARTNER: (0.5, 10),
    S.SCHEDULED: (0.05, 7),
    S.EXECUTING: (0.05, 5),
    S.COMPLETE: (0.5, 45),
    S.CANCELLED: (0.5, 90),
    S.ARCHIVED: (2, 90),
}
HISTORY_DAYS: Final = 180
"""No order is older than this."""

# Relative frequency of final statuses beyond the one order each status is guaranteed.
STATUS_WEIGHTS: Final[dict[OrderStatus, int]] = {
    S.DRAFT: 6,
    S.PENDING_QUOTES: 8,
    S.PENDING_APPROVAL: 7,
    S.APPROVED: 6,
    S.NOT_STARTED: 6,
    S.IN_PROGRESS: 12,
    S.WAITING_FOR_PARTNER: 5,
    S.SCHEDULED: 7,
    S.EXECUTING: 6,
    S.COMPLETE: 14,
    S.CANCELLED: 8,
    S.ARCHIVED: 15,
}
WORK_PATH: Final = (S.IN_PROGRESS, S.WAITING_FOR_PARTNER, S.SCHEDULED, S.EXECUTING, S.COMPLETE)


# ---- the clock ----------------------------------------------------------------------------


class DemoClock:
    """domain.common.Clock showing the time the loader sets, so history can be written in the past."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("DemoClock needs a timezone-aware time")
        self._now = start

    def now(self) -> datetime:
        """The time last set."""
        return self._now

    def set(self, when: datetime) -> None:
        """Move the clock (the loader only ever moves it forward)."""
        self._now = when


# ---- the loader ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Person:
    user: User
    org: Organisation

    @property
    def actor(self) -> Actor:
        return Actor(self.user.id, self.org.id, self.org.kind, self.user.role, self.org.programme_id)


@dataclass(slots=True)
class _Org:
    org: Organisation
    people: list[_Person] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.org.name

    @property
    def admin(self) -> _Person:
        return self.people[0]


@dataclass(slots=True)
class _Plan:
    """One order's story: its steps in order, scheduled at `times`, and what the steps produced."""

    index: int
    target: OrderStatus
    kind: OrderKind
    requested_in_days: int
    actions: list[Action] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    order: Order | None = None
    quote_ids: dict[UUID, UUID] = field(default_factory=dict)  # provider organisation -> its quote
    accept_step: int | None = None

    def then(self, action: Action) -> int:
        self.actions.append(action)
        return len(self.actions) - 1

    @property
    def order_id(self) -> UUID:
        if self.order is None:
            raise RuntimeError("the order is used before it was created")
        return self.order.id

    @property
    def requested(self) -> date:
        return self.times[0].date() + timedelta(days=self.requested_in_days)


@dataclass(order=True, frozen=True, slots=True)
class _Step:
    when: datetime
    order_index: int
    step_index: int
    run: Action = field(compare=False)


class _Loader:
    """Plans every order first (all random choices happen here), then runs the steps in time order."""

    def __init__(self, ports: AppPorts, clock: DemoClock, rng: random.Random) -> None:
        self.ports = ports
        self.clock = clock
        self.rng = rng
        self.vendor: _Org
        self.partners: list[_Org] = []
        self.providers: list[_Org] = []
        self.services: list[tuple[Service, _Org]] = []
        self.quotes = 0
        self.comments = 0

    # ---- the directory ----

    async def create_directory(self, start: datetime, password_hash: str) -> Programme:
        programme = Programme(uuid4(), PROGRAMME_NAME, quote_approval_threshold=APPROVAL_THRESHOLD)
        orgs: dict[str, _Org] = {}
        self.clock.set(start)
        async with self.ports.uow() as uow:
            await uow.directory.add_programme(programme)
            for login in DEMO_LOGINS:
                if login.organisation not in orgs:
                    org = Organisation(uuid4(), programme.id, login.kind, login.organisation)
                    await uow.directory.add_organisation(org)
                    orgs[org.name] = _Org(org)
                holder = orgs[login.organisation]
                user = User(uuid4(), holder.org.id, login.email, login.name, login.role, password_hash)
                await uow.directory.add_user(user)
                holder.people.append(_Person(user, holder.org))
            for provider_name, offers in SERVICES.items():
                for name, activity, price in offers:
                    service = Service(uuid4(), orgs[provider_name].org.id, name, activity, Decimal(price))
                    await uow.catalogue.add_service(service)
                    self.services.append((service, orgs[provider_name]))
            await uow.commit()
        by_kind = {kind: [o for o in orgs.values() if o.org.kind is kind] for kind in OrgKind}
        self.vendor = by_kind[OrgKind.VENDOR][0]
        self.partners = by_kind[OrgKind.PARTNER]
        self.providers = by_kind[OrgKind.PROVIDER]
        return programme

    # ---- planning ----

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

    def plan(self, index: int, target: OrderStatus, kind: OrderKind, end: datetime) -> _Plan:
        """One order's story, from its creation by a partner user to `target`, scheduled to end before `end`."""
        rng = self.rng
        plan = _Plan(index, target, kind, requested_in_days=rng.randint(25, 75))
        partner = rng.choice(self.partners)
        buyer = rng.choice(partner.people)
        contact = rng.choice(partner.people)
        service: Service | None = None
        named_provider: _Org | None = None
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

        async def create() -> None:
            quarter = (plan.times[0].month - 1) // 3 + 1
            cmd = CreateOrder(
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
            plan.order = await create_order(self.ports, buyer.actor, cmd)

        plan.then(create)
        if rng.random() < 0.2:
            priority = rng.choice((Priority.HIGH, Priority.HIGH, Priority.URGENT, Priority.LOW))
            plan.then(self._update(plan, buyer, lambda: {"priority": priority}))

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
            plan.then(self._cancel(plan, buyer, rng.choice(SAY["cancel"])))
            return self._finish(plan, goal, target, released=False, provider=None, end=end)
        plan.then(self._simple(plan, buyer, submit_order))
        self._maybe_comment(plan, 0.3, buyer, SAY["brief"], SHARED)
        self._maybe_comment(plan, 0.08, self._someone(self.vendor), SAY["vendor_internal"], INTERNAL)

        provider: _Org | None = named_provider
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
                plan.then(self._cancel(plan, who, rng.choice(SAY["cancel"])))
                return self._finish(plan, goal, target, released=False, provider=provider, end=end)
            vendor_user = self._someone(self.vendor)
            if cancel_at == "rejected":
                plan.then(self._reject(plan, vendor_user, rng.choice(SAY["vendor_reject"])))
                return self._finish(plan, goal, target, released=False, provider=provider, end=end)
            plan.then(self._simple(plan, vendor_user, approve_order))
            self._maybe_comment(plan, 0.15, vendor_user, SAY["vendor_approved"], SHARED)
        if provider is None:
            raise RuntimeError("an approved order without a provider")
        self._working(plan, partner, provider, goal, cancel_at, activity)
        return self._finish(plan, goal, target, released=True, provider=provider, end=end)

    def _quoting(
        self,
        plan: _Plan,
        buyer: _Person,
        activity: str,
        named: _Org | None,
        goal: OrderStatus,
        cancel_at: str | None,
    ) -> tuple[_Org | None, bool]:
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
            plan.then(self._simple(plan, self._someone(named), approve_order))
            return named, False

        winner: _Org | None = None
        if not stop_in_quotes:
            winner = rng.choice([c for c in candidates if activity in SPECIALTIES[c.name]] or candidates)
        low, high = QUOTE_RANGE[activity]
        amount = rng.uniform(16_000, 32_000) if needs_approval else rng.uniform(low, high)
        quoted: list[_Org] = []
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
                plan.then(self._decline(plan, person, rng.choice(SAY["decline"])))
                continue
            value = amount if candidate is winner else amount * rng.uniform(0.85, 1.4)
            lines = self._lines(activity, value)
            message = rng.choice(SAY["quote_message"])
            promised_in = rng.randint(-3, 14)
            plan.then(self._quote(plan, person, lines, message, promised_in))
            quoted.append(candidate)

        losers = [c for c in quoted if c is not winner]
        if losers and rng.random() < (0.4 if winner else 0.2):
            loser = rng.choice(losers)
            plan.then(self._reject_quote(plan, buyer, loser, rng.choice(SAY["reject_quote"])))
        if stop_in_quotes:
            if cancel_at == "pending":
                who = rng.choice((buyer, self._someone(self.vendor)))
                plan.then(self._cancel(plan, who, rng.choice(SAY["cancel"])))
            return None, True
        if winner is None:
            raise RuntimeError("a quoted order goes on without a winning quote")
        plan.accept_step = plan.then(self._accept_quote(plan, buyer, winner))
        if needs_approval:
            if goal is S.PENDING_APPROVAL:
                return winner, True
            vendor_user = self._someone(self.vendor)
            if cancel_at == "rejected":
                plan.then(self._reject(plan, vendor_user, rng.choice(SAY["vendor_reject"])))
                return winner, True
            plan.then(self._simple(plan, vendor_user, approve_order))
            self._maybe_comment(plan, 0.2, vendor_user, SAY["vendor_approved"], SHARED)
        return winner, False

    def _working(
        self, plan: _Plan, partner: _Org, provider: _Org, goal: OrderStatus, cancel_at: str | None, activity: str
    ) -> None:
        """From APPROVED: the provider takes the order on and works it up to `goal`."""
        rng = self.rng
        self._maybe_comment(plan, 0.3, self._someone(provider), SAY["kickoff"], SHARED)
        if cancel_at == "released":
            if rng.random() < 0.5:
                plan.then(self._change(plan, self._someone(provider), S.NOT_STARTED))
            if rng.random() < 0.6:
                plan.then(self._cancel(plan, self._someone(provider), rng.choice(SAY["provider_cancel"])))
            else:
                who = rng.choice((self._someone(partner), self._someone(self.vendor)))
                plan.then(self._cancel(plan, who, rng.choice(SAY["cancel"])))
            return
        if goal is S.APPROVED:
            if rng.random() < 0.5:
                plan.then(self._assign(plan, provider.admin, self._someone(provider)))
            return
        plan.then(self._change(plan, self._someone(provider), S.NOT_STARTED))
        if rng.random() < 0.85:
            plan.then(self._assign(plan, provider.admin, self._someone(provider)))
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

        plan.then(self._update(plan, self._someone(provider), provider_fields))
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
            plan.then(self._change(plan, self._someone(provider), status))
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
                    plan.then(self._comment(plan, self._someone(provider), rng.choice(SAY["results"]), SHARED, report))
                self._maybe_comment(plan, 0.2, self._someone(partner), SAY["thanks"], SHARED)

    def _finish(
        self,
        plan: _Plan,
        goal: OrderStatus,
        target: OrderStatus,
        *,
        released: bool,
        provider: _Org | None,
        end: datetime,
    ) -> _Plan:
        """Archive when the story ends there, then give the steps their times."""
        if target is S.ARCHIVED:
            by_provider = provider is not None and released and self.rng.random() < (0.8 if goal is S.COMPLETE else 0.5)
            archiver = self._someone(provider) if by_provider and provider else self._someone(self.vendor)
            plan.then(self._simple(plan, archiver, archive_order))
        return self._schedule(plan, end)

    def _schedule(self, plan: _Plan, end: datetime) -> _Plan:
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

    # ---- steps: each one service call as one user ----

    def _simple(
        self, plan: _Plan, who: _Person, service: Callable[[AppPorts, Actor, OrderCommand], Awaitable[Order]]
    ) -> Action:
        async def run() -> None:
            plan.order = await service(self.ports, who.actor, OrderCommand(plan.order_id))

        return run

    def _cancel(self, plan: _Plan, who: _Person, reason: str) -> Action:
        async def run() -> None:
            cmd = ReasonedOrderCommand(plan.order_id, reason)
            plan.order = await cancel_order(self.ports, who.actor, cmd)

        return run

    def _reject(self, plan: _Plan, who: _Person, reason: str) -> Action:
        async def run() -> None:
            cmd = ReasonedOrderCommand(plan.order_id, reason)
            plan.order = await reject_order(self.ports, who.actor, cmd)

        return run

    def _change(self, plan: _Plan, who: _Person, status: OrderStatus) -> Action:
        async def run() -> None:
            cmd = ChangeOrderStatus(plan.order_id, status)
            plan.order = await change_order_status(self.ports, who.actor, cmd)

        return run

    def _assign(self, plan: _Plan, who: _Person, assignee: _Person) -> Action:
        async def run() -> None:
            cmd = AssignOrder(plan.order_id, assignee.user.id)
            plan.order = await assign_order(self.ports, who.actor, cmd)

        return run

    def _update(self, plan: _Plan, who: _Person, changes: Callable[[], dict[str, Any]]) -> Action:
        async def run() -> None:
            cmd = UpdateOrder(plan.order_id, changes())
            plan.order = await update_order(self.ports, who.actor, cmd)

        return run

    def _quote(self, plan: _Plan, who: _Person, lines: tuple[Line, ...], message: str, promised_in: int) -> Action:
        async def run() -> None:
            now = self.clock.now()
            expires = now + timedelta(days=30)
            if plan.accept_step is not None:
                # Still open when the partner gets round to accepting it.
                expires = max(expires, plan.times[plan.accept_step] + timedelta(days=7))
            cmd = SubmitQuote(
                plan.order_id,
                lines,
                expires_on=expires.date(),
                promised_completion=plan.requested + timedelta(days=promised_in),
                message=message,
            )
            plan.order, quote = await submit_quote(self.ports, who.actor, cmd)
            plan.quote_ids[who.org.id] = quote.id
            self.quotes += 1

        return run

    def _decline(self, plan: _Plan, who: _Person, message: str) -> Action:
        async def run() -> None:
            plan.order, _ = await decline_quote(self.ports, who.actor, DeclineQuote(plan.order_id, message))
            self.quotes += 1

        return run

    def _accept_quote(self, plan: _Plan, who: _Person, provider: _Org) -> Action:
        async def run() -> None:
            cmd = DecideQuote(plan.quote_ids[provider.org.id])
            plan.order, _ = await accept_quote(self.ports, who.actor, cmd)

        return run

    def _reject_quote(self, plan: _Plan, who: _Person, provider: _Org, reason: str) -> Action:
        async def run() -> None:
            cmd = DecideQuote(plan.quote_ids[provider.org.id], reason=reason)
            plan.order, _ = await reject_quote(self.ports, who.actor, cmd)

        return run

    def _comment(
        self, plan: _Plan, who: _Person, body: str, visibility: CommentVisibility, report: bytes | None = None
    ) -> Action:
        async def run() -> None:
            uploads: tuple[Upload, ...] = ()
            if report is not None:
                uploads = (Upload("lead-report.csv", report, self.ports.sniffer.detect(report)),)
            cmd = CreateComment(plan.order_id, body, visibility, uploads)
            await create_comment(self.ports, who.actor, cmd)
            self.comments += 1

        return run

    def _maybe_comment(
        self, plan: _Plan, chance: float, who: _Person, lines: Sequence[str], visibility: CommentVisibility
    ) -> None:
        if self.rng.random() < chance:
            plan.then(self._comment(plan, who, self.rng.choice(lines), visibility))

    # ---- small choices ----

    def _someone(self, org: _Org) -> _Person:
        return self.rng.choice(org.people)

    def _specialists(self, activity: str) -> list[_Org]:
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


async def load_demo(ports: AppPorts, *, orders: int = 200, seed: int = 7) -> DemoSummary:
    """Create the demo programme with `orders` orders (every status once when at least 12), through the services.

    The orders' history spans the months before `ports.clock.now()`. Every demo user's
    password is DEMO_PASSWORD, hashed once with `ports.passwords`. Raises Duplicate when
    the demo users already exist.
    """
    if orders < 0:
        raise ValueError("orders cannot be negative")
    end = ports.clock.now().replace(second=0, microsecond=0)
    clock = DemoClock(end)
    loader = _Loader(dataclasses.replace(ports, clock=clock), clock, random.Random(seed))  # noqa: S311 - not for secrets
    oldest = end - timedelta(days=HISTORY_DAYS + 1)
    programme = await loader.create_directory(oldest, ports.passwords.hash(DEMO_PASSWORD))

    plans = [loader.plan(index, target, kind, end) for index, (target, kind) in enumerate(loader.targets(orders))]
    steps = sorted(
        _Step(when, plan.index, number, action)
        for plan in plans
        for number, (when, action) in enumerate(zip(plan.times, plan.actions, strict=True))
    )
    for step in steps:
        clock.set(step.when)
        await step.run()

    status_counts = dict.fromkeys(OrderStatus, 0)
    kind_counts = dict.fromkeys(OrderKind, 0)
    for plan in plans:
        if plan.order is None or plan.order.status is not plan.target:
            got = plan.order.status.value if plan.order else "nothing"
            raise RuntimeError(f"demo order {plan.index} ended {got}, not {plan.target.value}")
        status_counts[plan.order.status] += 1
        kind_counts[plan.order.kind] += 1
    return DemoSummary(
        programme_id=programme.id,
        programme_name=programme.name,
        password=DEMO_PASSWORD,
        logins=DEMO_LOGINS,
        status_counts=status_counts,
        kind_counts=kind_counts,
        orders=len(plans),
        quotes=loader.quotes,
        comments=loader.comments,
    )
