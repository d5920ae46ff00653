/** @odoo-module **/
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

function openCallsMenu(item) {
    return [
        {
            content: "Open the Calls menu",
            trigger:
                ".o_menu_sections button[data-menu-xmlid='vbot_call_history.vbot_call_root_menu']",
            run: "click",
        },
        {
            content: `Open ${item}`,
            trigger: `.dropdown-item[data-menu-xmlid='vbot_call_history.${item}']`,
            run: "click",
        },
    ];
}

// A salesperson starts the day from their missed calls, reaches the contact and
// comes back; then gives an unknown number its contact.
registry.category("web_tour.tours").add("vbot_call_history_sales_tour", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open Contacts",
            trigger: ".o_app[data-menu-xmlid='contacts.menu_contacts']",
            run: "click",
        },
        ...openCallsMenu("vbot_call_my_missed_menu"),
        {
            content: "My contact's missed call waits for me",
            trigger:
                ".o_list_view .o_data_row:contains(Phạm Minh Khôi) td[name=call_type]:contains(Missed)",
        },
        {
            content: "Its number is a call-back link",
            trigger:
                ".o_data_row:contains(Phạm Minh Khôi) td[name=customer_display] a[href='tel:0912345678']",
        },
        {
            content: "Open the missed call",
            trigger: ".o_data_row:contains(Phạm Minh Khôi) td[name=partner_id]",
            run: "click",
        },
        {
            content: "The call form shows the number to call back",
            trigger: ".o_form_view .o_field_widget[name=customer_display] a[href='tel:0912345678']",
        },
        {
            content: "Go to the contact",
            trigger: ".o_form_view .o_field_widget[name=partner_id] a",
            run: "click",
        },
        {
            content: "The Call back activity is on the contact",
            trigger: ".o-mail-Activity:contains(Call back)",
        },
        {
            content: "Open the contact's Calls tab",
            trigger: ".o_notebook .nav-link:contains(Calls)",
            run: "click",
        },
        {
            content: "The missed calls are there",
            trigger: ".o_field_widget[name=vbot_call_ids] .o_data_row:contains(Missed)",
        },
        {
            content: "Back to my missed calls",
            trigger: ".o_breadcrumb a:contains(My missed calls to call back)",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row:contains(Phạm Minh Khôi)",
        },
        ...openCallsMenu("vbot_unknown_number_menu"),
        {
            content: "Create a contact for the unknown number",
            trigger: ".o_data_row:contains(0911 222 333) button[name=action_create_contact]",
            run: "click",
        },
        {
            content: "The dialog counts the calls that will move",
            trigger: ".modal .alert:contains(0911 222 333)",
        },
        {
            content: "Name the contact",
            trigger: ".modal .o_field_widget[name=name] input",
            run: "edit Anh Đạt - Hải Phòng",
        },
        {
            content: "Create it",
            trigger: ".modal .modal-footer button.btn-primary:contains(Create contact)",
            run: "click",
        },
        {
            content: "The new contact opens",
            trigger: ".o_breadcrumb .active:contains(Anh Đạt - Hải Phòng)",
        },
        {
            content: "Open its Calls tab",
            trigger: ".o_notebook .nav-link:contains(Calls)",
            run: "click",
        },
        {
            content: "Every call of the number is on it",
            trigger: ".o_field_widget[name=vbot_call_ids] .o_data_row:nth-child(3)",
        },
    ],
});
