"""`crawl` then `monitor`, without `parse --stored` in between: monitor parses first."""

from __future__ import annotations

import json
from datetime import date

import simulator.families  # noqa: F401  (registers the families)
from nianbao.demo import compare_with_truth
from simulator.portal import SimulatedPortal
from tests.crawl_helpers import nianbao
from tests.test_spiders_families import small_region, write_sources


def test_monitor_after_crawl_parses_the_unparsed_versions_first(tmp_path):
    region = small_region(5)
    as_of = date(region.years[-1] + 1, 6, 1)
    government = f"    agencies:\n      - {{name: {region.government.name}, kind: government}}\n"
    with SimulatedPortal(region=region, family="trs", today=as_of) as portal:
        config = write_sources(tmp_path, [(portal.start_url, government)])
        nianbao(config, "crawl", "--quiet")
        truth = portal.truth(as_of)
    assert {t["status"] for t in truth} >= {"on_time", "late", "missing"}

    # --no-parse: the old behaviour, judged on no report at all, and told so
    skipped = nianbao(config, "monitor", "--no-parse", "--format", "json", "--as-of", str(as_of))
    assert compare_with_truth(json.loads(skipped.stdout), truth) != []
    unparsed = int(skipped.stderr.split("还有 ")[1].split(" 个")[0])
    assert unparsed > 0 and "nianbao parse --stored" in skipped.stderr

    first = nianbao(config, "monitor", "--format", "json", "--as-of", str(as_of))
    rows = json.loads(first.stdout)  # stdout stays pure JSON: the parse is told on stderr
    assert compare_with_truth(rows, truth) == [] and len(rows) == len(truth)
    assert f"先解析 {unparsed} 个尚未解析的版本" in first.stderr

    again = nianbao(config, "monitor", "--format", "json", "--as-of", str(as_of))
    assert json.loads(again.stdout) == rows and "先解析" not in again.stderr  # nothing left to parse


def test_monitor_leaves_versions_an_older_parser_read_to_parse_stored(tmp_path):
    """Only versions no parser has read are parsed first; re-reading after an upgrade is parse --stored's."""
    from test_monitor_common import build_store, config_for

    from monitor.status import compute_status
    from simulator.model import generate_region

    region = generate_region(seed=7, departments=6, townships=1)
    as_of = date(region.years[-1] + 1, 6, 1)
    with build_store(tmp_path, region) as store:  # every version parsed by the parser "test"
        config = config_for(tmp_path, region)
        expected = compute_status(store, config, as_of)
        versions = len(store.reports())
    proc = nianbao(config.path, "monitor", "--format", "json", "--as-of", str(as_of))
    assert json.loads(proc.stdout) == json.loads(json.dumps(expected, ensure_ascii=False))
    assert f"{versions} 个版本是旧版解析器解析的" in proc.stderr and "先解析" not in proc.stderr
