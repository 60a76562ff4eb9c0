"""`shootout view` as a user runs it: a server on 127.0.0.1 with the report and a per-sample
browser, checked over HTTP and in headless Chromium (load, filter, open a sample, screenshot).
Set SHOOTOUT_ARTIFACTS=DIR to keep the screenshot."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from shootout.report.sample_data import RUN_ID, build_sample_store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
    "google-chrome")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("view") / "s.sqlite"
    build_sample_store(store).close()
    proc = subprocess.Popen([sys.executable, "-m", "shootout", "view", RUN_ID, "--port", "0",
                             "--store", str(store)], stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line + proc.stderr.read()
        yield f"http://127.0.0.1:{m.group(1)}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


def _api(server: str, **q: str) -> dict:
    return json.loads(_get(f"{server}/api/samples?{urlencode(q)}")[2])


def test_report_and_api_filters(server):
    status, ctype, html = _get(server + "/")
    assert status == 200 and ctype.startswith("text/html") and RUN_ID in html
    everything = _api(server)
    assert everything["models"] == ["kimi-k2", "llama-3.1-70b", "mixtral-8x7b"]
    wrong = _api(server, model="kimi-k2", benchmark="gsm8k", correct="0")
    assert wrong["total"] > 0 and all(
        s["model"] == "kimi-k2" and s["benchmark"] == "gsm8k" and s["value"] == 0.0
        for s in wrong["samples"])
    right = _api(server, model="kimi-k2", benchmark="gsm8k", correct="1")
    assert wrong["total"] + right["total"] == 40 * 3  # 40 items x 3 repeats
    # disagreement: the rows of model a where b's primary score on the item differs
    a = {(s["item_id"], s["repeat"]): s["value"] for s in
         _api(server, model="kimi-k2", benchmark="gsm8k")["samples"]}
    b = {(s["item_id"], s["repeat"]): s["value"] for s in
         _api(server, model="mixtral-8x7b", benchmark="gsm8k")["samples"]}
    differ = _api(server, benchmark="gsm8k", a="kimi-k2", b="mixtral-8x7b")
    assert {(s["item_id"], s["repeat"]) for s in differ["samples"]} == {
        k for k in a if a[k] != b[k]} != set()
    one = wrong["samples"][0]
    status, _, body = _get(f"{server}/api/sample?" + urlencode(
        {"model": "kimi-k2", "benchmark": "gsm8k", "item": one["item_id"],
         "repeat": one["repeat"]}))
    sample = json.loads(body)
    assert status == 200 and sample["prompt"] and sample["output"]
    assert sample["extracted"] == one["extracted"]
    assert _get(server + "/api/sample?model=nope")[0] == 404
    assert _get(server + "/etc/passwd")[0] == 404
    head = urllib.request.Request(server + "/samples", method="HEAD")
    with urllib.request.urlopen(head, timeout=30) as r:  # a GET's headers, no body (was 501)
        assert r.status == 200 and int(r.headers["Content-Length"]) > 0 and r.read() == b""


def test_an_idle_connection_does_not_hold_the_others_back(server):
    """A connection that sends nothing (a browser's speculative one) leaves the server
    answering everyone else (an audit's froze it until the socket closed)."""
    import socket
    import time

    host, port = server.removeprefix("http://").split(":")
    idle = socket.create_connection((host, int(port)))
    try:
        start = time.monotonic()
        with urllib.request.urlopen(server + "/api/samples?model=kimi-k2", timeout=10) as r:
            assert r.status == 200
        assert time.monotonic() - start < 5
    finally:
        idle.close()


def test_a_request_for_another_sites_name_is_refused(server):
    """A page of another site whose name resolves to 127.0.0.1 (DNS rebinding) sends that
    name as the Host: refused, so it cannot read the run; the local names are served."""
    port = server.rsplit(":", 1)[1]
    for host, status in ((f"evil.example:{port}", 403), (f"localhost:{port}", 200),
                         (f"127.0.0.1:{port}", 200)):
        request = urllib.request.Request(server + "/api/samples", headers={"Host": host})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                got = r.status
        except urllib.error.HTTPError as e:
            got = e.code
        assert got == status, host


@pytest.mark.parametrize("query", [
    "/api/samples?offset=99999999999999999999", "/api/samples?offset=9223372036854775808",
    "/api/samples?offset=%C2%B2", "/api/samples?offset=-1",
    "/api/sample?model=kimi-k2&benchmark=gsm8k&item=1&repeat=%C2%B2",
    "/api/sample?model=kimi-k2&benchmark=gsm8k&item=1&repeat=99999999999999999999"])
def test_bad_numbers_in_a_query_get_an_answer(server, query):
    """Numbers SQLite cannot hold (past the last page), and what is no number (digits
    Python's `int` refuses, "²"; "-1": the first page) get an answer, not a connection closed
    with none (as an audit's did)."""
    status, _, body = _get(server + query)
    if query.startswith("/api/samples"):
        got = json.loads(body)
        assert status == 200 and (got["samples"] == []) == ("999" in query or "922" in query)
    else:
        assert status == 404, body


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
def test_sample_browser_in_headless_chromium(server, tmp_path):
    # the report itself: its page checks its charts and records any error (data-status)
    report = _chromium("--dump-dom", server + "/", tmp=tmp_path)
    assert re.search(r'<body[^>]*data-status="ok"', report), report[-2000:]
    wrong = _api(server, model="kimi-k2", benchmark="gsm8k", correct="0")
    first = wrong["samples"][0]
    filters = "model=kimi-k2&benchmark=gsm8k&correct=0"
    dom = _chromium("--dump-dom", f"{server}/samples?{filters}", tmp=tmp_path)
    assert 'data-status="ok"' in dom, dom[-2000:]
    assert f'data-count="{wrong["total"]}"' in dom
    rows = re.findall(r'<tr class="(\w+)" data-model="([^"]+)" data-benchmark="([^"]+)"', dom)
    assert len(rows) == wrong["total"]
    assert {r for r in rows} == {("wrong", "kimi-k2", "gsm8k")}
    # open a sample: its prompt, output and reason appear in the detail panel
    key = f"kimi-k2|gsm8k|{first['item_id']}|{first['repeat']}"
    url = f"{server}/samples?{filters}&open={quote(key)}"
    dom = _chromium("--dump-dom", url, tmp=tmp_path)
    assert f'data-open="{key}"' in dom, dom[-2000:]
    detail = re.search(r'<section id="detail">(.*?)</section>', dom, re.S)
    assert detail and "(no stored request)" not in detail.group(1)
    assert f"extracted: {first['extracted']}" in detail.group(1)
    shot = tmp_path / "view.png"
    _chromium(f"--screenshot={shot}", "--window-size=1280,900", url, tmp=tmp_path)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    if keep := os.environ.get("SHOOTOUT_ARTIFACTS"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "view.png")


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
def test_the_browser_pages_through_a_run(server, tmp_path):
    """More samples than a page: the page says which it shows and can go on (an audit found
    no way past the first 200 but narrowing the filters)."""
    everything = _api(server)
    second = _api(server, offset="200")["samples"]
    assert everything["total"] > 400
    dom = _chromium("--dump-dom", f"{server}/samples?offset=200", tmp=tmp_path)
    assert 'data-status="ok"' in dom and 'data-offset="200"' in dom, dom[-2000:]
    assert f"{everything['total']} samples (201–400 shown)" in dom
    items = re.findall(r'data-item="([^"]+)" data-repeat="(\d+)"', dom)
    assert items[0] == (second[0]["item_id"], str(second[0]["repeat"])) and len(items) == 200
    assert re.search(r"<button id=\"prev\" type=\"button\" data-to=\"0\">", dom)  # enabled
    assert re.search(r"<button id=\"next\" type=\"button\" data-to=\"400\">", dom)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
def test_the_browser_filters_by_status_and_text_from_its_address(server, tmp_path):
    """A user hunting the failures, or one item, filters by status and by a text in the item
    id, answer or reason: the page lists what the API lists, with the filters shown set."""
    answered = _api(server, model="kimi-k2", status="answered")
    item = answered["samples"][3]["item_id"]
    found = _api(server, text=item.upper())
    assert 0 < found["total"] < answered["total"]
    assert all(item.casefold() in (s["item_id"] + (s["extracted"] or "") + s["reason"]
                                   ).casefold() for s in found["samples"])
    dom = _chromium("--dump-dom", f"{server}/samples?text={quote(item.upper())}&status="
                    "answered", tmp=tmp_path)
    assert 'data-status="ok"' in dom, dom[-2000:]
    want = _api(server, text=item.upper(), status="answered")
    assert f'data-count="{want["total"]}"' in dom
    items = re.findall(r'data-item="([^"]+)"', dom)
    assert items == [s["item_id"] for s in want["samples"]]
    # a stored status from the address gets an option, so the form keeps it (it showed
    # blank and the next change dropped it: a review's)
    dom = _chromium("--dump-dom", f"{server}/samples?status=error", tmp=tmp_path)
    assert 'data-status="ok"' in dom and '<option value="error">error</option>' in dom


def _chromium(*args: str, tmp: Path) -> str:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    assert CHROMIUM is not None
    proc = subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
         "--virtual-time-budget=10000", *args],
        capture_output=True, text=True, timeout=120)
    return proc.stdout


def test_ctrl_c_stops_the_server_without_an_interrupted_jobs_line(tmp_path):
    """The server runs until Ctrl-C: that is how it ends, not an interrupted job to rerun."""
    import signal
    import time

    store = tmp_path / "s.sqlite"
    build_sample_store(store).close()
    proc = subprocess.Popen([sys.executable, "-m", "shootout", "view", RUN_ID, "--port", "0",
                             "--store", str(store)], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    assert "serving run" in proc.stderr.readline()
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and err.strip() == "stopped", err


def test_view_of_an_unknown_run_is_one_line(tmp_path):
    store = tmp_path / "s.sqlite"
    build_sample_store(store).close()
    proc = subprocess.run([sys.executable, "-m", "shootout", "view", "r-nope", "--store",
                           str(store)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "r-nope" in proc.stderr


def test_the_samples_page_writes_a_stores_run_id_as_text(tmp_path):
    """The run id was pasted into the samples page as HTML: a store whose id was
    `r-1</title><script>…` ran its script there (an audit's)."""
    import threading

    from shootout.store import Store
    from shootout.viewer.server import make_server

    evil = "r-1</title><script>document.title='RUNID'</script>"
    store = tmp_path / "s.sqlite"
    build_sample_store(store, run_id=evil).close()
    db = Store(store)
    httpd = make_server(db, evil, "<html></html>")
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        status, _, page = _get(f"http://127.0.0.1:{httpd.server_port}/samples")
    finally:
        httpd.shutdown()
        db.close()
    assert status == 200
    assert "<script>document.title" not in page
    assert "r-1&lt;/title&gt;&lt;script&gt;document.title=&#x27;RUNID&#x27;" in page
