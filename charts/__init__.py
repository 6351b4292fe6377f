"""What the server-rendered SVG pictures share (crf.timeline, mrd.plot).

A bottom layer, standard library only: no Django and no project app is imported here, so the
drawings stay pure functions of their input. By idea:

    svg       the document root, escaping, attributes, tags, tooltips, the empty-picture panel
    text      fonts and text width estimates
    colours   the shared inks and the phase colours
    axis      the study-day axis: day geometry (DayScale), ticks, tick marks and day labels
    legend    legend entries and their wrapping

The study days worth a tick are the caller's (protocol.schedule.LANDMARK_DAYS).
"""
