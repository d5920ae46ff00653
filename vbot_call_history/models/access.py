"""One check for the public methods of this addon: the caller's group and companies.

Every public model method is reachable over JSON-RPC by any logged-in user (portal too):
a method that runs ``sudo()`` or reaches VBot calls :func:`require` first.
"""

from odoo.exceptions import AccessError

USER = "vbot_call_history.group_vbot_user"
MANAGER = "vbot_call_history.group_vbot_manager"


def require(env, group, companies=None):
    """Raise AccessError unless the user has ``group`` and may work in ``companies``.

    A superuser environment (the scheduler, a webhook already authenticated) passes.
    """
    if env.su:
        return
    if not env.user.has_group(group):
        if group == MANAGER:
            raise AccessError(env._("Only VBot managers can do this."))
        raise AccessError(env._("Only VBot users can do this."))
    if companies is not None:
        allowed = env.user.company_ids
        if any(company not in allowed for company in companies):
            raise AccessError(env._("This belongs to a company you cannot work in."))
