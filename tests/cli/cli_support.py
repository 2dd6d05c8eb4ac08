"""What the `convstore` command tests share: the binary (argv[1]), the Python package from the source tree, running
the command, collecting failed checks and reporting them (exit 1 when any failed)."""
import os
import subprocess
import sys

CLI = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python"))

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def run(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120)


def finish(name):
    for f in failures:
        print("FAILED:", f)
    print(f"{'ok' if not failures else 'failed'}: {name}")
    sys.exit(1 if failures else 0)
