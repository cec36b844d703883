"""What a fetched document *is*, apart from the page chrome around it: its fingerprint.

Real portals render a visit counter, today's date and time, per-request tokens in scripts,
rotating 相关链接/推荐 lists and session ids in links into every page, so two fetches of an
unedited report rarely have the same bytes.  A new version (and a ``modified`` event) is made
only when the fingerprint changes:

- an article page: a hash of its title, the normalised text of its report body and its
  attachment links (canonical URLs, sorted).  The body is the CMS body containers
  (``BODY_CONTAINERS``) when the page has them, else the page's main text with the chrome
  removed: nav/header/footer/aside elements, link-only lists, and elements whose id or class
  names chrome (related, xglj, tuijian, share, counter, visit, clock, …).  Scripts, styles and
  chrome elements never count, inside the body either; volatile tokens (访问量：N, 浏览次数：N,
  "今天是…星期…", clocks) are removed from the text (``normalise``);
- a file (PDF, DOCX, …): the sha256 of its bytes.

``page_fingerprint`` is a function of the page alone (its parsed tree, its URL), so a stored
version and a fresh fetch of the same page agree.  It costs 0.15–0.45 ms a report page with a
body container, up to 0.7 ms without one (``content_key`` included), on top of parsing.
``content_key`` (one report at several URLs, ``documents.same_as``) reads the same clean text.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from lxml import etree

from reports.chrome import chrome_name
from spiders.pages import clean_url, is_attachment_url, safe_join

# Body containers of the CMS families (docs/portals.md §1); attachments are looked for inside them
# first so navigation links to other documents are not taken for the report's files.
BODY_CONTAINERS = (
    ".TRS_Editor",
    ".TRS_UEDITOR",
    ".trs_editor_view",
    ".Custom_UnionStyle",
    "#zoom",
    ".zoom",
    "#Zoom",
    ".article_zoom",
    "#zoomcon",
    "#ivs_content",
    ".Article_content",
    "#UCAP-CONTENT",
    ".news_cont_d_wrap",
    "#appendix",
    ".xxgk_content",
    ".article-content",  # gkmlpt articles
    "article",
)

_CONTAINER_IDS = {c[1:] for c in BODY_CONTAINERS if c.startswith("#")}
_CONTAINER_CLASSES = {c[1:] for c in BODY_CONTAINERS if c.startswith(".")}
_CONTAINER_TAGS = {c for c in BODY_CONTAINERS if c[0] not in "#."}


def is_container(node: Any) -> bool:
    """Whether an lxml element is one of the CMS body containers."""
    if node.tag in _CONTAINER_TAGS or node.get("id") in _CONTAINER_IDS:
        return True
    return bool(_CONTAINER_CLASSES.intersection((node.get("class") or "").split()))


def in_body(element: Any) -> bool:
    """Whether an element sits inside one of the CMS body containers."""
    return any(is_container(node) for node in element.iterancestors())


def _container_test(container: str) -> str:
    """The XPath predicate for one of BODY_CONTAINERS ("#id" or ".class", as a substring)."""
    if container.startswith("#"):
        return f"@id='{container[1:]}'"
    return f"contains(@class, '{container[1:]}')"


# Body containers are divs, sections or <article>s.  libxml2 is several times faster on
# "//div[...]" than on "//*[...]" (or than a Python walk over every element), and a union
# ("a | b") costs more than its parts: one query each, ~0.1 ms a page together.
_NAMED = " or ".join(_container_test(c) for c in BODY_CONTAINERS if c[0] in "#.")
_CONTAINER_QUERIES = tuple(
    etree.XPath(q)
    for q in (f"//div[{_NAMED}]", f"//section[{_NAMED}]", *(f"//{t}" for t in sorted(_CONTAINER_TAGS)))
)


def body_containers(root: Any) -> list[Any]:
    """The page's body containers: divs, then sections, then <article>s, each in document order."""
    found = [node for query in _CONTAINER_QUERIES for node in query(root)]
    return [node for node in found if is_container(node)]  # the class test was a substring


# -- chrome ---------------------------------------------------------------------------------

# Elements that are never the report, wherever they are.
_NEVER = ("script", "style", "noscript", "template", "iframe", "select", "button", "form")
# Page furniture: only outside the body containers (a report table may well use <header>).
_FRAME = ("nav", "header", "footer", "aside")
# Elements worth a look: chrome comes in blocks and lists (a counter or a clock in a <span>
# is left to ``normalise``).  A walk over these few tags with a Python test is several times
# faster than an XPath predicate over every element.
_CANDIDATES = ("div", "ul", "ol", "section", "dl", "table", "center", *_NEVER, *_FRAME)
_PARAGRAPH_TEXT = etree.XPath("descendant-or-self::p//text()", smart_strings=False)


def _chrome(scope: Any, frame: bool) -> list[Any]:
    """The outermost chrome elements under ``scope``, in document order."""
    out: list[Any] = []
    inside: set[Any] = set()
    for node in scope.iter(*_CANDIDATES):
        if node is scope:
            continue  # the body itself is never chrome, whatever its class says
        tag = node.tag
        chrome = tag in _NEVER or (frame and tag in _FRAME)
        if not chrome:
            cls, ident = node.get("class"), node.get("id")
            chrome = (cls is not None or ident is not None) and chrome_name(cls, ident, frame)
        if not chrome and frame and tag in ("ul", "ol"):  # a list of links only: related items, menus
            items = node.findall("li")
            chrome = bool(items) and all(li.find(".//a") is not None for li in items)
        if chrome and not inside.intersection(node.iterancestors()):
            out.append(node)
            inside.add(node)
    return out


class _Scope:
    """The parts of a page that are the report: its body containers (or its <body>) without the
    chrome inside them.  The tree is only read, never changed."""

    def __init__(self, root: Any):
        containers = body_containers(root)
        # Nested containers (a report's own TRS_Editor inside the page's): the outer one only.
        if len(containers) > 1:
            containers = [n for n in containers if not in_body(n)]
        self.nodes = containers
        self.frame = not containers
        if self.frame:
            body = root.find("body") if root.tag != "body" else root
            self.nodes = [body if body is not None else root]
        self.chrome = [n for scope in self.nodes for n in _chrome(scope, self.frame)]
        self._chrome = set(self.chrome)
        # The elements on the way to some chrome: only these are walked child by child.
        self._paths = {a for n in self.chrome for a in n.iterancestors()}

    def text(self) -> list[str]:
        """The raw text of each scope node, chrome left out."""
        return [self._text(n) for n in self.nodes]

    def _text(self, node: Any) -> str:
        if node not in self._paths:
            return node.text_content()
        parts = [node.text or ""]
        for child in node:
            if isinstance(child.tag, str) and child not in self._chrome:
                parts.append(self._text(child))
            parts.append(child.tail or "")  # a comment's or a chrome element's tail is text
        return "".join(parts)

    def links(self) -> list[str]:
        """The href of every link outside the chrome."""
        out = []
        for n in self.nodes:
            for a in n.iter("a"):
                href = a.get("href")
                if href and (not self._chrome or not self._chrome.intersection(a.iterancestors())):
                    out.append(href)
        return out

    def paragraphs(self) -> str:
        """The text of the scope's paragraphs outside the chrome."""
        return "".join(self._paragraphs(n) for n in self.nodes)

    def _paragraphs(self, node: Any) -> str:
        if node not in self._paths:
            return "".join(_PARAGRAPH_TEXT(node))
        return "".join(
            self._paragraphs(child)
            for child in node
            if isinstance(child.tag, str) and child not in self._chrome
        )


# -- text -----------------------------------------------------------------------------------

_WEEKDAY = "[一二三四五六日天]"
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?"
_DAY = r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?"
# Tokens that change from one request to the next, in text without whitespace.  Every pattern
# starts with a literal: a report's text is mostly digits, and a pattern starting with \d would
# be tried at every one of its 10 000 characters (0.3 ms against 0.01 ms).
_DROPPED = (
    # visit counters: "访问量：12345", "浏览次数:88次", "您是本站第123位访问者"
    re.compile(
        r"(?:总访问量|访问量|访问次数|浏览次数|浏览量|点击数|点击量|点击率|阅读次数|阅读量|阅读数|访客数|浏览|点击|阅读)"
        r"[:：]\[?\d[\d,]*\]?次?"
    ),
    re.compile(r"第\d[\d,]*位(?:访问者|访客|浏览者)"),
    # clocks: "今天是2026年11月30日星期一10:31:07", "当前时间：2026-11-30 10:31"
    re.compile(
        rf"(?:今天是|今天|现在是|当前时间[:：]|现在时间[:：]|北京时间[:：])(?:{_DAY})?(?:星期{_WEEKDAY})?(?:{_CLOCK})?"
    ),
)
# Clocks whose first characters are digits: found by their literal part, then cut from where
# the digits before it start ("2026年11月30日" before 星期一, "10" before ":31:07").
_DROPPED_WITH_PREFIX = (
    (re.compile(rf"星期{_WEEKDAY}(?:{_CLOCK})?"), re.compile(rf"{_DAY}$"), 12),
    (re.compile(r":\d{2}:\d{2}"), re.compile(r"\d{1,2}$"), 2),
)


def _drop_with_prefix(text: str, pattern: re.Pattern[str], prefix: re.Pattern[str], reach: int) -> str:
    pieces, last = [], 0
    for m in pattern.finditer(text):
        start = m.start()
        if start < last:
            continue
        before = prefix.search(text, max(last, start - reach), start)
        pieces.append(text[last : before.start() if before else start])
        last = m.end()
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def normalise(text: str) -> str:
    """Text as compared: whitespace removed, volatile tokens (counters, clocks) removed."""
    text = "".join(text.split())
    for pattern in _DROPPED:
        text = pattern.sub("", text)
    for pattern, prefix, reach in _DROPPED_WITH_PREFIX:
        text = _drop_with_prefix(text, pattern, prefix, reach)
    return text


class PageBody:
    """What an article page says, apart from its chrome: its body's normalised text and the
    links in it.  Read once per page; the tree is only read, never changed."""

    def __init__(self, root: Any):
        self.root = root
        self.scope = _Scope(root)
        self.texts = [normalise(t) for t in self.scope.text()]

    def lines(self) -> list[str]:
        """The report text line by line (as the page's source breaks it), each normalised, for
        a person to read in a diff."""
        lines = (normalise(line) for text in self.scope.text() for line in text.splitlines())
        return [line for line in lines if line]

    def files(self, page_url: str) -> list[str]:
        """The report's file links outside the chrome: canonical absolute URLs, sorted."""
        joined = (safe_join(page_url, h) for h in self.scope.links())  # a bad link is no file
        urls = {clean_url(u) for u in joined if u}
        return sorted(u for u in urls if is_attachment_url(u))


def report_lines(root: Any) -> list[str]:
    """The report text of a page, line by line (``PageBody.lines``)."""
    return PageBody(root).lines()


# Named in every page fingerprint ("page1:<sha256>").  Change it whenever what a page's
# fingerprint reads changes (another chrome word, another volatile token): stored fingerprints
# of another scheme are then computed again from their bytes before a crawl compares with them
# (``Store.backfill_fingerprints``), instead of every page looking modified.
PAGE_SCHEME = "page1"


def page_fingerprint(root: Any, title: str, page_url: str, body: PageBody | None = None) -> str:
    """The fingerprint of an article page, ``page1:<sha256>`` of its title, report text and
    attachment links.

    ``title``: the page's own title (``spiders.pages.page_title``), never a list page's;
    ``body``: the page already read, if it was.
    """
    body = body or PageBody(root)
    blob = "\n".join([normalise(title), *body.texts, "", *body.files(page_url)])
    return f"{PAGE_SCHEME}:{hashlib.sha256(blob.encode('utf-8')).hexdigest()}"


def file_fingerprint(data: bytes) -> str:
    """The fingerprint of a file: the sha256 of its bytes (what bytes mean never changes, so
    no scheme)."""
    return hashlib.sha256(data).hexdigest()


MIN_KEYED_TEXT = 200  # a shorter body ("详见附件") says too little to call two pages one report


def content_key(root: Any, title: str, attachments: list[str], body: PageBody | None = None) -> str | None:
    """A hash of an article's title and body text, or of its title and files when the body
    only points to them ("详见附件"); None when the page says too little to tell.

    One report re-posted in another column (a department column besides the city's) has
    another URL and frame but the same key.
    """
    heading = "".join(title.split())
    body = body or PageBody(root)
    # No known container: the paragraphs, which a page's frame (breadcrumbs, menus) rarely uses.
    texts = [normalise(body.scope.paragraphs())] if body.scope.frame else body.texts
    for text in texts:
        if len(text) >= MIN_KEYED_TEXT:
            return hashlib.sha1(f"{heading}\n{text}".encode()).hexdigest()
    if heading and attachments:
        return hashlib.sha1("\n".join([heading, *sorted(attachments)]).encode()).hexdigest()
    return None
