"""Recording URLs a hostile payload could carry, for the client's and the proxy's tests.

Each is a template: ``{sim}`` is the account's server (``127.0.0.1:PORT``), ``{sim_port}``
its port, ``{foreign}`` / ``{foreign_port}`` a listener that must receive nothing, ``{path}``
a real recording path on the account (``/v2.0/api/crm/historycall/record/<id>``). None may
bring a byte to the foreign listener; a request may only ever reach the account's own server.
The Odoo tests load this file by path (it needs no Odoo).
"""

HOSTILE_URLS = [
    # another port of the same host, another name for it
    "http://{foreign}{path}",
    "http://localhost:{foreign_port}{path}",
    "http://localhost:{sim_port}{path}",
    # backslashes: parsers disagree on where the authority ends
    "http://localhost:{foreign_port}\\@{sim}{path}",
    "http://{sim}\\@{foreign}{path}",
    "http://{foreign}\\{path}",
    "http:\\\\{foreign}{path}",
    "http:/\\{foreign}{path}",
    # user@host, host@other
    "http://user:secret@{sim}{path}",
    "http://{sim}@{foreign}{path}",
    "http://{sim}:@{foreign}{path}",
    "http://127.0.0.1%3A{sim_port}@{foreign}{path}",
    "http://{foreign}%2F@{sim}{path}",
    "http://{foreign}#@{sim}{path}",
    # percent-encoding in the host
    "http://%31%32%37.0.0.1:{foreign_port}{path}",
    "http://127.0.0.1%2e:{foreign_port}{path}",
    "http://localhost%00.vbot.vn:{foreign_port}{path}",
    # IDNA and Unicode dots
    "http://127\u30020\u30020\u30021:{foreign_port}{path}",
    "http://127\uff0e0\uff0e0\uff0e1:{foreign_port}{path}",
    "http://\uff4cocalhost:{foreign_port}{path}",
    "http://\u24dbocalhost:{foreign_port}{path}",
    "http://xn--lcalhost-9za:{foreign_port}{path}",
    # IPv6 literals
    "http://[::1]:{foreign_port}{path}",
    "http://[::ffff:127.0.0.1]:{foreign_port}{path}",
    "http://[::ffff:7f00:1]:{sim_port}{path}",
    "http://[0:0:0:0:0:ffff:127.0.0.1]:{sim_port}{path}",
    "http://[fe80::1%25lo]:{foreign_port}{path}",
    # decimal, octal, hexadecimal and short IPv4
    "http://2130706433:{foreign_port}{path}",
    "http://0177.0.0.1:{foreign_port}{path}",
    "http://0x7f.0.0.1:{foreign_port}{path}",
    "http://0x7f000001:{foreign_port}{path}",
    "http://017700000001:{foreign_port}{path}",
    "http://127.1:{foreign_port}{path}",
    "http://127.0.1:{sim_port}{path}",
    # other schemes, no scheme
    "file:///etc/passwd",
    "file://{foreign}/etc/passwd",
    "gopher://{foreign}/_GET%20/%20HTTP/1.0%0d%0a",
    "javascript:alert(document.cookie)",
    "data:audio/wav;base64,UklGRg==",
    "ftp://{foreign}{path}",
    "dict://{foreign}/info",
    "//{foreign}{path}",
    "{path}",
    # the same server over another scheme
    "https://{sim}{path}",
    # white space, control characters, case, trailing dots
    " http://{foreign}{path}",
    "http://{foreign}{path} ",
    "http://{foreign}\t{path}",
    "http://{sim}{path}\r\nHost: {foreign}",
    "\x00http://{foreign}{path}",
    "HTTP://{foreign}{path}",
    "http://127.0.0.1.:{foreign_port}{path}",
    "http://localhost.:{foreign_port}{path}",
    # tricks that stay on the account's server: they may reach it, never the listener
    "http://{sim}#@{foreign}{path}",
    "http://{sim}?@{foreign}{path}",
    "http://{sim}/..{path}/../../../..//{foreign}/x",
]


def hostile_urls(sim_port: int, foreign_port: int, record_id: str) -> list[str]:
    """The battery for a simulator on ``sim_port`` and a listener on ``foreign_port``."""
    values = {
        "sim": f"127.0.0.1:{sim_port}",
        "sim_port": sim_port,
        "foreign": f"127.0.0.1:{foreign_port}",
        "foreign_port": foreign_port,
        "path": f"/v2.0/api/crm/historycall/record/{record_id}",
    }
    return [template.format(**values) for template in HOSTILE_URLS]
