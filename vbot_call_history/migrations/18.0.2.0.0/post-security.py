"""18.0.2.0.0, security: an upgrade never stops an account that works.

Before this version an account's API URL could be any http(s) URL. Now credentials go only
to https on *.vbot.vn or to the hosts listed in the system parameter
``vbot_call_history.allowed_hosts``. For each account whose URL the new policy refuses:

* its last sync succeeded (a server someone set up and that answers like VBot): its exact
  origin (``scheme://host:port``) is added to the parameter, so it goes on syncing, and a
  warning names it in the upgrade log;
* otherwise (never synced, or failing): nothing is added; its next sync fails with a
  message naming the host an administrator may allow, and a warning says so now.

A URL the strict parser cannot read at all (a user:password@ part, a backslash, a host
spelled as a number) is never added: no working VBot URL looks like that.
"""

import logging

from odoo import SUPERUSER_ID, api
from odoo.addons.vbot_call_history.services.urlpolicy import UrlPolicy, UrlRefused, parse_url

_logger = logging.getLogger(__name__)

PARAM = "vbot_call_history.allowed_hosts"


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    params = env["ir.config_parameter"]
    current = params.get_param(PARAM) or ""
    policy = UrlPolicy(current)
    cr.execute(
        """
        SELECT a.id, a.base_url, l.state
          FROM vbot_account a
     LEFT JOIN vbot_sync_log l ON l.id = a.last_sync_log_id
      ORDER BY a.id
        """
    )
    added = []
    for account_id, url, state in cr.fetchall():
        try:
            policy.check_url(url or "")
            continue
        except UrlRefused as refused:
            reason = refused
        try:
            target = parse_url(url or "")
        except UrlRefused:
            _logger.warning(
                "VBot account %s: its API URL cannot be used any more (%s); "
                "a system administrator must set it again.",
                account_id,
                reason,
            )
            continue
        entry = f"{target.scheme}://{target.netloc}"
        if state in ("ok", "warning"):
            added.append(entry)
            _logger.warning(
                "VBot account %s syncs from %s, which is not a VBot host: added to %s so "
                "that it keeps working. Remove it there if it should not be trusted.",
                account_id,
                entry,
                PARAM,
            )
        else:
            _logger.warning(
                "VBot account %s: %s is not an allowed host and its last sync did not "
                "succeed; it stays refused until a system administrator adds %s to %s.",
                account_id,
                entry,
                entry,
                PARAM,
            )
    if added:
        params.set_param(PARAM, " ".join(dict.fromkeys(current.split() + added)))
