{
    "name": "VBot Call History",
    "summary": "Every VBot call on the right contact, with its outcome, agent and recording",
    "version": "18.0.2.0.0",
    "category": "Sales/CRM",
    "author": "vbot_call_history developers",
    "license": "LGPL-3",
    "depends": ["contacts", "mail"],
    "external_dependencies": {"python": ["phonenumbers", "requests"]},
    "data": [
        "security/vbot_call_history_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "views/vbot_call_views.xml",
        "views/vbot_unknown_number_views.xml",
        "views/vbot_number_assign_views.xml",
        "views/vbot_number_link_views.xml",
        "views/vbot_member_views.xml",
        "views/vbot_sync_log_views.xml",
        "views/vbot_unreadable_call_views.xml",
        "views/vbot_account_views.xml",
        "views/res_partner_views.xml",
        "views/res_users_views.xml",
        "views/res_config_settings_views.xml",
        "views/vbot_menus.xml",
    ],
    "demo": [
        "demo/vbot_demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "vbot_call_history/static/src/js/**/*",
            "vbot_call_history/static/src/xml/**/*",
        ],
        "web.assets_tests": [
            "vbot_call_history/static/tests/tours/**/*",
        ],
    },
}
