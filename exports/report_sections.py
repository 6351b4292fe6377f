"""What the study report pages show, named once for the pages, the worker that computes the
stored reports and the plots: the sections, their plots and the plots' titles (no matplotlib
here, so that the web process never loads it)."""

# slug -> (title, key of the JSON report, plots drawn in the section)
SECTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "enrolment": ("Enrolment by site", "enrolment", ("enrolment",)),
    "table-1": ("Patient characteristics (Table 1)", "table_1", ()),
    "primary-endpoint": ("Primary endpoint: MRD negativity at week 11", "primary_endpoint", ()),
    "mrd": ("MRD response by timepoint", "mrd_by_timepoint", ()),
    "adverse-events": ("Adverse events (Table 2)", "adverse_events", ()),
    "flow": ("Flow of patients (Figure 1)", "flow", ("flow",)),
    "survival": ("Survival and relapse", "survival", ("os", "efs", "cir")),
}

PLOT_TITLES: dict[str, str] = {
    "enrolment": "Enrolment by site",
    "flow": "Flow of patients",
    "os": "Overall survival",
    "efs": "Event-free survival",
    "cir": "Cumulative incidence of relapse in CR1",
}

FORMATS = {"svg": "image/svg+xml", "png": "image/png"}

# Table 2's rows (`?ae_rows=`): every adverse event recorded, or the rows the publication's
# footnote keeps (protocol.safety.PUBLICATION_FOOTNOTE). The worker stores both.
AE_ROWS = ("all", "publication")
# The time-to-event plots, by the key of their endpoint in protocol.reports.Survival; each has
# its events and numbers at risk stored under PLOT_CAPTION (the page shows them under it).
SURVIVAL_PLOTS = {"os": "overall", "efs": "event_free", "cir": "relapse_in_cr1"}
PLOT_CAPTION = "plot:{name}"


def section_key(slug: str, ae_rows: str = AE_ROWS[0]) -> str:
    """The key of a section's stored HTML: the adverse events' publication rows apart."""
    if slug == "adverse-events" and ae_rows == "publication":
        return f"{slug}:publication"
    return slug


# Plots of dates and of single patients' times: not drawn for a group shown by its counts only.
WITHHELD_PLOTS = {"enrolment", "os", "efs", "cir"}


def drawn(counts_only: str | None, name: str) -> bool:
    """Whether plot `name` is drawn for a report (not for a group shown by its counts only)."""
    return not (counts_only and name in WITHHELD_PLOTS)
