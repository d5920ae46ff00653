"""VBot's agents (``/api/member/getAll``) through the real client, from the simulator."""

from __future__ import annotations

import pytest

from vbot_call_history.services.client import VBotClient, VBotResponseError
from vbot_call_history.services.mapping import map_call, map_members
from vbot_call_history.services.urlpolicy import UrlPolicy


def clients(sim):
    config = sim.state.config
    policy = UrlPolicy([f"127.0.0.1:{sim.port}"])  # the simulator, allowed as an admin would
    yield VBotClient(
        sim.base_url_v2,
        "v2",
        username=config.username,
        password=config.password,
        vbot_id=config.vbot_id,
        project_code=config.project_code,
        sleep=lambda _s: None,
        url_policy=policy,
    )
    yield VBotClient(
        sim.base_url_v3, "v3", api_key=config.api_key, sleep=lambda _s: None, url_policy=policy
    )


@pytest.mark.parametrize("size", [1, 5, 100])
def test_every_member_once_over_pages(simulator, size):
    expected = [m["member_no"] for m in simulator.state.members]
    for client in clients(simulator):
        got = [m["member_no"] for m in client.iter_members(size=size)]
        assert got == expected


def test_members_are_the_agents_of_the_calls(simulator):
    client = next(clients(simulator))
    members, errors = map_members(client.iter_members())
    assert not errors
    by_no = {m["member_no"]: m for m in members}
    agents = {map_call(group)["agent_member_no"] for group in simulator.state.calls}
    agents.discard("")
    assert agents <= set(by_no)
    assert all(by_no[no]["name"] for no in agents)


def test_a_server_ignoring_page_does_not_loop(simulator, monkeypatch):
    client = next(clients(simulator))
    first = client.fetch_members_page(1, 2)
    monkeypatch.setattr(client, "fetch_members_page", lambda page, size=None: first)
    assert [m["member_no"] for m in client.iter_members(size=2)] == [m["member_no"] for m in first]


def test_an_error_envelope_is_a_response_error(simulator):
    client = next(clients(simulator))
    client.vbot_id = "VB-WRONG"
    with pytest.raises(VBotResponseError):
        list(client.iter_members())
