import logging

from odoo import http
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.http import request
from werkzeug.exceptions import BadGateway, NotFound

from ..services.client import VBotError, VBotRetryableError

_logger = logging.getLogger(__name__)

_CHUNK = 64 * 1024


class VbotRecordingController(http.Controller):
    @http.route(
        "/vbot_call_history/recording/<int:call_id>",
        type="http",
        auth="user",
        methods=["GET"],
        readonly=True,
    )
    def recording(self, call_id, **kwargs):
        """Stream a call's recording from VBot to a user who may read the call.

        VBot is asked server side, with the account's credentials and only on the
        account's own origin: the URL is the account's API URL and the call's VBot id,
        or the payload's ``record_file`` when it is on exactly that scheme, host and
        port (the client refuses anything else, and redirects), so neither a VBot URL
        nor a key ever reaches the browser, and no payload can steer the request.
        Anything that is not a playable recording the user may hear is a plain 404; VBot
        out of reach (after the client's retries) is a 502, so the player can say "try
        again" rather than "gone".
        """
        call = request.env["vbot.call"].browse(call_id)
        try:
            call.check_access("read")
            if not call.exists() or not call.has_recording:
                raise NotFound()
            account = call.sudo().account_id.with_env(request.env)
            account = account._check_vbot_caller("vbot_call_history.group_vbot_user")
        except (AccessError, MissingError) as error:
            raise NotFound() from error
        call = call.sudo()
        urls = call.recording_urls or []
        try:
            client = account._make_client()
            upstream = client.open_recording(
                urls[0] if urls else client.recording_url(call.external_id),
                byte_range=request.httprequest.headers.get("Range"),
            )
        except VBotRetryableError as error:
            _logger.info("Recording of VBot call %s: VBot out of reach: %s", call.id, error)
            raise BadGateway() from error
        except (VBotError, UserError) as error:
            _logger.info("Recording of VBot call %s unavailable: %s", call.id, error)
            raise NotFound() from error
        content_type = upstream.headers.get("Content-Type", "")
        if not content_type.startswith("audio/"):
            content_type = "audio/mpeg"
        headers = [
            ("Content-Type", content_type),
            ("Cache-Control", "private, max-age=3600"),
            ("X-Content-Type-Options", "nosniff"),
            (
                "Content-Disposition",
                f'inline; filename="vbot-call-{call.id}.{_extension(content_type)}"',
            ),
        ]
        for name in ("Content-Length", "Content-Range", "Accept-Ranges"):
            if upstream.headers.get(name):
                headers.append((name, upstream.headers[name]))

        def stream():
            try:
                yield from upstream.iter_content(_CHUNK)
            finally:
                upstream.close()

        # 206 when VBot answered a player's Range request with that part (seeking).
        return request.make_response(stream(), headers=headers, status=upstream.status_code)


def _extension(content_type):
    return {
        "audio/wav": "wav",
        "audio/x-wav": "wav",
        "audio/wave": "wav",
        "audio/ogg": "ogg",
    }.get(content_type.split(";")[0].strip(), "mp3")
