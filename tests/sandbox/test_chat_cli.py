"""`zenith chat` as a subprocess, with piped stdin, against the sandbox and the echo bot."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


async def run_chat(port: int, stdin: str, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SANDBOX_PORT": str(port)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "zenith",
        "chat",
        *args,
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, out.decode(), err.decode()


async def test_chat_sends_lines_presses_buttons_and_shows_output(sandbox, echo_bot):
    code, out, err = await run_chat(
        sandbox.port,
        "/start\n:press 2\n:press 1\nhello\n:press 9\n:quit\nnever sent\n",
        "--user-id",
        "4242",
        "--name",
        "Tester",
        "--language",
        "en",
    )
    assert code == 0, err
    lines = out.splitlines()
    assert "bot: Menu below" in lines
    assert "  keyboard: [Help] [Balance]" in lines
    assert "bot: Hello, Tester!" in lines
    assert "  [1] Like  [2] Photo" in lines
    assert any(line.startswith("bot: [photo ") and line.endswith("bytes] Your chart") for line in lines)
    assert "bot (notice): Liked!" in lines
    assert "bot (edited #3): You liked it" in lines
    assert "bot: echo: hello" in lines
    assert "(no button 9; the latest message has 0 buttons)" in lines
    user = sandbox.state.chats[4242].user
    assert (user.first_name, user.language_code) == ("Tester", "en")
    sent = [m.text for m in sandbox.state.chats[4242].messages.values() if not m.from_bot]
    assert sent == ["/start", "hello"]  # lines after :quit are not sent


async def test_chat_ends_at_end_of_input_and_reports_a_missing_sandbox(sandbox, echo_bot):
    code, out, _ = await run_chat(sandbox.port, "ping\n")
    assert code == 0 and "bot: echo: ping" in out

    code, _, err = await run_chat(1, "ping\n")
    assert code == 1 and "cannot reach the sandbox" in err
