"""`shootout monitor` as a user runs it (issue 17, part 3): against the fake server's scripted
outage (the issue's 2 minutes, time-scaled to 3 s with a probe every second) it reports the
outage within one probe interval of its true start and end; a SIGKILLed monitor, rerun with
the same command, continues the same schedule without losing a stored probe."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from shootout.testing import FakeOpenAIServer

EVERY = 1.0


def _command(shootout_cmd: list[str], url: str, store: Path, duration: str) -> list[str]:
    return [*shootout_cmd, "monitor", "-m", "openai:fake", "--base-url", url,
            "--every", "1s", "--for", duration, "--store", str(store), "--json"]


def _session(store: Path) -> tuple[str, float]:
    db = sqlite3.connect(store)
    try:
        rows = db.execute("SELECT monitor_id, start FROM monitors").fetchall()
    finally:
        db.close()
    assert len(rows) == 1
    return rows[0][0], float(rows[0][1])


def _probes(store: Path) -> list[tuple]:
    db = sqlite3.connect(store)
    try:
        return db.execute("SELECT * FROM probes ORDER BY slot").fetchall()
    except sqlite3.OperationalError:  # the monitor is still creating the store
        return []
    finally:
        db.close()


def _wait_for_line(proc: subprocess.Popen[str], text: str, seen: list[str]) -> str:
    """Read the monitor's live lines (stderr with --json) up to the first containing `text`."""
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"the monitor ended without printing {text!r}: {seen}")


def test_a_scripted_outage_is_reported_within_one_probe_interval(shootout_cmd, tmp_path):
    store = tmp_path / "m.sqlite"
    with FakeOpenAIServer(ttft=0.01) as srv:
        proc = subprocess.Popen(_command(shootout_cmd, srv.base_url, store, "10s"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        _wait_for_line(proc, "starting monitor", lines)
        _, start = _session(store)
        # down from 2.9 s to 5.9 s after the first slot: slots 3, 4 and 5 fall in it, and a
        # probe of slot 2 or 5 held up by a loaded machine (up to 0.9 s) still falls where
        # its slot does (a slot is never probed early)
        true_start, true_end = start + 2.9, start + 5.9
        srv.outages = ((true_start - srv.started_at, true_end - srv.started_at),)
        down = _wait_for_line(proc, "DOWN", lines)
        up = _wait_for_line(proc, "UP again", lines)
        assert proc.stdout is not None
        out = proc.stdout.read()
        assert proc.wait(timeout=60) == 0, "".join(lines)
    # the live lines name the slot that saw the change: the first within one interval of it
    assert down.startswith(time.strftime("%H:%M:%S UTC", time.gmtime(start + 3)))
    assert "DOWN (http_5xx, HTTP 503)" in down
    assert up.startswith(time.strftime("%H:%M:%S UTC", time.gmtime(start + 6)))
    summary = json.loads(out)
    (m,) = summary["models"]
    assert summary["finished"] and m["probes"] == 10 and m["ok"] == 7
    assert m["error_classes"] == {"http_5xx": 3}
    (outage,) = m["outages"]
    assert true_start <= outage["start"] < true_start + EVERY
    assert true_end <= outage["end"] < true_end + EVERY
    assert abs(outage["duration_s"] - (true_end - true_start)) < EVERY
    assert m["longest_outage"] == outage


def _kill_after(proc: subprocess.Popen[str], store: Path, probes: int) -> None:
    deadline = time.time() + 120
    while len(_probes(store)) < probes and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()


def test_a_killed_monitor_resumes_without_losing_probes(shootout_cmd, tmp_path, capsys):
    store = tmp_path / "k.sqlite"
    with FakeOpenAIServer(ttft=0.01) as srv:
        # a long window, so that the rerun finds it open however slow the machine starts it;
        # each process is killed after a few probes
        command = _command(shootout_cmd, srv.base_url, store, "10m")
        first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        _kill_after(first, store, 3)
        before = _probes(store)
        monitor_id, start = _session(store)
        again = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        lines: list[str] = []
        _wait_for_line(again, "monitor mon-", lines)
        _kill_after(again, store, len(before) + 3)
        sent = len(srv.requests)
    assert lines[-1].startswith(f"continuing monitor {monitor_id}")
    after = _probes(store)
    assert _session(store) == (monitor_id, start)  # the same schedule, not a new one
    assert set(before) <= set(after)  # every stored probe is still there, unchanged
    slots = [row[2] for row in after]
    assert slots == sorted(set(slots))  # no slot probed twice
    new = slots[len(before):]
    assert len(new) >= 3 and min(new) > max(row[2] for row in before)
    # one attempt per probe; at most the probe in flight at each kill was sent and not stored
    assert len(after) <= sent <= len(after) + 2
    from shootout.cli.main import main

    main(["monitor", "--summary", monitor_id, "--store", str(store), "--json"])
    m = json.loads(capsys.readouterr().out)["models"][0]
    # the slots before the last probe with none, and those past since (the window goes on)
    assert m["probes"] == len(after) and m["missed_slots"] >= max(slots) + 1 - len(after)


def test_a_second_process_on_a_running_monitor_is_refused(shootout_cmd, tmp_path):
    """The same command while the monitor runs: one line, exit 2, nothing probed twice (an
    audit's second process probed every slot again)."""
    store = tmp_path / "two.sqlite"
    with FakeOpenAIServer(ttft=0.01) as srv:
        command = _command(shootout_cmd, srv.base_url, store, "10m")
        first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        try:
            _wait_for_line(first, "starting monitor", [])
            second = subprocess.run(command, capture_output=True, text=True, timeout=120)
            monitor_id, _ = _session(store)
            assert second.returncode == 2, second.stderr
            assert second.stderr.count("\n") == 1, second.stderr
            assert f"monitor {monitor_id} is already being probed" in second.stderr
        finally:
            first.send_signal(signal.SIGINT)
            first.communicate(timeout=60)
        # stopped, the monitor can be continued
        again = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        try:
            assert "continuing monitor" in _wait_for_line(again, "monitor mon-", [])
        finally:
            again.send_signal(signal.SIGINT)
            again.communicate(timeout=60)
