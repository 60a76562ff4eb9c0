"""`shootout view` ends on Ctrl-C as its normal stop: an earlier Ctrl-C that a finalizer
swallowed (noted by `cli.main`, which ends other commands as interrupted) does not turn that
stop into "interrupted; rerun the same command" and exit 130 (the review's)."""

from __future__ import annotations

import pytest
from toy_run import Colours, toy_run

from shootout.benchmarks import REGISTRY, register_benchmark
from shootout.cli import main as cli_main
from shootout.store import Store


def test_view_stopped_by_ctrl_c_after_a_swallowed_one_ends_quietly(tmp_path, monkeypatch,
                                                                   capsys):
    register_benchmark(Colours)
    try:
        path = tmp_path / "s.sqlite"
        run_id = toy_run(Store(path))

        class Server:
            server_address = ("127.0.0.1", 1)

            def serve_forever(self) -> None:
                raise KeyboardInterrupt  # the Ctrl-C that stops it

            def server_close(self) -> None:
                pass

        import shootout.viewer as viewer

        monkeypatch.setattr(viewer, "make_server", lambda *a, **k: Server())
        monkeypatch.setattr(cli_main, "_swallowed_interrupt", True)  # an earlier one, taken
        cli_main.main(["view", run_id, "--store", str(path), "--port", "0"])
        err = capsys.readouterr().err
        assert "stopped" in err and "interrupted" not in err
    finally:
        REGISTRY.pop(Colours.name, None)


def test_another_command_after_a_swallowed_ctrl_c_ends_as_interrupted(tmp_path, monkeypatch,
                                                                      capsys):
    Store(tmp_path / "s.sqlite").close()
    monkeypatch.setattr(cli_main, "_swallowed_interrupt", True)
    with pytest.raises(SystemExit) as e:
        cli_main.main(["runs", "--store", str(tmp_path / "s.sqlite")])
    assert e.value.code == 130
    assert "interrupted" in capsys.readouterr().err
