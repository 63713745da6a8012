"""AI agents: the app as an MCP server, driven by the real ``mcp`` client over loopback."""

from __future__ import annotations

import ast
import asyncio
import base64
import io
import json

import pytest

from digitrec.render import STROKES, draw_strokes

pytestmark = pytest.mark.slow  # a second server


@pytest.fixture(scope="module")
def mcp_url(recognizer, tmp_path_factory):
    from app import build_app, serve
    from digitrec.corrections import FeedbackStore
    from tests.conftest import free_port

    demo = build_app(recognizer, FeedbackStore(tmp_path_factory.mktemp("mcp-feedback")))
    _, url, _ = serve(
        demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True, mcp_server=True
    )
    yield url.rstrip("/") + "/gradio_api/mcp/"
    demo.close()


def _data_url(image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _session(url: str, work):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def run():
        async with streamablehttp_client(url) as (read, write, _), ClientSession(read, write) as session:
            await session.initialize()
            return await work(session)

    return asyncio.run(run())


def test_the_tools_are_the_public_endpoints_named_for_what_they_do(mcp_url):
    tools = _session(mcp_url, lambda s: s.list_tools())
    named = {tool.name: tool for tool in tools.tools}
    assert set(named) == {
        "read_digit",
        "read_number",
        "digit_probabilities_of_image",
        "digit_probabilities_of_drawing",
        "read_number_in_drawing",
        "read_digit_in_drawing",
        "report_wrong_answer",
    }
    read_digit = named["read_digit"]
    assert "is_digit" in read_digit.description and "probabilities" in read_digit.description
    assert "partial" not in json.dumps([t.description for t in tools.tools])
    assert list(read_digit.inputSchema["properties"]) == ["image"]


def test_an_agent_reads_a_drawn_seven_sent_as_a_data_url(mcp_url):
    seven = _data_url(draw_strokes(STROKES["7_crossed"], size=(400, 400), width=20))

    async def work(session):
        return await session.call_tool("read_digit", {"image": seven})

    result = _session(mcp_url, work)
    answer = ast.literal_eval(result.content[0].text)  # Gradio 6.31 sends a JSON output as Python's repr of it
    assert not result.isError and answer["digit"] == "7" and answer["is_digit"] and len(answer["probabilities"]) == 10


def test_a_letter_sent_by_an_agent_is_not_a_digit(mcp_url):
    w = _data_url(draw_strokes([[(0.1, 0.2), (0.3, 0.8), (0.5, 0.4), (0.7, 0.8), (0.9, 0.2)]], width=20))
    result = _session(mcp_url, lambda s: s.call_tool("read_digit", {"image": w}))
    answer = ast.literal_eval(result.content[0].text)
    assert answer["digit"] is None and not answer["is_digit"]


@pytest.mark.parametrize(
    "address", ["http://127.0.0.1:22/x.png", "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/a.png"]
)
def test_an_agent_cannot_make_the_server_fetch_its_own_network(mcp_url, address):
    result = _session(mcp_url, lambda s: s.call_tool("read_digit", {"image": address}))
    assert result.isError and "failed validation" in result.content[0].text  # Gradio's safehttpx refused it
