"""The demo data set behind ``valhalla seed-demo``: six weeks of a Canadian wholesaling business.

Everything is written through the modules' services, exactly as the routes write it, so every
rule holds and every change is audited. To give records believable times, the seed replays the
last 45 days on its own Storage of the data dir, whose frozen clock it sets to each moment. A
moment's steps call the services inside one transaction over every module (one commit per
moment); reactions such as the regression tripwire run after that commit, so no step names the
modules it or its reactions write. The caller's Storage and its clock are never touched: it sees
the new files on its next read.
Its imports take no safety backup: one dated by the replayed clock would pass for a recent backup
(``seed-demo`` backs up a data dir that held data before it starts).
Data is fixed pseudo-random (``random.Random(seed)``) with dates relative to now. Settings that
already exist (policies, the sender identity) are left as the operator set them.

What it leaves: 25 deals in ON, BC, AB, QC, NS and MB at every stage (one assigned deal has both
contracts signed and its title acknowledged, so it can be finalized once go-live is on), 40
properties whose sales give comps, 8 cash buyers and their feedback, JV partners, holdings in
CAD and USD, 30 days of KPI history for the four metrics (enough for the tripwire, none firing),
Heimdall trials, the policies that clear the runbook, a sender identity, a recent DNCL list,
suppressions, consents of each kind (some lapsed, one lapsing within 30 days), three follow-up
ladders, drafts (the offer email refused for a lapsed consent), professionals with retainers and tasks, and a
story template, a course and a media channel. Go-live stays OFF: the operator enables it.
"""

from __future__ import annotations

import heapq
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from itertools import count
from typing import Any, Callable, NamedTuple

from .core_gov.buyers import service as buyers_service
from .core_gov.buyers.schemas import FeedbackCreate
from .core_gov.closing import service as closing_service
from .core_gov.comms import service as comms_service
from .core_gov.comms.schemas import DraftCreate, DraftUpdate, IdentityInput, InboundCreate
from .core_gov.consent import service as consent_service
from .core_gov.consent.schemas import ConsentCreate
from .core_gov.contracts import service as contracts_service
from .core_gov.contracts.schemas import ContractCreate, ContractUpdate
from .core_gov.deals import service as deals_service
from .core_gov.deals.schemas import ActivityCreate, DealCreate, DealUpdate, Stage
from .core_gov.dispo import service as dispo_service
from .core_gov.dispo.schemas import AssignmentCreate, AssignmentUpdate, BuyerCreate
from .core_gov.docs import service as docs_service
from .core_gov.docs.schemas import DocumentCreate, RouteRequest
from .core_gov.education import service as education_service
from .core_gov.education.schemas import CourseCreate, EnrollmentCreate, LessonCreate, ProgressInput
from .core_gov.errors import Conflict
from .core_gov.followups import service as followups_service
from .core_gov.followups.schemas import LadderCreate, TaskComplete
from .core_gov.governance import service as governance_service
from .core_gov.governance.schemas import DecisionCreate
from .core_gov.heimdall import service as heimdall_service
from .core_gov.heimdall.schemas import HeimdallPolicyUpsert, RecommendCreate, TrialCreate
from .core_gov.holdings import service as holdings_service
from .core_gov.holdings.schemas import HoldingCreate
from .core_gov.jv import service as jv_service
from .core_gov.jv.schemas import LinkCreate, PartnerCreate
from .core_gov.kpi import service as kpi_service
from .core_gov.market import service as market_service
from .core_gov.market.schemas import MarketPolicyUpsert
from .core_gov.media import service as media_service
from .core_gov.media.schemas import ChannelCreate, ContentCreate, PublishInput
from .core_gov.offers import service as offers_service
from .core_gov.offers.schemas import OfferCompute, OfferPolicyUpsert
from .core_gov.property import service as property_service
from .core_gov.property.schemas import CompsRequest, PropertyCreate, RatingInput, RepairRentInput
from .core_gov.pros import service as pros_service
from .core_gov.pros.schemas import (
    HandoffCreate, HandoffUpdate, HoursInput, ProfessionalCreate, RetainerCreate, RetainerUpdate, SignalInput, TaskCreate, TaskUpdate,
)
from .core_gov.regression import service as regression_service
from .core_gov.replies import service as replies_service
from .core_gov.regression.schemas import RegressionPolicyUpsert
from .core_gov.risk import service as risk_service
from .core_gov.risk.schemas import RiskPolicyUpsert
from .core_gov.stories import service as stories_service
from .core_gov.stories.schemas import EpisodeCreate, RenderRequest, TemplateCreate
from .core_gov import reactions
from .core_gov.core_router import MODULES, module_name
from .core_gov.storage import Collection, FrozenClock, Log, Storage, archive

DEFAULT_SEED = 2026
COMPANY = "Valhalla Homes Inc."
# Domains the seed creates records in: a throttle on one would refuse the seed half-way.
SEEDED_DOMAINS = ("deals", "followups", "offers")

class City(NamedTuple):
    province: str
    area_codes: tuple[str, ...]
    fsas: tuple[str, ...]  # postal forward sortation areas
    streets: tuple[str, ...]
    house_numbers: tuple[int, int]
    price_per_sqft: int


CITIES: dict[str, City] = {
    "Toronto": City("ON", ("416", "647", "437"), ("M4C", "M4J", "M6H", "M4L", "M6N"),
                ("Danforth Ave", "Pape Ave", "Coxwell Ave", "Greenwood Ave", "Dufferin St", "Lansdowne Ave"), (12, 980), 890),
    "Hamilton": City("ON", ("905", "289", "365"), ("L8L", "L8H", "L8M", "L9A"),
                 ("Barton St E", "Sherman Ave N", "Kenilworth Ave N", "Ottawa St N", "Gage Ave N", "Main St E"), (10, 1400), 520),
    "Ottawa": City("ON", ("613", "343"), ("K1Y", "K2P", "K1H", "K2B"),
               ("Bank St", "Somerset St W", "Carling Ave", "Merivale Rd", "Wellington St W"), (100, 2400), 560),
    "Vancouver": City("BC", ("604", "778", "236"), ("V5N", "V5L", "V5R", "V6A"),
                  ("Commercial Dr", "Fraser St", "Knight St", "Victoria Dr", "E 41st Ave"), (1200, 6800), 1050),
    "Surrey": City("BC", ("604", "778", "236"), ("V3T", "V3W", "V4N"),
               ("King George Blvd", "104 Ave", "Fraser Hwy", "128 St"), (10100, 16900), 640),
    "Calgary": City("AB", ("403", "587", "825"), ("T2E", "T3E", "T2A", "T2B"),
                ("Centre St N", "17 Ave SE", "Edmonton Trl NE", "Bowness Rd NW", "36 St SE"), (100, 4800), 430),
    "Edmonton": City("AB", ("780", "587", "825"), ("T5H", "T5B", "T6E", "T5W"),
                 ("118 Ave NW", "Jasper Ave NW", "Whyte Ave NW", "Fort Rd NW", "Alberta Ave NW"), (9000, 13900), 360),
    "Montréal": City("QC", ("514", "438"), ("H1X", "H2G", "H1Y", "H2J"),
                 ("Rue Ontario E", "Rue Saint-Hubert", "Boulevard Rosemont", "Rue Beaubien E", "Rue Masson"), (1000, 7900), 380),
    "Halifax": City("NS", ("902", "782"), ("B3K", "B3L", "B3N"),
                ("Gottingen St", "Robie St", "Quinpool Rd", "Agricola St", "Windsor St"), (1000, 6900), 390),
    "Winnipeg": City("MB", ("204", "431"), ("R2W", "R3E", "R2K", "R3G"),
                 ("Portage Ave", "Main St", "Selkirk Ave", "Notre Dame Ave", "Henderson Hwy"), (100, 1900), 330),
}

class CompCluster(NamedTuple):
    """Comparable sales around a centre size."""

    city: str
    ptype: str
    sqft: int
    beds: int
    count: int


COMP_CLUSTERS = (
    CompCluster("Hamilton", "sfr", 1150, 3, 7), CompCluster("Toronto", "sfr", 1350, 3, 5), CompCluster("Calgary", "sfr", 1250, 3, 5),
    CompCluster("Winnipeg", "sfr", 1000, 3, 4), CompCluster("Montréal", "duplex", 1800, 4, 4), CompCluster("Halifax", "sfr", 1300, 3, 3),
)


@dataclass(frozen=True)
class DealPlan:
    city: str
    ptype: str
    stage: str  # where the deal is today
    created: int  # days ago
    subject: bool = False  # has a property record (comps where the city has sales)
    sqft: int = 1200
    beds: int = 3
    dead_reason: str | None = None


# The pipeline, oldest first within each stage: 7 leads, 6 contacted, 4 offer_made, 4 under_contract,
# 2 assigned, 2 dead. Deal 0 is the one the operator finalizes; 10, 16 and 17 get ladders.
PLANS = (
    DealPlan("Hamilton", "sfr", "assigned", 38, True, 1160, 3),
    DealPlan("Toronto", "sfr", "assigned", 34, True, 1320, 3),
    DealPlan("Calgary", "sfr", "under_contract", 30, True, 1240, 3),
    DealPlan("Winnipeg", "sfr", "under_contract", 27, True, 980, 3),
    DealPlan("Montréal", "duplex", "under_contract", 25, True, 1780, 4),
    DealPlan("Hamilton", "sfr", "under_contract", 22, True, 1120, 3),
    DealPlan("Halifax", "sfr", "offer_made", 20, True, 1290, 3),
    DealPlan("Edmonton", "sfr", "offer_made", 17, True, 1180, 3),
    DealPlan("Vancouver", "sfr", "offer_made", 14, sqft=1450, beds=3),
    DealPlan("Ottawa", "sfr", "offer_made", 12, sqft=1250, beds=3),
    DealPlan("Hamilton", "duplex", "contacted", 11, sqft=1650, beds=4),
    DealPlan("Toronto", "sfr", "contacted", 9, True, 1380, 3),
    DealPlan("Surrey", "townhouse", "contacted", 8, sqft=1400, beds=3),
    DealPlan("Calgary", "sfr", "contacted", 7, True, 1260, 3),
    DealPlan("Montréal", "duplex", "contacted", 6, True, 1820, 4),
    DealPlan("Winnipeg", "sfr", "contacted", 5, True, 1020, 3),
    DealPlan("Calgary", "sfr", "lead", 3, sqft=1100, beds=3),
    DealPlan("Montréal", "triplex", "lead", 1, sqft=2600, beds=6),
    DealPlan("Toronto", "townhouse", "lead", 4, sqft=1250, beds=3),
    DealPlan("Ottawa", "sfr", "lead", 2, sqft=1300, beds=3),
    DealPlan("Vancouver", "sfr", "lead", 2, sqft=1600, beds=4),
    DealPlan("Surrey", "sfr", "lead", 1, sqft=2100, beds=4),
    DealPlan("Halifax", "duplex", "lead", 1, sqft=1900, beds=4),
    DealPlan("Edmonton", "sfr", "dead", 26, sqft=1050, beds=3, dead_reason="seller listed with an agent"),
    DealPlan("Winnipeg", "sfr", "dead", 19, sqft=950, beds=2, dead_reason="seller replied STOP to our text"),
)
CLOSABLE, IN_PROGRESS = 0, 1
LADDERS = {10: 9, 16: 2, 17: 0}  # deal -> days ago its ladder started (0: an hour and a half ago)

FIRST = ("Margaret", "Luc", "Priya", "Daniel", "Sophie", "Amir", "Jennifer", "Marc-André", "Olivia", "Robert", "Chloé",
         "Harjit", "Nathalie", "Kevin", "Mei", "Patrick", "Fatima", "Gordon", "Isabelle", "Samuel", "Aisha", "Brian",
         "Geneviève", "Trevor", "Leah", "Omar", "Catherine", "Wei", "Denise", "Mathieu")
LAST = ("Chen", "Tremblay", "Sharma", "MacDonald", "Gagnon", "Haddad", "Wilson", "Roy", "Singh", "Fraser", "Côté",
        "Dhillon", "Bouchard", "O'Brien", "Wong", "Murphy", "Rahman", "Campbell", "Lavoie", "Friesen", "Mohamed",
        "Thompson", "Pelletier", "Boyd", "Goldberg", "Nguyen", "Morrison", "Zhang", "Kowalski", "Bergeron")
SOURCES = ("driving for dollars", "probate list", "tired landlord mailer", "PPC website form", "referral",
           "expired listing", "bandit sign", "tax arrears list")

class DemoBuyer(NamedTuple):
    name: str
    email: str
    area_code: str
    buy_box: dict[str, Any]
    active: bool


BUYERS = (
    DemoBuyer("Northside Rentals Ltd.", "deals@northside.example", "905", {
        "provinces": ["ON"], "markets": ["Hamilton", "Toronto"], "property_types": ["sfr", "duplex"],
        "min_price": 150000, "max_price": 1100000, "max_repairs": 90000, "min_equity_pct": 15, "close_speed_days": 14}, True),
    DemoBuyer("Golden Horseshoe Capital", "acquisitions@ghcapital.example", "289", {
        "provinces": ["ON"], "property_types": ["sfr", "townhouse"], "min_price": 250000, "max_price": 900000,
        "min_equity_pct": 10, "close_speed_days": 10}, True),
    DemoBuyer("Prairie Flip Co.", "buy@prairieflip.example", "403", {
        "provinces": ["AB", "MB"], "markets": ["Calgary", "Edmonton", "Winnipeg"], "property_types": ["sfr"],
        "min_price": 120000, "max_price": 600000, "max_repairs": 80000, "min_equity_pct": 15, "close_speed_days": 21}, True),
    DemoBuyer("Coastal Holdings Inc.", "offers@coastalholdings.example", "604", {
        "provinces": ["BC"], "markets": ["Vancouver", "Surrey"], "property_types": ["sfr", "townhouse", "condo"],
        "min_price": 400000, "max_price": 1600000, "close_speed_days": 30}, True),
    DemoBuyer("Groupe Immobilier Saint-Laurent", "achats@gisl.example", "514", {
        "provinces": ["QC"], "markets": ["Montréal"], "property_types": ["duplex", "triplex", "fourplex"],
        "min_price": 250000, "max_price": 900000, "min_equity_pct": 12, "close_speed_days": 30}, True),
    DemoBuyer("Maritime Property Partners", "info@maritimepp.example", "902", {
        "provinces": ["NS"], "markets": ["Halifax"], "property_types": ["sfr", "duplex"],
        "min_price": 150000, "max_price": 600000, "close_speed_days": 14}, True),
    DemoBuyer("Capital Region Investments", "team@capitalregion.example", "613", {
        "provinces": ["ON"], "markets": ["Ottawa"], "close_speed_days": 30}, True),
    DemoBuyer("True North Buy & Hold", "hello@truenorthbh.example", "204", {
        "property_types": ["sfr", "duplex"], "min_price": 100000, "max_price": 500000, "min_equity_pct": 25,
        "close_speed_days": 45}, False),
)

class FeedbackNode(NamedTuple):
    province: str
    city: str
    ptype: str
    events: int
    shares: tuple[float, float, float, float]  # responded, bought, passed, no_response


FEEDBACK_NODES = (
    FeedbackNode("ON", "Hamilton", "sfr", 30, (0.45, 0.25, 0.15, 0.15)), FeedbackNode("ON", "Toronto", "sfr", 14, (0.4, 0.15, 0.2, 0.25)),
    FeedbackNode("AB", "Calgary", "sfr", 18, (0.45, 0.2, 0.15, 0.2)), FeedbackNode("MB", "Winnipeg", "sfr", 12, (0.4, 0.15, 0.2, 0.25)),
    FeedbackNode("QC", "Montréal", "duplex", 14, (0.4, 0.15, 0.2, 0.25)), FeedbackNode("NS", "Halifax", "sfr", 10, (0.4, 0.2, 0.2, 0.2)),
    FeedbackNode("BC", "Vancouver", "sfr", 8, (0.4, 0.125, 0.25, 0.225)), FeedbackNode("ON", "Ottawa", "sfr", 8, (0.375, 0.125, 0.25, 0.25)),
    FeedbackNode("AB", "Edmonton", "sfr", 6, (0.5, 0.17, 0.17, 0.16)),
)
class Trials(NamedTuple):
    count: int
    successes: int


TRIALS = {"offers": Trials(64, 58), "followups": Trials(45, 38), "comms": Trials(18, 13)}  # Heimdall sandbox trials per domain


class Seller(NamedTuple):
    name: str
    phone: str
    email: str | None
HISTORY = {"ladder_created": 110, "followup_completed": 170, "offer_generated": 105}  # KPI events, last 30 days


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("'", "").replace(" ", "")


def _stratified(rng: random.Random, n: int, successes: int, block: int = 10) -> list[bool]:
    """n outcomes with exactly `successes` true, spread evenly so every window has about the same rate."""
    out: list[bool] = []
    for start in range(0, n, block):
        size = min(block, n - start)
        k = round(successes * (start + size) / n) - sum(out)
        chunk = [True] * k + [False] * (size - k)
        rng.shuffle(chunk)
        out += chunk
    return out


@dataclass(order=True)
class _Step:
    at: datetime
    seq: int
    run: Callable[[], None] = field(compare=False)


class _Seeder:
    def __init__(self, db: Storage, seed: int):
        self.clock = FrozenClock(db.now())
        self.db = Storage(db.data_dir, self.clock, db.zone)  # its own Storage, on its own clock
        self.rng = random.Random(seed)
        self.base: datetime = self.clock.now()
        self.zone = db.zone
        self.steps: list[_Step] = []
        self._seq = count()
        self._now: datetime | None = None
        self.numbers = iter(self.rng.sample(range(101, 200), 98))  # 555-01NN, each number used once
        self.deals: dict[int, Any] = {}
        self.sellers: dict[int, Seller] = {}
        self.subjects: dict[int, Any] = {}
        self.buyers: list[Any] = []
        self.partners: dict[str, Any] = {}
        self.pros: dict[str, Any] = {}
        self.contracts: dict[tuple[int, str], Any] = {}

    # ------------------------------------------------------------------ time

    def local(self, days_ago: int, hh: int, mm: int = 0) -> datetime:
        """hh:mm local (the operator's zone) `days_ago` days before today, never after now."""
        day = self.base.astimezone(self.zone).date() - timedelta(days=days_ago)
        return min(datetime.combine(day, time(hh, mm), tzinfo=self.zone).astimezone(timezone.utc), self.base)

    def at(self, when: datetime, fn: Callable[[], None]) -> None:
        """Run fn at `when` (skipped if that is after now; never before the step running now)."""
        if when > self.base:
            return  # not happened yet
        if self._now is not None and when < self._now:
            when = self._now
        heapq.heappush(self.steps, _Step(when, next(self._seq), fn))

    def run(self) -> None:
        """Each moment's steps in one transaction over every module of the data dir (the services
        join it: one commit per moment, whatever the steps write); reactions run after it."""
        modules = sorted({d.module for d in self.db.declared()} & {module_name(m) for m in MODULES})
        while self.steps:
            when = self._now = self.steps[0].at
            self.clock.set(when)
            with self.db.transaction(*modules):
                while self.steps and self.steps[0].at == when:
                    heapq.heappop(self.steps).run()

    # ------------------------------------------------------------------ helpers

    def phone(self, area: str) -> str:
        return f"{area}-555-0{next(self.numbers)}"

    def postal(self, fsa: str) -> str:
        letters = "ABCEGHJKLMNPRSTVWXYZ"
        return f"{fsa} {self.rng.randint(0, 9)}{self.rng.choice(letters)}{self.rng.randint(0, 9)}"

    def address(self, city: str) -> str:
        place = CITIES[city]
        return f"{self.rng.randint(*place.house_numbers)} {self.rng.choice(place.streets)}"

    def money(self, value: float, step: int = 500) -> float:
        return float(round(value / step) * step)

    # ------------------------------------------------------------------ the plan

    def plan(self) -> None:
        self.plan_setup()
        self.plan_properties()
        for i, p in enumerate(PLANS):
            self.plan_deal(i, p)
        self.plan_ladders()
        self.plan_daily()
        self.plan_comms()
        self.at(self.base, self.record_history)

    # setup, 45 to 35 days ago ------------------------------------------------

    def plan_setup(self) -> None:
        self.at(self.local(45, 9, 0), self.setup_policies)
        self.at(self.local(45, 10, 30), self.setup_people)
        self.at(self.local(44, 11, 0), self.setup_holdings)
        self.at(self.local(40, 14, 0), self.setup_content)

    def setup_policies(self) -> None:
        """The policies that clear the runbook; any the operator already has are kept as they are."""
        db = self.db
        for caps in (
            RiskPolicyUpsert(engine="GLOBAL", max_daily_loss=25000, max_daily_exposure=1000000, max_open_risk=3000000, max_actions_per_day=60),
            RiskPolicyUpsert(engine="WHOLESALE", max_daily_loss=15000, max_daily_exposure=900000, max_open_risk=2500000, max_actions_per_day=40),
            RiskPolicyUpsert(engine="DISPO", max_daily_loss=10000, max_daily_exposure=1500000, max_actions_per_day=20),
            RiskPolicyUpsert(engine="HOLDINGS", max_daily_loss=5000, max_daily_exposure=250000, max_actions_per_day=5),
        ):
            if risk_service.find_policy(db, caps.engine) is None:
                risk_service.upsert_policy(db, caps)
                if caps.engine == "GLOBAL":  # ours to raise later, with a governance decision
                    self.at(self.local(20, 16, 0), self.raise_exposure)
        for domain, confidence in (("offers", 0.9), ("followups", 0.85), ("comms", 0.95), ("dispo", 0.9)):
            if heimdall_service.find_policy(db, domain) is None:
                heimdall_service.upsert_policy(db, HeimdallPolicyUpsert(domain=domain, min_confidence=confidence))
        watched = {p.metric for p in regression_service.policies(db)}
        for metric, domain in (("ladder_created", "followups"), ("followup_completed", "followups"), ("buyer_feedback", "buyers"), ("offer_generated", "offers")):
            if metric not in watched:
                regression_service.upsert_policy(db, RegressionPolicyUpsert(metric=metric, domain=domain, action="THROTTLE"))
        if not any(p.market.casefold() == "kenora" for p in market_service.policies(db)):
            # Western Ontario keeps Central time: a city row beside the 13 seeded provinces.
            market_service.upsert_policy(db, MarketPolicyUpsert(province="ON", market="Kenora", timezone="America/Winnipeg"))
        markets = {(p.province, p.market.casefold()) for p in offers_service.policies(db)}  # seeded for the 13 provinces
        for city in (OfferPolicyUpsert(province="ON", market="Toronto", assignment_fee=15000, fees_buffer=4000),
                     OfferPolicyUpsert(province="BC", market="Vancouver", assignment_fee=20000, fees_buffer=5000)):
            if (city.province, city.market.casefold()) not in markets:
                offers_service.upsert_policy(db, city)
        if comms_service.sender_identity(db) is not None:
            return
        comms_service.set_identity(db, IdentityInput(
            sender_name=COMPANY, mailing_address="100 King St W, Suite 5600, Toronto ON M5X 1C9", phone="416-555-0100",
            email="hello@valhallahomes.example", web="https://valhallahomes.example",
            unsubscribe_text="Reply STOP to opt out / Répondez ARRÊT pour vous désabonner.",
        ))

    def setup_people(self) -> None:
        db = self.db
        for b in BUYERS:
            self.buyers.append(dispo_service.create_buyer(db, BuyerCreate(
                name=b.name, email=b.email, phone=self.phone(b.area_code), active=b.active, buy_box=b.buy_box,
                notes=None if b.active else "Paused: raising a new fund, back next quarter",
            )))
        for key, body in (
            ("capital", {"name": "Maple Capital Partners", "partner_type": "jv", "email": "deals@maplecap.example", "tags": ["capital", "on"],
                         "notes": "Funds deposits on Ontario deals for 40% of the spread"}),
            ("lender", {"name": "Ridgeview Private Lending", "partner_type": "lender", "email": "loans@ridgeview.example", "tags": ["lender", "prairies"],
                        "notes": "Transactional funding, 2 points, 10 days"}),
            ("agent", {"name": "Amanda Li, REALTOR", "partner_type": "agent", "email": "amanda.li@westcoastrealty.example", "tags": ["agent", "bc"],
                       "notes": "Brings off-market listings in East Van"}),
        ):
            self.partners[key] = jv_service.create_partner(db, PartnerCreate(**body, phone=self.phone({"capital": "416", "lender": "403", "agent": "604"}[key])))
        for key, body, signal in (
            ("lawyer", {"name": "Priya Shah LLP", "kind": "lawyer", "jurisdictions": ["ON", "BC"], "specialties": ["assignment", "closing", "real estate"],
                        "email": "priya@shahlaw.example", "license_no": "LSO-58213"}, (4.8, 37, 3, True, 0)),
            ("title", {"name": "Maple Title & Escrow", "kind": "title", "jurisdictions": ["ON", "AB", "NS"], "specialties": ["title search", "title insurance"],
                       "email": "closing@mapletitle.example"}, (4.4, 20, 12, True, 1)),
            ("inspector", {"name": "Bow River Home Inspections", "kind": "inspector", "jurisdictions": ["AB"], "specialties": ["pre-purchase", "foundation"],
                           "email": "book@bowriverinspect.example", "license_no": "AB-HI-3321"}, (4.6, 112, 6, True, 1)),
            ("accountant", {"name": "Tremblay CPA", "kind": "accountant", "jurisdictions": ["QC", "ON"], "specialties": ["hst", "corporate tax"],
                            "email": "bureau@tremblaycpa.example"}, (4.7, 15, 24, False, 0)),
        ):
            area = {"lawyer": "416", "title": "647", "inspector": "403", "accountant": "514"}[key]
            pro = pros_service.create_pro(db, ProfessionalCreate(**body, phone=self.phone(area)))
            self.pros[key] = pro
            rating, reviews, hours, verified, complaints = signal
            pros_service.record_signal(db, pro.id, SignalInput(
                rating=rating, review_count=reviews, response_hours=hours, license_verified=verified, complaints=complaints,
                source="Google reviews + licensing register",
            ))
        today = self.base.astimezone(self.zone).date()
        retainer = pros_service.create_retainer(db, RetainerCreate(
            pro_id=self.pros["lawyer"].id, title="Assignment reviews and closings, Ontario", monthly_amount=1500, hours_included=10,
            start_date=today - timedelta(days=45), renewal_date=today + timedelta(days=15), notes="Billed on the 1st",
        ))
        pros_service.update_retainer(db, retainer.id, RetainerUpdate(status="active"))
        self.at(self.local(10, 11, 0), self.accountant)
        for days, hours, note in ((30, 2.5, "Reviewed APS for the Hamilton deal"), (20, 3.0, "Assignment agreement, Hamilton"), (8, 1.5, "Calls with the title company")):
            self.at(self.local(days, 15, 0), lambda h=hours, n=note, d=days: pros_service.log_hours(
                self.db, retainer.id, HoursInput(hours=h, worked_on=today - timedelta(days=d), note=n)))

    def accountant(self) -> None:
        today = self.base.astimezone(self.zone).date()
        pros_service.create_retainer(self.db, RetainerCreate(
            pro_id=self.pros["accountant"].id, title="Bookkeeping and HST filings", monthly_amount=800, hours_included=5,
            start_date=today + timedelta(days=9), renewal_date=today + timedelta(days=374), notes="Proposal: starts next month",
        ))
        task = pros_service.create_task(self.db, TaskCreate(
            title="Q4 HST return for Valhalla Homes Inc.", pro_id=self.pros["accountant"].id, due_at=self.local(2, 17, 0),
            notes="Needs the assignment fee statements",
        ))
        pros_service.update_task(self.db, task.id, TaskUpdate(status="in_progress"))

    def setup_holdings(self) -> None:
        today = self.base.astimezone(self.zone).date()
        for body in (
            {"name": "Barton St E duplex (rental)", "asset_type": "property", "jurisdiction": "ON", "entity": "Valhalla Holdings Inc.",
             "value_estimate": 615000, "currency": "CAD", "acquired_at": today - timedelta(days=3 * 365), "notes": "Both units rented to 2027"},
            {"name": "Private mortgage note, Halifax", "asset_type": "note", "jurisdiction": "NS", "entity": "Valhalla Holdings Inc.",
             "value_estimate": 85000, "currency": "CAD", "acquired_at": today - timedelta(days=400), "notes": "9% interest-only, matures in 14 months"},
            {"name": "Cape Coral rental", "asset_type": "property", "jurisdiction": "FL", "entity": "Valhalla US LLC",
             "value_estimate": 340000, "currency": "USD", "acquired_at": today - timedelta(days=2 * 365), "notes": "Managed locally, 8% net yield"},
            {"name": "Deal-analysis SaaS revenue share", "asset_type": "saas_stream", "jurisdiction": "DE", "entity": "Valhalla US LLC",
             "value_estimate": 24000, "currency": "USD", "acquired_at": today - timedelta(days=250)},
            {"name": "Operating reserve", "asset_type": "vault", "jurisdiction": "ON", "entity": COMPANY, "value_estimate": 40000, "currency": "CAD"},
            {"name": "Term life policy (cash value)", "asset_type": "policy", "jurisdiction": "ON", "value_estimate": 18000, "currency": "CAD"},
        ):
            holdings_service.create_holding(self.db, HoldingCreate(**body))

    def setup_content(self) -> None:
        db = self.db
        template = stories_service.create_template(db, TemplateCreate(
            title="Seller success story", mood="hopeful", purpose="social proof for motivated sellers", tags=["seller", "testimonial"],
            body="{seller} sold their {city} home in {days} days. No repairs, no showings, no commissions.",
        ))
        text = stories_service.render(db, template.id, RenderRequest(values={"seller": "Dana", "city": "Hamilton", "days": 9})).text
        stories_service.create_episode(db, EpisodeCreate(template_id=template.id, sequence=1, text=text))
        course = education_service.create_course(db, CourseCreate(
            title="Wholesaling in Canada: the operator's playbook", description="From lead to assignment, province by province", status="active",
        ))
        lessons = [education_service.create_lesson(db, LessonCreate(course_id=course.id, order=i, title=title, body=body)) for i, (title, body) in enumerate((
            ("Finding motivated sellers", "Driving for dollars, probate and tax-arrears lists, tired landlords."),
            ("Contact rules: CASL, the DNCL and calling hours", "Identify yourself, honour STOP, call only inside the windows."),
            ("Comps and ARV", "Recent sales, same type, similar size: the median $/sqft times the subject's size."),
            ("The bounded offer", "70% of ARV minus repairs and fees, minus your assignment fee."),
            ("Assignment and closing", "Purchase contract, assignment contract, title, and the fee on the statement of adjustments."),
        ), start=1)]
        enrollment = education_service.enroll(db, EnrollmentCreate(learner="Jordan Lee", course_id=course.id))
        for lesson in lessons[:2]:
            education_service.record_progress(db, enrollment.id, ProgressInput(lesson_id=lesson.id))
        youtube = media_service.create_channel(db, ChannelCreate(name="Valhalla Homes YouTube", platform="youtube", notes="Seller stories"))
        media_service.create_channel(db, ChannelCreate(name="Seller newsletter", platform="newsletter", notes="Monthly, French and English"))
        story = media_service.create_content(db, ContentCreate(title="How Dana sold in 9 days", body=text, tags=["seller", "on"]))
        media_service.publish(db, story.id, PublishInput(channel_id=youtube.id))
        media_service.create_content(db, ContentCreate(
            title="5 signs it's time to sell your rental", body="Vacancies, repairs piling up, a tenant who stopped paying...",
            status="scheduled", scheduled_for=self.base + timedelta(days=4), tags=["landlord"],
        ))

    def raise_exposure(self) -> None:
        db = self.db
        decision = governance_service.propose(db, DecisionCreate(
            title="Raise GLOBAL daily exposure to 1,500,000 for the Québec launch", kind="risk_cap", subject_refs=["risk:GLOBAL"],
            rationale="Two Montréal duplexes and a Calgary deal may be offered the same day; the loss cap stays at 25,000.",
        ))
        governance_service.approve(db, decision.id, reason="Buyers lined up with proof of funds")
        risk_service.upsert_policy(db, RiskPolicyUpsert(engine="GLOBAL", max_daily_exposure=1500000, decision_id=decision.id))

    # properties: comparable sales --------------------------------------------

    def plan_properties(self) -> None:
        self.at(self.local(44, 13, 0), self.add_comps)

    def add_comps(self) -> None:
        today = self.base.astimezone(self.zone).date()
        for cluster in COMP_CLUSTERS:
            city, ptype = cluster.city, cluster.ptype
            place = CITIES[city]
            province, fsas, ppsf = place.province, place.fsas, place.price_per_sqft
            for _ in range(cluster.count):
                sqft = int(round(cluster.sqft * self.rng.uniform(0.88, 1.12), -1))
                beds = cluster.beds + self.rng.choice((-1, 0, 0, 1))
                price = self.money(sqft * ppsf * self.rng.uniform(0.92, 1.08), 1000)
                property_service.create_property(self.db, PropertyCreate(
                    address=self.address(city), city=city, region=province, postal=self.postal(self.rng.choice(fsas)),
                    property_type=ptype, beds=beds, baths=self.rng.choice((1, 1.5, 2, 2.5)), sqft=sqft,
                    year_built=self.rng.randint(1912, 1995), last_sale_price=price,
                    last_sale_date=today - timedelta(days=self.rng.randint(46, 330)), tags=["sold comp"],
                ), require_deal=deals_service.require_deal)

    # one deal's life -----------------------------------------------------------

    def plan_deal(self, i: int, p: DealPlan) -> None:
        created = p.created
        self.at(self.local(created, self.rng.randint(9, 15), self.rng.choice((5, 20, 35, 50))), lambda: self.create_deal(i, p))
        order = ("lead", "contacted", "offer_made", "under_contract", "assigned")
        reach = order.index(p.stage) if p.stage in order else 1
        if p.stage == "dead":
            self.at(self.local(created - 1, 11, 10), lambda: self.move(i, "contacted", "Seller picked up on the second call"))
            if p.dead_reason and "STOP" in p.dead_reason:
                self.at(self.local(created - 5, 18, 40), lambda: self.stop_reply(i))
            self.at(self.local(created - 6, 10, 0), lambda: self.move(i, "dead", p.dead_reason or "no longer selling"))
            return
        if i not in LADDERS and reach >= 1:
            self.at(self.local(created - 1, 11, 10), lambda: self.move(i, "contacted", "Seller picked up; motivated, wants a quick close"))
        if p.subject and created >= 2:
            self.at(self.local(created - 2, 9, 30), lambda: self.comps(i))
        if reach >= 2:
            self.at(self.local(created - 4, 14, 0), lambda: self.offer(i))
        if reach >= 3:
            self.at(self.local(created - 8, 15, 0), lambda: self.under_contract(i))
        if reach >= 4:
            self.at(self.local(created - 13, 13, 0), lambda: self.assign(i))
        if i == CLOSABLE:
            self.at(self.local(created - 15, 10, 0), lambda: self.sign(i, "assignment"))
            self.at(self.local(created - 16, 9, 0), lambda: self.title(i))
        if i == IN_PROGRESS:
            self.at(self.local(created - 14, 16, 0), lambda: self.send_assignment(i))
        if i == 8:  # an agent brought this one in
            self.at(self.local(created - 5, 12, 0), lambda: jv_service.create_link(self.db, LinkCreate(
                partner_id=self.partners["agent"].id, deal_id=self.deals[i].id, role="referring agent", split_pct=20,
                notes="Off-market listing, 20% of the spread")))

    def create_deal(self, i: int, p: DealPlan) -> None:
        place = CITIES[p.city]
        province, areas, fsas, ppsf = place.province, place.area_codes, place.fsas, place.price_per_sqft
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        phone = self.phone(self.rng.choice(areas))
        email = f"{_ascii(first)}.{_ascii(last)}@example.com" if self.rng.random() < 0.65 else None
        arv = self.money(p.sqft * ppsf * self.rng.uniform(0.95, 1.05), 1000)
        repairs = self.money(arv * self.rng.uniform(0.05, 0.12))
        fee = 20000.0 if p.city in ("Toronto", "Vancouver") else self.money(self.rng.uniform(8000, 15000), 1000)
        deal = deals_service.create_deal(self.db, DealCreate(
            seller_name=f"{first} {last}", seller_phone=phone, seller_email=email, address=self.address(p.city), city=p.city,
            province=province, property_type=p.ptype, lead_source=self.rng.choice(SOURCES),
            lead_score=round(self.rng.uniform(0.66, 0.95), 2), arv_estimate=arv, repairs_estimate=repairs,
            asking_price=self.money(arv * self.rng.uniform(0.7, 0.85), 1000), assignment_fee_target=fee,
            costs_estimate=self.money(self.rng.uniform(1000, 3500), 100),
            tags=self.rng.sample(["vacant", "inherited", "tenant occupied", "needs roof", "estate", "motivated", "divorce"], 2),
        ))
        self.deals[i], self.sellers[i] = deal, Seller(f"{first} {last}", phone, email)
        if p.subject:
            prop = property_service.create_property(self.db, PropertyCreate(
                address=deal.address, city=p.city, region=province, postal=self.postal(self.rng.choice(fsas)), property_type=p.ptype,
                beds=p.beds, baths=self.rng.choice((1, 1.5, 2)), sqft=p.sqft, year_built=self.rng.randint(1920, 1985), deal_id=deal.id,
                last_sale_price=self.money(arv * 0.45, 1000), last_sale_date=date(self.rng.randint(2004, 2016), self.rng.randint(1, 12), 15),
            ), require_deal=deals_service.require_deal)
            self.subjects[i] = prop
            self.deals[i] = deals_service.update_deal(self.db, deal.id, DealUpdate(property_id=prop.id))

    def move(self, i: int, stage: str, reason: str) -> None:
        self.deals[i] = deals_service.move_stage(self.db, self.deals[i].id, stage=Stage(stage), reason=reason)

    def comps(self, i: int) -> None:
        prop = self.subjects[i]
        found = property_service.compute_comps(self.db, CompsRequest(property_id=prop.id))
        repairs = self.deals[i].repairs_estimate or 0
        items = [("Roof", 0.35), ("Kitchen", 0.3), ("Flooring", 0.2), ("Paint and trim", 0.15)]
        property_service.upsert_repair_rent(self.db, prop.id, RepairRentInput(
            line_items=[{"description": d, "cost": self.money(repairs * share, 100)} for d, share in items],
            rent_estimate=self.money((found.arv_estimate or 300000) * 0.0045, 50),
        ))
        property_service.upsert_rating(self.db, prop.id, RatingInput(
            score=self.rng.randint(52, 88), factors={"schools": self.rng.randint(5, 9), "transit": self.rng.choice(["bus 5 min", "LRT 10 min", "car needed"]), "crime": self.rng.choice(["low", "average"])},
        ))
        if found.arv_estimate:
            self.deals[i] = deals_service.update_deal(self.db, self.deals[i].id, DealUpdate(arv_estimate=found.arv_estimate))

    def offer(self, i: int) -> None:
        deal = deals_service.get_deal(self.db, self.deals[i].id)
        comps = property_service.latest_comps(self.db, self.subjects[i].id).comps if i in self.subjects and deal.arv_estimate else []
        ev = offers_service.compute(self.db, OfferCompute(
            deal_id=deal.id, province=deal.province, market=deal.city, arv=deal.arv_estimate, repairs=deal.repairs_estimate,
            asking_price=deal.asking_price, comps=[{"address": c.address, "sale_price": c.sale_price, "sale_date": c.sale_date.isoformat()} for c in comps[:6]],
            assumptions={"hold_days": 30, "closing_costs": deal.costs_estimate},
        ))
        deals_service.update_deal(self.db, deal.id, DealUpdate(offer_amount=ev.recommended_offer, mao=ev.buyer_mao))
        deals_service.add_activity(self.db, deal.id, ActivityCreate(kind="offer", summary=f"Verbal offer of ${ev.recommended_offer:,.0f} (evidence {ev.evidence_id})", details="Seller is thinking it over"))
        self.move(i, "offer_made", f"offer of ${ev.recommended_offer:,.0f} made by phone")

    def under_contract(self, i: int) -> None:
        deal = self.deals[i]
        name, phone, email = self.sellers[i].name, self.sellers[i].phone, self.sellers[i].email
        contract = contracts_service.create_contract(self.db, ContractCreate(
            kind="purchase", title=f"APS {deal.address}, {deal.city}", deal_id=deal.id,
            parties=[{"name": name, "role": "seller", "phone": phone, "email": email}, {"name": COMPANY, "role": "buyer"}],
            amount=deal.offer_amount, expires_at=self.db.now() + timedelta(days=60), notes="Assignable; 30-day close",
        ))
        self.contracts[(i, "purchase")] = contracts_service.update_contract(self.db, contract.id, ContractUpdate(status="signed"))
        self.move(i, "under_contract", "purchase agreement signed")
        if i == 2:
            pros_service.create_task(self.db, TaskCreate(
                title="Pre-closing inspection", pro_id=self.pros["inspector"].id, deal_id=deal.id, due_at=self.base + timedelta(days=3),
                notes="Buyer wants the foundation report",
            ))
        if i == 3:
            jv_service.create_link(self.db, LinkCreate(partner_id=self.partners["lender"].id, deal_id=deal.id, role="transactional funding", split_pct=25))

    def assign(self, i: int) -> None:
        deal = self.deals[i]
        found = dispo_service.deal_matches(self.db, deal.id)
        if not found.matches:
            raise Conflict("demo_no_buyer", f"no demo buyer fits deal {deal.id}")
        buyer = found.matches[0]
        assignment = dispo_service.create_assignment(self.db, AssignmentCreate(deal_id=deal.id, buyer_id=buyer.buyer_id, notes="Verbal yes after the walkthrough"))
        dispo_service.update_assignment(self.db, assignment.id, AssignmentUpdate(status="assigned"))
        self.deals[i] = deals_service.get_deal(self.db, deal.id)
        contract = contracts_service.create_contract(self.db, ContractCreate(
            kind="assignment", title=f"Assignment of APS {deal.address}", deal_id=deal.id,
            parties=[{"name": COMPANY, "role": "assignor"}, {"name": buyer.name, "role": "assignee", "email": buyer.email}],
            amount=assignment.fee, notes="Fee payable on closing",
        ))
        self.contracts[(i, "assignment")] = contract
        if i == CLOSABLE:
            jv_service.create_link(self.db, LinkCreate(partner_id=self.partners["capital"].id, deal_id=deal.id, role="capital (deposit)", split_pct=40))
            task = pros_service.create_task(self.db, TaskCreate(
                title="Review assignment agreement", pro_id=self.pros["lawyer"].id, deal_id=deal.id, due_at=self.db.now() + timedelta(days=2),
            ))
            self.at(self.local(PLANS[i].created - 15, 9, 0), lambda: pros_service.update_task(self.db, task.id, TaskUpdate(status="done", rating=5)))

    def sign(self, i: int, kind: str) -> None:
        contract = self.contracts[(i, kind)]
        self.contracts[(i, kind)] = contracts_service.update_contract(self.db, contract.id, ContractUpdate(status="signed"))

    def send_assignment(self, i: int) -> None:
        contract = self.contracts[(i, "assignment")]
        self.contracts[(i, "assignment")] = contracts_service.update_contract(self.db, contract.id, ContractUpdate(status="sent"))

    def title(self, i: int) -> None:
        deal = self.deals[i]
        slug = _ascii(deal.address).replace(".", "")
        doc = docs_service.create_document(self.db, DocumentCreate(
            title=f"Title search, {deal.address}", doc_type="title", file_path=f"vault/deals/{slug}/title-search.pdf",
            entity_ids=[deal.id, self.contracts[(i, "purchase")].id], tags=["closing"], notes="Clear title; one discharged mortgage",
        ))
        title_pro, lawyer = self.pros["title"], self.pros["lawyer"]
        docs_service.route_document(self.db, doc.id, RouteRequest(to=title_pro.email, channel="email", status="sent", note="Signed APS and assignment attached"))
        task = pros_service.create_task(self.db, TaskCreate(
            title="Title search and clearance", pro_id=title_pro.id, deal_id=deal.id, due_at=self.db.now() + timedelta(days=3),
        ))
        handoff = pros_service.create_handoff(self.db, HandoffCreate.model_validate({
            "from": lawyer.id, "to": title_pro.id, "deal_id": deal.id, "task_ids": [task.id],
            "checklist": [{"item": "Signed APS", "done": True}, {"item": "Signed assignment agreement", "done": True}, "Deposit receipt"],
        }))
        created = PLANS[i].created
        self.at(self.local(created - 17, 10, 0), lambda: (
            docs_service.route_document(self.db, doc.id, RouteRequest(to=title_pro.email, channel="email", status="delivered")),
            pros_service.update_handoff(self.db, handoff.id, HandoffUpdate(status="accepted")),
        ))
        self.at(self.local(created - 19, 15, 30), lambda: (
            docs_service.route_document(self.db, doc.id, RouteRequest(to=title_pro.email, channel="email", status="acknowledged", note="Title clear, ready to close")),
            pros_service.update_task(self.db, task.id, TaskUpdate(status="done", rating=4)),
            pros_service.update_handoff(self.db, handoff.id, HandoffUpdate(status="completed", checklist=[
                {"item": "Signed APS", "done": True}, {"item": "Signed assignment agreement", "done": True}, {"item": "Deposit receipt", "done": True},
            ])),
        ))

    def stop_reply(self, i: int) -> None:
        phone = self.sellers[i].phone
        replies_service.receive(self.db, InboundCreate.model_validate({"from": phone, "channel": "sms", "body": "STOP"}))

    # follow-up ladders -------------------------------------------------------

    def plan_ladders(self) -> None:
        for i, days in LADDERS.items():
            start = (self.base - timedelta(minutes=90)).replace(second=0, microsecond=0) if days == 0 else self.local(days, 10, 5)
            self.at(start, lambda i=i: self.ladder(i))

    def ladder(self, i: int) -> None:
        deal = self.deals[i]
        made = followups_service.create_ladder(self.db, LadderCreate(deal_id=deal.id, province=deal.province, market=deal.city, owner="alex"))
        outcomes = {10: ("no_answer", "no_answer", "done", "no_answer"), 16: ("no_answer", "done")}.get(i, ())
        for task, outcome in zip(made.tasks, outcomes):
            when = task.due_at + timedelta(minutes=self.rng.randint(4, 55))
            self.at(when, lambda t=task, o=outcome: replies_service.complete_task(self.db, t.id, TaskComplete(outcome=o, note={
                "no_answer": "voicemail left", "done": "texted the offer range; seller will think about it"}[o])))
        if i == 10:
            self.at(made.tasks[2].due_at + timedelta(hours=3), lambda: self.move(i, "contacted", "Seller answered the follow-up text"))

    # the daily rhythm: buyer feedback and Heimdall sandbox trials ----------------

    def plan_daily(self) -> None:
        events: list[tuple[float, tuple[str, str, str, str, str]]] = []
        for node in FEEDBACK_NODES:
            province, city, ptype, n, shares = node.province, node.city, node.ptype, node.events, node.shares
            kinds: list[str] = []
            for kind, share in zip(("responded", "bought", "passed", "no_response"), shares):
                kinds += [kind] * round(n * share)
            kinds = (kinds + ["no_response"] * n)[:n]
            self.rng.shuffle(kinds)
            fitting = self.buyers_for(province, city, ptype) or ["an outside buyer"]
            for j, kind in enumerate(kinds):
                events.append(((j + self.rng.random()) / n, (province, city, ptype, kind, self.rng.choice(fitting))))
        events.sort(key=lambda e: e[0])
        by_day: dict[int, list[tuple[str, str, str, str, str]]] = {}
        for pos, event in events:
            by_day.setdefault(29 - min(int(pos * 29), 28), []).append(event)
        trials_by_day: dict[int, list[tuple[str, bool, float]]] = {}
        for domain, trials in TRIALS.items():
            n = trials.count
            for j, success in enumerate(_stratified(self.rng, n, trials.successes)):
                confidence = round(min(0.99, max(0.6, self.rng.gauss(0.93 if success else 0.82, 0.04))), 3)
                trials_by_day.setdefault(25 - min(int(j * 25 / n), 24), []).append((domain, success, confidence))
        for days in sorted(set(by_day) | set(trials_by_day), reverse=True):
            self.at(self.local(days, 17, 0), lambda d=days: self.daily(by_day.get(d, []), trials_by_day.get(d, [])))

    def buyers_for(self, province: str, city: str, ptype: str) -> list[str]:
        """Names of the demo buyers whose box covers the node (their ids exist only once setup ran)."""
        return [b.name for b in BUYERS if all(
            not b.buy_box.get(key) or value in b.buy_box[key] for key, value in (("provinces", province), ("markets", city), ("property_types", ptype))
        )]

    def daily(self, feedback: list[tuple[str, str, str, str, str]], trials: list[tuple[str, bool, float]]) -> None:
        ids = {b.name: b.id for b in self.buyers}
        for province, city, ptype, kind, buyer in feedback:
            buyers_service.record_feedback(self.db, FeedbackCreate(
                buyer_id=ids.get(buyer, buyer), province=province, market=city, property_type=ptype, event=kind,
            ))
        for domain, success, confidence in trials:
            heimdall_service.add_trial(self.db, TrialCreate(domain=domain, success=success, confidence=confidence))

    # comms: DNCL, suppressions, drafts ------------------------------------------

    def plan_comms(self) -> None:
        self.at(self.local(6, 9, 0), self.dncl)
        self.at(self.local(15, 12, 0), lambda: comms_service.suppress(self.db, value="j.morrison@example.net", reason="opt_out", source="email reply"))
        self.at(self.local(1, 14, 0), self.consents)
        self.at(self.local(1, 14, 30), self.drafts)
        self.at(self.local(1, 16, 45), lambda: heimdall_service.recommend(self.db, RecommendCreate(
            domain="offers", confidence=0.94, payload={"deal_id": self.deals[9].id, "note": "raise the Ottawa offer by 5,000"})))
        self.at(self.base, lambda: governance_service.propose(self.db, DecisionCreate(
            title="Open Québec outreach with French templates", kind="policy", subject_refs=["market:QC"],
            rationale="Montréal duplex feedback is warm; templates reviewed by counsel for Bill 96.",
        )))

    def dncl(self) -> None:
        """A National DNCL copy for each of the demo's area codes (calls need one): 14 registered
        numbers nobody else in the demo has, and AREA-555-0100 (never handed out) in every area."""
        areas = [a for place in CITIES.values() for a in place.area_codes]
        rows = ["phone"] + [self.phone(self.rng.choice(areas)) for _ in range(14)] + [f"{a}-555-0100" for a in sorted(set(areas))]
        comms_service.import_dncl(self.db, list_date=self.db.now().astimezone(self.zone).date(), chunks=["\n".join(rows).encode()])
        phone = self.sellers[23].phone
        comms_service.suppress(self.db, value=phone, reason="manual", source="seller asked not to be called again")

    def consents(self) -> None:
        """Consents of each kind: the sellers who inquired through the web form (their ladders need
        them), an express consent with its proof, past transactions, one inquiry lapsing within 30
        days and two that lapsed (the offer email to seller 6 waits for a new consent)."""
        now = self.db.now()
        emails = [s.email for s in self.sellers.values() if s.email]
        rows: list[tuple[str, str, datetime, str, str, str | None]] = [
            (self.sellers[11].phone, "express", now - timedelta(days=20), "web form", "valhallahomes.example/sell",
             "Checkbox: 'Yes, Valhalla Homes may text, email and call me about my property.' Submission #4812"),
            *((self.sellers[i].phone, "implied_inquiry", self.deals[i].created_at, "web form", "we-buy-houses form", None) for i in (*LADDERS, 19)),
            (self.sellers[9].phone, "implied_inquiry", now - timedelta(days=170), "phone inquiry", "inbound call", None),
            (self.sellers[6].email or "offers@valhallahomes.example", "implied_inquiry", now - timedelta(days=190), "email inquiry", "contact form", None),
            (self.sellers[2].phone, "implied_transaction", now - timedelta(days=400), "purchase closed", "an earlier deal", None),
            (emails[0], "implied_transaction", now - timedelta(days=900), "purchase closed", "an earlier deal", None),
        ]
        for contact, kind, obtained_at, method, source, proof in rows:
            consent_service.record_consent(self.db, ConsentCreate(
                contact=contact, kind=kind, obtained_at=obtained_at, method=method, source=source, proof=proof))

    def drafts(self) -> None:
        d11, d6, d19, d20 = self.deals[11], self.deals[6], self.deals[19], self.deals[20]
        first = self.sellers[11].name.split()[0]
        sms = comms_service.create_draft(self.db, DraftCreate(
            channel="sms", to=self.sellers[11].phone, province=d11.province, deal_id=d11.id, tone="warm", tags=["follow-up"],
            body=f"Hi {first}, it's Alex with {COMPANY}. Still thinking about {d11.address}? Happy to walk through a cash offer.",
        ))
        comms_service.update_draft(self.db, sms.id, DraftUpdate(status="ready"))
        name6, email6 = self.sellers[6].name, self.sellers[6].email
        comms_service.create_draft(self.db, DraftCreate(
            channel="email", to=email6 or "offers@valhallahomes.example", subject=f"Our offer for {d6.address}", deal_id=d6.id, province=d6.province,
            body=f"Hello {name6.split()[0]},\n\nAs discussed, our offer for {d6.address} is ${d6.offer_amount or 0:,.0f}, closing in 30 days, as is.",
            tags=["offer"],
        ))
        comms_service.create_draft(self.db, DraftCreate(
            channel="call", to=self.sellers[19].phone, province=d19.province, deal_id=d19.id, tone="neutral",
            body="Call script: introduce us, ask about timeline and condition, no pressure, offer to text a range.",
        ))
        comms_service.create_draft(self.db, DraftCreate(
            channel="letter", to=f"{d20.address}, {d20.city} {d20.province}", deal_id=d20.id, tone="warm", tags=["mailer"],
            body="Handwritten-style letter: we buy houses as is, any condition, close on your date.",
        ))

    # KPI history -------------------------------------------------------------

    def record_history(self) -> None:
        start = self.base - timedelta(days=30)
        for metric, n in HISTORY.items():
            times = sorted(start + timedelta(seconds=self.rng.uniform(0, 30 * 86400 - 3600)) for _ in range(n))
            if metric == "followup_completed":
                ok = _stratified(self.rng, n, round(n * 0.86), block=20)
                for at, success in zip(times, ok):
                    late = self.rng.uniform(0, 115) if success else self.rng.uniform(125, 400)
                    kpi_service.record(self.db, metric=metric, domain="followups", value=round(late, 1), success=success, at=at)
            elif metric == "ladder_created":
                for at in times:
                    kpi_service.record(self.db, metric=metric, domain="followups", value=6.0, at=at)
            else:
                values = []
                for start_j in range(0, n, 10):  # each block spans the whole range: steady means
                    block = [self.money(150000 + 500000 * (k + self.rng.random()) / 10, 500) for k in range(min(10, n - start_j))]
                    self.rng.shuffle(block)
                    values += block
                for at, value in zip(times, values):
                    kpi_service.record(self.db, metric=metric, domain="offers", value=value, at=at)


def preflight(db: Storage) -> list[str]:
    """Why the seed would be refused half-way, as lines for the operator (empty: go ahead)."""
    problems = []
    for domain in SEEDED_DOMAINS:
        if regression_service.is_throttled(db, domain):
            problems.append(f"domain {domain} is throttled by the regression tripwire; lift it first (POST /core/regression/reset)")
    return problems


def ready_to_close(db: Storage) -> list[str]:
    """The assigned deals whose closing checklist is clear (the demo prepares one)."""
    return [d.id for d in deals_service.list_deals(db, stage=Stage.assigned) if closing_service.finalization(db, d.id).can_close]


def seed(db: Storage, *, seed: int = DEFAULT_SEED) -> dict[str, dict[str, int]]:
    """Write the demo data set through the services; answers the record counts per module and file."""
    reactions.wire()
    seeder = _Seeder(db, seed)
    seeder.plan()
    with archive.safety_backups_paused():
        seeder.run()
    return counts(db)


def counts(db: Storage) -> dict[str, dict[str, int]]:
    """Records per module and file (collections and logs; audit trails and single files left out)."""
    found: dict[str, dict[str, int]] = {}
    mounted = {module_name(m) for m in MODULES}
    for d in db.declared():
        if d.name == "audit" or d.module not in mounted:  # a store declared outside the app (a test's) is not the demo's
            continue
        if isinstance(d, Collection):
            n = len(db.list(d))
        elif isinstance(d, Log):
            n = len(db.entries(d))
        else:
            continue
        if n:
            found.setdefault(d.module, {})[d.name] = n
    return dict(sorted(found.items()))
