/** @odoo-module **/
import { Component } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";

// The connection fields of vbot.account as typed in the form, saved or not.
const FIELDS = [
    "base_url",
    "api_version",
    "username",
    "vbot_id",
    "project_code",
    "date_unit",
    "page_size",
    "new_password",
    "new_api_key",
];

/**
 * "Test connection" on the VBot account form: tests the values typed in the form
 * before they are saved (a button of type object would save them first, and a new
 * API URL restarts the history).
 */
export class VbotTestConnection extends Component {
    static template = "vbot_call_history.TestConnection";
    static props = { ...standardWidgetProps };

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
    }

    get label() {
        return _t("Test connection");
    }

    async onClick() {
        const record = this.props.record;
        // What is being typed in a field reaches the record on change: ask for it first.
        await record.model._askChanges();
        const values = {};
        for (const name of FIELDS) {
            if (name in record.data && record.data[name] !== undefined) {
                values[name] = record.data[name];
            }
        }
        const ids = record.resId ? [record.resId] : [];
        const action = await this.orm.call("vbot.account", "action_test_connection_values", [
            ids,
            values,
        ]);
        if (action) {
            await this.action.doAction(action);
        }
    }
}

export const vbotTestConnection = { component: VbotTestConnection };

registry.category("view_widgets").add("vbot_test_connection", vbotTestConnection);
