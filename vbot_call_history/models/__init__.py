from . import (
    res_config_settings,
    res_partner,
    res_users,
    vbot_account,
    vbot_account_webhook,
    vbot_call,
    vbot_call_pending,
    vbot_call_webhook,
    vbot_sync_log,
    vbot_sync_run,
    vbot_unreadable_call,
    vbot_webhook_log,
)
