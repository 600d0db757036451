"""The school year's summary of a partnership as a document to print, file or send to the
education office: plain text, and a DOCX (python-docx: Word and LibreOffice open it, and
a director prints it as it is), written in the partnership's language."""

from __future__ import annotations

import io

from docx import Document
from docx.shared import Pt

from exchange.activities.plan import GoalSummary, YearSummary
from exchange.i18n import _, using_language
from exchange.partnerships.letter import file_name_part


def summary_filename(summary: YearSummary, extension: str) -> str:
    """ "Summary of the partnership 2025-2026 - <school> and <school>.docx", in the
    partnership's language, safe to save."""
    with using_language(summary.partnership.language):
        stem = _("Summary of the partnership {year}", year=summary.label.replace("–", "-"))
    names = " - ".join(file_name_part(s.name, 70) for s in summary.schools)
    return f"{stem} - {names}.{extension}"


def _progress(goal: GoalSummary, summary: YearSummary) -> list[str]:
    lines = []
    if goal.average is None:
        lines.append(_("No evaluation gave a progress for this goal this year."))
        return lines
    lines.append(_("Progress, on average: {average} of 5.", average=goal.average))
    for school in summary.schools:
        average = goal.average_of(school.id)
        if average is not None:
            lines.append(_("{school}: {average} of 5.", school=school.name, average=average))
    lines.append(
        _(
            "Evaluations that say to go on: {yes} of {total}.",
            yes=goal.continue_yes,
            total=goal.evaluations,
        )
    )
    return lines


def _heading(summary: YearSummary) -> tuple[str, str, str]:
    title = _("Summary of the partnership, school year {year}", year=summary.label)
    between = " — ".join(s.name for s in summary.schools)
    counts = _(
        "Activities this school year: {done} done, {planned} planned, {cancelled} cancelled.",
        done=summary.done,
        planned=summary.planned,
        cancelled=summary.cancelled,
    )
    if not summary.ended:
        counts += " " + _("The school year has not ended yet: this summary is provisional.")
    return title, between, counts


def summary_text(summary: YearSummary) -> str:
    with using_language(summary.partnership.language):
        title, between, counts = _heading(summary)
        lines = [title, "=" * len(title), "", between, "", counts, ""]
        for number, goal in enumerate(summary.goals, start=1):
            heading = _("Goal {number}: {goal}", number=number, goal=goal.goal)
            lines += [heading, "-" * min(len(heading), 76)]
            if goal.activities:
                lines.append(_("Activities that served it:"))
                lines += [
                    f"  • {v.activity.starts_on.isoformat()} {v.activity.title}"
                    for v in goal.activities
                ]
            else:
                lines.append(_("No done activity served this goal this school year."))
            lines += _progress(goal, summary)
            if goal.went_well:
                lines.append(_("What went well:"))
                lines += [
                    f"  • {r.school.name} ({r.activity_title}): {r.text}" for r in goal.went_well
                ]
            if goal.to_change:
                lines.append(_("What to change:"))
                lines += [
                    f"  • {r.school.name} ({r.activity_title}): {r.text}" for r in goal.to_change
                ]
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"


def summary_docx(summary: YearSummary) -> bytes:
    with using_language(summary.partnership.language):
        title, between, counts = _heading(summary)
        document = Document()
        document.core_properties.title = title
        document.core_properties.language = summary.partnership.language
        style = document.styles["Normal"]
        style.font.size = Pt(11)
        document.add_heading(title, level=0)
        document.add_paragraph(between)
        document.add_paragraph(counts)
        for number, goal in enumerate(summary.goals, start=1):
            document.add_heading(_("Goal {number}: {goal}", number=number, goal=goal.goal), level=1)
            if goal.activities:
                document.add_paragraph(_("Activities that served it:"))
                for view in goal.activities:
                    document.add_paragraph(
                        f"{view.activity.starts_on.isoformat()} {view.activity.title}",
                        style="List Bullet",
                    )
            else:
                document.add_paragraph(_("No done activity served this goal this school year."))
            for line in _progress(goal, summary):
                document.add_paragraph(line)
            for label, remarks in (
                (_("What went well:"), goal.went_well),
                (_("What to change:"), goal.to_change),
            ):
                if not remarks:
                    continue
                document.add_heading(label, level=2)
                for remark in remarks:
                    paragraph = document.add_paragraph(style="List Bullet")
                    paragraph.add_run(
                        f"{remark.school.name} ({remark.activity_title}): "
                    ).bold = True
                    paragraph.add_run(remark.text)
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()
