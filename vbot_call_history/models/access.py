"""The caller check of this addon's public methods on records other than accounts.

Every public model method is reachable over JSON-RPC by any logged-in user (portal too):
a method that runs ``sudo()`` or reaches VBot checks its caller first. Accounts use
``vbot.account._check_vbot_caller``; :func:`require` applies the same rules to calls,
agents, unknown numbers and the number dialog: an internal user of the group, working in
the records' companies (those selected in the company switcher).
"""

from odoo.exceptions import AccessError

USER = "vbot_call_history.group_vbot_user"
MANAGER = "vbot_call_history.group_vbot_manager"


def require(env, group, records=None):
    """Raise AccessError unless the user is an internal user of ``group`` working in the
    companies of ``records`` (records with a ``company_id``, or companies). The superuser
    (the scheduler, a webhook already authenticated) passes."""
    if env.su:
        return
    user = env.user
    if not (user._is_internal() and user.has_group(group)):
        group_name = env.ref(group).sudo().full_name
        raise AccessError(env._("This needs the access right “%(group)s”.", group=group_name))
    if records is None:
        return
    records = records.sudo()
    companies = records if records._name == "res.company" else records.company_id
    if companies - env.companies:
        raise AccessError(env._("This belongs to a company you are not working in."))
