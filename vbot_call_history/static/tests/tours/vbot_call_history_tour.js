/** @odoo-module **/
import { registry } from "@web/core/registry";

// A salesperson opens a contact, finds its VBot calls and plays a recording.
registry.category("web_tour.tours").add("vbot_call_history_tour", {
    steps: () => [
        {
            content: "Open the Calls tab",
            trigger: ".o_notebook .nav-link:contains(Calls)",
            run: "click",
        },
        {
            content: "The contact's calls are listed",
            trigger: ".o_field_widget[name=vbot_call_ids] .o_data_row",
        },
        {
            content: "The smart button counts them",
            trigger: ".oe_stat_button[name=action_vbot_open_calls] .o_stat_value",
        },
        {
            content: "Play a recording",
            trigger: ".o_field_widget[name=vbot_call_ids] .o_vbot_recording_play",
            run: "click",
        },
        {
            content: "It plays in the browser",
            trigger: ".o_vbot_recording_play[data-playing='1'] .fa-pause",
        },
    ],
});
