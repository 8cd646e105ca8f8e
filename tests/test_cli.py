"""The `imgclf` command and the module entry points the README shows."""

import subprocess
import sys


def test_leaderboard_is_reachable_as_a_module_too():
    done = subprocess.run([sys.executable, "-m", "imgclf", "leaderboard", "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "--all-commits" in done.stdout and "--rev" in done.stdout


def test_the_console_script_lists_its_commands():
    from imgclf.cli import parser

    text = parser().format_help()
    assert "leaderboard" in text and text.startswith("usage: imgclf")


def test_outside_a_dvc_project_the_leaderboard_fails_with_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "imgclf", "leaderboard"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_an_unwritable_leaderboard_folder_is_one_line_before_any_work(tmp_path):
    (tmp_path / "a-file").write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "imgclf", "leaderboard", "--out", str(tmp_path / "a-file" / "lb")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert (
        done.stderr.strip()
        == f"error: {tmp_path}/a-file/lb: cannot write there ({tmp_path}/a-file is a file, not a folder)"
    )
