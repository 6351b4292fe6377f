"""Models that deliberately have no simple-history audit trail, each with the reason.

tests/audit/test_every_model_audited.py fails on any model that is neither audited nor listed here.
"""

UNAUDITED_MODELS: dict[str, str] = {
    "auth.permission": "Django's permission catalogue, written by migrations; not trial data.",
    "auth.group": "Unused: study roles are crf.Membership rows, which are audited.",
    "contenttypes.contenttype": "Django's model catalogue, written by migrations.",
    "sessions.session": "Login sessions; logins and logouts are recorded as accounts.AccountEvent.",
    "admin.logentry": "Django admin's own action log; itself a log, never edited.",
    "axes.accessattempt": "django-axes' failure counters; every failure and lockout is recorded "
    "as an append-only accounts.AccountEvent.",
    "axes.accesslog": "django-axes' access log; mirrored by accounts.AccountEvent.",
    "axes.accessattemptexpiration": "django-axes' expiry times, derived from its counters.",
    "axes.accessfailurelog": "django-axes' failure log; mirrored by accounts.AccountEvent.",
    "crf.editcheckconfirmation": "Itself an audit record (a soft edit check confirmed), kept "
    "append-only by a PostgreSQL trigger.",
    "mrd.mrdupload": "The record of an uploaded results file (content and checksum); the results "
    "it created or corrected are audited rows of mrd.MrdResult.",
    "safety.ctcaeterm": "Reference terminology (NCI CTCAE v5.0), loaded from the shipped list or "
    "the NCI file; the grade of every adverse event is audited with the event.",
    "alerts.evaluationmark": "A work queue entry (subject to re-evaluate), not trial data; removed "
    "once the evaluation ran.",
    "exports.studyexport": "A workflow record (who exported what, when, row counts, SHA-256), "
    "written by the export itself and shown in the study's audit review; not trial data.",
    "exports.reportdataversion": "A counter of changes to the data the study reports count "
    "(which stored reports are stale); the changes themselves are audited records.",
    "exports.storedreport": "A cache of the study report computed from audited records, "
    "recomputed whenever they change; not trial data.",
    "exports.storedreportplot": "A plot of a cached study report; not trial data.",
    "monitoring.querymessage": "Itself an audit record (one step of a query's conversation), "
    "kept append-only by a PostgreSQL trigger; the query's status changes are audited rows of "
    "monitoring.Query.",
    "accounts.accountevent": "Itself an audit record, kept append-only by a PostgreSQL trigger.",
    "api.apitoken": "A personal API token (a digest, never the secret); its creation, first use "
    "each day, refusals and revocation are accounts.AccountEvent rows.",
    "api.idempotentresponse": "The answer kept for a repeated API post; what the post wrote is "
    "audited in its own records.",
    "api.tokenrequestcount": "A rate-limit counter (requests per token and minute); not trial "
    "data.",
    "otp_totp.totpdevice": "django-otp's TOTP secret of an account; enrolment, removal, every "
    "verification and failure are accounts.AccountEvent rows.",
    "otp_static.staticdevice": "django-otp's holder of an account's recovery codes; their "
    "creation and each use are accounts.AccountEvent rows.",
    "otp_static.statictoken": "One recovery code (removed when used); creation and use are "
    "accounts.AccountEvent rows.",
}
