"""The monitor: which reports are expected, their status, year-on-year changes, what changed.

- ``monitor.expectations.expected_pairs(store, config, as_of, years=None)`` — expected (agency, year)
- ``monitor.status.compute_status(store, config, as_of, years=None, region=None)`` and
  ``format_table(rows)`` — from the stored statuses, which
  ``monitor.refresh.refresh_statuses(store, config, as_of, full=False)`` brings up to date by
  what changed
- ``monitor.names.match_names(...)`` / ``match_log(store, config)`` — agency-name matching
- ``monitor.yoy.compare(store, config, year, as_of=None)`` — year on year per agency
- ``monitor.changes.list_changes(...)`` — what changed between stored versions

Digests, alerts and the dashboard are in ``outputs``.
"""
