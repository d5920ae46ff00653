from . import (
    mail_activity,
    res_config_settings,
    res_partner,
    res_users,
    vbot_account,
    vbot_call,
    vbot_member,
    vbot_number_link,
    vbot_sync_log,
    vbot_sync_run,
    vbot_unknown_number,
    vbot_unreadable_call,
)
