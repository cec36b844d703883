"""The monitor: which reports are expected, their status, year-on-year changes, digests, alerts.

- ``monitor.expectations.expected_pairs(store, config, as_of, years=None)`` — expected (agency, year)
- ``monitor.status.compute_status(store, config, as_of, years=None)`` and ``format_table(rows)``
- ``monitor.names.match_names(...)`` / ``match_log(store, config)`` — agency-name matching
- ``monitor.yoy.compare(store, config, year, as_of=None)`` — year on year per agency
- ``monitor.digest.build_digest(store, config, year, region=None, as_of=None)`` and
  ``write_digest(digest, fmt, path)`` for xlsx, csv, html, md, json
- ``monitor.alerts.run_alerts(store, config, as_of, *, digest_path=None)`` — exactly-once alerts
- ``monitor.web`` — the dashboard
"""
