"""The demo's script: what orders are about, what people say, and how long their stories take."""

from __future__ import annotations

from typing import Final

from domain.orders import OrderStatus

S = OrderStatus

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
