from . import (
    res_config_settings,
    res_partner,
    res_users,
    vbot_account,
    vbot_call,
    vbot_sync_log,
    vbot_sync_run,
    vbot_unreadable_call,
)
