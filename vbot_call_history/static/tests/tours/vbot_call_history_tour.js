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
            // The tour waits for the page to settle, which a short recording does by
            // ending: its progress then reads e.g. "0:03 / 0:03".
            content: "It plays in the browser, its progress shown",
            trigger: ".o_field_widget[name=vbot_call_ids] .o_vbot_recording_time:contains(/)",
        },
        {
            content: "No error",
            trigger: ".o_field_widget[name=vbot_call_ids]:not(:has(.o_vbot_recording_error))",
        },
    ],
});

// A recording VBot no longer has: the ▶ says so in words.
registry.category("web_tour.tours").add("vbot_call_history_player_error_tour", {
    steps: () => [
        {
            content: "Open the Calls tab",
            trigger: ".o_notebook .nav-link:contains(Calls)",
            run: "click",
        },
        {
            content: "Play a recording",
            trigger: ".o_field_widget[name=vbot_call_ids] .o_vbot_recording_play",
            run: "click",
        },
        {
            content: "The player says why it cannot play, in a few words and in a sentence",
            trigger:
                ".o_field_widget[name=vbot_call_ids] .o_vbot_recording_error:contains(Not available)[title*='VBot no longer has it']",
        },
    ],
});
