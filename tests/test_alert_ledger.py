"""The alert ledger's claims on a real SQLite file: one holder per row, a dead holder's rows freed."""

from __future__ import annotations

import threading
from datetime import timedelta

from storage import ledger
from storage.store import Store

HOUR = timedelta(hours=1)


def _item(n: int) -> tuple[str, dict]:
    return f"key-{n}", {"agency": f"机关{n}", "year": 2024, "status": "missing"}


def test_a_claimed_row_is_held_by_one_sender_until_sent_or_failed(tmp_path):
    with Store(tmp_path / "nianbao.db") as store:
        ledger.enqueue(store, "公开办", "email", [_item(1), _item(2)])
        ledger.enqueue(store, "公开办", "email", [_item(1)])  # the same key again: no new row
        ledger.enqueue(store, "公开办", "apprise", [_item(3)])
        first = ledger.claim(store, "公开办", "email", "a", HOUR)
        assert [r["agency"] for r in first] == ["机关1", "机关2"]
        assert ledger.claim(store, "公开办", "email", "b", HOUR) == []
        ledger.mark_failed(store, [first[0]["_id"]], "a", "SMTPServerDisconnected: gone")
        retry = ledger.claim(store, "公开办", "email", "b", HOUR)
        assert [r["agency"] for r in retry] == ["机关1"]
        ledger.mark_failed(store, [retry[0]["_id"]], "a", "not a's claim any more")  # ignored
        assert ledger.claim(store, "公开办", "email", "c", HOUR) == []
        ledger.mark_sent(store, [r["_id"] for r in first[1:] + retry])
        assert ledger.pending_count(store) == 1  # the apprise row
        row = store.db.execute("SELECT attempts, last_error, claimed_by FROM alerts WHERE key = 'key-1'")
        assert row.fetchone() == (2, None, None)


def test_the_claim_of_a_killed_sender_expires(tmp_path):
    with Store(tmp_path / "nianbao.db") as store:
        ledger.enqueue(store, "公开办", "email", [_item(1)])
        assert len(ledger.claim(store, "公开办", "email", "killed", HOUR)) == 1
        assert ledger.claim(store, "公开办", "email", "next", HOUR) == []
        taken = ledger.claim(store, "公开办", "email", "next", timedelta(0))  # older than the expiry
        assert [r["agency"] for r in taken] == ["机关1"]


def test_claims_from_many_connections_at_once_never_overlap(tmp_path):
    path = tmp_path / "nianbao.db"
    Store(path).close()
    got: dict[int, list[int]] = {}
    start = threading.Barrier(8)

    def sender(n: int) -> None:
        with Store(path) as store:
            start.wait()
            got[n] = []
            for wave in range(3):  # queue some rows, then claim whatever is free, mine or not
                ledger.enqueue(store, "公开办", "email", [_item(1000 * wave + 10 * k + n) for k in range(10)])
                rows = ledger.claim(store, "公开办", "email", f"s{n}", HOUR)
                got[n] += [r["_id"] for r in rows]
                ledger.mark_sent(store, [r["_id"] for r in rows])

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    claimed = [rid for ids in got.values() for rid in ids]
    assert len(got) == 8 and len(claimed) == len(set(claimed)) == 8 * 3 * 10
    with Store(path) as store:
        assert store.db.execute("SELECT COUNT(*), COUNT(sent_at) FROM alerts").fetchone() == (240, 240)


def test_pending_rows_of_an_older_database_are_claimable_after_the_migration(tmp_path):
    import json
    import sqlite3

    import sqlite_utils

    from storage import schema

    path = tmp_path / "old.db"
    db = sqlite_utils.Database(sqlite3.connect(str(path), isolation_level=None))
    for version, step in enumerate(schema.MIGRATIONS[:2], start=1):  # the schema before claims
        step(db)
        db.execute(f"PRAGMA user_version = {version}")
    payload = {"agency": "机关1", "year": 2024, "status": "missing", "channel": "apprise"}
    db.execute(
        "INSERT INTO alerts (key, group_name, agency, year, status, created_at, attempts, payload_json)"
        " VALUES ('k', '公开办', '机关1', 2024, 'missing', '2026-01-01T00:00:00+00:00', 1, ?)",
        [json.dumps(payload, ensure_ascii=False)],
    )
    db.conn.close()
    with Store(path) as store:
        assert ledger.claim(store, "公开办", "email", "a", HOUR) == []
        assert [r["agency"] for r in ledger.claim(store, "公开办", "apprise", "a", HOUR)] == ["机关1"]
