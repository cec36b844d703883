"""Materialised statuses: the rows of ``monitor.status`` kept in the database and brought up to
date by the work that changed them, not recomputed from every report.

``refresh_statuses(store, config, as_of)`` leaves ``status_rows`` equal, field for field, to what a
full computation (``status_from`` on the whole catalogue) gives for ``as_of``.  It recomputes
in full when it must — nothing stored yet, the materialisation format or the configuration that
statuses depend on changed (sources, agencies, deadlines, aliases, monitor options), ``as_of``
earlier than the stored one, or the expected years changed (a year boundary, a report about an
earlier year) — and otherwise only:

- the agencies whose documents changed: parser runs added, replaced or deleted, documents
  whose publication date changed (both logged by triggers, ``storage.statuses``), and names
  whose canonical name changed (matching is re-run only over the names sharing an
  administrative prefix with a name whose years changed: a name never matches across prefixes
  except through an alias, and alias targets come along);
- the agencies with a document dated after the stored ``as_of`` and on or before the new one;
- from the stored rows alone, without any document: the rows nothing was found for whose
  status or evidence depends on ``as_of`` (pending: "尚余 N 天", missing: "已逾期 N 天", a
  deadline passed) and those of the sources whose checkability changed (``source_health``).

Everything happens in one write transaction, so readers see the rows of one ``as_of`` and the
state that describes them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from config import Config
from monitor.catalogue import Catalogue, Doc, bulk, catalogue_from, doc_from_row, name_mapping, seen_names
from monitor.expectations import KIND_ORDER, years_from
from monitor.names import clean, split_prefix
from monitor.status import FIELDS, Frame, rederive, source_health
from storage import statuses
from storage.store import Store

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the stored rows' meaning changes: the next refresh is then a full one
FOUND = ("on_time", "late")


def config_fingerprint(config: Config) -> str:
    """A hash of the configuration statuses depend on (and nothing else: a crawl setting or
    an alert recipient changes nothing here)."""
    keys = ("id", "region", "agencies", "deadline")
    relevant = {
        "format": FORMAT,
        "sources": [{k: s.get(k) for k in keys} for s in config.sources],
        "raw": [{k: s.get(k) for k in keys} for s in (config.data or {}).get("sources") or []],
        "deadlines": config.section("deadlines"),
        "monitor": config.section("monitor"),
    }
    text = json.dumps(relevant, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def unreachable_sources(store: Store, config: Config) -> dict[str, str]:
    """``source_health`` with the config's threshold and sources."""
    failing = int(config.section("monitor").get("failing_runs_before_alert", 3))
    return source_health(store, failing, [s["id"] for s in config.sources])


def _health(store: Store, config: Config) -> tuple[list[Any], dict[str, str]]:
    """(``Store.health_key``, ``unreachable_sources``): the key read first, so a run that ends
    in between leaves a stale key (the next look reads the runs again), never a stale health."""
    key = store.health_key()
    return key, unreachable_sources(store, config)


def refresh_statuses(
    store: Store, config: Config, as_of: date, *, full: bool = False, keep_later: bool = False
) -> dict[str, Any]:
    """Bring the materialised statuses to ``as_of``; returns what was done:

    ``mode`` (unchanged | incremental | full | past), ``reason`` (why full), ``agencies`` and
    ``rows_recomputed`` (agencies whose rows were derived again from their documents, and those
    rows), ``rows_rederived`` (unfound rows brought to ``as_of`` from the row alone),
    ``transitions`` (rows whose status changed), ``rows`` (rows stored), ``seconds``.

    ``full`` recomputes everything.  ``keep_later``: when ``as_of`` is earlier than the stored
    date, change nothing and return mode ``past`` (a look into the past must not undo today's).
    """
    t = time.perf_counter()
    with bulk():
        state = statuses.read_state(store)
        if keep_later and not full and _later(state, as_of):
            return _result("past", t, rows=None)
        if not full and _up_to_date(store, config, as_of, state):
            return _result("unchanged", t, rows=None)
        with store.transaction():
            state = statuses.read_state(store)  # another process may have refreshed meanwhile
            if keep_later and not full and _later(state, as_of):
                return _result("past", t, rows=None)
            reason = _full_reason(state, config, as_of, full)
            if reason is None:
                result = _incremental(store, config, as_of, state, t)
                if "reason" not in result:
                    return result
                reason = result["reason"]
            return _full(store, config, as_of, reason, t)


def stored_rows(
    store: Store,
    config: Config,
    as_of: date,
    years: list[int] | None = None,
    region: str | None = None,
    status_in: Iterable[str] | None = None,
    agency: str | None = None,
) -> list[dict[str, Any]] | None:
    """``compute_status``'s rows from the materialised table, refreshed to ``as_of`` first (only
    those of exactly ``region`` and with a status in ``status_in`` when given); None when they cannot
    answer: ``as_of`` before the stored date or later than tomorrow (a look into the future must
    not be stored either), or ``years`` outside the expected years."""
    if as_of > date.today() + timedelta(days=1):
        return None
    result = refresh_statuses(store, config, as_of, keep_later=True)
    if result["mode"] == "past":
        return None
    state = statuses.read_state(store)
    if not _describes(state, config, as_of):
        return None  # refreshed by another process meanwhile (a later date, another config)
    if years and not set(years) <= set(state["wanted"]):
        return None
    with bulk():
        rows = statuses.rows(
            store,
            years=sorted(set(years)) if years else None,
            region=region,
            agency=agency,
            statuses=status_in,
            columns=FIELDS,
            kind_order=KIND_ORDER,
        )
        if statuses.read_state(store) != state:
            return None
        return rows


def stored_catalogue(store: Store, config: Config, as_of: date, agencies: Iterable[str]) -> Catalogue | None:
    """The catalogue of only ``agencies`` (canonical names), from the stored documents: what a page
    about a few agencies needs, without reading and matching every report name.  None unless the
    stored rows are those of ``as_of`` (refresh first, e.g. by ``compute_status``)."""
    if not _describes(statuses.read_state(store), config, as_of):
        return None
    with bulk():
        return catalogue_from(_doc(t) for t in statuses.docs_of_agencies(store, agencies))


def _later(state: dict[str, Any], as_of: date) -> bool:
    """Whether the stored rows are for a date after ``as_of``."""
    return bool(state) and as_of < date.fromisoformat(state["as_of"])


def _describes(state: dict[str, Any], config: Config, as_of: date) -> bool:
    """Whether the stored rows are those of ``as_of`` under ``config``."""
    return state.get("as_of") == as_of.isoformat() and state.get("config") == config_fingerprint(config)


def stored_regions(store: Store, config: Config, as_of: date) -> list[str] | None:
    """The regions of the stored rows, when they are the rows of ``as_of`` and this config."""
    if not _describes(statuses.read_state(store), config, as_of):
        return None
    return statuses.regions(store)


# -- deciding ------------------------------------------------------------------------------------


def _up_to_date(store: Store, config: Config, as_of: date, state: dict[str, Any]) -> bool:
    """Nothing to do: same config, date and source health as stored, and nothing changed since.

    Sources' health is read again (every source's latest runs: 0.2 s at national scale) only
    when a run started, ended or lost its process since; when it is the same, the newer key
    is stored, so the next look is cheap again.
    """
    if not (
        bool(state)
        and state.get("format") == FORMAT
        and state.get("as_of") == as_of.isoformat()
        and state.get("config") == config_fingerprint(config)
        and not statuses.anything_changed(store)
    ):
        return False
    key = store.health_key()  # read first: see _health
    if state.get("health_key") == key:
        return True
    if state.get("unreachable") != unreachable_sources(store, config):
        return False
    with store.transaction():
        if statuses.read_state(store) == state:  # not refreshed by another process meanwhile
            statuses.write_state(store, {**state, "health_key": key})
    return True


def _full_reason(state: dict[str, Any], config: Config, as_of: date, full: bool) -> str | None:
    if full:
        return "要求完整重算"
    if not state:
        return "尚无已存状态"
    if state.get("format") != FORMAT:
        return "状态存储格式已更新"
    if state.get("config") != config_fingerprint(config):
        return "配置已变更"
    if as_of < date.fromisoformat(state["as_of"]):
        return f"核查日早于已存的 {state['as_of']}"
    return None


def _result(mode: str, t: float, **counts: Any) -> dict[str, Any]:
    out = {"mode": mode, "agencies": 0, "rows_recomputed": 0, "rows_rederived": 0, "transitions": 0}
    out.update(counts)
    out["seconds"] = round(time.perf_counter() - t, 3)
    return out


# -- a document as stored ------------------------------------------------------------------------


def _doc_tuple(row: tuple[Any, ...], agency: str | None) -> tuple[Any, ...]:
    """The ``statuses.DOC_COLUMNS`` tuple of a ``statuses.version_rows`` row."""
    d = doc_from_row(row)
    return (
        d.version_id,
        d.report_id,
        d.document_id,
        d.source_id,
        d.name,
        row[5],
        d.kind,
        d.issues,
        d.published_at.isoformat() if d.published_at else None,
        d.date_source,
        d.url,
        agency,
    )


def _doc(t: tuple[Any, ...]) -> tuple[str, int, Doc]:
    vid, rid, did, source_id, name, year, kind, issues, pub, date_source, url, agency = t
    published = date.fromisoformat(pub) if pub else None
    return agency, int(year), Doc(rid, vid, did, source_id, name, kind, issues, published, date_source, url)


def _state(
    store: Store, config: Config, as_of: date, wanted: list[int], unreachable: dict, health_key: list[Any]
) -> None:
    statuses.write_state(
        store,
        {
            "format": FORMAT,
            "config": config_fingerprint(config),
            "as_of": as_of.isoformat(),
            "wanted": wanted,
            "unreachable": unreachable,
            "health_key": health_key,
        },
    )


# -- full ------------------------------------------------------------------------------------------


def _full(store: Store, config: Config, as_of: date, reason: str, t: float) -> dict[str, Any]:
    statuses.clear(store)
    seen = seen_names(store)
    mapping, _matches = name_mapping(seen, config)
    doc_rows, triples = [], []
    for row in statuses.version_rows(store):
        agency = mapping[row[4]] if row[16] else None
        doc = _doc_tuple(row, agency)
        doc_rows.append(doc)
        if agency is not None:
            triples.append(_doc(doc))
    catalogue = catalogue_from(triples)
    del triples
    key, unreachable = _health(store, config)
    wanted = years_from(catalogue.first_year, as_of)
    frame = Frame(config, as_of, wanted, unreachable)
    by_agency: dict[str, dict[int, Any]] = {}
    for (agency, year), f in catalogue.found.items():
        by_agency.setdefault(agency, {})[year] = f
    rows: list[dict[str, Any]] = []
    names = frame.expecting.names(catalogue.years)
    for name in names:
        rows += frame.agency_rows(
            name, by_agency.get(name, {}), catalogue.kinds.get(name), catalogue.sources.get(name)
        )
    statuses.put_docs(store, doc_rows)
    statuses.put_names(store, ((n, _prefix(n), mapping[n], ys) for n, ys in seen.items()))
    statuses.insert_rows(store, rows)
    _state(store, config, as_of, wanted, unreachable, key)
    result = _result("full", t, reason=reason, agencies=len(names), rows_recomputed=len(rows), rows=len(rows))
    log.info("statuses: full recomputation (%s): %s", reason, result)
    return result


def _prefix(name: str) -> str:
    return split_prefix(clean(name))[0]


# -- incremental -----------------------------------------------------------------------------------


def _incremental(
    store: Store, config: Config, as_of: date, state: dict[str, Any], t: float
) -> dict[str, Any]:
    versions, names, dated = statuses.take_changes(store)
    touched = _rematch(store, config, names) if names else set()  # agencies derived again
    changed = versions | dated  # versions whose counted parse or dates may have changed
    if changed:
        updated = _update_docs(store, changed)
        if updated is None:
            return {"reason": "报告中的机关名称未能对应"}
        touched |= updated
    wanted = years_from(statuses.first_year(store), as_of)
    if wanted != state["wanted"]:
        return {"reason": f"预期年度由 {_span(state['wanted'])} 变为 {_span(wanted)}"}
    key, unreachable = _health(store, config)
    before = state["unreachable"]
    health = {s for s in set(before) | set(unreachable) if before.get(s) != unreachable.get(s)}
    stored_as_of = date.fromisoformat(state["as_of"])
    if as_of > stored_as_of:
        touched |= statuses.agencies_published_between(store, stored_as_of.isoformat(), as_of.isoformat())
    frame = Frame(config, as_of, wanted, unreachable)
    recomputed = _recompute(store, frame, touched)
    # Unfound rows whose status or evidence follows as_of or a source's health: from the row alone.
    rederived, transitions = [], 0
    candidates = statuses.unfound_rows(
        store, ("pending", "missing") if as_of != stored_as_of else (), sorted(health)
    )
    for row in candidates:
        if row["agency"] in touched:
            continue
        status, evidence = row["status"], row["evidence"]
        rederive(row, as_of, unreachable)
        if (row["status"], row["evidence"]) != (status, evidence):
            rederived.append(row)
            transitions += row["status"] != status
    statuses.update_rows(store, rederived)
    _state(store, config, as_of, wanted, unreachable, key)
    result = _result(
        "incremental",
        t,
        agencies=len(touched),
        rows_recomputed=recomputed,
        rows_rederived=len(rederived),
        transitions=transitions,
        sources=sorted(health),
    )
    log.info("statuses: incremental refresh: %s", result)
    return result


def _span(years: list[int]) -> str:
    return f"{years[0]}–{years[-1]}" if years else "无"


def _rematch(store: Store, config: Config, names: set[str]) -> set[str]:
    """Bring ``status_names`` (and the canonical names of counted documents) up to date for
    ``names``, whose parser runs changed; returns the agencies whose documents were renamed."""
    now = statuses.name_years(store, names)
    stored = statuses.names_named(store, names)
    new_years = {n: now.get(n) for n in names if now.get(n) != (stored[n][1] if n in stored else None)}
    if not new_years:
        return set()
    # Names are matched within their administrative prefix; only an alias maps across prefixes,
    # so the prefixes of names mapped to (or from) these come along, until none is added.
    prefixes: set[str] = set()
    wanted = {_prefix(n) for n in new_years}
    while wanted - prefixes:
        prefixes |= wanted
        subset = statuses.names(store, prefixes)
        related = set(subset) | {c for c, _ in subset.values()} | set(new_years)
        wanted |= {_prefix(n) for n in statuses.alias_names(store, related)}
        wanted |= {_prefix(c) for c, _ in subset.values()}
    seen = {n: ys for n, (_c, ys) in subset.items()}
    for name, years in new_years.items():
        if years is None:
            seen.pop(name, None)
        else:
            seen[name] = years
    mapping, _ = name_mapping(seen, config)
    touched, renamed, put = set(), {}, []
    for name, years in seen.items():
        before = subset.get(name)
        if before is None or before[0] != mapping[name] or before[1] != years:
            put.append((name, _prefix(name), mapping[name], years))
        if before is not None and before[0] != mapping[name]:
            renamed[name] = mapping[name]
            touched |= {before[0], mapping[name]}
    gone = [n for n, ys in new_years.items() if ys is None]
    for name in gone:
        if name in subset:
            touched.add(subset[name][0])
    statuses.put_names(store, put)
    statuses.delete_names(store, gone)
    statuses.rename_docs(store, renamed)
    return touched


def _update_docs(store: Store, versions: set[int]) -> set[str] | None:
    """Store what the newest parse of each of ``versions`` counts for now; returns the agencies
    whose documents changed (before and after), or None when a name is not in ``status_names``
    (which ``_rematch`` rules out: then only a full recomputation can be trusted)."""
    stored = statuses.docs(store, versions)
    fresh = list(statuses.version_rows(store, versions))
    canonical = statuses.canonical_names(store, {r[4] for r in fresh if r[16]})
    if any(r[16] and r[4] not in canonical for r in fresh):
        log.warning("statuses: a report's agency name is not in status_names; recomputing in full")
        return None
    touched: set[str] = set()
    put, drop = [], []
    now: dict[int, tuple[Any, ...]] = {}
    for row in fresh:
        now[row[1]] = _doc_tuple(row, canonical[row[4]] if row[16] else None)
    for vid in versions:
        before, after = stored.get(vid), now.get(vid)
        if before == after:
            continue
        touched |= {d[-1] for d in (before, after) if d is not None and d[-1] is not None}
        if after is None:
            drop.append(vid)
        else:
            put.append(after)
    statuses.delete_docs(store, drop)
    statuses.put_docs(store, put)
    return touched


def _recompute(store: Store, frame: Frame, agencies: Iterable[str]) -> int:
    """Derive the rows of ``agencies`` again from their stored documents; returns how many."""
    agencies = sorted(set(agencies))
    if not agencies:
        return 0
    docs: dict[str, list[tuple[str, int, Doc]]] = {}
    for t in statuses.docs_of_agencies(store, agencies):
        triple = _doc(t)
        docs.setdefault(triple[0], []).append(triple)
    rows: list[dict[str, Any]] = []
    for name in agencies:
        if name not in docs and name not in frame.expecting.configured:
            continue
        catalogue = catalogue_from(docs.get(name, []))
        found = {year: f for (_a, year), f in catalogue.found.items()}
        rows += frame.agency_rows(name, found, catalogue.kinds.get(name), catalogue.sources.get(name))
    statuses.replace_rows(store, agencies, rows)
    return len(rows)
