"""The study as CDISC ODM 1.3.2 XML: a snapshot with the metadata of every form, each record's
last audit record, and the investigators' signatures. Written as a stream (memory stays flat).

One study event ("SE.STUDY") holds one form per kind of record (the CSV export's domains that
belong to a subject); each record is an ItemGroupData keyed by its id. Values are typed
(ItemDataInteger, ItemDataFloat, ...): decimals are written in plain notation (ODM's float is
xs:decimal, which has no exponent), and MRD levels, read on a log scale, as ItemDataDouble in the
laboratory's notation (1.2E-4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import XMLGenerator

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from audit.models import history_model
from crf.models import Site, Subject
from monitoring.models import Signature

from .domains import Column, Domain, domains

NS = "http://www.cdisc.org/ns/odm/v1.3"
STUDY_OID = "NCT04554485"
MDV_OID = "MDV.BLINACELL.1"
EVENT_OID = "SE.STUDY"
# ODM's order of the typed ItemData elements inside an ItemGroupData (the schema's sequence).
_TYPE_ORDER = ["boolean", "string", "integer", "float", "double", "date", "datetime"]
_ELEMENT = {
    "boolean": "ItemDataBoolean",
    "string": "ItemDataString",
    "integer": "ItemDataInteger",
    "float": "ItemDataFloat",
    "double": "ItemDataDouble",
    "date": "ItemDataDate",
    "datetime": "ItemDataDatetime",
}
# Log-scale MRD values, written as the laboratory writes them.
_DOUBLE_COLUMNS = {("mrd.MrdResult", "value"), ("mrd.MrdResult", "sensitivity"),
                   ("mrd.MrdResult", "quantitative_range")}  # fmt: skip
_SITE_LEVEL = {"crf.Site", "crf.ProtocolVersion", "safety.SiteLabRange", "crf.Screening"}

Progress = Callable[[int, int], None]


def _subject_domains() -> list[Domain]:
    return [
        d
        for d in domains()
        if d.model._meta.label not in _SITE_LEVEL
        and d.model._meta.app_label != "monitoring"
        and d.model._meta.label != "alerts.Alert"
    ]


def odm_steps() -> int:
    """The steps of an ODM export's progress: the metadata, then each form (one XML file)."""
    return len(_subject_domains()) + 1


def odm_forms() -> dict[str, tuple[str, str]]:
    """What each count of an ODM export (keyed as the CSV domain it comes from) is in the XML:
    its FormOID and the form's name."""
    return {
        d.file: (f"F.{_oid(d)}", str(d.model._meta.verbose_name_plural).capitalize())
        for d in _subject_domains()
    }


def _oid(domain: Domain) -> str:
    return domain.file.removesuffix(".csv").upper()


def _data_type(domain: Domain, column: Column) -> str:
    if (domain.model._meta.label, column.name) in _DOUBLE_COLUMNS:
        return "double"
    return {
        "integer": "integer",
        "decimal": "float",
        "boolean": "boolean",
        "date": "date",
        "datetime": "datetime",
    }.get(column.kind, "string")


def _value(data_type: str, value) -> str:
    if data_type == "double":
        return f"{Decimal(value).normalize():E}"
    if data_type == "float":
        return format(Decimal(value), "f")
    if data_type == "boolean":
        return "true" if value else "false"
    if data_type == "date":
        return value.isoformat()
    if data_type == "datetime":
        return value.astimezone(UTC).isoformat()
    if isinstance(value, list):
        return "|".join(map(str, value))
    return str(value)


class _Writer:
    def __init__(self, handle):
        self.out = XMLGenerator(handle, encoding="utf-8", short_empty_elements=True)

    def start(self, name: str, **attrs) -> None:
        self.out.startElement(name, {k: str(v) for k, v in attrs.items() if v is not None})

    def end(self, name: str) -> None:
        self.out.endElement(name)

    def leaf(self, name: str, text: str | None = None, **attrs) -> None:
        self.start(name, **attrs)
        if text is not None:
            self.out.characters(text)
        self.end(name)


def _metadata(w: _Writer, subject_domains: list[Domain]) -> None:
    w.start("Study", OID=STUDY_OID)
    w.start("GlobalVariables")
    w.leaf("StudyName", "Blina-CELL")
    w.leaf("StudyDescription", "Blinatumomab in induction therapy for adults with Ph-negative "
           "B-cell precursor ALL (phase 2)")  # fmt: skip
    w.leaf("ProtocolName", "Blina-CELL (NCT04554485)")
    w.end("GlobalVariables")
    w.start("MetaDataVersion", OID=MDV_OID, Name="BlinaCell eCRF forms")
    w.start("Protocol")
    w.leaf("StudyEventRef", StudyEventOID=EVENT_OID, OrderNumber="1", Mandatory="Yes")
    w.end("Protocol")
    w.start("StudyEventDef", OID=EVENT_OID, Name="Study", Repeating="No", Type="Common")
    for n, d in enumerate(subject_domains, start=1):
        w.leaf("FormRef", FormOID=f"F.{_oid(d)}", OrderNumber=str(n), Mandatory="No")
    w.end("StudyEventDef")
    for d in subject_domains:
        name = str(d.model._meta.verbose_name).capitalize()
        w.start("FormDef", OID=f"F.{_oid(d)}", Name=name, Repeating="No")
        w.leaf("ItemGroupRef", ItemGroupOID=f"IG.{_oid(d)}", Mandatory="Yes")
        w.end("FormDef")
    for d in subject_domains:
        name = str(d.model._meta.verbose_name).capitalize()
        w.start("ItemGroupDef", OID=f"IG.{_oid(d)}", Name=name, Repeating="Yes")
        for c in _item_columns(d):
            w.leaf("ItemRef", ItemOID=f"I.{_oid(d)}.{c.name.upper()}", Mandatory="No")
        w.end("ItemGroupDef")
    for d in subject_domains:
        for c in _item_columns(d):
            w.start("ItemDef", OID=f"I.{_oid(d)}.{c.name.upper()}", Name=c.name,
                    DataType=_data_type(d, c))  # fmt: skip
            w.start("Description")
            w.leaf("TranslatedText", c.label + (f" ({c.target})" if c.target else ""),
                   **{"xml:lang": "en"})  # fmt: skip
            w.end("Description")
            if c.codes:
                w.leaf("CodeListRef", CodeListOID=f"CL.{_oid(d)}.{c.name.upper()}")
            w.end("ItemDef")
    for d in subject_domains:
        for c in _item_columns(d):
            if not c.codes:
                continue
            w.start("CodeList", OID=f"CL.{_oid(d)}.{c.name.upper()}", Name=c.label,
                    DataType="string")  # fmt: skip
            for code, label in c.codes:
                w.start("CodeListItem", CodedValue=code)
                w.start("Decode")
                w.leaf("TranslatedText", label, **{"xml:lang": "en"})
                w.end("Decode")
                w.end("CodeListItem")
            w.end("CodeList")
    w.end("MetaDataVersion")
    w.end("Study")


def _item_columns(domain: Domain) -> list[Column]:
    # The subject is the SubjectData's key; the id is the ItemGroupData's repeat key.
    return [c for c in domain.columns if c.name not in {"id", "subject"}]


def _admin(w: _Writer, sites: list[Site]) -> None:
    w.start("AdminData", StudyOID=STUDY_OID)
    # Changes made by the system itself (no user); "~" cannot occur in a username.
    w.start("User", OID="U.~system")
    w.leaf("LoginName", "system")
    w.end("User")
    for user in get_user_model().objects.order_by("username"):
        w.start("User", OID=f"U.{user.username}")
        w.leaf("LoginName", user.username)
        if user.get_full_name():
            w.leaf("FullName", user.get_full_name())
        w.end("User")
    for site in sites:
        w.start("Location", OID=f"LOC.{site.number}", Name=f"{site.number} {site.name}",
                LocationType="Site")  # fmt: skip
        w.leaf("MetaDataVersionRef", StudyOID=STUDY_OID, MetaDataVersionOID=MDV_OID,
               EffectiveDate="2019-05-01")  # fmt: skip
        w.end("Location")
    for oid, meaning in (("SD.CASEBOOK", Signature.MEANING), ("SD.FORM", Signature.FORM_MEANING)):
        w.start("SignatureDef", OID=oid, Methodology="Electronic")
        w.leaf("Meaning", meaning)
        w.leaf("LegalReason", "21 CFR Part 11 electronic signature of the principal investigator")
        w.end("SignatureDef")
    w.end("AdminData")


def _domain_stream(domain: Domain, site_ids) -> Iterator[tuple[int, dict]]:
    """(subject id, row) of a domain ordered by subject then id, with the last audit record."""
    model = domain.model
    path = domain.site_path.removesuffix("site_id").removesuffix("__") or ""
    subject_expr = f"{path}_id" if path.endswith("subject") else f"{path}__id"
    if model is Subject:
        subject_expr = "id"
    history = history_model(model).objects.filter(id=OuterRef("pk")).order_by("-history_id")
    qs = model._default_manager.annotate(
        _sid=F(subject_expr),
        _at=Subquery(history.values("history_date")[:1]),
        _by=Subquery(history.values("history_user__username")[:1]),
        _why=Subquery(history.values("history_change_reason")[:1]),
        _site=F("site__number" if model is Subject else f"{path}__site__number"),
    )
    if site_ids is not None:
        qs = qs.filter(**{f"{domain.site_path}__in": site_ids})
    columns = _item_columns(domain)
    names = ["_sid", "id", "_at", "_by", "_why", "_site", *[c.path for c in columns]]
    for values in qs.order_by("_sid", "pk").values_list(*names).iterator(chunk_size=2000):
        yield values[0], dict(zip(names, values, strict=True))


def study_odm_write(
    path: Path,
    *,
    site_ids: frozenset[int] | None,
    progress: Progress | None = None,
    created_at: datetime | None = None,
) -> dict[str, int]:
    """The ODM file of these sites' data; `created_at` (a freeze's time, so that the frozen
    file is the same whenever written) or now is the file's creation time."""
    created_at = created_at or timezone.now()
    subject_domains = _subject_domains()
    sites = list(Site.objects.order_by("number"))
    if site_ids is not None:
        sites = [s for s in sites if s.pk in site_ids]
    subjects = Subject.objects.select_related("site").order_by("pk")
    if site_ids is not None:
        subjects = subjects.filter(site_id__in=site_ids)
    casebook_signatures = {
        s.subject_id: s
        for s in Signature.objects.filter(object_id__isnull=True)
        .select_related("signer", "subject__site")
        .order_by("signed_at")
    }  # the latest per subject
    form_signatures = {
        (s.content_type_id, s.object_id): s
        for s in Signature.objects.filter(object_id__isnull=False)
        .select_related("signer", "subject__site")
        .order_by("signed_at")
    }
    content_types = {d.file: ContentType.objects.get_for_model(d.model).pk for d in subject_domains}
    counts = {d.file: 0 for d in subject_domains}
    total = odm_steps()
    with open(path, "wb") as handle:
        w = _Writer(handle)
        w.out.startDocument()
        w.start(
            "ODM",
            xmlns=NS,
            FileOID=f"BLINACELL.{created_at.astimezone(UTC):%Y%m%dT%H%M%S}",
            FileType="Snapshot",
            Granularity="All",
            CreationDateTime=created_at.astimezone(UTC).isoformat(),
            ODMVersion="1.3.2",
            SourceSystem="BlinaCell eCRF",
        )
        _metadata(w, subject_domains)
        _admin(w, sites)
        if progress:
            progress(1, total)
        w.start("ClinicalData", StudyOID=STUDY_OID, MetaDataVersionOID=MDV_OID)
        streams = {d.file: _domain_stream(d, site_ids) for d in subject_domains}
        heads: dict[str, tuple[int, dict] | None] = {f: next(s, None) for f, s in streams.items()}
        for subject in subjects.iterator(chunk_size=2000):
            w.start("SubjectData", SubjectKey=subject.study_id)
            signature = casebook_signatures.get(subject.pk)
            if signature:
                _signature(w, signature, "SD.CASEBOOK")
            w.leaf("SiteRef", LocationOID=f"LOC.{subject.site.number}")
            w.start("StudyEventData", StudyEventOID=EVENT_OID)
            for d in subject_domains:
                rows = []
                while heads[d.file] is not None and heads[d.file][0] == subject.pk:
                    rows.append(heads[d.file][1])
                    heads[d.file] = next(streams[d.file], None)
                if not rows:
                    continue
                w.start("FormData", FormOID=f"F.{_oid(d)}")
                for row in rows:
                    _item_group(w, d, row, form_signatures.get((content_types[d.file], row["id"])))
                    counts[d.file] += 1
                w.end("FormData")
            w.end("StudyEventData")
            w.end("SubjectData")
        w.end("ClinicalData")
        w.end("ODM")
        w.out.endDocument()
    if progress:
        progress(total, total)
    return counts


def _signature(w: _Writer, signature: Signature, definition: str) -> None:
    w.start("Signature")
    w.leaf("UserRef", UserOID=f"U.{signature.signer.username}")
    w.leaf("LocationRef", LocationOID=f"LOC.{signature.subject.site.number}")
    w.leaf("SignatureRef", SignatureOID=definition)
    w.leaf("DateTimeStamp", signature.signed_at.astimezone(UTC).isoformat())
    w.end("Signature")


def _item_group(w: _Writer, domain: Domain, row: dict, signature: Signature | None) -> None:
    w.start("ItemGroupData", ItemGroupOID=f"IG.{_oid(domain)}", ItemGroupRepeatKey=str(row["id"]))
    if row["_at"] is not None:
        w.start("AuditRecord")
        w.leaf("UserRef", UserOID=f"U.{row['_by']}" if row["_by"] else "U.~system")
        w.leaf("LocationRef", LocationOID=f"LOC.{row['_site']}")
        w.leaf("DateTimeStamp", row["_at"].astimezone(UTC).isoformat())
        if row["_why"]:
            w.leaf("ReasonForChange", row["_why"])
        w.end("AuditRecord")
    if signature is not None:
        _signature(w, signature, "SD.FORM")
    items = []
    for c in _item_columns(domain):
        value = row[c.path]
        if value is None or value == "" or value == []:
            continue
        data_type = _data_type(domain, c)
        items.append((_TYPE_ORDER.index(data_type), c, data_type, value))
    for _, c, data_type, value in sorted(items, key=lambda item: item[0]):
        w.leaf(_ELEMENT[data_type], _value(data_type, value),
               ItemOID=f"I.{_oid(domain)}.{c.name.upper()}")  # fmt: skip
    w.end("ItemGroupData")
