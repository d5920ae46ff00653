"""Agents: the extension typed on each user (``res_users.vbot_member_no``) becomes an
agent of the VBot account of each of the user's companies, mapped to that user.

``res.users.vbot_member_no`` stays as a field that reads and writes those agents, so
screens and code that know a user's extension keep working; its old column is dropped
once copied.
"""

import logging

from odoo import SUPERUSER_ID, api
from odoo.tools.sql import column_exists

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not column_exists(cr, "res_users", "vbot_member_no"):
        return
    cr.execute(
        """
        SELECT u.id, trim(u.vbot_member_no), a.id
          FROM res_users AS u
          JOIN res_company_users_rel AS r ON r.user_id = u.id
          JOIN vbot_account AS a ON a.company_id = r.cid
         WHERE COALESCE(trim(u.vbot_member_no), '') <> ''
         ORDER BY u.id
        """
    )
    rows = cr.fetchall()
    env = api.Environment(cr, SUPERUSER_ID, {})
    Member = env["vbot.member"].with_context(active_test=False)
    made = 0
    for user_id, member_no, account_id in rows:
        member = Member.search(
            [("account_id", "=", account_id), ("member_no", "=", member_no)], limit=1
        )
        if not member:
            Member.create({"account_id": account_id, "member_no": member_no, "user_id": user_id})
            made += 1
        elif not member.user_id:
            member.user_id = user_id
    cr.execute("ALTER TABLE res_users DROP COLUMN vbot_member_no")
    _logger.info("VBot: %s users' extensions became %s agents", len(rows), made)
