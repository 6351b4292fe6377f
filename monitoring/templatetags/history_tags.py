"""The rows of a history table (the audit trail pages and a record's review page): one row per
changed field of each event, the event's time, user and record repeated on each.

Written here rather than by an included template per row: a page of fifty events can hold
several hundred changed fields, and the template engine took most of such a page's time.
"""

from datetime import UTC

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

register = template.Library()


@register.simple_tag
def history_rows(event, *, subject=None, with_record: bool = False) -> SafeString:
    """`event`'s rows: its time (UTC and on the site's clock), user and roles, its subject and
    site (unless the table is one `subject`'s), record (`with_record`) and kind, then each
    changed field's old and new value (times in values on the site's clock), and the reason."""
    head = format_html(
        '\n<tr class="audit-{}">\n'
        '  <td class="history-utc">{}</td><td class="history-local">{}</td>\n'
        '  <td class="history-user">{}<div class="small text-muted">{}</div></td>\n  ',
        slugify(event.kind),
        date_format(event.at.astimezone(UTC), "Y-m-d H:i:s"),
        date_format(timezone.localtime(event.at), "Y-m-d H:i T"),
        event.user,
        event.user_roles,
    )
    if not subject:
        site = format_html('<div class="small text-muted">site {}</div>', event.site)
        head += format_html("<td>{}{}</td>", event.subject, site if event.site else "")
    record = format_html("{} ", event.record) if with_record else ""
    head += format_html(
        '\n  <td class="history-record">{}'
        '<span class="badge bg-light text-dark">{}</span></td>\n  ',
        record,
        event.kind,
    )
    tail = format_html('\n  <td class="history-reason">{}</td>\n</tr>\n', event.reason)
    if not event.changes:
        empty = mark_safe(  # noqa: S308 - a literal
            '<td class="history-field"></td><td class="history-old"></td>'
            '<td class="history-new"></td>'
        )
        return head + empty + tail
    return format_html_join(
        "",
        "{}"
        '<td class="history-field">{}</td><td class="history-old">{}</td>'
        '<td class="history-new">{}</td>{}',
        ((head, c.field, c.old_text, c.new_text, tail) for c in event.changes),
    )
