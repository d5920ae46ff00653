from . import base_partner_merge, vbot_number_assign, vbot_webhook_secret
