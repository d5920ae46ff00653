"""Where credentials may go: the URL policy, the client's origin check, the peer check.

Everything runs the real client over 127.0.0.1 against the simulator and a listener that
must receive nothing; DNS is the machine's (``localhost`` resolves to 127.0.0.1), except
where a test injects a resolver to play a DNS answer it cannot produce.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hostile import HOSTILE_URLS, hostile_urls

from vbot_call_history.services.client import (
    VBotClient,
    VBotError,
    VBotResponseError,
    VBotURLRefused,
)
from vbot_call_history.services.urlpolicy import (
    UrlPolicy,
    UrlRefused,
    is_public_address,
    parse_host_entry,
    parse_url,
)
from vbot_simulator import ForeignListener


def recorded(sim: Any) -> dict[str, Any]:
    return next(group for group in sim.state.calls if group["record_file"])


def client_for(sim: Any, policy: UrlPolicy | None = None, base: str | None = None, **kw: Any):
    config = sim.state.config
    options: dict[str, Any] = {
        "username": config.username,
        "password": config.password,
        "vbot_id": config.vbot_id,
        "project_code": config.project_code,
        "sleep": lambda _s: None,
        "max_retries": 0,
        "url_policy": policy or UrlPolicy(f"127.0.0.1:{sim.port}"),
    }
    options.update(kw)
    return VBotClient(base or sim.base_url_v2, "v2", **options)


# -- the policy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://open-api-h01.vbot.vn/v2.0",
        "https://open-api-h01.vbot.vn:443/v3.0",
        "HTTPS://Open-API-H01.VBOT.VN/v2.0",
        "https://vbot.vn/",
    ],
)
def test_vbot_hosts_are_allowed_by_default(url):
    target = UrlPolicy().check_url(url)
    assert target.scheme == "https" and target.port == 443
    assert target.host.endswith("vbot.vn")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://open-api-h01.vbot.vn/v2.0", "host"),  # https only
        ("https://open-api-h01.vbot.vn:8443/v2.0", "host"),  # port 443 only
        ("https://evilvbot.vn/v2.0", "host"),
        ("https://open-api-h01.vbot.vn.evil.example/v2.0", "host"),
        ("https://vbot.vn@evil.example/v2.0", "userinfo"),
        ("https://user:pw@open-api-h01.vbot.vn/v2.0", "userinfo"),
        ("https://169.254.169.254/latest/meta-data/", "host"),
        ("http://127.0.0.1:8765/v2.0", "host"),
        ("https://10.0.0.1/v2.0", "host"),
        ("https://[::1]/v2.0", "host"),
        ("ftp://open-api-h01.vbot.vn/v2.0", "scheme"),
        ("https://open-api-h01.vbot.vn\\@evil.example/", "syntax"),
        ("https://open-api-h01.vbot\u3002vn/v2.0", "syntax"),
        ("https://open-api-h01.vbot.vn./v2.0", "syntax"),
        ("https://open-api-h01%2evbot.vn/v2.0", "syntax"),
        ("", "syntax"),
    ],
)
def test_other_hosts_are_refused_by_default(url, code):
    with pytest.raises(UrlRefused) as info:
        UrlPolicy().check_url(url)
    assert info.value.code == code
    assert "pw" not in str(info.value)  # a refusal never repeats the URL's user part


def test_entries_of_the_system_parameter():
    policy = UrlPolicy("127.0.0.1:8765, https://relay.example.com\n*.corp.example:8443 [::1]:81")
    assert policy.check_url("http://127.0.0.1:8765/v2.0").port == 8765
    assert policy.check_url("https://127.0.0.1:8765/v2.0").scheme == "https"
    assert policy.check_url("https://relay.example.com/v2.0").port == 443
    assert policy.check_url("https://a.b.corp.example:8443/v2.0").host == "a.b.corp.example"
    assert policy.check_url("http://[::1]:81/").host == "::1"
    for refused in (
        "http://127.0.0.1:8766/v2.0",  # another port
        "http://localhost:8765/v2.0",  # another name for the same address
        "http://2130706433:8765/v2.0",  # another spelling of it
        "http://relay.example.com/v2.0",  # the entry says https only
        "https://relay.example.com:8443/v2.0",  # no port in the entry: 443 only
        "https://corp.example.evil:8443/",
    ):
        with pytest.raises(UrlRefused):
            policy.check_url(refused)
    # VBot's own hosts stay allowed next to the administrator's entries.
    assert policy.check_url("https://open-api-h01.vbot.vn/v2.0")


@pytest.mark.parametrize(
    "entry", ["*", "*.127.0.0.1", "http://*", "a_b", "host:99999", "user@host", "0177.0.0.1"]
)
def test_entries_that_cannot_be_read_are_ignored(entry):
    with pytest.raises(UrlRefused):
        parse_host_entry(entry)
    policy = UrlPolicy(f"{entry},127.0.0.1:9")
    assert policy.invalid
    assert policy.check_url("http://127.0.0.1:9/")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("64:ff9b::808:808", True),  # NAT64 of a public address
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("0.0.0.0", False),
        ("::", False),
        ("::1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("169.254.170.2", False),
        ("fd00:ec2::254", False),
        ("100.100.100.200", False),
        ("168.63.129.16", False),
        ("100.64.0.1", False),  # CGNAT
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("ff02::1", False),
        ("fe80::1", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("192.0.2.1", False),  # documentation
        ("240.0.0.1", False),  # reserved
        ("255.255.255.255", False),
        ("not an address", False),
    ],
)
def test_public_addresses(address, public):
    assert is_public_address(address) is public


def test_vbot_names_resolving_to_private_addresses_are_refused():
    policy = UrlPolicy()
    url = "https://open-api-h01.vbot.vn/v2.0"
    for addresses in (["10.0.0.7"], ["8.8.8.8", "127.0.0.1"], ["169.254.169.254"], ["::1"]):
        with pytest.raises(UrlRefused) as info:
            policy.check_url(url, resolve=True, resolver=lambda _h, _p, a=addresses: a)
        assert info.value.code == "address"
    assert policy.check_url(url, resolve=True, resolver=lambda _h, _p: ["103.1.2.3"])
    # An exact entry of the administrator is trusted: an internal relay may be private.
    trusted = UrlPolicy("relay.internal:8443")
    assert trusted.check_url(
        "https://relay.internal:8443/v2.0", resolve=True, resolver=lambda _h, _p: ["10.0.0.7"]
    )


def test_parse_url_agrees_with_what_requests_sends():
    target = parse_url("http://127.0.0.1:8765/v2.0/api/crm/historycall/record/a%2Fb")
    assert target.origin == ("http", "127.0.0.1", 8765)
    assert target.url == "http://127.0.0.1:8765/v2.0/api/crm/historycall/record/a%2Fb"
    assert parse_url("http://[::ffff:7f00:1]:80/").host == "::ffff:7f00:1"


# -- the client ------------------------------------------------------------------------------


def test_client_refuses_a_base_url_the_policy_does_not_allow(simulator):
    with pytest.raises(VBotURLRefused) as info:
        client_for(simulator, policy=UrlPolicy())  # the simulator is not a VBot host
    assert info.value.code == "host"
    with pytest.raises(VBotURLRefused):
        VBotClient(simulator.base_url_v2, "v2", username="u", password="p")  # the default
    assert not simulator.state.requests


def test_name_resolving_to_loopback_is_refused_when_connecting(simulator):
    """A wildcard entry trusts no address: ``localhost`` connects to 127.0.0.1, refused.

    The client does not resolve names itself: the address is checked on the connected
    socket, before TLS or a byte of the request, so a DNS answer that changes between a
    check and the connection (rebinding) cannot steer the credentials either.
    """
    for scheme in ("http", "https"):
        policy = UrlPolicy(f"{scheme}://*.localhost:{simulator.port}")
        base = f"{scheme}://localhost:{simulator.port}/v2.0"
        # What a check at save time would have seen: a public answer.
        policy.check_url(base, resolve=True, resolver=lambda _h, _p: ["103.1.2.3"])
        client = client_for(simulator, policy=policy, base=base)
        for attempt in (client.test_connection, client.count):
            with pytest.raises(VBotURLRefused) as info:
                attempt()
            assert info.value.code == "address"
            assert "127.0.0.1" in str(info.value)
    assert not simulator.state.requests
    # Named exactly by the administrator, the same host is trusted.
    trusted = client_for(
        simulator,
        policy=UrlPolicy(f"localhost:{simulator.port}"),
        base=f"http://localhost:{simulator.port}/v2.0",
    )
    assert trusted.count() == len(simulator.state.calls)


def test_client_ignores_proxies_and_netrc_of_the_environment(simulator, monkeypatch, tmp_path):
    listener = ForeignListener().start()
    try:
        monkeypatch.setenv("HTTP_PROXY", listener.url)
        monkeypatch.setenv("http_proxy", listener.url)
        monkeypatch.setenv("NO_PROXY", "")
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login someone password netrc-secret\n")
        monkeypatch.setenv("NETRC", str(netrc))
        assert client_for(simulator).count() == len(simulator.state.calls)
        assert not listener.requests
    finally:
        listener.stop()


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_redirects_are_never_followed(simulator, foreign, version):
    """The account's server answers 302 to another host: nothing goes there, no retry."""
    # Even an allowed host: a redirect is never followed.
    policy = UrlPolicy(f"127.0.0.1:{simulator.port} 127.0.0.1:{foreign.port}")
    config = simulator.state.config
    client = VBotClient(
        simulator.base_url_v2 if version == "v2" else simulator.base_url_v3,
        version,
        username=config.username,
        password=config.password,
        vbot_id=config.vbot_id,
        project_code=config.project_code,
        api_key=config.api_key,
        url_policy=policy,
    )
    client.authenticate()
    simulator.state.set_faults(queue=["redirect"] * 4, redirect_to=foreign.url + "/steal")
    for attempt in (
        client.count,
        lambda: client.fetch_page(1),
        lambda: client.open_recording(recorded(simulator)["group_id"]),
    ):
        with pytest.raises(VBotResponseError) as info:
            attempt()
        assert info.value.code == 302
    assert simulator.state.request_count("/token") == (1 if version == "v2" else 0)
    assert not foreign.requests


@pytest.mark.parametrize("index", range(len(HOSTILE_URLS)), ids=HOSTILE_URLS)
def test_hostile_recording_urls_reach_nothing_but_the_account(simulator, foreign, index, caplog):
    caplog.set_level(logging.DEBUG)
    group = recorded(simulator)
    url = hostile_urls(simulator.port, foreign.port, group["group_id"])[index]
    # The foreign listener is an allowed host too: only the account's origin gets credentials.
    policy = UrlPolicy(f"127.0.0.1:{simulator.port} 127.0.0.1:{foreign.port}")
    client = client_for(simulator, policy=policy)
    with pytest.raises(VBotError):
        client.open_recording(url).close()
    assert not foreign.requests
    # Anything that reached a server reached the account's own, and was not a recording.
    assert all(path.startswith("/") for _m, path, _q in simulator.state.requests)
    assert "secret" not in caplog.text


def test_a_recording_on_the_account_origin_plays(simulator, foreign):
    group = recorded(simulator)
    client = client_for(simulator)
    for url in (group["record_file"][0], client.recording_url(group["group_id"])):
        response = client.open_recording(url)
        try:
            assert response.content.startswith(b"RIFF")
        finally:
            response.close()
    with pytest.raises(VBotError):
        client.recording_url("..")
    assert not foreign.requests
