"""The staff console (工作台) at ``/console``: server-rendered Chinese pages for League staff.

- ``sessions``: sign-in with the staff password, the TOTP second factor (``totp``), cookies, CSRF,
  expiry, logout;
- ``stats``: the dashboards, as pages, JSON and CSV, with small cells suppressed (``app.kit.cells``);
- ``pages``: what each work page shows, read through the services' own functions.

Every action a page offers calls the same service function as the JSON API (moderation's ``decide``
and ``resolve_report``, orgs' ``decide``): the console writes no row of its own but its sessions and
switches. Templates and static files (htmx, ECharts, vendored with their licences) are in
``templates/`` and ``static/`` beside this file.
"""

from app.services.console import pages, sessions, stats

__all__ = ["pages", "sessions", "stats"]
