"""The subject's MRD kinetics picture, from stored samples and results."""

from crf.casebook import phase_spans
from crf.models import TreatmentCourse
from protocol import mrd, schedule

from .plot import MrdPoint, PhaseBand, render_kinetics_svg


def kinetics_svg(subject, samples) -> str:
    points = []
    for sample in samples:
        day = schedule.study_day(subject.day1_date, sample.sampled_on)
        for result in sample.results.all():
            if result.entered_in_error:
                continue
            shown = result.value if result.value is not None else result.sensitivity
            label = f"{sample.get_timepoint_display()} {result.get_method_display()}"
            if shown is not None:
                label += f" {mrd.format_mrd(shown)}"
            points.append(
                MrdPoint(
                    study_day=day,
                    result_class=result.result_class,
                    value=result.value,
                    sensitivity=result.sensitivity,
                    quantitative_range=result.quantitative_range,
                    label=label,
                    method=result.method,
                )
            )
    courses = list(TreatmentCourse.objects.filter(subject=subject, entered_in_error=False))
    phases = [PhaseBand(n, first, last) for n, first, last in phase_spans(subject, courses)]
    return render_kinetics_svg(points, phases, threshold=mrd.MRD_THRESHOLD)
