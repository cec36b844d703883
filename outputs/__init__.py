"""What the monitor's findings become: digests (``digest*``), charts, alerts and the web dashboard.

- ``outputs.digest.build_digest(store, config, year, region=None, as_of=None)`` and
  ``write_digest(digest, fmt, path)`` for xlsx, docx, csv, html, md, json
- ``outputs.alerts.run_alerts(store, config, as_of, *, digest_path=None)`` — exactly-once alerts
- ``outputs.web`` — the dashboard
"""
