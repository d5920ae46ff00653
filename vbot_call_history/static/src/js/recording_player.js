/** @odoo-module **/
import { Component, onWillUnmount, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

// One recording plays at a time, whichever list or form started it.
let current = null;

/**
 * Plays a VBot call's recording in the browser. The audio comes from the
 * server's /vbot_call_history/recording/<id> route, which checks the user's
 * access and fetches the file from VBot: no VBot address reaches the page.
 * Set on the boolean `has_recording`; shows nothing for a call without one.
 */
export class VbotRecordingPlayer extends Component {
    static template = "vbot_call_history.RecordingPlayer";
    static props = { ...standardFieldProps, controls: { type: Boolean, optional: true } };

    setup() {
        this.state = useState({ playing: false, loading: false, failed: false });
        this.audio = null;
        onWillUnmount(() => this.stop());
    }

    get hasRecording() {
        return Boolean(this.props.record.data[this.props.name]) && Boolean(this.props.record.resId);
    }

    get src() {
        return `/vbot_call_history/recording/${this.props.record.resId}`;
    }

    get title() {
        if (this.state.failed) {
            return _t("The recording could not be loaded");
        }
        return this.state.playing ? _t("Pause the recording") : _t("Play the recording");
    }

    toggle() {
        if (this.state.playing) {
            this.stop();
            return;
        }
        if (current && current !== this) {
            current.stop();
        }
        if (!this.audio) {
            this.audio = new Audio(this.src);
            this.audio.preload = "none";
            this.audio.addEventListener("ended", () => this.stop());
            this.audio.addEventListener("playing", () => {
                this.state.loading = false;
            });
            this.audio.addEventListener("error", () => {
                this.state.failed = true;
                this.state.loading = false;
                this.state.playing = false;
            });
        }
        current = this;
        this.state.failed = false;
        this.state.loading = true;
        this.state.playing = true;
        this.audio.play().catch(() => {
            this.state.failed = true;
            this.state.loading = false;
            this.state.playing = false;
        });
    }

    stop() {
        if (this.audio) {
            this.audio.pause();
        }
        this.state.playing = false;
        this.state.loading = false;
        if (current === this) {
            current = null;
        }
    }
}

export const vbotRecordingPlayer = {
    component: VbotRecordingPlayer,
    displayName: _t("Recording player"),
    supportedTypes: ["boolean"],
    extractProps: ({ options }) => ({ controls: Boolean(options.controls) }),
};

registry.category("fields").add("vbot_recording_player", vbotRecordingPlayer);
