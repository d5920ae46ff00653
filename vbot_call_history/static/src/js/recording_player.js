/** @odoo-module **/
import { Component, onWillUnmount, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

// One recording plays at a time, whichever list or form started it.
let current = null;

function clock(seconds) {
    if (!Number.isFinite(seconds) || seconds < 0) {
        return "";
    }
    const whole = Math.floor(seconds);
    const minutes = Math.floor(whole / 60);
    return `${minutes}:${String(whole % 60).padStart(2, "0")}`;
}

/**
 * Plays a VBot call's recording in the browser. The audio comes from the
 * server's /vbot_call_history/recording/<id> route, which checks the user's
 * access and fetches the file from VBot: no VBot address reaches the page.
 * Set on the boolean `has_recording`; shows nothing for a call without one.
 *
 * While it plays it shows how far it is ("0:12 / 1:30" and a thin bar); when
 * a recording cannot be played it says why, in words.
 */
export class VbotRecordingPlayer extends Component {
    static template = "vbot_call_history.RecordingPlayer";
    static props = { ...standardFieldProps, controls: { type: Boolean, optional: true } };

    setup() {
        this.state = useState({
            playing: false,
            loading: false,
            error: "", // what went wrong, in a sentence (the form, the button's title)
            errorShort: "", // the same in a few words (a list cell)
            position: 0,
            duration: 0,
        });
        this.audio = null;
        this.failing = false;
        onWillUnmount(() => this.stop());
    }

    get hasRecording() {
        return Boolean(this.props.record.data[this.props.name]) && Boolean(this.props.record.resId);
    }

    get src() {
        return `/vbot_call_history/recording/${this.props.record.resId}`;
    }

    get title() {
        if (this.state.error) {
            return this.state.error;
        }
        return this.state.playing ? _t("Pause the recording") : _t("Play the recording");
    }

    get progress() {
        if (!this.state.duration) {
            return clock(this.state.position);
        }
        return `${clock(this.state.position)} / ${clock(this.state.duration)}`;
    }

    get percent() {
        if (!this.state.duration) {
            return 0;
        }
        return Math.min(100, (100 * this.state.position) / this.state.duration);
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
            const audio = new Audio(this.src);
            audio.preload = "none";
            // At the end the progress stays full: the user sees it was heard to the end.
            audio.addEventListener("ended", () => this.stop());
            audio.addEventListener("playing", () => {
                this.state.loading = false;
            });
            audio.addEventListener("timeupdate", () => this.onTime(audio));
            audio.addEventListener("loadedmetadata", () => this.onTime(audio));
            audio.addEventListener("error", () => this.fail());
            this.audio = audio;
        }
        current = this;
        this.failing = false;
        this.setError("", "");
        this.state.loading = true;
        this.state.playing = true;
        this.audio.play().catch((error) => {
            if (error && error.name === "AbortError") {
                return; // paused before it started
            }
            if (error && error.name === "NotAllowedError") {
                // The browser's autoplay rules, not the recording: a click plays it.
                this.stop();
                this.setError(
                    _t("The browser did not let the recording play: press ▶ again."),
                    _t("Press ▶ again"),
                );
                return;
            }
            this.fail();
        });
    }

    onTime(audio) {
        this.state.position = audio.currentTime || 0;
        this.state.duration = Number.isFinite(audio.duration) ? audio.duration : 0;
    }

    /** The native player of the form failed: say why below it. */
    onNativeError() {
        this.fail();
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

    /**
     * The browser only says "error": ask the server what happened (a one-byte
     * request) and tell the user in words.
     */
    async fail() {
        if (this.failing) {
            return; // the error event and play() both report one failure
        }
        this.failing = true;
        this.stop();
        this.audio = null;
        this.setError(_t("The recording could not be played."), _t("Cannot play"));
        let status = 0;
        try {
            const response = await fetch(this.src, { headers: { Range: "bytes=0-0" } });
            status = response.status;
        } catch {
            this.setError(
                _t("Odoo cannot be reached: check your connection and try again."),
                _t("No connection"),
            );
            return;
        }
        if (status === 404) {
            this.setError(
                _t(
                    "This recording is not available: VBot no longer has it, or you may not hear it.",
                ),
                _t("Not available"),
            );
        } else if (status === 502 || status === 503 || status === 504) {
            this.setError(
                _t("VBot cannot be reached right now; try again in a moment."),
                _t("VBot unreachable"),
            );
        } else if (status === 200 || status === 206) {
            this.setError(
                _t("Your browser cannot play this recording's format."),
                _t("Format not supported"),
            );
        }
    }

    setError(sentence, short) {
        this.state.error = sentence;
        this.state.errorShort = short;
    }
}

export const vbotRecordingPlayer = {
    component: VbotRecordingPlayer,
    displayName: _t("Recording player"),
    supportedTypes: ["boolean"],
    extractProps: ({ options }) => ({ controls: Boolean(options.controls) }),
};

registry.category("fields").add("vbot_recording_player", vbotRecordingPlayer);
