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
version and a fresh fetch of the same page agree; about 0.1–0.5 ms a page on top of parsing.
``content_key`` (one report at several URLs, ``documents.same_as``) reads the same clean text.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urldefrag, urljoin

from lxml import etree

from spiders.pages import clean_url, is_attachment_url

# Body containers of the CMS families (portals.md §1.1); attachments are looked for inside them
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
# id / class words that name chrome: related links, recommendations, share bars, counters,
# clocks, banners.  Matched as substrings by libxml2 (fast), then checked here as words.
_CHROME_WORDS = (
    "related",
    "relate",
    "xglj",
    "xgwz",
    "xgxx",
    "xgwj",
    "tuijian",
    "recommend",
    "share",
    "fenxiang",
    "counter",
    "visit",
    "clock",
    "hits",
    "weather",
    "login",
    "banner",
    "toolbar",
)
_FRAME_WORDS = ("nav", "menu", "header", "footer", "breadcrumb", "crumb", "position", "sidebar", "copyright")
_CHROME_NAME = re.compile("|".join(_CHROME_WORDS), re.I)
_FRAME_NAME = re.compile(r"(?:^|[\s_-])(?:" + "|".join(_FRAME_WORDS) + r")(?:$|[\s_\d-])", re.I)


def _named(words: tuple[str, ...]) -> str:
    return " or ".join(f"contains(@class, '{w}') or contains(@id, '{w}')" for w in words)


_CHROME_IN_BODY = etree.XPath(
    ".//*["
    + " or ".join(f"self::{t}" for t in _NEVER)
    + f" or ((@class or @id) and ({_named(_CHROME_WORDS)}))]"
)
_CHROME_IN_PAGE = etree.XPath(
    ".//*["
    + " or ".join(f"self::{t}" for t in (*_NEVER, *_FRAME))
    + f" or ((@class or @id) and ({_named(_CHROME_WORDS + _FRAME_WORDS)}))"
    + " or ((self::ul or self::ol) and li and not(li[not(.//a)]))]"  # link-only lists
)
_SKIP = "data-nianbao-chrome"
_TEXT_OUTSIDE_CHROME = etree.XPath(f".//text()[not(ancestor::*[@{_SKIP}])]")
_LINKS_OUTSIDE_CHROME = etree.XPath(f".//a[@href][not(ancestor-or-self::*[@{_SKIP}])]")


def _is_chrome(node: Any, frame: bool) -> bool:
    if not isinstance(node.tag, str):
        return False
    if node.tag in _NEVER or (frame and node.tag in _FRAME + ("ul", "ol")):
        return True  # (a list here is one the query found link-only)
    name = f"{node.get('id') or ''} {node.get('class') or ''}"
    return bool(_CHROME_NAME.search(name) or (frame and _FRAME_NAME.search(name)))


class _Scope:
    """The parts of a page that are the report: its body containers (or its <body>), chrome marked
    out for the duration of a ``with`` block (the tree is left as it was found)."""

    def __init__(self, root: Any):
        containers = body_containers(root)
        # Nested containers (a report's own TRS_Editor inside the page's): the outer one only.
        self.nodes = [n for n in containers if not in_body(n)]
        self.frame = not self.nodes
        if self.frame:
            body = root.find("body") if root.tag != "body" else root
            self.nodes = [body if body is not None else root]
        query = _CHROME_IN_PAGE if self.frame else _CHROME_IN_BODY
        self.chrome = [n for scope in self.nodes for n in query(scope) if _is_chrome(n, self.frame)]

    def __enter__(self) -> _Scope:
        for node in self.chrome:
            node.set(_SKIP, "")
        return self

    def __exit__(self, *exc: object) -> None:
        for node in self.chrome:
            node.attrib.pop(_SKIP, None)

    def text(self) -> list[str]:
        """The raw text of each scope node, chrome left out."""
        if not self.chrome:
            return ["".join(n.itertext()) for n in self.nodes]
        return ["".join(_TEXT_OUTSIDE_CHROME(n)) for n in self.nodes]

    def links(self) -> list[str]:
        """The href of every link outside the chrome."""
        if not self.chrome:
            return [a.get("href") for n in self.nodes for a in n.iter("a") if a.get("href")]
        return [a.get("href") for n in self.nodes for a in _LINKS_OUTSIDE_CHROME(n)]


# -- text -----------------------------------------------------------------------------------

_WEEKDAY = "[一二三四五六日天]"
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?"
_DAY = r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?"
# Tokens that change from one request to the next, in text without whitespace.
_VOLATILE = re.compile(
    "|".join(
        (
            # visit counters: "访问量：12345", "浏览次数: 88次", "您是第123位访问者"
            r"(?:总?访问量|访问次数|浏览次数|浏览量|点击数|点击量|点击率|阅读次数|阅读量|阅读数|访客数|浏览|点击|阅读)"
            r"[:：]\[?\d[\d,]*\]?次?",
            r"您?是?第\d[\d,]*位(?:访问者|访客|浏览者)",
            # clocks: "今天是2026年11月30日 星期一 10:31:07", "当前时间：2026-11-30 10:31"
            rf"(?:今天是|今天|现在是|当前时间[:：]|现在时间[:：]|北京时间[:：])(?:{_DAY})?(?:星期{_WEEKDAY})?(?:{_CLOCK})?",
            rf"{_DAY}星期{_WEEKDAY}(?:{_CLOCK})?",
            rf"星期{_WEEKDAY}(?:{_CLOCK})?",
            r"\d{1,2}:\d{2}:\d{2}",
        )
    )
)
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Text as compared: whitespace removed, volatile tokens (counters, clocks) removed."""
    return _VOLATILE.sub("", _SPACE.sub("", text))


def report_text(root: Any) -> str:
    """The normalised text of the page's report body (chrome left out)."""
    with _Scope(root) as scope:
        return "\n".join(normalise(t) for t in scope.text())


def report_lines(root: Any) -> list[str]:
    """The report text line by line (as the page's source breaks it), each normalised, for a
    person to read in a diff."""
    with _Scope(root) as scope:
        texts = scope.text()
    lines = (normalise(line) for text in texts for line in text.splitlines())
    return [line for line in lines if line]


def page_fingerprint(root: Any, title: str, page_url: str) -> str:
    """The fingerprint of an article page: title, report text and attachment links.

    ``title``: the page's own title (``spiders.pages.page_title``), never a list page's.
    """
    with _Scope(root) as scope:
        texts = [normalise(t) for t in scope.text()]
        hrefs = scope.links()
    urls = {clean_url(urldefrag(urljoin(page_url, h.strip()))[0]) for h in hrefs if h.strip()}
    files = sorted(u for u in urls if is_attachment_url(u))
    blob = "\n".join([normalise(title), *texts, "", *files])
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def file_fingerprint(body: bytes) -> str:
    """The fingerprint of a file: the sha256 of its bytes."""
    return hashlib.sha256(body).hexdigest()


MIN_KEYED_TEXT = 200  # a shorter body ("详见附件") says too little to call two pages one report


def content_key(root: Any, title: str, attachments: list[str]) -> str | None:
    """A hash of an article's title and body text, or of its title and files when the body
    only points to them ("详见附件"); None when the page says too little to tell.

    One report re-posted in another column (a department column besides the city's) has
    another URL and frame but the same key.
    """
    heading = _SPACE.sub("", title)
    with _Scope(root) as scope:
        if scope.frame:
            # No known container: the paragraphs, which a page's frame (breadcrumbs, menus)
            # rarely uses.
            texts = [normalise("".join("".join(_TEXT_OUTSIDE_CHROME(p)) for p in root.iter("p")))]
        else:
            texts = [normalise(t) for t in scope.text()]
    for text in texts:
        if len(text) >= MIN_KEYED_TEXT:
            return hashlib.sha1(f"{heading}\n{text}".encode()).hexdigest()
    if heading and attachments:
        return hashlib.sha1("\n".join([heading, *sorted(attachments)]).encode()).hexdigest()
    return None
