"""Serve a simulated portal until Ctrl-C:  python -m simulator --family trs --seed 1 [--demo]."""

from __future__ import annotations

import argparse
import time
from datetime import date

from simulator.model import generate_region
from simulator.portal import FAMILIES, SimulatedPortal, big_region


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    ap.add_argument("--family", default="trs", choices=sorted(FAMILIES))
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--variant", default="classic", choices=["classic", "new"], help="TRS pager convention")
    ap.add_argument("--ext", default="html", choices=["html", "shtml"])
    ap.add_argument("--charset", default="utf-8", choices=["utf-8", "gbk"])
    ap.add_argument("--per-page", type=int, default=15)
    ap.add_argument("--wap", action="store_true", help="serve _wap copies of articles")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds per response")
    ap.add_argument("--today", type=date.fromisoformat, help="the simulator's date (YYYY-MM-DD)")
    ap.add_argument("--counties", type=int, default=1, help="serve several generated counties as one site")
    ap.add_argument("--demo", action="store_true", help="county portal + a GBK department site")
    args = ap.parse_args(argv)

    if args.demo:
        portal = SimulatedPortal.demo(args.seed, today=args.today, latency=args.latency)
    else:
        region = big_region(args.counties, args.seed) if args.counties > 1 else generate_region(args.seed)
        portal = SimulatedPortal(
            region,
            family=args.family,
            today=args.today,
            variant=args.variant,
            ext=args.ext,
            charset=args.charset,
            per_page=args.per_page,
            wap_copies=args.wap,
            latency=args.latency,
        )
    with portal:
        for s in portal.sites:
            print(
                f"{s.name}: {s.start_url}  ({s.site.region.county}, {len(s.site.report_urls())} report URLs)"
            )
        print(f"{len(portal.report_urls())} report URLs in all; Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
