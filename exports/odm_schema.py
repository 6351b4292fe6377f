"""Validating an ODM file against the CDISC ODM 1.3.2 schema.

The foundation schema is CDISC's (not shipped with the project: ODM_SCHEMA points at it, by
default ../shared/reference/odm1-3-2-foundation.xsd beside the project); the W3C schemas it
imports (xml.xsd, xmldsig-core-schema.xsd) are the copies inside the xmlschema package.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import xmlschema

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_SCHEMA = PROJECT.parent / "shared" / "reference" / "odm1-3-2-foundation.xsd"
_PACKAGED = Path(xmlschema.__file__).resolve().parent / "schemas"


def schema_path() -> Path:
    return Path(os.environ.get("ODM_SCHEMA", DEFAULT_SCHEMA))


@cache
def odm_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(
        str(schema_path()),
        locations={
            "http://www.w3.org/XML/1998/namespace": str(_PACKAGED / "XML" / "xml.xsd"),
            "http://www.w3.org/2000/09/xmldsig#": str(
                _PACKAGED / "DSIG" / "xmldsig-core-schema.xsd"
            ),
        },
    )


def odm_errors(path: Path, limit: int = 20) -> list[str]:
    """The schema's complaints about an ODM file (empty when it is valid)."""
    errors = []
    for error in odm_schema().iter_errors(str(path)):
        errors.append(f"{error.path}: {error.reason}")
        if len(errors) >= limit:
            break
    return errors
