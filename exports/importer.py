"""Loading a study from CSV files in the export's format: everything is checked first, and on
any error nothing is saved. Each error names the file, the row and the column.

Records keep their ids, so the files' references stay true and exporting the imported study
gives the same files again. Every record gets a history row with the reason "imported".
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import IntegrityError, connection, models, transaction
from simple_history.utils import bulk_create_with_history

from audit.cells import text_from_cell
from audit.models import ClinicalRecord
from audit.services import write_guards_check_many
from crf.editchecks import subject_status_update
from crf.models import Subject
from crf.records import subject_of
from crf.services.records import records_create, records_refusals, subjects_changed

from .domains import DOMAIN_FILES, Column, Domain, domains

IMPORT_REASON = "imported"
MAX_ERRORS = 200


@dataclass(frozen=True)
class ImportError_:
    file: str
    row: int  # the line in the file: the header is row 1
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class StudyImportFailed(Exception):
    def __init__(self, errors: list[ImportError_]):
        self.errors = errors
        super().__init__(f"{len(errors)} error(s); nothing was imported")


@dataclass
class ImportResult:
    counts: dict[str, int]
    users_created: list[str]
    statuses_derived: int = 0  # subjects whose status the files gave otherwise than the records
    subject_ids: list[int] = field(default_factory=list)


def _read_files(source: Path) -> dict[str, str]:
    if source.is_dir():
        return {p.name: p.read_text(encoding="utf-8") for p in source.glob("*.csv")}
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            return {
                Path(n).name: archive.read(n).decode("utf-8")
                for n in archive.namelist()
                if n.endswith(".csv")
            }
    raise StudyImportFailed([ImportError_(str(source), 0, "", "not a folder or a ZIP file")])


class _Resolver:
    """Turns the files' references (ids, study IDs, site numbers, usernames, codes) into ids,
    looking first at the rows being imported, then at what the database already holds."""

    def __init__(self):
        self.ids_in_files: dict[str, set[int]] = {}  # file -> ids its rows carry
        self.natural_in_files: dict[str, dict[str, int]] = {}  # file -> natural key -> id
        self.usernames: set[str] = set()
        self._content_types = {ct.model: ct.pk for ct in ContentType.objects.all()}
        self._terms: dict[str, int] | None = None

    def resolve(self, column: Column, cell: str) -> object:
        if column.target == "users":
            self.usernames.add(cell)
            return cell  # replaced by the user's id once the users exist
        label = column.field.related_model._meta.label
        if label == "contenttypes.ContentType":
            if cell not in self._content_types:
                raise ValidationError(f"unknown record type {cell!r}")
            return self._content_types[cell]
        if label == "safety.CtcaeTerm":
            if self._terms is None:
                from safety.models import CtcaeTerm

                self._terms = {
                    str(code): pk for pk, code in CtcaeTerm.objects.values_list("pk", "meddra_code")
                }
            if cell not in self._terms:
                raise ValidationError(f"no CTCAE v5.0 term with MedDRA code {cell}")
            return self._terms[cell]
        model = column.field.related_model
        if column.name == column.field.attname:  # by id
            pk = _int(cell)
            if pk in self.ids_in_files.get(column.target, set()):
                return pk
            if model._default_manager.filter(pk=pk).exists():
                return pk
            raise ValidationError(f"no record with id {pk} in {column.target}")
        key = column.path.split("__", 1)[1]  # by natural key (site number, study ID, ...)
        known = self.natural_in_files.get(column.target, {})
        if cell in known:
            return known[cell]
        found = model._default_manager.filter(**{key: cell}).values_list("pk", flat=True).first()
        if found is None:
            raise ValidationError(f"no {model._meta.verbose_name} {cell!r}")
        return found


def _int(cell: str) -> int:
    try:
        return int(cell)
    except ValueError as exc:
        raise ValidationError(f"{cell!r} is not a whole number") from exc


def _parse(column: Column, cell: str, resolver: _Resolver) -> object:
    field = column.field
    if cell == "":
        if column.kind in {"text", "code"} and not field.null:
            return ""
        if column.kind == "list":
            return [] if field.get_internal_type() == "ArrayField" else field.get_default()
        return None
    kind = column.kind
    if kind == "reference":
        return resolver.resolve(column, cell)
    if kind == "integer":
        return _int(cell)
    if kind == "decimal":
        try:
            return Decimal(cell)
        except InvalidOperation as exc:
            raise ValidationError(f"{cell!r} is not a number") from exc
    if kind == "boolean":
        if cell not in {"true", "false"}:
            raise ValidationError(f"{cell!r} is not true or false")
        return cell == "true"
    if kind == "date":
        try:
            return date.fromisoformat(cell)
        except ValueError as exc:
            raise ValidationError(f"{cell!r} is not a date (YYYY-MM-DD)") from exc
    if kind == "datetime":
        try:
            value = datetime.fromisoformat(cell)
        except ValueError as exc:
            raise ValidationError(f"{cell!r} is not a date and time (ISO 8601)") from exc
        if value.tzinfo is None:
            raise ValidationError(f"{cell!r} has no time zone (write it in UTC, +00:00)")
        return value
    if kind == "code":
        codes = {code for code, _ in column.codes}
        if {"yes", "no"} <= codes and cell in {"true", "false"}:
            # a question that was yes/no and now also knows "unknown" (cd20_positive): files
            # exported before still read
            cell = "yes" if cell == "true" else "no"
        if cell not in codes:
            raise ValidationError(f"{cell!r} is not one of the allowed codes")
        return cell
    if kind == "list":
        if field.get_internal_type() == "ArrayField":
            return cell.split("|")
        try:
            return json.loads(cell)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{cell!r} is not valid JSON") from exc
    return text_from_cell(cell)


def _rows(text: str) -> tuple[list[str], list[list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    return header, list(reader)


def study_import(source: Path, *, user=None) -> ImportResult:
    """Check every file, then save everything in one transaction; StudyImportFailed otherwise."""
    files = _read_files(source)
    errors: list[ImportError_] = []
    known = {file for file, _ in DOMAIN_FILES} | {"audit_trail.csv", "data_dictionary.csv"}
    for name in sorted(set(files) - known):
        errors.append(ImportError_(name, 0, "", "not a file of the export format"))
    resolver = _Resolver()
    parsed: list[tuple[Domain, list[tuple[int, dict]]]] = []
    # First pass: the ids and natural keys each file brings, for references between files.
    tables = {}
    for domain in domains():
        if domain.file not in files:
            continue
        header, rows = _rows(files[domain.file])
        if header != domain.header:
            missing = [c for c in domain.header if c not in header]
            extra = [c for c in header if c not in domain.header]
            message = "the header is not the export's"
            if missing:
                message += f"; missing: {', '.join(missing)}"
            if extra:
                message += f"; unknown: {', '.join(extra)}"
            errors.append(ImportError_(domain.file, 1, "", message))
            continue
        tables[domain.file] = rows
        ids = set()
        for row in rows:
            if row and row[0].isdigit():
                ids.add(int(row[0]))
        resolver.ids_in_files[domain.file] = ids
        natural = {
            "sites.csv": "number",
            "subjects.csv": "study_id",
            "protocol_versions.csv": "number",
        }.get(domain.file)
        if natural:
            at = domain.header.index(natural)
            resolver.natural_in_files[domain.file] = {
                row[at]: int(row[0]) for row in rows if len(row) > at and row[0].isdigit()
            }
    # Second pass: every cell parsed, every record checked.
    for domain in domains():
        if domain.file not in tables:
            continue
        records = []
        for number, row in enumerate(tables[domain.file], start=2):
            if len(errors) >= MAX_ERRORS:
                break
            if len(row) != len(domain.columns):
                errors.append(
                    ImportError_(
                        domain.file, number, "", f"{len(row)} cells, expected {len(domain.columns)}"
                    )  # fmt: skip
                )
                continue
            values, row_ok = {}, True
            for column, cell in zip(domain.columns, row, strict=True):
                try:
                    values[column.field.attname] = _parse(column, cell, resolver)
                except ValidationError as exc:
                    errors.append(ImportError_(domain.file, number, column.name, exc.messages[0]))
                    row_ok = False
            if row_ok:
                records.append((number, values))
        parsed.append((domain, records))
    if len(errors) >= MAX_ERRORS:
        raise StudyImportFailed(errors)
    # Each file's records go through the write pipeline's checks (derived values, hard checks,
    # locks) as the same record entered in a form would, then are saved in one transaction,
    # which is rolled back if anything at all was wrong.
    with transaction.atomic():
        users, created_users = _users(resolver.usernames)
        counts: dict[str, int] = {}
        loaded = _Loaded()
        subject_ids: set[int] = set()
        for domain, records in parsed:
            objects, numbers = [], []
            for number, values in records:
                for column in domain.columns:
                    if column.target == "users" and values[column.field.attname] is not None:
                        values[column.field.attname] = users[values[column.field.attname]]
                objects.append(domain.model(**values, version=1, created_by=user, updated_by=user))
                numbers.append(number)
            orphans = loaded.relate(domain.model, objects)
            refused = [_error(domain, numbers[i], "", m) for i, m in orphans.items()]
            kept = [(o, n) for i, (o, n) in enumerate(zip(objects, numbers, strict=True))
                    if i not in orphans]  # fmt: skip
            objects, numbers = [o for o, _ in kept], [n for _, n in kept]
            refused += _refusals(domain, objects, numbers)
            errors.extend(refused)
            # The accepted rows are saved even after an error (all is rolled back in the end),
            # so that the database checks them too and the next files see them.
            refused_rows = {e.row for e in refused}
            kept = [(o, n) for o, n in zip(objects, numbers, strict=True) if n not in refused_rows]
            objects, numbers = [o for o, _ in kept], [n for _, n in kept]
            errors.extend(_create(domain, objects, numbers, user))
            loaded.keep(domain.model, objects)
            if domain.model is Subject or issubclass(domain.model, ClinicalRecord):
                subject_ids.update(subject_of(o).pk for o in objects)
            counts[domain.file] = len(objects)
        if errors:
            transaction.set_rollback(True)
            raise StudyImportFailed(errors[:MAX_ERRORS])
        _sequences_reset([d.model for d, _ in parsed])
        statuses = _statuses_derive(subject_ids, user)
        subjects_changed(subject_ids)  # every subject with imported data is evaluated by the rules
    return ImportResult(
        counts=counts,
        users_created=created_users,
        statuses_derived=statuses,
        subject_ids=sorted(subject_ids),
    )


class _Loaded:
    """The records of this import by model and id, so that a record's references (its subject,
    panel, sample ...) are the objects already checked, not one query each."""

    def __init__(self):
        self.by_model: dict[type[models.Model], dict[int, models.Model]] = {}

    def keep(self, model, objects) -> None:
        self.by_model.setdefault(model, {}).update((o.pk, o) for o in objects)

    def relate(self, model, objects) -> dict[int, str]:
        """Point each object's references at the records they name; returns, by index, the
        reference of each object whose record was refused above (nothing is checked twice)."""
        missing: dict[int, str] = {}
        for reference in model._meta.concrete_fields:
            if not reference.is_relation or reference.related_model is get_user_model():
                continue
            target = reference.related_model
            known = self.by_model.get(target, {})
            wanted = {getattr(o, reference.attname) for o in objects} - set(known) - {None}
            if wanted:  # references to records already in the database: one query per field
                known = {**known, **target._default_manager.in_bulk(wanted)}
            for i, obj in enumerate(objects):
                pk = getattr(obj, reference.attname)
                parent = known.get(pk)
                if parent is not None:
                    reference.set_cached_value(obj, parent)
                elif pk is not None:
                    missing.setdefault(i, f"{reference.name} {pk} was not imported (see above)")
        return missing


def _error(domain: Domain, number: int, field: str, message: str) -> ImportError_:
    columns = {c.field.name: c.name for c in domain.columns}
    column = columns.get(field, field) if field not in ("__all__", "") else ""
    return ImportError_(domain.file, number, column, message)


def _refusals(domain: Domain, objects, numbers) -> list[ImportError_]:
    """What the write pipeline refuses (clinical records) or the model refuses (the rest)."""
    model = domain.model
    if issubclass(model, ClinicalRecord):
        refusals = records_refusals(objects, exclude=_relations(model))
    else:
        refusals = []
        for obj in objects:
            try:
                obj.clean_fields(exclude=_relations(model))
                obj.clean()
                refusals.append(None)
            except ValidationError as invalid:
                refusals.append(invalid)
        for i, refusal in enumerate(write_guards_check_many(objects)):
            refusals[i] = refusals[i] or refusal
    errors = []
    for number, refusal in zip(numbers, refusals, strict=True):
        if refusal is None:
            continue
        if hasattr(refusal, "error_dict"):
            for field, messages in refusal.message_dict.items():
                errors.extend(_error(domain, number, field, m) for m in messages)
        else:
            errors.extend(_error(domain, number, "", m) for m in refusal.messages)
    return errors


def _create(domain: Domain, objects, numbers, user) -> list[ImportError_]:
    """Save a file's records with their history; if the database refuses them (a uniqueness or
    a constraint), find the rows that break it."""
    try:
        with transaction.atomic():
            if issubclass(domain.model, ClinicalRecord):
                records_create(objects, domain.model, user=user, reason=IMPORT_REASON)
            else:
                bulk_create_with_history(
                    objects, domain.model, batch_size=1000, default_user=user,
                    default_change_reason=IMPORT_REASON,
                )  # fmt: skip
        return []
    except IntegrityError as refused:
        errors = []
        for number, obj in zip(numbers, objects, strict=True):
            try:
                obj.validate_unique()
                obj.validate_constraints()
            except ValidationError as invalid:
                for field, messages in invalid.message_dict.items():
                    errors.extend(_error(domain, number, field, m) for m in messages)
        return errors or [ImportError_(domain.file, 0, "", f"the database refused it: {refused}")]


def _statuses_derive(subject_ids: set[int], user) -> int:
    """Each imported subject's status follows its end-of-study and death records, as it does
    after a save in a form; returns how many the files gave differently."""
    return sum(
        subject_status_update(subject, user)
        for subject in Subject.objects.filter(pk__in=subject_ids)
    )


def _relations(model: type[models.Model]) -> list[str]:
    # References were resolved above (rows of the same import are not in the database yet).
    return [f.name for f in model._meta.concrete_fields if f.is_relation]


def _users(usernames: Iterable[str]) -> tuple[dict[str, int], list[str]]:
    """The users the files name; a name unknown here becomes an inactive account that cannot
    log in (the people of another system keep their names in the trail, not a login)."""
    User = get_user_model()
    existing = dict(User.objects.filter(username__in=usernames).values_list("username", "pk"))
    created = []
    for name in sorted(set(usernames) - set(existing)):
        account = User(username=name, is_active=False)
        account.set_unusable_password()
        account._change_reason = IMPORT_REASON
        account.save()
        existing[name] = account.pk
        created.append(name)
    return existing, created


def _sequences_reset(model_list: list[type[models.Model]]) -> None:
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), model_list):
            cursor.execute(sql)
