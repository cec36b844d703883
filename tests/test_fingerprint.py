"""What a document is, apart from its page chrome: fingerprints, canonical links, and storage
deciding versions by them (a chrome-only difference is a check, never a version or an event)."""

from __future__ import annotations

import sqlite3

import lxml.html
import pytest
from parsel import Selector

from crawler.stored import stored_fingerprint
from spiders.fingerprint import PAGE_SCHEME, PageBody, content_key, normalise, page_fingerprint
from spiders.pages import clean_url, page_meta, page_title
from storage import Fetched, Store
from storage.schema import MIGRATIONS

URL = "http://x.gov.cn/zfxxgknb/202401/t20240126_1.html"
TITLE = "青山县2023年政府信息公开工作年度报告"
BODY = (
    "<p>一、总体情况</p><p>本报告中所列数据统计期限自2023年1月1日起至2023年12月31日止。</p>" * 6
    + "<table><tr><td>行政许可</td><td>{licensing}</td></tr></table>"
    + '<p>附件：<a href="./P020240126{file}.pdf{session}">{title}.pdf</a></p>'
)


def page(
    *,
    licensing: int = 97,
    counter: int = 1,
    clock: str = "10:31:07",
    token: str = "a1",
    related: tuple[str, ...] = ("县政府常务会议", "政务公开要点"),
    session: str = "",
    file: str = "1",
    title: str = TITLE,
    container: bool = True,
    related_inside: bool = False,
) -> str:
    """An article page with the chrome real portals put around (and into) a report."""
    links = "".join(f'<li><a href="/n/{i}.html">{t}</a></li>' for i, t in enumerate(related))
    xglj = f'<div class="xglj"><h4>相关链接</h4><ul>{links}</ul></div>'
    body = BODY.format(licensing=licensing, file=file, session=session, title=title)
    if related_inside:
        body += xglj
    body = f'<div class="TRS_Editor">{body}</div>' if container else f"<div class='main-text'>{body}</div>"
    return (
        f'<html><head><meta name="ArticleTitle" content="{title}"><title>{title}</title>'
        f'<script>var _tk="{token}";</script></head><body>'
        f'<div class="top">今天是2026年11月30日 星期一 {clock} <a href="/login">登录</a></div>'
        '<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/zwgk/">政府信息公开</a></li></ul></div>'
        f'<h1>{title}</h1><div class="info">发布日期：2024-01-26 浏览次数：{counter}</div>'
        f"{body}<script>window.__sg='{token * 8}';</script>"
        f"{'' if related_inside else xglj}"
        f'<div class="footer"><p>您是本站第{counter * 3}位访问者</p></div></body></html>'
    )


def fp(html: str, url: str = URL) -> str:
    sel = Selector(text=html)
    return page_fingerprint(sel.root, page_title(sel, page_meta(sel)), url)


CHROME_ONLY = [
    {"counter": 99817},
    {"clock": "23:59:58"},
    {"token": "ffee0042"},
    {"related": ("政务服务清单", "县领导调研", "县政府常务会议")},
    {"session": ";jsessionid=0A1B2C3D"},
    {"related_inside": True, "related": ("依申请公开流程",)},
]


@pytest.mark.parametrize("container", [True, False], ids=["body-container", "no-container"])
@pytest.mark.parametrize("change", CHROME_ONLY, ids=lambda c: next(iter(c)))
def test_chrome_never_changes_the_fingerprint(change, container):
    base = {"container": container, "related_inside": change.get("related_inside", False)}
    assert fp(page(**base)) == fp(page(**{**base, **change}))


@pytest.mark.parametrize("container", [True, False], ids=["body-container", "no-container"])
@pytest.mark.parametrize(
    "change", [{"licensing": 98}, {"title": "青山县2023年政府信息公开工作年度报告（修订）"}, {"file": "2"}]
)
def test_the_report_text_title_or_files_change_the_fingerprint(change, container):
    assert fp(page(container=container)) != fp(page(container=container, **change))


def test_volatile_tokens_go_and_report_numbers_stay():
    assert normalise("今天是2026年11月30日 星期一 10:31:07") == ""
    assert normalise("当前时间：2026-11-30 10:31 ") == ""
    assert normalise("发布日期：2024-01-26 浏览次数：123 来源：县政府") == "发布日期：2024-01-26来源：县政府"
    assert normalise("您是本站第100234位访问者 总访问量：7,016") == "您是本站"
    # A report's own figures are kept: no colon after the label, no clock.
    assert normalise("政府网站访问量1234567次，办理 97 件") == "政府网站访问量1234567次，办理97件"


def test_reading_a_page_leaves_its_tree_as_it_was():
    sel = Selector(text=page(related_inside=True))
    before = lxml.html.tostring(sel.root)
    body = PageBody(sel.root)
    assert body.scope.chrome  # the related list inside the body, the scripts
    content_key(sel.root, TITLE, [], body)
    page_fingerprint(sel.root, TITLE, URL, body)
    assert lxml.html.tostring(sel.root) == before


def test_copies_in_other_chrome_keep_one_content_key():
    keys = set()
    for change in ({}, {"counter": 5}, {"related_inside": True}, {"token": "zz"}):
        sel = Selector(text=page(**change))
        keys.add(content_key(sel.root, TITLE, []))
    assert len(keys) == 1 and None not in keys


def test_a_stored_page_gets_the_fingerprint_the_crawl_gave_it_whatever_its_charset():
    html = page().replace("<head>", '<head><meta charset="gb2312">')
    raw = html.encode("gbk")
    assert stored_fingerprint(raw, "text/html", URL) == fp(html)
    # A wrong header charset (GBK bytes sent as utf-8) is decoded as the crawl decodes it.
    assert stored_fingerprint(raw, "text/html; charset=utf-8", URL) == fp(html)
    pdf = b"%PDF-1.4 not much of a pdf"
    assert stored_fingerprint(pdf, "application/pdf", URL) == stored_fingerprint(pdf, "", URL)
    assert stored_fingerprint(pdf, "", URL) != stored_fingerprint(pdf + b" ", "", URL)


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("http://a/art/2024/1/26/art_1_2.html;jsessionid=0A1B2C", "http://a/art/2024/1/26/art_1_2.html"),
        (
            "http://a/module/download/downfile.jsp;jsessionid=0A1B?classid=0&filename=x.pdf",
            "http://a/module/download/downfile.jsp?classid=0&filename=x.pdf",
        ),
        ("http://a/p.jsp?id=123&_t=1700000000&JSESSIONID=9", "http://a/p.jsp?id=123"),
        ("http://a/p.php?PHPSESSID=ab&doc=%E4%B8%AD+x&token=z&nonce=1", "http://a/p.php?doc=%E4%B8%AD+x"),
        # meaningful parameters stay, spelled as they were: ids, pages, gkmlpt's site id
        ("http://a/gkmlpt/api/all/2629?page=2&sid=175", "http://a/gkmlpt/api/all/2629?page=2&sid=175"),
        ("http://a/content.jsp?id=123", "http://a/content.jsp?id=123"),
        ("http://a/x.html", "http://a/x.html"),
    ],
)
def test_session_ids_and_cache_busters_are_stripped_from_links(url, clean):
    assert clean_url(url) == clean


# -- storage ------------------------------------------------------------------------------------


def _fetch(body: str, fingerprint: str | None, url: str = URL) -> Fetched:
    return Fetched(
        source_id="s",
        url=url,
        body=body.encode("utf-8"),
        content_type="text/html",
        fingerprint=fingerprint,
    )


def _counts(store: Store) -> tuple[int, int]:
    versions = store.db.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
    events = store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    return versions, events


def test_other_bytes_with_the_same_fingerprint_are_a_check(tmp_path):
    with Store(tmp_path / "n.db") as store:
        store.upsert_source("s", "青山县人民政府", "http://x.gov.cn/", "trs", {})
        first = store.record_fetch(_fetch(page(counter=1), fp(page(counter=1))))
        again = store.record_fetch(_fetch(page(counter=2), fp(page(counter=2))))
        assert again.outcome == "unchanged" and again.version_id == first.version_id
        assert _counts(store) == (1, 0)
        outcomes = [r[0] for r in store.db.execute("SELECT outcome FROM checks ORDER BY id")]
        assert outcomes == ["new_version", "unchanged"]
        blobs = store.db.execute("SELECT COUNT(*) FROM blobs").fetchone()[0]
        assert blobs == 1  # the chrome-only bytes are not kept
        edited = store.record_fetch(_fetch(page(licensing=98), fp(page(licensing=98))))
        assert edited.outcome == "new_version" and edited.previous_version_id == first.version_id
        assert _counts(store) == (2, 1)
        # A fetch without a fingerprint (or a version without one) is decided by its bytes.
        assert store.record_fetch(_fetch(page(licensing=98, counter=7), None)).outcome == "new_version"


def _old_database(path) -> None:
    """A database as nianbao wrote it before fingerprints (schema 2, versions by bytes)."""
    import sqlite_utils

    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    for version, migration in enumerate(MIGRATIONS[:2], start=1):
        migration(db)
        db.execute(f"PRAGMA user_version = {version}")
    db.conn.close()


def test_the_backfill_drops_chrome_only_events_and_keeps_real_edits(tmp_path):
    path = tmp_path / "old.db"
    _old_database(path)
    edited_url = URL.replace("_1.html", "_2.html")
    with Store(path) as store:  # migrates to _v3: versions.fingerprint, NULL for the old ones
        assert store.db.execute("PRAGMA user_version").fetchone()[0] >= 3
        store.upsert_source("s", "青山县人民政府", "http://x.gov.cn/", "trs", {})
        # The pre-fingerprint code path: bytes decide, so a counter made a version and an event.
        for body, url in (
            (page(counter=1), URL),
            (page(counter=2), URL),
            (page(counter=1, file="9"), edited_url),
            (page(counter=2, file="9", licensing=98), edited_url),
        ):
            store.record_fetch(_fetch(body, None, url))
        assert _counts(store) == (4, 2)

        done = store.backfill_fingerprints(stored_fingerprint, PAGE_SCHEME)
        assert done == {"fingerprinted": 4, "events_dropped": 1}
        events = store.events()
        assert [(e["kind"], e["url"]) for e in events] == [("modified", edited_url)]
        assert store.db.execute("SELECT COUNT(*) FROM versions WHERE fingerprint IS NULL").fetchone()[0] == 0
        assert _counts(store) == (4, 1)  # the versions stay: they are what was served
        again = store.backfill_fingerprints(stored_fingerprint, PAGE_SCHEME)
        assert again == {"fingerprinted": 0, "events_dropped": 0}

        # From now on the chrome-only page is a check.
        later = store.record_fetch(_fetch(page(counter=3), fp(page(counter=3))))
        assert later.outcome == "unchanged" and _counts(store) == (4, 1)


def test_fingerprints_of_an_older_scheme_are_computed_again(tmp_path):
    """When the way pages are read changes, stored page fingerprints are made again from their
    bytes, so the next crawl compares like with like; file fingerprints (bytes) never are."""
    with Store(tmp_path / "n.db") as store:
        store.upsert_source("s", "青山县人民政府", "http://x.gov.cn/", "trs", {})
        store.record_fetch(_fetch(page(), fp(page())))
        pdf = Fetched(source_id="s", url=URL + ".pdf", body=b"%PDF-1.4", fingerprint="ab" * 32)
        store.record_fetch(pdf)
        store.db.execute("UPDATE versions SET fingerprint = 'page0:old' WHERE fingerprint LIKE 'page%'")
        done = store.backfill_fingerprints(stored_fingerprint, PAGE_SCHEME)
        assert done == {"fingerprinted": 1, "events_dropped": 0}
        stored = [r[0] for r in store.db.execute("SELECT fingerprint FROM versions ORDER BY id")]
        assert stored == [fp(page()), "ab" * 32] and stored[0].startswith(f"{PAGE_SCHEME}:")
        assert store.record_fetch(_fetch(page(counter=5), fp(page(counter=5)))).outcome == "unchanged"
