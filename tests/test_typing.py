"""The type stubs work for users: mypy accepts a program using each public module
(tests/typing/user_program.py) and rejects misuses (tests/typing/type_errors.py)."""

import os
import re
import sys

import pytest

from conftest import run_python

pytest.importorskip("mypy", reason="mypy is in the test extras: pip install .[test]")
pytestmark = pytest.mark.timeout(600)

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "typing")


def mypy(path, tmp_path):
    # From a neutral directory, so mypy type-checks the installed zmqipc (its stubs).
    result = run_python(
        "-m",
        "mypy",
        "--no-error-summary",
        "--cache-dir",
        str(tmp_path),
        "--python-version",
        "%d.%d" % sys.version_info[:2],
        path,
        timeout=None,  # the module's pytest timeout guards it
        cwd=str(tmp_path),
    )
    return result.returncode, result.stdout + result.stderr


def test_mypy_accepts_a_program_using_every_public_module(tmp_path):
    code, output = mypy(os.path.join(HERE, "user_program.py"), tmp_path)
    assert code == 0, output


def test_mypy_rejects_misuses(tmp_path):
    path = os.path.join(HERE, "type_errors.py")
    expected = [i for i, line in enumerate(open(path), 1) if "# E:" in line]
    code, output = mypy(path, tmp_path)
    reported = sorted({int(n) for n in re.findall(r"type_errors\.py:(\d+): error", output)})
    assert code == 1 and reported == expected, output
