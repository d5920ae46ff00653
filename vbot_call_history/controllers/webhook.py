"""The webhook receiver: find the account of the URL, authenticate, cap, hand the event on.

``POST /vbot_call_history/webhook/<account uuid>`` with the account's auth header. It does
no work for VBot beyond the database write of the one event (no outgoing request), and it
answers every bad request with a 4xx and a short reason, counted on the account:

=====  ==============================================================================
 404   no active account has this uuid (exactly what any wrong path answers)
 401   auth header missing or wrong (constant-time comparison of digests)
 413   body over ``MAX_BODY_BYTES`` (refused before it is read)
 400   not UTF-8 JSON, not an object, an unknown shape or event, an unmappable call
 422   a call the database refuses (after the bounds, should not happen)
 200   ``{"ok": true, "event": ..., "id": ..., "result": ...}``
=====  ==============================================================================
"""

import logging
import re

import psycopg2
from odoo import SUPERUSER_ID, http
from odoo.http import request
from werkzeug.exceptions import NotFound

from ..models.vbot_call_webhook import WebhookNotStored, WebhookStartOver
from ..services.webhook import MAX_BODY_BYTES, WebhookError, load_body, parse_event

_logger = logging.getLogger(__name__)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_EVENT_HEADER = "X-VBot-Event"
_BODY_KEY = "vbot_call_history.webhook_body"
# A webhook and a sync page (or two deliveries of one call) inserting the same call at
# once: the loser starts over in a new transaction, which sees the winner's row.
_TRIES = 3


class VbotWebhookController(http.Controller):
    @http.route(
        "/vbot_call_history/webhook/<string:token>",
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        save_session=False,
        readonly=False,  # auth="none" routes are read-only by default: this one writes
        max_content_length=lambda _controller: _form_length_limit(),
    )
    def webhook(self, token, **kwargs):
        env = request.env(user=SUPERUSER_ID)
        account = env["vbot.account"]
        if _UUID.fullmatch(token or ""):
            account = account.search(
                [("webhook_uuid", "=", token), ("webhook_active", "=", True)], limit=1
            )
        if not account:
            raise NotFound()
        httprequest = request.httprequest
        secret = _auth_value(httprequest.headers.get("Authorization"))
        if not secret:
            return _refuse(account, 401, "missing auth header")
        if not account._webhook_check_secret(secret):
            return _refuse(account, 401, "wrong auth header")
        raw = _read_body(httprequest)
        if raw is None:
            return _refuse(account, 413, f"body over {MAX_BODY_BYTES // 1024} KiB")
        try:
            event = parse_event(
                load_body(raw),
                account.timezone,
                header_name=httprequest.headers.get(_EVENT_HEADER),
            )
        except WebhookError as error:
            return _refuse(account, 400, str(error))
        for attempt in range(1, _TRIES + 1):
            try:
                state, result = account._webhook_receive(event)
                env.flush_all()
                break
            except (psycopg2.errors.UniqueViolation, WebhookStartOver):
                if attempt == _TRIES:
                    raise
                _start_over(env)
                account = account.with_env(env)
            except (psycopg2.DataError, psycopg2.IntegrityError, WebhookNotStored) as error:
                _logger.warning(
                    "VBot webhook %s of account %s not stored: %s",
                    event.external_id,
                    account.id,
                    getattr(error, "pgerror", None) or error,
                )
                _start_over(env)
                reason = "the call cannot be stored"
                if isinstance(error, WebhookNotStored):
                    reason = f"{reason}: {error}"
                return _refuse(account.with_env(env), 422, reason, event)
        account._webhook_log(state, 200, event.name, event.external_id, result)
        return request.make_json_response(
            {"ok": True, "event": event.name, "id": event.external_id, "result": result}
        )


def _form_length_limit():
    """The cap werkzeug applies while Odoo parses a form body, before the handler runs.

    VBot posts JSON, which Odoo leaves unread for the handler: the handler caps it itself
    and counts the refusal on the account. A form body (never valid here) is capped by
    werkzeug, which refuses it with a plain 413 before anything is parsed.
    """
    mimetype = request.httprequest.mimetype
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return MAX_BODY_BYTES
    return None


def _auth_value(header):
    """The secret of an ``Authorization`` header: the value as set in VBot, or its
    ``Bearer`` token."""
    value = (header or "").strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() in ("bearer", "token") and rest.strip():
        value = rest.strip()
    return value[:512]


def _read_body(httprequest):
    """The body, at most ``MAX_BODY_BYTES``, or None when it is longer.

    A declared length over the cap is refused unread; a chunked body is read up to one
    byte past the cap. The body is kept on the request: Odoo replays the handler after a
    serialization failure, and the stream can be read once only.
    """
    cached = httprequest.environ.get(_BODY_KEY)
    if cached is not None:
        return cached
    length = httprequest.content_length
    if length is not None:
        if length > MAX_BODY_BYTES:
            return None
        raw = httprequest.get_data(cache=True)
    else:
        # No declared length: read past the cap by one byte at most (Odoo's request
        # wrapper does not expose the stream; werkzeug's request does).
        stream = httprequest._HTTPRequest__wrapped.stream
        raw = stream.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            return None
    httprequest.environ[_BODY_KEY] = raw
    return raw


def _start_over(env):
    env.cr.rollback()
    env.reset()


def _refuse(account, status, reason, event=None):
    account._webhook_log(
        "rejected",
        status,
        event.name if event else "",
        event.external_id if event else "",
        reason,
    )
    return request.make_json_response({"ok": False, "error": reason}, status=status)
