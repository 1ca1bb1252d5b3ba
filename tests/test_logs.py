"""rwe.logs: a script's messages, warnings and uncaught errors land in its rule's log."""

import subprocess
import sys
import textwrap


def run_script(tmp_path, body: str) -> tuple[subprocess.CompletedProcess, str]:
    log = tmp_path / "logs" / "step.log"
    script = tmp_path / "step.py"
    script.write_text(
        f"from rwe.logs import log_to\nlog_to({str(log)!r})\n" + textwrap.dedent(body)
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False
    )
    return result, log.read_text() if log.exists() else ""


def test_uncaught_error_writes_its_traceback_to_the_log_and_stderr(tmp_path):
    result, log = run_script(
        tmp_path,
        """
        import logging
        logging.info("reading tables")
        def draw():
            raise KeyError("nadir")
        draw()
        """,
    )
    assert result.returncode == 1
    assert "reading tables" in log
    for text in ("Traceback", "in draw", "KeyError: 'nadir'"):
        assert text in log
    assert "KeyError: 'nadir'" in result.stderr


def test_rwe_error_is_logged_as_its_message_without_traceback(tmp_path):
    result, log = run_script(
        tmp_path,
        """
        from rwe.exceptions import InputError, Problem
        raise InputError([Problem("s/patients.csv", 3, "age", "expected a whole number")])
        """,
    )
    assert result.returncode == 1
    assert "s/patients.csv, row 3, column 'age': expected a whole number" in log
    assert "Traceback" not in log
    assert "expected a whole number" in result.stderr


def test_warnings_are_logged(tmp_path):
    result, log = run_script(tmp_path, "import warnings\nwarnings.warn('few events')\n")
    assert result.returncode == 0
    assert "few events" in log
