/** @odoo-module **/
import { registry } from "@web/core/registry";

// An administrator types a new password in the account form and tests it before saving.
registry.category("web_tour.tours").add("vbot_test_connection_tour", {
    steps: () => [
        {
            content: "Type a wrong password (not saved)",
            trigger: ".o_field_widget[name=new_password] input",
            run: "edit not-the-password",
        },
        {
            content: "Test the typed values",
            trigger: "button.o_vbot_test_connection",
            run: "click",
        },
        {
            content: "VBot refused them: the dialog says so",
            trigger: ".modal-body:contains(refused the credentials)",
        },
        {
            content: "Close the dialog",
            trigger: ".modal-footer button.btn-primary",
            run: "click",
        },
        {
            content: "Type the right password (still not saved)",
            trigger: ".o_field_widget[name=new_password] input",
            run: "edit demo",
        },
        {
            content: "Test again",
            trigger: "button.o_vbot_test_connection",
            run: "click",
        },
        {
            content: "The connection works",
            trigger: ".o_notification:contains(Connection works)",
        },
        {
            content: "Leave without saving",
            trigger: ".o_form_button_cancel",
            run: "click",
        },
    ],
});
