"""The start page's work per role: for each role the user holds, what waits for that role at that
role's sites, each a count with a link to the list that shows it.

The counts come from the apps' own selectors (the alert inbox, the query list, the SDV pages, the
MRD worklist, locks, exports), narrowed to the role's sites; no rule is restated here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.urls import reverse

from alerts.models import Alert
from alerts.services import alerts_for
from crf.models import Membership, Role, Site, Subject
from exports.models import StudyExport
from exports.services import exports_visible_to
from monitoring import sdv
from monitoring.locks import locks_visible_to
from monitoring.models import Query
from monitoring.queries import queries_visible_to
from mrd.models import MrdUpload
from mrd.services import worklist
from safety.services import SaeClock, sae_clocks, susar_due_dates

VISIT_OVERDUE = "AL-VISIT-OVERDUE"


@dataclass
class Item:
    label: str
    url: str
    count: int | None = None  # None: a link without a count (e.g. the reports)
    urgent: bool = False  # shown in red while the count is not zero


@dataclass
class Block:
    role: str
    title: str
    sites: list[Site] | None  # None: every site (a study-wide membership)
    items: list[Item] = field(default_factory=list)
    clocks: list[SaeClock] = field(default_factory=list)

    @property
    def where(self) -> str:
        if self.sites is None:
            return "all sites"
        names = ", ".join(f"{s.number} {s.city}" for s in self.sites)
        return f"site{'s' if len(self.sites) > 1 else ''} {names}"


def _link(name: str, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return reverse(name) + (f"?{query}" if query else "")


def _scoped(queryset: QuerySet, path: str, sites: list[Site] | None) -> QuerySet:
    if sites is None:
        return queryset
    return queryset.filter(**{f"{path}__in": [s.pk for s in sites]})


def _one(sites: list[Site] | None) -> Site | None:
    """The site a list can be filtered to, when the role has exactly one."""
    return sites[0] if sites is not None and len(sites) == 1 else None


def role_sites(user) -> dict[str, list[Site] | None]:
    """Each role the user holds and its sites (None: every site), in the roles' order."""
    found: dict[str, list[Site] | None] = {}
    memberships = Membership.objects.filter(user=user).select_related("site")
    for m in sorted(memberships, key=lambda m: (Role.values.index(m.role), m.site_id or 0)):
        if m.site is None:
            found[m.role] = None
        elif found.get(m.role, []) is not None:
            found.setdefault(m.role, []).append(m.site)
    return found


def start_blocks(user) -> list[Block]:
    builders = {
        Role.INVESTIGATOR: _investigator,
        Role.CENTRAL_LAB: _central_lab,
        Role.MONITOR: _monitor,
        Role.DATA_MANAGER: _data_manager,
        Role.SPONSOR: _sponsor,
    }
    blocks = []
    for role, sites in role_sites(user).items():
        block = Block(role=role, title=Role(role).label, sites=sites)
        builders[role](user, block)
        blocks.append(block)
    return blocks


def _alerts(user, role: str, sites) -> QuerySet[Alert]:
    return _scoped(alerts_for(user).filter(actors__contains=[role]), "subject__site_id", sites)


def _investigator(user, block: Block) -> None:
    sites, one = block.sites, _one(block.sites)
    alerts = _alerts(user, Role.INVESTIGATOR, sites)
    overdue = alerts.filter(rule=VISIT_OVERDUE, status__in=Alert.ACTIVE).count()
    open_alerts = alerts.filter(status=Alert.Status.OPEN).count()
    queries = _scoped(queries_visible_to(user), "subject__site_id", sites)
    to_answer = queries.filter(status=Query.Status.OPEN).count()
    ids = None if sites is None else {s.pk for s in sites}
    block.clocks = [c for c in sae_clocks(user) if ids is None or c.event.subject.site_id in ids]
    number = one.number if one else None
    block.items = [
        Item("Overdue visits", _link("alerts:inbox", rule=VISIT_OVERDUE, site=number),
             overdue, urgent=True),
        Item("Open alerts", _link("alerts:inbox", status="open", site=number), open_alerts,
             urgent=True),
        Item("Open queries to answer",
             _link("monitoring:query_list", status="open", site=one.pk if one else None),
             to_answer),
        Item("SAE reports to the sponsor: clocks running", _link("safety:sae"),
             len(block.clocks), urgent=any(c.overdue for c in block.clocks)),
    ]  # fmt: skip


def _central_lab(user, block: Block) -> None:
    waiting = _scoped(worklist(user), "subject__site_id", block.sites).count()
    ready = MrdUpload.objects.filter(uploaded_by=user, status=MrdUpload.Status.READY).count()
    block.items = [
        Item("Samples awaiting an MRD result (worklist)", _link("mrd:worklist"), waiting),
        Item("Uploaded files checked and awaiting commit", _link("mrd:upload"), ready),
    ]


def _monitor(user, block: Block) -> None:
    sites, one = block.sites, _one(block.sites)
    site = one.pk if one else None
    queries = _scoped(queries_visible_to(user), "subject__site_id", sites)
    answered = queries.filter(status=Query.Status.ANSWERED).count()
    waiting = queries.filter(status=Query.Status.OPEN).count()
    summary = sdv.sdv_summary(
        _scoped(Subject.objects.all(), "site_id", sites).values_list("pk", flat=True)
    )
    to_verify = sum(p.total - p.verified for p in summary.progress.values())
    changed = len(summary.changed)
    block.items = [
        Item("Answered queries to review and close",
             _link("monitoring:query_list", status="answered", site=site), answered),
        Item("Open queries waiting for the site",
             _link("monitoring:query_list", status="open", site=site), waiting),
        Item("Records not yet source-verified", _link("monitoring:sdv_overview", site=site),
             to_verify),
        Item("Records changed after verification", _link("monitoring:sdv_changed", site=site),
             changed, urgent=True),
    ]  # fmt: skip


def _exports_waiting(user) -> int:
    running = (StudyExport.Status.QUEUED, StudyExport.Status.RUNNING)
    return exports_visible_to(user).filter(status__in=running).count()


def _data_manager(user, block: Block) -> None:
    sites, one = block.sites, _one(block.sites)
    site = one.pk if one else None
    answered = (
        _scoped(queries_visible_to(user), "subject__site_id", sites)
        .filter(status=Query.Status.ANSWERED)
        .count()
    )
    locks = _scoped(locks_visible_to(user), "site_id", sites).filter(active=True).count()
    failed = exports_visible_to(user).filter(status=StudyExport.Status.FAILED).count()
    block.items = [
        Item("Answered queries to review and close",
             _link("monitoring:query_list", status="answered", site=site), answered),
        Item("Active locks", _link("monitoring:locks", site=site), locks),
        Item("Exports queued or running", _link("exports:list"), _exports_waiting(user)),
        Item("Exports that failed", _link("exports:list"), failed, urgent=True),
    ]  # fmt: skip


def _sponsor(user, block: Block) -> None:
    done = exports_visible_to(user).filter(status=StudyExport.Status.DONE).count()
    block.items = [
        Item("Study report", _link("exports:report")),
        Item("SUSARs with a reporting due date", _link("safety:sae"), len(susar_due_dates(user))),
        Item("Exports queued or running", _link("exports:list"), _exports_waiting(user)),
        Item("Complete exports to download", _link("exports:list"), done),
    ]
