from odoo import api, fields, models
from odoo.exceptions import UserError

from .vbot_account import _tz_get

# Settings field -> vbot.account field, for the fields shown as they are stored.
_ACCOUNT_FIELDS = {
    "vbot_base_url": "base_url",
    "vbot_api_version": "api_version",
    "vbot_username": "username",
    "vbot_vbot_id": "vbot_id",
    "vbot_project_code": "project_code",
    "vbot_timezone": "timezone",
    "vbot_initial_days": "initial_days",
    "vbot_active": "active",
}


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    vbot_account_id = fields.Many2one(
        "vbot.account", "VBot account", compute="_compute_vbot_account_id"
    )
    vbot_active = fields.Boolean("Sync VBot calls")
    vbot_base_url = fields.Char("VBot API URL")
    vbot_api_version = fields.Selection(
        [("v2", "v2 (username, password, VBot ID)"), ("v3", "v3 (API key)")],
        "VBot authentication",
    )
    vbot_username = fields.Char("VBot username")
    # Typed here, stored on the account, never read back into the form.
    vbot_password = fields.Char("VBot password")
    vbot_api_key = fields.Char("VBot API key")
    vbot_has_password = fields.Boolean("VBot password stored", compute="_compute_vbot_account_id")
    vbot_has_api_key = fields.Boolean("VBot API key stored", compute="_compute_vbot_account_id")
    vbot_vbot_id = fields.Char("VBot ID")
    vbot_project_code = fields.Char("VBot project code")
    vbot_timezone = fields.Selection(_tz_get, "VBot time zone")
    vbot_initial_days = fields.Integer("First sync (days back)")
    vbot_last_sync_date = fields.Datetime(related="vbot_account_id.last_sync_date")
    vbot_last_sync_state = fields.Selection(related="vbot_account_id.last_sync_state")
    vbot_last_sync_message = fields.Text(related="vbot_account_id.last_sync_message")
    vbot_sync_watermark = fields.Datetime(related="vbot_account_id.sync_watermark")
    vbot_call_count = fields.Integer(related="vbot_account_id.call_count")
    vbot_sync_backlog = fields.Boolean(related="vbot_account_id.sync_backlog")
    vbot_sync_progress = fields.Float(related="vbot_account_id.sync_progress")
    vbot_sync_failure_note = fields.Char(related="vbot_account_id.sync_failure_note")
    vbot_count_summary = fields.Char(related="vbot_account_id.count_summary")
    vbot_count_mismatch = fields.Boolean(related="vbot_account_id.count_mismatch")

    @api.depends("company_id")
    def _compute_vbot_account_id(self):
        for settings in self:
            account = settings._vbot_account()
            settings.vbot_account_id = account
            settings.vbot_has_password = bool(account.password)
            settings.vbot_has_api_key = bool(account.api_key)

    def _vbot_account(self):
        return (
            self.env["vbot.account"]
            .sudo()
            .with_context(active_test=False)
            .search([("company_id", "=", (self.company_id or self.env.company).id)], limit=1)
        )

    @api.model
    def get_values(self):
        res = super().get_values()
        if not self.env.is_system():
            return res  # the VBot block is for system administrators only
        account = self._vbot_account()
        if account:
            values = {field: account[field] for field in _ACCOUNT_FIELDS.values()}
        else:  # nothing is synced until an admin ticks "Sync call history from VBot"
            values = dict(self._vbot_account_defaults(), active=False)
        res.update({name: values.get(field) for name, field in _ACCOUNT_FIELDS.items()})
        return res

    def set_values(self):
        res = super().set_values()
        self._vbot_save()
        return res

    @api.model
    def _vbot_account_defaults(self):
        """The account model's own defaults: a new account starts from them."""
        return self.env["vbot.account"].default_get(list(_ACCOUNT_FIELDS.values()))

    def _vbot_save(self):
        """Write the VBot fields onto the company's account, creating it if needed."""
        self.env["vbot.account"]._check_vbot_caller("base.group_system")
        self.ensure_one()
        defaults = self._vbot_account_defaults()
        vals = {
            field: self[name] if self[name] or field == "active" else defaults.get(field)
            for name, field in _ACCOUNT_FIELDS.items()
        }
        if self.vbot_password:
            vals["password"] = self.vbot_password
        if self.vbot_api_key:
            vals["api_key"] = self.vbot_api_key
        account = self._vbot_account()
        if account:
            changed = {
                k: v for k, v in vals.items() if k in ("password", "api_key") or account[k] != v
            }
            if changed:
                account.write(changed)
        elif self.vbot_active or self.vbot_username or self.vbot_api_key:
            account = account.create(
                dict(vals, company_id=(self.company_id or self.env.company).id)
            )
        return account

    def action_vbot_test_connection(self):
        """Test the values typed on the page, without saving them."""
        self.env["vbot.account"]._check_vbot_caller("base.group_system")
        self.ensure_one()
        typed = {
            field: self[name] for name, field in _ACCOUNT_FIELDS.items() if name != "vbot_active"
        }
        defaults = self._vbot_account_defaults()
        typed = {k: v if v or k not in defaults else defaults[k] for k, v in typed.items()}
        typed.pop("timezone", None)
        typed.pop("initial_days", None)
        if self.vbot_password:
            typed["password"] = self.vbot_password
        if self.vbot_api_key:
            typed["api_key"] = self.vbot_api_key
        return self._vbot_account()._test_connection(typed)

    def action_vbot_sync(self):
        """Save, then sync now; a first sync (a backfill) is handed to the cron."""
        self.env["vbot.account"]._check_vbot_caller("base.group_system")
        return self._vbot_save_and_get().action_sync()

    def action_vbot_open_account(self):
        self.env["vbot.account"]._check_vbot_caller("base.group_system")
        account = self._vbot_save_and_get()
        return {
            "type": "ir.actions.act_window",
            "res_model": "vbot.account",
            "res_id": account.id,
            "view_mode": "form",
        }

    def _vbot_save_and_get(self):
        account = self._vbot_save()
        if not account:
            raise UserError(self.env._("Fill in the VBot connection first."))
        return account
