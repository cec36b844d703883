"""What every spider needs to read from portal pages: report titles, dates, page metadata.

Pure functions over strings and parsel selectors, shared by all portal families.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from urllib.parse import unquote, urldefrag, urljoin, urlsplit, urlunsplit

from parsel import Selector

from reports.pagedate import field_date, meta_date

# -- links --------------------------------------------------------------------------------------

FETCHABLE_SCHEMES = ("http", "https")
# Browsers drop these around an href, and tabs and newlines inside it.
_HREF_STRIP = "".join(chr(c) for c in range(0x21)) + "\u00a0\u3000"
_HREF_INNER = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]{0,30}):")


def safe_join(base: str, href: str | None) -> str | None:
    """``href`` made absolute against ``base``, without its fragment; None unless that is a
    well-formed http(s) URL with a host.

    One bad link (``JavaScript:``, ``mailto:``, ``file:``, ``data:``, ``http://[broken``, a port
    out of range) is one None: it never raises, so it cannot end the reading of a page.
    """
    href = _HREF_INNER.sub("", (href or "").strip(_HREF_STRIP))
    if not href or href.startswith("#"):
        return None
    try:
        url = urldefrag(urljoin(base, href))[0]
        parts = urlsplit(url)
        if parts.scheme.lower() not in FETCHABLE_SCHEMES or not parts.hostname:
            return None
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return None
    return url


def link_refusal(href: str | None) -> str | None:
    """Why ``safe_join`` refused ``href``: ``scheme:<name>`` for a scheme other than http(s)
    (``scheme:javascript``, ``scheme:file`` …), ``malformed`` for anything else; None for an
    empty or same-page (``#…``) link, which is no link to count."""
    href = _HREF_INNER.sub("", (href or "").strip(_HREF_STRIP))
    if not href or href.startswith("#"):
        return None
    m = _SCHEME.match(href)
    if m and m.group(1).lower() not in FETCHABLE_SCHEMES:
        return f"scheme:{m.group(1).lower()}"
    return "malformed"


# -- titles -------------------------------------------------------------------------------------

# "XX2023年政府信息公开工作年度报告", "2023年度XX政府信息公开年度报告", "XX政府信息公开工作2024年度报告",
# "XX2016年政务信息公开年度报告", "政府信息公开年报", "XX信息公开工作年度报告（图片版）".
_REPORT_TITLE = re.compile(
    r"(政府|政务)?信息公开(工作)?\s*(\d{4}\s*年度?)?\s*(年度)?\s*(工作)?\s*(报告|年报)"
    r"|信息公开年报|政府信息公开工作年度报告"
)
# Look-alikes that are not the annual disclosure report.
_NOT_REPORT = re.compile(
    r"图解|解读|网站.{0,6}(年度)?报表|工作报表|政府工作报告|预算|决算|统计公报|公开指南|公开目录|的通知|的批复"
)


def is_report_title(title: str | None) -> bool:
    """True when a link or page title names a 政府信息公开工作年度报告."""
    if not title:
        return False
    t = re.sub(r"\s+", "", title)
    # A bare column name ("政府信息公开年报") names the column, not one report: a report's title
    # carries its year or its agency.
    if not re.search(r"(19|20)\d\d", t) and len(t) <= 16:
        return False
    return bool(_REPORT_TITLE.search(t)) and not _NOT_REPORT.search(t)


_ARTICLE_URL = re.compile(
    r"/t\d{8}_\d+|/art/\d{4}/|/art_\d+_\d+|content_\d+|post_\d+|/\d{5,}\.s?html?$|/[0-9a-f]{24,}\.s?html?$",
    re.I,
)
_COLUMN_URL = re.compile(
    r"(/|/(index|default)(_\d+)?\.s?html?|/col/col\d+/?(index\.html)?|/list\.s?html?)$", re.I
)
# The report column's usual directory names (docs/portals.md §2).
_COLUMN_SLUG = re.compile(
    r"/(?:zfxxgknb|xxgknb|gknb|ndbg|zfxxgkndbg|zfxxgkgzndbg|zfxxgkzl/gknb|annualreport)(?:_\d+)?(?:/|$|/index\.s?html?$)",
    re.I,
)


def looks_like_article(url: str) -> bool:
    """An article URL of a known CMS shape (TRS t-date, Hanweb art_, Ucap content_, gkmlpt post_, …)."""
    return bool(_ARTICLE_URL.search(urlsplit(url).path))


def looks_like_column(url: str) -> bool:
    """A column index URL: a directory, index.html / index_N.html, a Hanweb /col/colN/, a list page."""
    return bool(_COLUMN_URL.search(urlsplit(url).path)) and not looks_like_article(url)


def has_column_slug(url: str) -> bool:
    """A URL in a directory named like a report column (zfxxgknb, xxgknb, gknb, ndbg, annualreport …)."""
    return bool(_COLUMN_SLUG.search(urlsplit(url).path))


# -- dates --------------------------------------------------------------------------------------

_DATE_PATTERNS = (
    re.compile(r"((?:19|20)\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"),
    re.compile(r"\b((?:19|20)\d\d)(\d\d)(\d\d)\b"),
)


def parse_date(text: str | None) -> date | None:
    """The first calendar date in ``text``: 2024-01-26, 2024/1/26, 2024.01.26, 2024年1月26日, 20240126.

    dateutil guesses wrong on Chinese dates (it silently returned the current year for
    "2024年1月31日"), so this is a regex.  Impossible dates give None.
    """
    if not text:
        return None
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                continue
    return None


_URL_DATE = re.compile(r"/t((?:19|20)\d{6})_\d+|/art/((?:19|20)\d\d)/(\d{1,2})/(\d{1,2})/|/(20\d{6})/")


def url_date(url: str) -> date | None:
    """The date written in an article URL (TRS t20240126_…, Hanweb /art/2024/1/26/), if any.

    Recorded for the record only: regenerated pages carry later URL dates than their
    publication, so lateness is never judged from it.
    """
    m = _URL_DATE.search(urlsplit(url).path)
    if not m:
        return None
    if m.group(1) or m.group(5):
        return parse_date(m.group(1) or m.group(5))
    return parse_date(f"{m.group(2)}-{m.group(3)}-{m.group(4)}")


def visible_date(text: str) -> date | None:
    """The date of the page's own visible field: "发布日期：…" / "公开日期：…" / "发布时间：…", or a
    bare "时间：…" on an info line; never the 索引号's YYYY-NNNNN, a header clock ("今天是…",
    "当前时间：…"), a footer's "更新时间：…" or a date a saving tool wrote (reports.pagedate)."""
    d = field_date(text)
    return date.fromisoformat(d) if d else None


# -- page metadata ------------------------------------------------------------------------------

META_NAMES = (
    "SiteName",
    "SiteDomain",
    "SiteIDCode",
    "ColumnName",
    "ArticleTitle",
    "PubDate",
    "ContentSource",
    "publishtime",  # some CMSs write the publication date here instead of PubDate
    "publishdate",
)
_META_BY_LOWER = {name.lower(): name for name in META_NAMES}


def page_meta(sel: Selector) -> dict[str, str]:
    """The 政府网站发展指引 meta tags present on a page (case-insensitive names)."""
    out = {}
    for m in sel.root.iter("meta"):  # lxml directly: an XPath over the page costs 0.3 ms
        known = _META_BY_LOWER.get((m.get("name") or "").lower())
        content = (m.get("content") or "").strip()
        if known and content:
            out[known] = content
    return out


def page_text(sel: Selector) -> str:
    """The visible text of a page, scripts and styles removed, whitespace folded."""
    parts = sel.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]").getall()
    return re.sub(r"\s+", " ", " ".join(parts)).strip()


def publication(
    meta: dict[str, str], text: str | Callable[[], str], list_date: date | None
) -> tuple[date | None, str | None]:
    """(date, source) by precedence: PubDate (or publishtime / publishdate) meta, the visible
    发布日期 field, the list page's date.  Never today's date in a header, a footer date or a
    capture date (see visible_date).

    ``text`` may be a function: the page's text is then only extracted when the meta is silent.
    """
    d = meta_date(meta)
    if d:
        return date.fromisoformat(d), "meta"
    d = visible_date(text() if callable(text) else text)
    if d:
        return d, "visible"
    if list_date:
        return list_date, "list"
    return None, None


def page_title(sel: Selector, meta: dict[str, str]) -> str:
    """The article title: ArticleTitle meta, else the first heading, else <title>."""
    if meta.get("ArticleTitle"):
        return meta["ArticleTitle"]
    for xp in ("//h1", "//h2", "//title"):
        t = " ".join(sel.xpath(xp + "//text()").getall()).strip()
        if t:
            return re.sub(r"\s+", " ", t)
    return ""


# -- attachments --------------------------------------------------------------------------------

ATTACHMENT_EXT = re.compile(r"\.(pdf|docx?|wps|xlsx?|zip|rar|rtf|ofd)(\?|$)", re.I)
DOWNLOAD_PATH = re.compile(r"downfile\.jsp|/attach(ment)?/|/download/|/doc/ucap/", re.I)
# A looser test on a raw href: every link that can become a file URL passes it (fragments and
# odd joins included), so the exact test only runs on the few that might be files.
MAYBE_FILE_HREF = re.compile(
    r"\.(pdf|docx?|wps|xlsx?|zip|rar|rtf|ofd)\b|downfile\.jsp|/attach|/download/|/doc/ucap/", re.I
)


def is_attachment_url(url: str) -> bool:
    """A link to a document file rather than a page (by extension or a download endpoint)."""
    parts = urlsplit(url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    return bool(ATTACHMENT_EXT.search(path) or DOWNLOAD_PATH.search(path))


def content_disposition_filename(header: str | None) -> str | None:
    """The file name a Content-Disposition header offers (RFC 5987 filename* first)."""
    if not header:
        return None
    from email.message import Message

    msg = Message()
    msg["content-disposition"] = header
    name = msg.get_filename()
    return name.strip() if name else None


# -- URLs ---------------------------------------------------------------------------------------

# Query parameters that carry a session or bust a cache: never part of what a document is.
# Conservative on purpose: "sid" stays (gkmlpt's API names its site with it), as do ids.
SESSION_PARAMS = frozenset(
    {
        "jsessionid",
        "phpsessid",
        "aspsessionid",
        "sessionid",
        "session_id",
        "sessid",
        "cfid",
        "cftoken",
        "token",
        "_token",
        "nonce",
        "_nonce",
        "_t",
        "_ts",
        "_",
        "timestamp",
        "_timestamp",
        "nocache",
        "_nocache",
        "rnd",
        "_rnd",
    }
)
_PATH_SESSION = re.compile(r";\s*(?:jsessionid|phpsessid|sessionid|sid)=[^/?#;]*", re.I)


def clean_url(url: str) -> str:
    """``url`` without session ids and cache-busters: ``;jsessionid=…`` path parameters and
    SESSION_PARAMS query parameters (``jsessionid``, ``phpsessid``, ``token``, ``_t``, …).

    A session id in a link must never make a new document; everything else is kept as it is.
    """
    if ";" not in url and "?" not in url:
        return url  # the common case, without parsing
    parts = urlsplit(url)
    path = _PATH_SESSION.sub("", parts.path)
    # Drop whole "key=value" pieces, so the rest of the query keeps its exact spelling.
    kept = [p for p in parts.query.split("&") if not _is_session_param(p.split("=", 1)[0])]
    query = "&".join(kept)
    if path == parts.path and query == parts.query:
        return url
    return urlunsplit((parts.scheme, parts.netloc, path, query, parts.fragment))


def _is_session_param(key: str) -> bool:
    key = unquote(key).strip().lower()
    return key in SESSION_PARAMS or key.startswith("aspsessionid")
