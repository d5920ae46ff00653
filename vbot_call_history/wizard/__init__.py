from . import vbot_number_assign, vbot_webhook_secret
