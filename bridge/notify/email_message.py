"""The email both mail channels send: a pure payload, and the MIME message built from it.

One ``multipart/alternative`` with a plain-text part and an HTML part (clients that block HTML
still get the whole alert). ``Message-ID`` is derived from the alert, state and level, and
updates carry ``In-Reply-To``/``References`` to the first message, so mail clients thread an
alert's firing, escalation and resolution together.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from bridge.notify.base import Notification, Payload
from bridge.notify.render import text_lines


def message_id(notification: Notification, domain: str) -> str:
    n = notification
    return f"<secmon.{n.alert_id}.{n.state}.{n.escalation_level}@{domain}>"


def html_body(notification: Notification) -> str:
    n = notification
    e = html.escape
    rows = "".join(
        f"<tr><th align='left'>{label}</th><td>{e(value)}</td></tr>"
        for label, value in (
            ("Severity", n.severity.upper()),
            ("Asset", n.asset),
            ("Rule", n.rule_id),
            ("Category", n.category),
            ("Alert", n.alert_id),
        )
        if value
    )
    parts = [f"<h2>{e(n.display_title)}</h2>", f"<p>{e(n.message)}</p>", f"<table>{rows}</table>"]
    if n.remediation:
        parts.append(f"<h3>Remediation</h3><p>{e(n.remediation)}</p>")
    if n.links:
        items = "".join(f"<li><a href='{e(link.url)}'>{e(link.title)}</a></li>" for link in n.links)
        parts.append(f"<ul>{items}</ul>")
    return "<html><body>" + "".join(parts) + "</body></html>"


def build_email_payload(
    notification: Notification,
    *,
    channel: str,
    from_address: str,
    to: Sequence[str],
    domain: str,
) -> Payload:
    """Pure: the email's parts as JSON (the MIME message is assembled at send time)."""
    n = notification
    body: dict[str, Any] = {
        "from": from_address,
        "to": list(to),
        "subject": f"[secmon {n.severity.upper()}] {n.display_title}",
        "text": "\n".join(text_lines(n)) + "\n",
        "html": html_body(n),
        "message_id": message_id(n, domain),
        "in_reply_to": n.previous.id if n.previous is not None else None,
    }
    return Payload(channel=channel, alert_id=n.alert_id, operation="send", body=body)


def mime_message(body: Mapping[str, Any], *, date: float | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = body["from"]
    message["To"] = ", ".join(body["to"])
    message["Subject"] = body["subject"]
    message["Message-ID"] = body["message_id"]
    message["Date"] = formatdate(date, localtime=False, usegmt=True)
    if body.get("in_reply_to"):
        message["In-Reply-To"] = body["in_reply_to"]
        message["References"] = body["in_reply_to"]
    message.set_content(body["text"])
    message.add_alternative(body["html"], subtype="html")
    return message
