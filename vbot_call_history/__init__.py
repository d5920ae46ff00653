# The service layer (``services/``) is plain Python and is imported on its own by
# tests and tools that run without Odoo; the Odoo parts load only when Odoo loads
# the addon (as ``odoo.addons.vbot_call_history``).
if __name__.startswith("odoo.addons."):
    from . import controllers, models, wizard
