/** @odoo-module **/
import { registry } from "@web/core/registry";

// Set by the test (tests/test_incoming_tour.py) on the account it creates.
const WEBHOOK = "/vbot_call_history/webhook/5f2b3c1e-0c8a-4f4e-9d55-2c1a7a6b9e01";
const SECRET = "tour-webhook-secret";

/** Post a webhook as VBot does (the test server is the "Odoo" VBot calls). */
async function post(body) {
    const response = await fetch(WEBHOOK, {
        method: "POST",
        headers: { Authorization: SECRET, "Content-Type": "application/json" },
        body: JSON.stringify(body),
    });
    if (!response.ok) {
        throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
    }
}

function ringing(transId, number, memberNo) {
    return {
        transId,
        caller: number,
        callee: "842455599940",
        calleeMemberNo: memberNo,
        hotline: "842455599940",
        createAt: Date.now(),
    };
}

function callLog(transId, number, memberNo) {
    return {
        ...ringing(transId, number, memberNo),
        typeCall: 1,
        timeCall: 42,
        durationCall: 50,
        typeCaller: "Phone",
        typeCallee: "Website_RTC",
        disposition: "ANSWER",
        postage: 0,
    };
}

// The agent on extension 104: the card of a known caller, gone with the call log; then
// an unknown caller on an unmapped extension, and a contact made from the card.
registry.category("web_tour.tours").add("vbot_incoming_call_tour", {
    steps: () => [
        {
            content: "The web client is up; VBot announces a call ringing extension 104",
            trigger: ".o_main_navbar",
            run: () => post(ringing("tour-known-1", "0364307520", "104")),
        },
        {
            content: "The card names the contact",
            trigger: ".o_vbot_incoming_card .o_vbot_incoming_name:contains(Anh Đạt)",
        },
        {
            content: "with its company",
            trigger: ".o_vbot_incoming_card .o_vbot_incoming_company:contains(Công ty An Phát)",
        },
        {
            content: "its salesperson",
            trigger: ".o_vbot_incoming_card .o_vbot_incoming_salesperson:contains(Trần Thu Hà)",
        },
        {
            content: "its photo",
            trigger: ".o_vbot_incoming_card img.o_vbot_incoming_avatar",
        },
        {
            content: "the last calls with their outcome",
            trigger: ".o_vbot_incoming_card .o_vbot_incoming_call:contains(Answered)",
        },
        {
            content: "and its open activities",
            trigger: ".o_vbot_incoming_card .o_vbot_incoming_activity:contains(Gọi lại báo giá)",
        },
        {
            content: "A button opens the contact",
            trigger: ".o_vbot_incoming_card .o_vbot_incoming_open",
        },
        {
            content: "The call is answered and ends: VBot sends its call log",
            trigger: ".o_vbot_incoming_card",
            run: () => post(callLog("tour-known-1", "0364307520", "104")),
        },
        {
            content: "The card is gone",
            trigger: "body:not(:has(.o_vbot_incoming_card))",
        },
        {
            content: "An unknown number rings an extension no user has",
            trigger: "body",
            run: () => post(ringing("tour-unknown-1", "0987654321", "999")),
        },
        {
            content: "Every VBot user sees it, as an unknown number",
            trigger:
                ".o_vbot_incoming_card:has(.o_vbot_incoming_number:contains(0987 654 321)) .o_vbot_incoming_unknown",
        },
        {
            content: "The Unknown numbers list is a click away",
            trigger: ".o_vbot_incoming_card .o_vbot_incoming_unknown_list",
        },
        {
            content: "Create a contact with that number",
            trigger: ".o_vbot_incoming_card .o_vbot_incoming_create",
            run: "click",
        },
        {
            content: "The Unknown numbers dialog is pre-filled with the number",
            trigger: ".modal .modal-title:contains(0987 654 321)",
        },
        {
            content: "Name the new contact",
            trigger: ".modal .o_field_widget[name=name] input",
            run: "edit Chị Mai Phương",
        },
        {
            content: "Create it",
            trigger: ".modal button[name=action_confirm]",
            run: "click",
        },
        {
            content: "The new contact opens",
            trigger:
                ".o_form_view .o_field_widget[name=name]:contains(Chị Mai Phương), .o_form_view .o_field_widget[name=name] input:value(Chị Mai Phương)",
        },
    ],
});

// A colleague on extension 105: not shown the call ringing extension 104, shown the one
// ringing an unmapped extension.
registry.category("web_tour.tours").add("vbot_incoming_call_colleague_tour", {
    steps: () => [
        {
            content: "Two calls ring: one for extension 104, one for nobody in particular",
            trigger: ".o_main_navbar",
            run: async () => {
                await post(ringing("tour-agent-only", "0364307520", "104"));
                await post(ringing("tour-everyone", "0912000111", "999"));
            },
        },
        {
            content: "The colleague sees the call for everyone",
            trigger:
                ".o_vbot_incoming_card[data-call-id='tour-everyone'] .o_vbot_incoming_number:contains(0912 000 111)",
        },
        {
            content: "and never the call ringing extension 104",
            trigger: "body:not(:has(.o_vbot_incoming_card[data-call-id='tour-agent-only']))",
        },
    ],
});
