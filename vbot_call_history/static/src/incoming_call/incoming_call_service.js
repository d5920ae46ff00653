/** @odoo-module **/
import { Component, reactive, useState } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import {
    deserializeDate,
    deserializeDateTime,
    formatDate,
    formatDateTime,
} from "@web/core/l10n/dates";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

// Notification types sent by vbot.call._webhook_ring / _webhook_ring_end.
export const INCOMING = "vbot_call_history/incoming";
export const INCOMING_END = "vbot_call_history/incoming_end";
const DEFAULT_TIMEOUT = 90;

/**
 * A Vietnamese number as people write it: +84912345678 / 84912345678 -> 0912 345 678.
 */
export function formatVnNumber(number) {
    const digits = (number || "").replace(/[^\d+]/g, "");
    let national = digits;
    if (/^\+?84\d{9}$/.test(digits)) {
        national = "0" + digits.replace(/^\+?84/, "");
    }
    if (/^0\d{9}$/.test(national)) {
        return `${national.slice(0, 4)} ${national.slice(4, 7)} ${national.slice(7)}`;
    }
    return number || "";
}

/**
 * Incoming VBot calls of this user: the bus announces a ringing call (only its number and
 * ids); the card's details are asked with the user's own rights (vbot.call
 * vbot_incoming_card). A card goes when the call's log arrives, after its timeout, or when
 * closed.
 */
export const vbotIncomingCallService = {
    dependencies: ["bus_service", "orm"],
    start(env, { bus_service, orm }) {
        const state = reactive({ cards: [] });
        const timers = new Map();

        const keyOf = (payload) => `${payload.account_id}:${payload.id}`;

        function remove(key) {
            browser.clearTimeout(timers.get(key));
            timers.delete(key);
            const index = state.cards.findIndex((card) => card.key === key);
            if (index >= 0) {
                state.cards.splice(index, 1);
            }
        }

        async function load(card) {
            try {
                card.data = await orm.silent.call("vbot.account", "vbot_incoming_card", [
                    [card.account_id],
                    card.number,
                ]);
            } catch {
                card.failed = true;
            }
        }

        bus_service.subscribe(INCOMING, (payload) => {
            const key = keyOf(payload);
            if (state.cards.some((card) => card.key === key)) {
                return;
            }
            state.cards.push({ ...payload, key, data: null, failed: false });
            const card = state.cards.at(-1);
            const timeout = (payload.timeout || DEFAULT_TIMEOUT) * 1000;
            timers.set(
                key,
                browser.setTimeout(() => remove(key), timeout),
            );
            load(card);
        });
        bus_service.subscribe(INCOMING_END, (payload) => remove(keyOf(payload)));
        bus_service.start();
        return { state, remove };
    },
};

export class VbotIncomingCallCard extends Component {
    static template = "vbot_call_history.IncomingCallCard";
    static props = { card: Object, close: Function };

    setup() {
        this.action = useService("action");
    }

    get card() {
        return this.props.card;
    }

    get data() {
        return this.card.data;
    }

    get number() {
        return formatVnNumber(this.card.number);
    }

    formatDateTime(value) {
        return value ? formatDateTime(deserializeDateTime(value)) : "";
    }

    formatDate(value) {
        return value ? formatDate(deserializeDate(value)) : "";
    }

    openPartner(partnerId) {
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: "res.partner",
            res_id: partnerId,
            views: [[false, "form"]],
            target: "current",
        });
    }

    createPartner() {
        // The number dialog of the sales screens: the contact gets the number, and every
        // call of the number moves to it.
        this.action.doAction(this.data.create_action);
    }

    openUnknownNumbers() {
        this.action.doAction(this.data.unknown_action);
    }
}

export class VbotIncomingCallCards extends Component {
    static template = "vbot_call_history.IncomingCallCards";
    static props = {};
    static components = { VbotIncomingCallCard };

    setup() {
        this.service = useService("vbot_incoming_call");
        this.state = useState(this.service.state);
    }
}

registry.category("services").add("vbot_incoming_call", vbotIncomingCallService);
registry
    .category("main_components")
    .add("vbot_call_history.IncomingCallCards", { Component: VbotIncomingCallCards });
