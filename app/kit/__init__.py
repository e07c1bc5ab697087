"""The platform kit: the pieces every service is written on, so that none hand-rolls them again.

- ``pagination``: keyset pages (``Key``, ``keyset``, ``Page``), one typed cursor and its validation.
- ``ratelimit``: counters in Redis or the database, and the ``limit(bucket)`` route dependency that
  counts per verified token (or per address) with limits from one setting (``YOUTH_RATE_LIMITS``).
- ``csv``: streamed CSV exports (UTF-8 with BOM, a Chinese header row, the formula-injection guard).
- ``time``: Asia/Shanghai days and display, working days (weekends and the configured holidays).
- ``capacity``: the conditional ``taken + n <= capacity`` counter that places, slots, units and
  shifts are taken with, never counted in Python.
- ``dialect``: PostgreSQL/SQLite differences behind one helper each (advisory locks, SKIP LOCKED,
  upserts).
- ``postings``: the posting contract: every kind of posting registers once (statuses, visibility in
  SQL and in Python, publish/take-down hooks, the views, the ownership dependency).
- ``sweeper``: due work in one place (``youth sweep``): idempotent jobs registered by the services,
  safe with several sweepers on PostgreSQL. Reads never write; what is due but not swept is computed.
"""
