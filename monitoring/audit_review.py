"""The audit trail as people review it: every change, field by field, newest first.

The trail is read from every history table (and the account events), each filtered to what the
reader may see and asked for. A page is assembled without reading the whole history, and
without counting it: one query finds the page's changes across all tables (a UNION of each
table's own rows next to the page's position, at most a page from each), then only the history
rows of that page, and the versions just before them, are loaded and compared field by field.
Opening any page of a subject with ten thousand changes therefore costs the same as opening
page 1 of one with ten.
"""

from __future__ import annotations

import base64
import heapq
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, models
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.text import capfirst

from accounts.models import AccountEvent
from audit.clock import local_time_text
from audit.models import history_model
from audit.naming import plain_number
from crf.models import Membership, Screening, Subject
from crf.records import RECORD_KEY_KINDS, is_record_key_field, records_named, subject_path

from .records import BOOKKEEPING_FIELDS, clinical_models

ACCOUNT_FORM = "Account"
EXPORT_FORM = "Export"


@dataclass(frozen=True)
class FieldChange:
    """One field's change. `old`/`new` as the export writes them (times in UTC, ISO 8601);
    pages show `old_text`/`new_text`: the same, but times on the site's clock with the zone."""

    field: str
    old: str
    new: str
    old_local: str | None = None  # a time's value on the site's clock, where it is one
    new_local: str | None = None

    @property
    def old_text(self) -> str:
        return self.old if self.old_local is None else self.old_local

    @property
    def new_text(self) -> str:
        return self.new if self.new_local is None else self.new_local


@dataclass
class AuditEvent:
    """One history row (or account event): who did what to which record, when and why."""

    at: datetime
    user: str
    user_roles: str
    subject: str  # study ID, or "" for records of no single subject
    site: str
    form: str  # the kind of record, e.g. "Baseline"
    record: str
    reason: str
    kind: str  # created, changed, entered in error, deleted, or an account event's kind
    changes: list[FieldChange] = field(default_factory=list)


@dataclass(frozen=True)
class AuditRow:
    """One changed field of one event: the unit of the CSV export."""

    at: datetime
    user: str
    user_roles: str
    subject: str
    site: str
    form: str
    record: str
    field: str
    old: str
    new: str
    reason: str
    kind: str


@dataclass(frozen=True)
class AuditScope:
    """Whose changes to show: one subject, or the sites a reader may see (None: every site)."""

    subject: Subject | None = None
    site_ids: frozenset[int] | None = None
    form: str | None = None
    username: str | None = None
    since: date | None = None
    until: date | None = None
    # Only changes to data (no logins): what the study export's audit trail holds, so that an
    # unchanged study exports to identical files however often people log in.
    data_only: bool = False


# --- Where each kind of record is found -----------------------------------------------------


@dataclass(frozen=True)
class _Source:
    form: str
    model: type[models.Model] | None  # the tracked model; None for account events
    subject_id_path: str | None  # on the history row, the path to the subject's id
    site_id_path: str | None  # on the history row, the path to the site's id
    study_wide_only: bool = False  # records of no subject (memberships, sites, logins)
    # For event logs that are not history tables: "account" (AccountEvent), "export".
    log: str = ""

    @property
    def time_field(self) -> str:
        return {"account": "occurred_at", "export": "requested_at"}.get(self.log, "history_date")

    @property
    def key_field(self) -> str:
        return "id" if self.log else "history_id"

    def base(self) -> models.QuerySet:
        if self.log == "account":
            return AccountEvent.objects.all()
        if self.log == "export":
            return apps.get_model("exports.StudyExport").objects.all()
        return history_model(self.model).objects.all()

    def scoped(self, scope: AuditScope) -> models.QuerySet | None:
        qs = self.base()
        if scope.subject is not None:
            condition = self._subject_condition(scope.subject)
            if condition is None:
                return None
            qs = qs.filter(condition)
        elif scope.site_ids is not None:
            qs = qs.filter(self._site_condition(scope.site_ids))
        if scope.username:
            user_field = {"account": "username", "export": "requested_by__username"}.get(
                self.log, "history_user__username"
            )
            qs = qs.filter(**{user_field: scope.username})
        if scope.since:
            qs = qs.filter(**{f"{self.time_field}__gte": _local_midnight(scope.since)})
        if scope.until:
            qs = qs.filter(
                **{f"{self.time_field}__lt": _local_midnight(scope.until + timedelta(days=1))}
            )
        return qs

    def _subject_condition(self, subject: Subject) -> Q | None:
        if self.study_wide_only:
            return None
        if self.model is Screening:
            return Q(id=subject.screening_id) if subject.screening_id else None
        if self.form == "Lock":
            return Q(subject_id=subject.pk) | Q(level="site", site_id=subject.site_id)
        return Q(**{self.subject_id_path: subject.pk})

    def _site_condition(self, site_ids: frozenset[int]) -> Q:
        if self.log:  # the events of the people who work at those sites
            users = Membership.objects.filter(site_id__in=site_ids).values("user_id")
            return Q(**{"user_id__in" if self.log == "account" else "requested_by_id__in": users})
        if self.form == "Lock":
            return Q(site_id__in=site_ids) | Q(subject__site_id__in=site_ids)
        if self.site_id_path is None:  # of no site: by the people of those sites
            users = Membership.objects.filter(site_id__in=site_ids).values("user_id")
            return Q(history_user_id__in=users)
        return Q(**{f"{self.site_id_path}__in": site_ids})


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _title(model: type[models.Model]) -> str:
    """A kind of record as the trail names it: "MRD result", "Lab value" (capfirst, never
    capitalize(): that would write "Mrd result")."""
    return capfirst(str(model._meta.verbose_name))


def field_label(f: models.Field) -> str:
    """A field as the trail names it: its verbose name, first letter upper case ("CNS status",
    "IG/TR target available for MRD")."""
    return capfirst(str(f.verbose_name))


def _sources() -> list[_Source]:
    sources = []
    for model in clinical_models():
        path = subject_path(model)
        if model is Subject:
            sources.append(_Source(_title(model), model, "id", "site_id"))
            continue
        site_path = path.removesuffix("subject_id") + "subject__site_id"
        sources.append(_Source(_title(model), model, path, site_path))
    sources.append(_Source(_title(Screening), Screening, None, "site_id"))
    for label in ("alerts.Alert", "alerts.ProtocolDecision", "monitoring.Query",
                  "monitoring.SourceVerification", "monitoring.Signature"):  # fmt: skip
        model = apps.get_model(label)
        sources.append(_Source(_title(model), model, "subject_id", "subject__site_id"))
    sources.append(_Source("Lock", apps.get_model("monitoring.Lock"), "subject_id", "site_id"))
    for label in ("crf.Membership", "crf.Site", "safety.SiteLabRange"):
        model = apps.get_model(label)
        site_path = "id" if label == "crf.Site" else "site_id"
        sources.append(_Source(_title(model), model, None, site_path, study_wide_only=True))
    # The close-out's own records (data freezes and the study lock), of no site: shown to a
    # reader of some sites when made by people of those sites, as exports are.
    for label in ("exports.Freeze", "exports.StudyLock"):
        model = apps.get_model(label)
        sources.append(_Source(_title(model), model, None, None, study_wide_only=True))
    sources.append(_Source(ACCOUNT_FORM, None, None, None, study_wide_only=True, log="account"))
    sources.append(_Source(EXPORT_FORM, None, None, None, study_wide_only=True, log="export"))
    return sources


def form_names(*, study_wide: bool) -> list[str]:
    """The kinds of record a reader can filter the trail by."""
    return sorted(s.form for s in _sources() if study_wide or not s.study_wide_only)


# --- The trail: pages read by their position in the trail's order ----------------------------


@dataclass(frozen=True)
class Position:
    """An event's place in the trail's order: newest first, then by kind of record (its index
    in _sources()), then newest row first. A page is asked for as the events just after (older)
    or just before (newer) a position; its token is what the page links carry."""

    at: datetime
    source: int
    key: int

    def token(self) -> str:
        micros = (self.at - _EPOCH) // timedelta(microseconds=1)
        text = f"{micros}.{self.source}.{self.key}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str) -> Position | None:
        """The position a token names, or None for anything that is not one."""
        if len(token) > 100:
            return None
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
            micros, source, key = (int(part) for part in text.split("."))
            at = _EPOCH + timedelta(microseconds=micros)
        except (ValueError, OverflowError, UnicodeDecodeError):  # binascii.Error is a ValueError
            return None
        if not (0 <= source < 1000 and 0 < key < 2**63):
            return None
        return cls(at, source, key)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class TrailPage:
    """A page of events, newest first. `newer`/`older`: the positions to ask the next pages
    from (None: there is none that way)."""

    events: list[AuditEvent]
    newer: Position | None = None
    older: Position | None = None
    newest: bool = True  # the trail's newest page

    def __iter__(self) -> Iterator[AuditEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)


class AuditTrail:
    """The events of a scope, newest first. A page runs a bounded number of queries (one, and
    one plus two per kind of record on the page), whatever the history's size and however far
    back the page is: each table is read from the page's position onwards, through its index on
    the time, and gives at most a page of rows."""

    def __init__(self, scope: AuditScope):
        self.scope = scope
        self._querysets: list[tuple[_Source, models.QuerySet]] = []
        self._numbers: list[int] = []  # each queryset's source by its index in _sources()
        for number, source in enumerate(_sources()):
            if scope.form and source.form != scope.form:
                continue
            if scope.data_only and source.log:
                continue
            qs = source.scoped(scope)
            if qs is not None:
                self._querysets.append((source, qs))
                self._numbers.append(number)

    def page(
        self, size: int, *, after: Position | None = None, before: Position | None = None
    ) -> TrailPage:
        """`size` events: the newest, or those just older than `after`, or just newer than
        `before` (when fewer than a page is newer, the newest page)."""
        if before is not None:
            keys = self._keys(size + 1, before, older=False)
            if len(keys) > size:
                keys = keys[-size:]  # a page that ends just before `before`
                return self._page(keys, newer=True, older=True)
            after = None
        keys = self._keys(size + 1, after, older=True)
        return self._page(keys[:size], newer=after is not None, older=len(keys) > size)

    def _page(self, keys: list[Position], *, newer: bool, older: bool) -> TrailPage:
        events = self._render([(p.source, p.key) for p in keys])
        return TrailPage(
            events,
            newer=keys[0] if newer and keys else None,
            older=keys[-1] if older and keys else None,
            newest=not newer,
        )

    # The SQL below is composed only of the ORM's own compiled queries (values passed as
    # parameters) and integers: nothing a user typed reaches it as text.
    def _keys(self, limit: int, start: Position | None, *, older: bool) -> list[Position]:
        """The positions of the `limit` events next to `start` (excluded) in the trail's order,
        older or newer ones, newest first; the newest when `start` is None. One query."""
        parts, params = [], []
        for number, (source, qs) in zip(self._numbers, self._querysets, strict=True):
            t, k = source.time_field, source.key_field
            if start is not None:
                qs = qs.filter(_beyond(t, k, number, start, older=older))
            sign = "-" if older else ""
            inner = qs.order_by(f"{sign}{t}", f"{sign}{k}").values_list(k, t)[:limit]
            sql, p = inner.query.sql_with_params()
            parts.append(f"(SELECT {number} AS s, q.* FROM ({sql}) AS q)")  # noqa: S608
            params.extend(p)
        if not parts:
            return []
        order = "t DESC, s, k DESC" if older else "t, s DESC, k"
        sql = (
            f"SELECT s, k, t FROM ({' UNION ALL '.join(parts)}) AS u(s, k, t) "  # noqa: S608
            f"ORDER BY {order} LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit])
            found = [Position(t, s, k) for s, k, t in cursor.fetchall()]
        return found if older else found[::-1]

    def _render(self, keys: list[tuple[int, int]]) -> list[AuditEvent]:
        by_source: dict[int, list[int]] = {}
        for s, k in keys:
            by_source.setdefault(s, []).append(k)
        roles = _roles(self.scope)
        rendered: dict[tuple[int, int], AuditEvent] = {}
        for s, ids in by_source.items():
            source, _ = self._querysets[self._numbers.index(s)]
            for k, event in _render_source(source, ids, roles).items():
                rendered[(s, k)] = event
        return [rendered[key] for key in keys if key in rendered]

    def __iter__(self) -> Iterator[AuditEvent]:
        """Every event, newest first, read in batches (for the CSV export)."""
        streams = []
        for index, (source, qs) in enumerate(self._querysets):
            keys = (
                qs.order_by(f"-{source.time_field}", f"-{source.key_field}")
                .values_list(source.time_field, source.key_field)
                .iterator(chunk_size=2000)
            )
            streams.append(_keyed(keys, self._numbers[index]))
        merged = heapq.merge(*streams)
        while batch := list(itertools.islice(merged, 500)):
            yield from self._render([(s, -k) for _, s, k in batch])

    def rows(self) -> Iterator[AuditRow]:
        for event in self:
            yield from event_rows(event)


def _beyond(t: str, k: str, number: int, start: Position, *, older: bool) -> Q:
    """A source's rows strictly older (or newer) than `start` in the trail's order. Always a
    bound on the time, which the time's index serves; the key decides only among rows of the
    same time."""
    if older:
        if number < start.source:
            return Q(**{f"{t}__lt": start.at})
        if number > start.source:
            return Q(**{f"{t}__lte": start.at})
        return Q(**{f"{t}__lte": start.at}) & (
            Q(**{f"{t}__lt": start.at}) | Q(**{f"{k}__lt": start.key})
        )
    if number > start.source:
        return Q(**{f"{t}__gt": start.at})
    if number < start.source:
        return Q(**{f"{t}__gte": start.at})
    return Q(**{f"{t}__gte": start.at}) & (
        Q(**{f"{t}__gt": start.at}) | Q(**{f"{k}__gt": start.key})
    )


def _keyed(keys: Iterable[tuple[datetime, int]], index: int) -> Iterator[tuple[int, int, int]]:
    """A source's (time, key) stream as sort keys for merging newest first (the time in whole
    microseconds: the pages' order exactly)."""
    for at, key in keys:
        yield -((at - _EPOCH) // timedelta(microseconds=1)), index, -key


def event_rows(event: AuditEvent) -> list[AuditRow]:
    common = dict(
        at=event.at, user=event.user, user_roles=event.user_roles, subject=event.subject,
        site=event.site, form=event.form, record=event.record, reason=event.reason,
        kind=event.kind,
    )  # fmt: skip
    if not event.changes:
        return [AuditRow(field="", old="", new="", **common)]
    return [AuditRow(field=c.field, old=c.old, new=c.new, **common) for c in event.changes]


def subject_audit_rows(subject: Subject, *, form: str | None = None) -> list[AuditRow]:
    """Every field-level change of a subject's data, newest first."""
    return list(AuditTrail(AuditScope(subject=subject, form=form)).rows())


def record_history(record: models.Model, subject: Subject) -> list[AuditEvent]:
    """Every version of one record of `subject`, newest first, rendered as the audit trail
    renders it (_render_source): the record's review page and the subject's audit trail show a
    change in the same words. A bounded number of queries, whatever the history's length."""
    model = type(record)
    source = next((s for s in _sources() if s.model is model), None)
    if source is None:  # a kind of record the trail does not list: no subject or site column
        source = _Source(_title(model), model, None, None)
    keys = list(
        history_model(model)
        .objects.filter(id=record.pk)
        .order_by("-history_date", "-history_id")
        .values_list("history_id", flat=True)
    )
    if not keys:
        return []
    roles = _roles(AuditScope(subject=subject))
    events = _render_source(source, keys, roles, whole_history=True)
    return [events[key] for key in keys]


# --- Rendering history rows into events -------------------------------------------------------


def _roles(scope: AuditScope) -> dict[int, str]:
    memberships = Membership.objects.select_related("site")
    if scope.subject is not None:
        memberships = memberships.filter(Q(site=scope.subject.site) | Q(site__isnull=True))
    roles: dict[int, list[str]] = {}
    for membership in memberships:
        where = f"site {membership.site.number}" if membership.site else "all sites"
        roles.setdefault(membership.user_id, []).append(
            f"{membership.get_role_display()} ({where})"
        )
    return {user: ", ".join(sorted(names)) for user, names in roles.items()}


def _render_source(
    source: _Source, ids: list[int], roles: dict[int, str], *, whole_history: bool = False
) -> dict[int, AuditEvent]:
    """The events of the history rows `ids`, each compared with the version before it.
    `whole_history`: `ids` are every version of one record, so each one's previous version is
    among them (no query for them)."""
    if source.log == "account":
        return _render_account_events(ids, roles)
    if source.log == "export":
        return _render_exports(ids, roles)
    history = history_model(source.model)
    annotations = {}
    if source.subject_id_path:
        study_path = source.subject_id_path.removesuffix("_id") + "__study_id"
        if source.model is Subject:
            study_path = "study_id"
        annotations["_study_id"] = models.F(study_path)
    if source.site_id_path:
        site_path = source.site_id_path.removesuffix("_id") + "__number"
        if source.site_id_path == "id":
            site_path = "number"
        annotations["_site_number"] = models.F(site_path)
    previous_id = (
        history.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
        .order_by("-history_id")
        .values("history_id")[:1]
    )
    entries = list(
        history.objects.filter(history_id__in=ids)
        .select_related("history_user")
        .annotate(_previous=Subquery(previous_id), **annotations)
    )
    if whole_history:
        loaded = {e.history_id: e for e in entries}
        previous = {e._previous: loaded[e._previous] for e in entries if e._previous}
    else:
        previous = history.objects.in_bulk([e._previous for e in entries if e._previous])
    fields = [
        f
        for f in source.model._meta.concrete_fields
        if f.name not in BOOKKEEPING_FIELDS and not f.name.startswith("history")
    ]
    labels = _related_labels(fields, entries, previous.values())
    names = record_names(source.model, {e.id for e in entries})
    out = {}
    for entry in entries:
        before = previous.get(entry._previous)
        out[entry.history_id] = _event(source, entry, before, fields, roles, labels, names)
    return out


# How a reference to these records is shown: by the key people know them by (a subject by its
# study ID, a user by their username); every other record by its name in the trial's words
# (record_names), never by its id.
REFERENCE_LABELS = {
    "auth.User": "username",
    "crf.Subject": "study_id",
    "crf.Site": "number",
    "crf.ProtocolVersion": "number",
    "safety.CtcaeTerm": "term",
}
# A record the trail names that is no longer kept, and whose last version cannot be named.
UNNAMED = "record no longer kept"


def _kind_name(model: type[models.Model] | None) -> str:
    return _title(model) if model is not None else "Record"


def record_names(model: type[models.Model], ids: Iterable[int]) -> dict[int, str]:
    """The names of the records `ids` of `model` as the trail shows them (crf.records.
    record_name, without the subject: the trail has a subject column); a record no longer kept
    by the name of its last version. One query per kind (two when some are gone)."""
    ids = {pk for pk in ids if pk is not None}
    if not ids:
        return {}
    if model is ContentType:
        return {
            ct.pk: _kind_name(ct.model_class()) for ct in ContentType.objects.filter(pk__in=ids)
        }
    names = records_named(model, ids)
    missing = ids - names.keys()
    history = getattr(model, "history", None)
    if missing and history is not None:
        last = (
            history.model.objects.filter(id__in=missing)
            .order_by("id", "-history_id")
            .distinct("id")
        )
        for version in last:
            try:
                names[version.id] = str(version.instance)
            except ObjectDoesNotExist:
                names[version.id] = f"{_kind_name(model)} ({UNNAMED})"
    return names


def _generic_pair(model: type[models.Model]) -> tuple[str, str] | None:
    """(content type field, object id field) of a model that points at any record."""
    for f in model._meta.private_fields:
        if isinstance(f, GenericForeignKey):
            return f.ct_field, f.fk_field
    return None


def _related_labels(fields, entries, previous) -> dict[tuple[type, object], str]:
    """Display names of the records that foreign keys (and generic pointers) on the page point
    at: one query per kind."""
    wanted: dict[type, set] = {}
    rows = list(itertools.chain(entries, previous))
    for f in fields:
        if f.is_relation and f.many_to_one:
            for entry in rows:
                value = getattr(entry, f.attname)
                if value is not None:
                    wanted.setdefault(f.related_model, set()).add(value)
    pair = _generic_pair(fields[0].model) if fields else None
    generic: dict[int, set] = {}
    if pair is not None:
        ct_attname = fields[0].model._meta.get_field(pair[0]).attname
        for entry in rows:
            ct_id, object_id = getattr(entry, ct_attname), getattr(entry, pair[1])
            if ct_id is not None and object_id is not None:
                generic.setdefault(ct_id, set()).add(object_id)
    keys: dict[type, set] = {}
    for f in fields:
        if is_record_key_field(f):
            for entry in rows:
                model, pk = _keyed_record(getattr(entry, f.attname))
                if pk is not None:
                    keys.setdefault(model, set()).add(pk)
    labels = {}
    for model, pks in keys.items():
        for pk, name in record_names(model, pks).items():
            labels[("key", model, pk)] = name
    for model, pks in wanted.items():
        key = REFERENCE_LABELS.get(model._meta.label)
        if key is None:
            for pk, name in record_names(model, pks).items():
                labels[(model, pk)] = name
            continue
        for pk, label in model._default_manager.filter(pk__in=pks).values_list("pk", key):
            labels[(model, pk)] = str(label)
    for ct_id, pks in generic.items():
        target = ContentType.objects.get_for_id(ct_id).model_class()
        if target is not None:
            for pk, name in record_names(target, pks).items():
                labels[(ct_id, pk)] = name
    return labels


def _keyed_record(key) -> tuple[type[models.Model] | None, int | None]:
    """(model, id) a record key ("lab:13") names; (model, None) for a key of a kind without an
    id ("response:D40"); (None, None) for anything else."""
    kind, _, pk = str(key or "").partition(":")
    label = RECORD_KEY_KINDS.get(kind)
    if label is None:
        return None, None
    return apps.get_model(label), int(pk) if pk.isdigit() else None


def key_display(key: str, labels) -> str:
    """A record key as people read it: the record's name; a record no longer kept, or a kind
    without an id, by its kind."""
    model, pk = _keyed_record(key)
    if model is None:
        return key
    if pk is None:
        return _kind_name(model)
    return labels.get(("key", model, pk), f"{_kind_name(model)} ({UNNAMED})")


def _display(f: models.Field, value, labels, ct_id=None) -> str:
    """A value of a history change as every page shows it: the audit trail, a record's review
    page (record_history) and the audit export (exports/audit_sql.py writes the same in SQL).
    Codes by their label, references by the record's name (REFERENCE_LABELS, record_names),
    Yes/No, decimals as people write them (0.0025, never 0.002500000000000 or 2.5E-3), times in
    UTC (ISO 8601) as the export keeps them; pages show a time on the site's clock instead
    (FieldChange.old_text/new_text, _local)."""
    if value is None or value == "":
        return ""
    if f.is_relation and f.many_to_one:
        return labels.get((f.related_model, value), f"{_kind_name(f.related_model)} ({UNNAMED})")
    if ct_id is not None:  # the id of a generic pointer: the record it points at
        return labels.get((ct_id, value), UNNAMED)
    if is_record_key_field(f):
        return key_display(value, labels)
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return plain_number(value)  # plain notation, no trailing zeros, never 1E-7
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(sep=" ")
    if isinstance(value, list | dict):
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return str(value)


def _local(value) -> str | None:
    """A time's value as pages show it: on the site's clock with its zone ("2026-03-14 09:00
    CET"; with seconds when it has some), else None (the value reads as _display gives it)."""
    if not isinstance(value, datetime):
        return None
    return local_time_text(value, seconds=bool(value.second or value.microsecond))


def _event(source, entry, before, fields, roles, labels, names) -> AuditEvent:
    kind = {"+": "created", "~": "changed", "-": "deleted"}[entry.history_type]
    shown_kind = kind
    changes = []
    pair = _generic_pair(source.model)
    ct_attname = source.model._meta.get_field(pair[0]).attname if pair else None

    def pointed(version, f):
        if pair is None or f.name != pair[1] or version is None:
            return None
        return getattr(version, ct_attname)

    for f in fields:
        new = getattr(entry, f.attname)
        old = getattr(before, f.attname) if before is not None else None
        if kind == "changed" and old == new:
            continue
        if kind == "created" and new in (None, "", []):
            continue
        if f.name == "entered_in_error" and new and not old and kind == "changed":
            shown_kind = "entered in error"
        label = field_label(f)
        new_text = _display(f, new, labels, pointed(entry, f))
        if kind == "deleted":
            changes.append(FieldChange(label, new_text, "", old_local=_local(new)))
        else:
            old_text = _display(f, old, labels, pointed(before, f))
            changes.append(
                FieldChange(label, old_text, new_text, old_local=_local(old), new_local=_local(new))
            )
    site = getattr(entry, "_site_number", None)
    return AuditEvent(
        at=entry.history_date,
        user=entry.history_user.get_username() if entry.history_user else "system",
        user_roles=roles.get(entry.history_user_id, ""),
        subject=getattr(entry, "_study_id", None) or "",
        site="" if site is None else str(site),
        form=source.form,
        record=names.get(entry.id) or f"{source.form} ({UNNAMED})",
        reason=entry.history_change_reason or "",
        kind=shown_kind,
        changes=changes,
    )


def _render_account_events(ids: list[int], roles: dict[int, str]) -> dict[int, AuditEvent]:
    out = {}
    for event in AccountEvent.objects.filter(id__in=ids):
        where = f"from {event.ip_address}" if event.ip_address else ""
        if event.detail:
            where = f"{event.detail}; {where}" if where else event.detail
        out[event.id] = AuditEvent(
            at=event.occurred_at,
            user=event.username,
            user_roles=roles.get(event.user_id, "") if event.user_id else "",
            subject="",
            site="",
            form=ACCOUNT_FORM,
            record=event.get_kind_display(),
            reason=where,
            kind=event.kind,
        )
    return out


def _render_exports(ids: list[int], roles: dict[int, str]) -> dict[int, AuditEvent]:
    model = apps.get_model("exports.StudyExport")
    out = {}
    for export in model.objects.filter(id__in=ids).select_related("requested_by"):
        sites = ", ".join(map(str, export.site_numbers)) or "all"
        out[export.id] = AuditEvent(
            at=export.requested_at,
            user=export.requested_by.get_username() if export.requested_by else "command line",
            user_roles=roles.get(export.requested_by_id, "") if export.requested_by_id else "",
            subject="",
            site="",
            form=EXPORT_FORM,
            record=f"Export #{export.id} ({export.get_format_display()})",
            reason="",
            kind=export.status,
            changes=[
                FieldChange("sites", "", sites),
                FieldChange("rows", "", str(export.total_rows)),
                FieldChange("SHA-256", "", export.sha256),
            ],
        )
    return out


def trail_rows(events: Iterable[AuditEvent]) -> Iterator[AuditRow]:
    for event in events:
        yield from event_rows(event)
