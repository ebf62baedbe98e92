"""The app under test, shared by the test files that run it: a free port, `python
app.py` in a subprocess or the app served in a thread of this process, and Gradio
events called through the queue the way the browser calls them."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.paths import MODEL_CACHE, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(service) -> Iterator[str]:
    """The real app (FastAPI + Gradio) served by uvicorn in a thread of this process; yields its URL."""
    import uvicorn

    from assistant.app.ui import build_app

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(build_app(service), host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert th.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = srv.force_exit = True  # Gradio's open event streams would hold a graceful exit
        th.join(10)


# --- the app in a subprocess -------------------------------------------------------------


@dataclass
class App:
    url: str
    port: int
    proc: subprocess.Popen
    log: Path
    corpus: Path
    index: Path
    cache: Path  # Gradio's upload cache (GRADIO_TEMP_DIR)


@contextlib.contextmanager
def run_app(root: Path, corpus: Path, index: Path, password: str, args: tuple[str, ...] = ()) -> Iterator[App]:
    """`python app.py` on `corpus`/`index`, as a user starts it (no --host), until the block ends."""
    port = free_port()
    cache = root / "gradio-cache"
    cache.mkdir(exist_ok=True)
    env = dict(
        os.environ, ASSISTANT_ADMIN_PASSWORD=password, ASSISTANT_MODEL_CACHE=str(MODEL_CACHE), GRADIO_TEMP_DIR=str(cache), PYTHONUNBUFFERED="1"
    )
    env.pop("ASSISTANT_HOST", None)  # the default address is under test
    log_path = root / f"app-{port}.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--corpus", str(corpus), "--index", str(index), *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    try:
        while True:
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() - t0 < 90, "app did not start within 90 s:\n" + log_path.read_text()
            try:
                if httpx.get(url + "/config", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield App(url, port, proc, log_path, corpus, index, cache)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def fn_index(url: str, name: str) -> int:
    deps = httpx.get(url + "/config").json()["dependencies"]
    return next(i for i, d in enumerate(deps) if d.get("api_name") == name)


def queue_event(url: str, name: str, data: list, on_message: Callable[[dict], None] | None = None, timeout: float = 120) -> dict:
    """Join the queue for event `name` the way the browser does; the final message (success or not)."""
    idx = fn_index(url, name)
    deps = httpx.get(url + "/config").json()["dependencies"]
    targets = deps[idx]["targets"]
    session = uuid.uuid4().hex
    with httpx.Client(timeout=timeout) as c:
        r = c.post(
            f"{url}/gradio_api/queue/join",
            json={
                "data": data,
                "fn_index": idx,
                "session_hash": session,
                "event_data": None,
                "trigger_id": targets[0][0] if targets else None,
            },
        )
        r.raise_for_status()
        with c.stream("GET", f"{url}/gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if on_message:
                    on_message(msg)
                if msg.get("msg") in ("process_completed", "unexpected_error"):
                    return msg
    raise AssertionError(f"{name}: the event stream ended without a result")


def get(server: str, raw_path: str) -> httpx.Response:
    """GET `raw_path` sent as written: httpx would otherwise normalise ".."."""
    with httpx.Client() as c:
        req = c.build_request("GET", server)
        req.url = req.url.copy_with(raw_path=raw_path.encode())
        return c.send(req)


def api_ask(c: httpx.Client, url: str, question: str, authorities: list[str] | None = None) -> dict:
    """One question through the public API (POST /gradio_api/call/ask, then its event stream)."""
    r = c.post(f"{url}/gradio_api/call/ask", json={"data": [question, authorities, None, None, 5]})
    r.raise_for_status()
    event = ""
    with c.stream("GET", f"{url}/gradio_api/call/ask/{r.json()['event_id']}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "complete":
                return json.loads(line[5:])[0]
            elif line.startswith("data:") and event == "error":
                raise RuntimeError(f"error event: {line[5:].strip()[:200]}")
    raise RuntimeError("event stream ended without an answer")
