"""Partners and their links to deals. A link names an existing partner (not archived) and an
existing deal (422 naming the field otherwise). The ACTIVE links of one deal may split at most
100 % between them: creating an active link, changing an active link's split, or re-activating a
link that would take the total over 100 is refused 409 `split_exceeds_100` with the current total
of the deal's other active links. A partner's share of a deal = split_pct x expected_spread / 100;
deals are read only through deals.service."""

from __future__ import annotations

from collections import defaultdict

from ..deals import service as deals_service
from ..errors import Conflict, InvalidField
from ..storage import Storage, Transaction, select
from . import store
from .schemas import (
    DashboardLink, Link, LinkCreate, LinkStatus, LinkUpdate, Partner, PartnerCreate, PartnerDashboard, PartnerStatus,
    PartnerUpdate, StatusTotals,
)


# ------------------------------------------------------------------------------ partners


def list_partners(db: Storage, *, partner_type: str | None = None, status: str | None = None, tag: str | None = None) -> list[Partner]:
    filters = {"partner_type": partner_type, "status": status, "tags": tag.strip().lower() if tag else None}
    return list(select(db.list(store.partners), filters))


def get_partner(db: Storage, partner_id: str) -> Partner:
    return db.get(store.partners, partner_id)


def create_partner(db: Storage, data: PartnerCreate) -> Partner:
    with db.transaction("jv") as tx:
        return tx.add(store.partners, data)


def update_partner(db: Storage, partner_id: str, data: PartnerUpdate, *, expected_version: int | None = None) -> Partner:
    changes = data.model_dump(exclude_unset=True)
    with db.transaction("jv") as tx:
        old = tx.get(store.partners, partner_id)
        audit = "transition" if "status" in changes and changes["status"] is not old.status else "update"
        return tx.update(store.partners, old, changes, expected_version=expected_version, audit=audit)


# ------------------------------------------------------------------------------ links


def list_links(db: Storage, *, partner_id: str | None = None, deal_id: str | None = None, status: str | None = None) -> list[Link]:
    filters = {"partner_id": partner_id, "deal_id": deal_id, "status": status}
    return list(select(db.list(store.links), filters))


def active_split_total(db: Storage, deal_id: str, *, excluding: str | None = None) -> float:
    """The split of the deal's active links (leaving one link out, to judge a change to it)."""
    return round(sum(
        link.split_pct for link in db.list(store.links)
        if link.deal_id == deal_id and link.status is LinkStatus.active and link.id != excluding
    ), 6)


def _check_split(tx: Transaction, deal_id: str, split_pct: float, *, excluding: str | None = None) -> None:
    current = active_split_total(tx.storage, deal_id, excluding=excluding)
    if current + split_pct > 100 + 1e-9:
        raise Conflict(
            "split_exceeds_100",
            f"deal {deal_id}'s active links already split {current:g}%; adding {split_pct:g}% would make {current + split_pct:g}% (max 100)",
            deal_id=deal_id, current_total=current, requested=split_pct,
        )


def create_link(db: Storage, data: LinkCreate) -> Link:
    with db.transaction("jv") as tx:
        partner = tx.find(store.partners, data.partner_id)
        if partner is None:
            raise InvalidField(("body", "partner_id"), f"no partner {data.partner_id}")
        deals_service.require_deal(db, data.deal_id, field="deal_id")
        if partner.status is PartnerStatus.archived:
            raise Conflict("partner_archived", f"partner {partner.id} ({partner.name}) is archived; restore it before linking it to a deal", partner_id=partner.id)
        if data.status is LinkStatus.active:
            _check_split(tx, data.deal_id, data.split_pct)
        return tx.add(store.links, data)


def update_link(db: Storage, link_id: str, data: LinkUpdate, *, expected_version: int | None = None) -> Link:
    changes = data.model_dump(exclude_unset=True)
    with db.transaction("jv") as tx:
        old = tx.get(store.links, link_id)
        status = changes.get("status") or old.status
        split = changes["split_pct"] if changes.get("split_pct") is not None else old.split_pct
        if status is LinkStatus.active and (old.status is not LinkStatus.active or split != old.split_pct):
            _check_split(tx, old.deal_id, split, excluding=old.id)
        audit = "transition" if "status" in changes and changes["status"] is not old.status else "update"
        return tx.update(store.links, old, changes, expected_version=expected_version, audit=audit)


# ------------------------------------------------------------------------------ dashboard


def dashboard(db: Storage, partner_id: str) -> PartnerDashboard:
    """Every link of the partner grouped by status, with the linked deal's stage, expected
    spread and the partner's share; totals per status, money per currency."""
    partner = db.get(store.partners, partner_id)
    by_status: dict[str, list[DashboardLink]] = {s.value: [] for s in LinkStatus}
    totals = {s.value: StatusTotals() for s in LinkStatus}
    spread_sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    share_sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for link in list_links(db, partner_id=partner.id):
        deal = deals_service.find_deal(db, link.deal_id)
        spread = deal.expected_spread if deal is not None else None
        currency = deal.currency if deal is not None else "CAD"
        share = None if spread is None else round(link.split_pct * spread / 100, 2)
        stage = deal.stage.value if deal is not None else None
        status = link.status.value
        by_status[status].append(DashboardLink(
            link_id=link.id, deal_id=link.deal_id, role=link.role, split_pct=link.split_pct, status=link.status,
            deal_stage=stage, deal_address=deal.address if deal is not None else None, currency=currency,
            expected_spread=spread, partner_share=share,
        ))
        totals[status].count += 1
        if spread is not None and share is not None:
            spread_sums[status][currency] += spread
            share_sums[status][currency] += share
    for status, t in totals.items():
        t.expected_spread = {c: round(v, 2) for c, v in spread_sums[status].items()}
        t.partner_share = {c: round(v, 2) for c, v in share_sums[status].items()}
    return PartnerDashboard(partner=partner, links_by_status=by_status, totals=totals)
