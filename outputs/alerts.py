"""Alerts: one message per recipient group listing newly missing and late reports and failing sources.

Exactly once, through the ledger (``storage.ledger``): each (group, channel, agency, year, status)
gets one row, inserted as pending before anything is sent.  A run first *claims* the pending rows
of a group and channel, atomically, so two runs at once (cron beside the scheduler) never send the
same row; its message carries exactly the rows it claimed, which are marked sent once the server
accepted it.  Running twice sends nothing twice; a failed send leaves the rows pending (attempts + 1,
last_error, claim released) so the next run sends them, and ``run_alerts`` counts them as failed
(``monitor --alert`` then exits non-zero).  A run killed while holding a claim leaves its rows to
be taken over after ``CLAIM_EXPIRY``.  A source is reported once per streak of N failed runs (N =
monitor.failing_runs_before_alert, default 3), not on every run.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import socket
import ssl
import tempfile
import uuid
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from html import escape
from pathlib import Path
from typing import Any

from config import Config
from monitor.changes import list_changes
from monitor.glossary import DIGEST_FORMATS, RUN_LABELS, mime_type
from monitor.numbers import change_summary
from monitor.refresh import stored_rows
from monitor.status import compute_status
from storage import ledger
from storage.store import Store

log = logging.getLogger(__name__)

ALERT_STATUSES = ("missing", "late")
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
# How long a claim protects rows from other senders: well beyond one send (the SMTP timeout is at
# most 10 minutes per step), so only a killed sender's claim ever expires.
CLAIM_EXPIRY = timedelta(minutes=30)
# Reports modified or removed after publication are alerted when the change is this recent (a
# first run after an upgrade does not mail every change ever recorded).
CHANGE_WINDOW = timedelta(days=30)
CHANGE_STATUSES = ("modified", "removed")


class AlertError(Exception):
    """An alert channel is misconfigured or refused the message."""


def failing_sources(store: Store, failing_runs: int) -> dict[str, dict[str, Any]]:
    """source id → the current streak of failed, blocked or interrupted runs, when it has at
    least N runs (an interrupted run proves no absence either: its reports stay not checkable)."""
    rows = ledger.closed_runs(store)
    streaks: dict[str, list[tuple[int, str, str | None]]] = {}
    broken: set[str] = set()
    for run_id, sid, status, reason in rows:
        if sid in broken:
            continue
        if status in ("failed", "blocked", "interrupted"):
            streaks.setdefault(sid, []).append((run_id, status, reason))
        else:
            broken.add(sid)
    return {
        sid: {"since_run": runs[-1][0], "runs": len(runs), "status": runs[0][1], "reason": runs[0][2] or ""}
        for sid, runs in streaks.items()
        if len(runs) >= failing_runs
    }


def _in_scope(group: dict, source_id: str | None, region: str | None) -> bool:
    sources, regions = group.get("sources") or [], group.get("regions") or []
    if not sources and not regions:
        return True
    return (source_id in sources) or any((region or "").startswith(r) for r in regions)


def _channels(group: dict) -> list[str]:
    out = []
    if group.get("emails"):
        out.append("email")
    if group.get("apprise"):
        out.append("apprise")
    return out


def _enqueue(store: Store, group: dict, channel: str, items: list[dict]) -> None:
    """A pending ledger row for every item not alerted before; the key says what "the same" is."""
    keyed = [
        (json.dumps([group["name"], channel, i["agency"], i["year"], i["status"], i.get("streak")]), i)
        for i in items
    ]
    ledger.enqueue(store, group["name"], channel, keyed)


def change_items(store: Store, config: Config, as_of: date) -> list[dict[str, Any]]:
    """One alert item per report modified or removed after publication in the last
    ``CHANGE_WINDOW``, its numbers named in the template's terms; the event id makes it "the same"."""
    since = (as_of - CHANGE_WINDOW).isoformat()
    names = {s["id"]: s["name"] for s in config.sources}
    items = []
    for c in list_changes(store, since=since):
        if c["kind"] not in CHANGE_STATUSES or c["at"][:10] > as_of.isoformat():
            continue
        detail = c["detail"]
        if c["kind"] == "removed":
            evidence = f"报告已被撤下（{detail.get('reason') or '原因未记录'}）"
        elif detail.get("numbers"):
            evidence = "数字改动：" + change_summary(detail["numbers"])
        else:
            evidence = "文字有改动，表格中的数字未变"
        items.append(
            {
                "agency": c["title"] or c["url"],
                "year": None,
                "status": c["kind"],
                "streak": f"event:{c['id']}",  # the key's "which one" slot: each event alerted once
                "source_id": c["source_id"],
                "deadline": None,
                "url": c["url"],
                "evidence": f"{evidence}（{names.get(c['source_id'], c['source_id'])}，{c['at'][:10]}）",
            }
        )
    return items


def sender_name() -> str:
    """This run's name in the ledger's claims: host, process and a random part (unique per run)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def compose(group: str, items: list[dict], as_of: date) -> tuple[str, str, str]:
    """(subject, plain text, html) for one group's pending items."""
    missing = [i for i in items if i["status"] == "missing"]
    late = [i for i in items if i["status"] == "late"]
    failing = [i for i in items if i["status"] == "source_failing"]
    changed = [i for i in items if i["status"] in CHANGE_STATUSES]
    counts = []
    if missing:
        counts.append(f"新增缺报 {len(missing)} 份")
    if late:
        counts.append(f"新增迟报 {len(late)} 份")
    if failing:
        counts.append(f"{len(failing)} 个网站抓取失败")
    if changed:
        counts.append(f"{len(changed)} 份报告发布后被修改或撤下")
    subject = f"【政府信息公开年报监测】{group}：{'，'.join(counts) or '无新情况'}"
    text = [f"{group}：截至 {as_of}，监测发现以下新情况。", ""]
    html = [f"<p>{escape(group)}：截至 {escape(str(as_of))}，监测发现以下新情况。</p>"]
    sections = (
        ("缺报（已过截止日期仍未找到年度报告）", missing),
        ("迟报（发布日期晚于截止日期）", late),
        ("无法核查（网站连续抓取失败）", failing),
        ("发布后被修改或撤下的报告", changed),
    )
    for title, group_items in sections:
        if not group_items:
            continue
        text.append(f"{title}：")
        html.append(
            f"<h3>{escape(title)}</h3><table border='1' cellpadding='4' style='border-collapse:collapse'>"
        )
        html.append("<tr><th>机关</th><th>年度</th><th>截止日期</th><th>情况</th><th>链接</th></tr>")
        for i in sorted(group_items, key=lambda x: (-(x["year"] or 0), x["agency"])):
            year = f"{i['year']}年度" if i["year"] else ""
            due = f" 截止 {i['deadline']}" if i.get("deadline") else ""
            line = f"  - {i['agency']} {year}{due}：{i.get('evidence') or ''}"
            if i.get("url"):
                line += f" {i['url']}"
            text.append(line)
            url = i.get("url") or ""
            link = (
                f"<a href='{escape(url)}'>{escape(url)}</a>"
                if url.startswith(("http://", "https://"))
                else ""
            )
            html.append(
                f"<tr><td>{escape(i['agency'])}</td><td>{escape(year)}</td><td>{escape(i.get('deadline') or '')}</td>"
                f"<td>{escape(i.get('evidence') or '')}</td><td>{link}</td></tr>"
            )
        html.append("</table>")
        text.append("")
    text.append("此邮件由 nianbao 年报监测自动发送；同一情况只通知一次。")
    html.append("<p>此邮件由 nianbao 年报监测自动发送；同一情况只通知一次。</p>")
    return subject, "\n".join(text), "<html><body>" + "".join(html) + "</body></html>"


def build_message(
    smtp: dict, to: list[str], subject: str, text: str, html: str, attachment: Path | None
) -> EmailMessage:
    msg = EmailMessage()
    name, addr = parseaddr(smtp["from"])
    msg["From"] = formataddr((name, addr)) if name else addr
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=addr.rpartition("@")[2] or "nianbao")
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if attachment is not None:
        fmt = attachment.suffix.lstrip(".")
        mime = mime_type(fmt) if fmt in DIGEST_FORMATS else "application/octet-stream"
        maintype, subtype = mime.split("/")
        msg.add_attachment(
            attachment.read_bytes(), maintype=maintype, subtype=subtype, filename=attachment.name
        )
    return msg


def send_smtp(smtp: dict, msg: EmailMessage) -> None:
    """Deliver ``msg`` with the configured security; the password comes from smtp.password_env."""
    security = smtp.get("security", "starttls")
    port = int(smtp.get("port") or DEFAULT_PORTS[security])
    timeout = int(smtp.get("timeout") or 30)
    context = ssl.create_default_context()
    if security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(smtp["host"], port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(smtp["host"], port, timeout=timeout)
    try:
        if security == "starttls":
            client.starttls(context=context)
        if smtp.get("username"):
            env = smtp.get("password_env") or ""
            password = os.environ.get(env) if env else None
            if password is None:
                raise AlertError(
                    f"alerts.smtp.password_env: environment variable {env or '(unset)'} is not set"
                )
            client.login(smtp["username"], password)
        refused = client.send_message(msg)
        if refused:
            log.warning("SMTP server refused some recipients: %s", refused)
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()


def send_apprise(urls: list[str], subject: str, text: str, attachment: Path | None) -> None:
    import apprise

    a = apprise.Apprise()
    for url in urls:
        if not a.add(url):
            raise AlertError(f"apprise: cannot use URL {url!r}")
    attach = apprise.AppriseAttachment(str(attachment)) if attachment is not None else None
    if not a.notify(body=text, title=subject, attach=attach):
        raise AlertError("apprise: notification failed for at least one URL")


def _digest_for(
    store: Store, config: Config, group: dict, as_of: date, digest_path: str | Path | None, tmp: Path
):
    """The attachment for ``group``: the given digest, or one built in its attach_digest format."""
    wanted = group.get("attach_digest")
    if wanted == "none":
        return None
    if digest_path is not None:
        return Path(digest_path)
    if not wanted:
        return None
    from outputs.digest import build_digest, write_digest

    regions = group.get("regions") or []
    digest = build_digest(store, config, as_of.year - 1, regions[0] if len(regions) == 1 else None, as_of)
    return write_digest(digest, wanted, tmp / f"nianbao-digest-{as_of.year - 1}.{wanted}")


def run_alerts(
    store: Store, config: Config, as_of: date, *, digest_path: str | Path | None = None
) -> dict[str, int]:
    """Queue and send the alerts due as of ``as_of``; returns counts of ledger rows.

    sent: rows delivered by this run; failed: rows whose delivery failed in this run; pending: rows
    still waiting after this run (including rows another run holds right now); messages: messages
    delivered.
    """
    section = config.section("alerts")
    smtp = section.get("smtp")
    groups = section.get("groups") or []
    counts = {"sent": 0, "failed": 0, "pending": 0, "messages": 0}
    if not groups:
        return counts
    failing_n = int(config.section("monitor").get("failing_runs_before_alert", 3))
    rows = stored_rows(store, config, as_of, status_in=ALERT_STATUSES)  # filtered in SQL
    if rows is None:  # a date the stored statuses cannot answer for
        rows = [r for r in compute_status(store, config, as_of) if r["status"] in ALERT_STATUSES]
    regions = {s["id"]: s.get("region") for s in config.sources}
    names = {s["id"]: s["name"] for s in config.sources}
    sources = failing_sources(store, failing_n)
    changes = change_items(store, config, as_of)
    owner = sender_name()
    with tempfile.TemporaryDirectory(prefix="nianbao-alerts-") as tmpdir:
        for group in groups:
            items = [
                {
                    k: r[k]
                    for k in (
                        "agency",
                        "year",
                        "status",
                        "deadline",
                        "published_at",
                        "days_late",
                        "url",
                        "evidence",
                    )
                }
                | {"source_id": r["source_id"]}
                for r in rows
                if _in_scope(group, r["source_id"], r["region"])
            ]
            for sid, s in sources.items():
                if _in_scope(group, sid, regions.get(sid)):
                    why = RUN_LABELS["blocked" if s["status"] == "blocked" else "failed"][0]
                    items.append(
                        {
                            "agency": names.get(sid, sid),
                            "year": None,
                            "status": "source_failing",
                            "streak": s["since_run"],
                            "source_id": sid,
                            "deadline": None,
                            "url": None,
                            "evidence": f"网站 {sid} 连续 {s['runs']} 次抓取{why}：{s['reason']}",
                        }
                    )
            items += [c for c in changes if _in_scope(group, c["source_id"], regions.get(c["source_id"]))]
            attachment: Path | None = None
            attached = False
            for channel in _channels(group):
                _enqueue(store, group, channel, items)
                pending = ledger.claim(store, group["name"], channel, owner, CLAIM_EXPIRY)
                if not pending:
                    continue
                ids = [p["_id"] for p in pending]
                try:
                    if not attached:
                        attachment = _digest_for(store, config, group, as_of, digest_path, Path(tmpdir))
                        attached = True
                    subject, text, html = compose(group["name"], pending, as_of)
                    if channel == "email":
                        if not smtp:
                            raise AlertError("alerts.smtp is not configured but a group has emails")
                        send_smtp(smtp, build_message(smtp, group["emails"], subject, text, html, attachment))
                    else:
                        send_apprise(group["apprise"], subject, text, attachment)
                except Exception as exc:  # not delivered: the rows go back to pending, for the next run
                    expected = isinstance(exc, OSError | smtplib.SMTPException | AlertError)
                    log.warning(
                        "alerts: %s via %s failed: %s",
                        group["name"],
                        channel,
                        exc,
                        exc_info=not expected,  # anything else is a bug: keep its traceback in the log
                    )
                    ledger.mark_failed(store, ids, owner, f"{type(exc).__name__}: {exc}")
                    counts["failed"] += len(ids)
                    continue
                ledger.mark_sent(store, ids)
                counts["sent"] += len(ids)
                counts["messages"] += 1
    counts["pending"] = ledger.pending_count(store)
    return counts


def send_test(config: Config, group_name: str | None = None) -> list[dict[str, Any]]:
    """Send a test message through each channel of each alert group (or only ``group_name``).

    The ledger is never read or written: a test says nothing about what was alerted.  Returns one
    row per channel — ``{group, channel, target, ok, error}`` — email once per group (one message to
    all its addresses), Apprise once per URL (the target shown with its secrets masked).  Raises
    AlertError when ``group_name`` names no configured group.
    """
    section = config.section("alerts")
    groups = section.get("groups") or []
    if group_name is not None:
        groups = [g for g in groups if g["name"] == group_name]
        if not groups:
            known = "、".join(g["name"] for g in section.get("groups") or []) or "无"
            raise AlertError(f"没有名为 {group_name!r} 的提醒组（alerts.groups 中已配置：{known}）")
    results = []
    for group in groups:
        subject = f"【政府信息公开年报监测】测试消息：{group['name']}"
        text = (
            f"这是 nianbao 发给“{group['name']}”的测试消息（nianbao alert --test）。"
            "收到即说明此渠道可用；它不代表任何缺报或迟报。"
        )
        html = f"<p>{escape(text)}</p>"
        if group.get("emails"):
            row = {"group": group["name"], "channel": "email", "target": ", ".join(group["emails"])}
            try:
                smtp = section.get("smtp")
                if not smtp:
                    raise AlertError("alerts.smtp 未配置，无法发送邮件")
                send_smtp(smtp, build_message(smtp, group["emails"], subject, text, html, None))
            except (OSError, smtplib.SMTPException, AlertError) as exc:
                row |= {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            else:
                row |= {"ok": True, "error": None}
            results.append(row)
        for url in group.get("apprise") or []:
            row = {"group": group["name"], "channel": "apprise", "target": _masked(url)}
            try:
                send_apprise([url], subject, text, None)
            except (OSError, AlertError) as exc:  # the URL holds the webhook's secret: mask it
                error = f"{type(exc).__name__}: {exc}".replace(url, row["target"])
                row |= {"ok": False, "error": error}
            else:
                row |= {"ok": True, "error": None}
            results.append(row)
    return results


def _masked(url: str) -> str:
    """An Apprise URL with its tokens and passwords masked, fit to print."""
    import apprise

    plugin = apprise.Apprise.instantiate(url)
    return plugin.url(privacy=True) if plugin else url.split("://", 1)[0] + "://…"
