"""A recognisable fake API key never reaches the store, logs, results or error messages."""

from __future__ import annotations

import base64
import json
import os
import subprocess

from json_server import json_server

from shootout.testing import FakeOpenAIServer, Fault

CANARY = "sk-canary-7f3a9c1e5b2d4f6a8c0e"


def test_key_is_nowhere(shootout_cmd, tmp_path, data_dir):
    store = tmp_path / "s.sqlite"
    env = {**os.environ, "MY_KEY": CANARY}

    def echo_headers(body):  # a server that echoes what it got, as some do in errors
        return "The answer is A."

    with FakeOpenAIServer(answer_fn=echo_headers,
                          schedule={0: Fault.SERVER_ERROR, 3: Fault.MALFORMED_SSE,
                                    5: Fault.ECHO_HEADERS}) as srv:
        run = subprocess.run(
            [*shootout_cmd, "--debug", "run", "-m", "openai:fake-model", "--base-url",
             srv.base_url, "--api-key-env", "MY_KEY", "-b", "arc_easy", "--limit", "5",
             "--store", str(store), "--data-dir", str(data_dir), "--json"],
            capture_output=True, text=True, env=env, timeout=300,
        )
        auth = {r["index"] for r in srv.requests}
    assert run.returncode == 1, run.stderr  # the echoed 400 is not retried: one failed sample
    assert auth  # requests were made (with the key in the Authorization header)
    bad = subprocess.run(
        [*shootout_cmd, "--debug", "run", "-m", "openai:fake-model", "--base-url",
         "http://127.0.0.1:9/v1", "--api-key-env", "MY_KEY", "-b", "arc_easy", "--limit", "2",
         "--store", str(store), "--data-dir", str(data_dir)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert bad.returncode != 0
    results = subprocess.run([*shootout_cmd, "results", "--store", str(store), "--json"],
                             capture_output=True, text=True, env=env, timeout=60)
    run_id = json.loads(run.stdout)["run_id"]
    report = subprocess.run([*shootout_cmd, "--debug", "report", run_id, "--store", str(store),
                             "--md", str(tmp_path / "r.md"), "--html", str(tmp_path / "r.html")],
                            capture_output=True, text=True, env=env, timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    assert (tmp_path / "r.html").stat().st_size > 1000
    haystacks = [run.stdout, run.stderr, bad.stdout, bad.stderr, results.stdout, report.stdout,
                 report.stderr]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            haystacks.append(path.read_bytes().decode("latin-1"))
    assert not [h for h in haystacks if CANARY in h]


def test_key_is_redacted_from_echoed_errors():
    import asyncio

    from shootout.errors import ProviderError
    from shootout.providers.base import GenerateRequest, Message
    from shootout.providers.openai import OpenAIProvider

    os.environ["ECHO_KEY"] = CANARY
    try:
        with FakeOpenAIServer(schedule={0: Fault.ECHO_HEADERS}) as srv:
            p = OpenAIProvider(model="m", base_url=srv.base_url, api_key_env="ECHO_KEY")

            async def go():
                try:
                    await p.generate(GenerateRequest(messages=(Message("user", "x"),)))
                finally:
                    await p.aclose()

            try:
                asyncio.run(go())
            except ProviderError as e:
                assert "HTTP 400" in str(e) and "[redacted]" in str(e)
                assert CANARY not in str(e)
            else:
                raise AssertionError("expected a 400")
    finally:
        del os.environ["ECHO_KEY"]


PASSWORD = "pw-canary-3e9d1c7b"
# a user name that cannot occur by chance in the store's base64 chart images ('bob' did, once)
USER = "user.canary.b7"


def test_url_credentials_are_nowhere(shootout_cmd, tmp_path, data_dir):
    """A basic-auth password in --base-url reaches the server only: not the store (the run's
    configuration, its id, the cache identity), outputs or reports; `--resume ID` says it
    cannot send credentials it did not keep, and the same command resumes the run."""
    store = tmp_path / "s.sqlite"

    def run(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*shootout_cmd, "run", "-m", "openai:fake-model", "--base-url", url, "-b",
             "arc_easy", "--limit", "3", "--store", str(store), "--data-dir", str(data_dir),
             "--json", *extra], capture_output=True, text=True, timeout=300)

    # the first request is answered with a 400 that echoes its headers (Basic credentials)
    with FakeOpenAIServer(answer_fn=lambda body: "The answer is A.",
                          schedule={0: Fault.ECHO_HEADERS}) as srv:
        url = srv.base_url.replace("http://", f"http://{USER}:{PASSWORD}@")
        first = run(url)
        assert first.returncode == 1, first.stderr[-2000:]  # the echoed 400: one failed
        assert "[redacted]" in first.stderr or "[redacted]" in first.stdout, first.stderr
        run_id = json.loads(first.stdout)["run_id"]
        resumed = subprocess.run(
            [*shootout_cmd, "run", "--resume", run_id, "--store", str(store)],
            capture_output=True, text=True, timeout=120)
        again = run(url)  # the same command resumes the run: the failed item is asked again
        other = run(srv.base_url.replace("http://", f"http://{USER}:another-password@"))
        asked = len(srv.requests)
    assert resumed.returncode == 2, resumed.stderr
    lines = resumed.stderr.strip().splitlines()
    assert len(lines) == 1 and "credentials" in lines[0] and run_id in lines[0], lines
    assert again.returncode == 0 and json.loads(again.stdout)["run_id"] == run_id
    # other credentials are the same run (and the same cached answers)
    assert other.returncode == 0 and json.loads(other.stdout)["run_id"] == run_id
    assert asked == 4, asked

    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    haystacks = [p.stdout + p.stderr for p in (first, resumed, again, other)]
    assert not [h for h in haystacks if basic in h]
    report = subprocess.run([*shootout_cmd, "report", run_id, "--store", str(store),
                             "--md", str(tmp_path / "r.md"), "--html", str(tmp_path / "r.html")],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    haystacks = [p.stdout + p.stderr for p in (first, resumed, again, other, report)]
    haystacks += [p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*") if p.is_file()]
    assert not [h for h in haystacks if PASSWORD in h or basic in h]
    assert USER not in store.read_bytes().decode("latin-1")  # the user name is not kept either


def test_url_credentials_are_not_in_the_error_lines(shootout_cmd, tmp_path, data_dir):
    """An endpoint that cannot be reached was named in the error line with its password
    (`cannot reach http://bob:PASSWORD@127.0.0.1:1/v1`), by `run` and by `perf`, and a key
    in the query the same way."""
    dead = "127.0.0.1:1/v1"
    outs = []
    for url in (f"http://bob:{PASSWORD}@{dead}", f"http://{dead}?api_key={PASSWORD}"):
        for cmd in (["run", "-m", "openai:fake-model", "--base-url", url, "-b", "arc_easy",
                     "--limit", "2", "--data-dir", str(data_dir)],
                    ["perf", "-m", "fake-model", "--base-url", url, "-n", "2"]):
            p = subprocess.run([*shootout_cmd, *cmd, "--store", str(tmp_path / "s.sqlite")],
                               capture_output=True, text=True, timeout=120)
            assert p.returncode != 0 and "127.0.0.1:1" in p.stderr, p.stderr
            outs.append(p.stdout + p.stderr)
    assert not [o for o in outs if PASSWORD in o], outs
    assert all("credentials-not-stored" in o for o in outs), outs


QUERY_KEY = "qk-canary-5b1e9d3a77"


def test_a_key_in_the_query_is_redacted_from_what_the_server_repeats(
        shootout_cmd, tmp_path, data_dir):
    """A key in the base URL's query (`?api_key=…`) reached the samples' errors, the results
    JSON, the report and the stdout lines when the server repeated the URL, as OpenAI's 404
    does ("Invalid URL (POST /v1/chat/completions?api_key=…)"): an audit's."""
    def repeat(method: str, path: str, headers: object) -> tuple[int, dict]:
        if method == "GET":  # /models: answered 404, so not checked
            return 404, {"error": {"message": f"Invalid URL (GET {path})"}}
        host = headers["host"]  # type: ignore[index]
        return 404, {"error": {"message": f"Invalid URL (POST {path}) at http://{host}{path}",
                               "type": "invalid_request_error"}}

    store = tmp_path / "s.sqlite"
    with json_server(repeat) as (port, _):
        run = subprocess.run(
            [*shootout_cmd, "run", "-m", "openai:m", "--base-url",
             f"http://127.0.0.1:{port}/v1?api_key={QUERY_KEY}", "-b", "arc_easy", "--limit",
             "2", "--store", str(store), "--data-dir", str(data_dir), "--json"],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "OPENAI_API_KEY": "sk-test-123456"})
    assert run.returncode != 0 and "Invalid URL" in run.stdout + run.stderr, run.stderr[-2000:]
    assert "[redacted]" in run.stdout + run.stderr
    results = subprocess.run([*shootout_cmd, "results", "--store", str(store), "--json"],
                             capture_output=True, text=True, timeout=60)
    haystacks = [run.stdout, run.stderr, results.stdout, results.stderr,
                 store.read_bytes().decode("latin-1")]
    assert not [h for h in haystacks if QUERY_KEY in h]
