from . import vbot_webhook_secret
