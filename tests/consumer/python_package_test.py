#!/usr/bin/env python3
"""The Python package installed like any other: cmake --install to a scratch prefix, then

1. ``pip install --no-build-isolation`` of bindings/python into a fresh ``python3 -m venv --system-site-packages``
   runs the Python quick start with neither CONVSTORE_LIBRARY nor PYTHONPATH set (the loader finds the installed
   library through LD_LIBRARY_PATH, as for any private prefix);
2. the package cmake --install put under the prefix loads the library of that install by itself (no
   LD_LIBRARY_PATH, no CONVSTORE_LIBRARY), and sends the library's log lines to Python's logging.

Usage: python_package_test.py CMAKE_COMMAND BUILD_DIR SOURCE_DIR WORK_DIR
"""
import glob
import os
import shutil
import subprocess
import sys


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("CONVSTORE_LIBRARY", "PYTHONPATH", "LD_LIBRARY_PATH", "PYTHONHOME")}
    env.update(extra)
    return env


def main(cmake, build_dir, source_dir, work_dir):
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    prefix = os.path.join(work_dir, "prefix")
    run([cmake, "--install", build_dir, "--prefix", prefix])
    libdirs = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(prefix, "lib*", "**", "libconvstore.so.*"),
                                                             recursive=True)})
    assert len(libdirs) == 1, libdirs
    libdir = libdirs[0]

    # 1. pip into a virtual environment. pip builds in the source directory: build from a copy.
    src = os.path.join(work_dir, "python-src")
    shutil.copytree(os.path.join(source_dir, "bindings", "python"), src,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info", "tests", ".pytest_cache"))
    venv = os.path.join(work_dir, "venv")
    run([sys.executable, "-m", "venv", "--system-site-packages", venv])
    py = os.path.join(venv, "bin", "python")
    run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-cache-dir", "-q", src])
    quickstart = os.path.join(source_dir, "examples", "quickstart.py")
    scratch = os.path.join(work_dir, "run")
    os.makedirs(scratch)
    for attempt in (1, 2):  # the quick start runs twice in a row on the same file
        out = run([py, quickstart, os.path.join(scratch, "quickstart.db")], cwd=scratch,
                  env=clean_env(LD_LIBRARY_PATH=libdir), capture_output=True, text=True).stdout
        assert "convstore" in out, out
    code = "import convstore; print(convstore.__file__, convstore._ffi.lib._name, convstore._ffi.ABI_VERSION)"
    where = run([py, "-c", code], cwd=scratch, env=clean_env(LD_LIBRARY_PATH=libdir), capture_output=True,
                text=True).stdout.split()
    assert where[0].startswith(venv), where  # the installed copy, not the source tree
    assert where[1] == f"libconvstore.so.{where[2]}", where  # by its versioned name, found by the loader

    # 2. The package cmake --install wrote: finds its own library, logs through logging.
    site = glob.glob(os.path.join(prefix, "lib", "python3*", "*-packages"))
    assert len(site) == 1, site
    code = (
        "import logging, convstore\n"
        "seen = []\n"
        "class H(logging.Handler):\n"
        "    def emit(self, r): seen.append((r.levelno, r.getMessage()))\n"
        "logging.getLogger('convstore').addHandler(H()); logging.getLogger('convstore').setLevel(logging.INFO)\n"
        "convstore.Store(':memory:', log_level='info').close()\n"
        "assert any(l == logging.INFO and \"opened ':memory:'\" in m for l, m in seen), seen\n"
        "print(convstore._ffi.lib._name)\n"
    )
    # A path (PYTHONPATH) is how Python finds a package under a private prefix; the library needs no help.
    name = run([sys.executable, "-c", code], cwd=scratch, env=clean_env(PYTHONPATH=site[0]),
               capture_output=True, text=True).stdout.strip()
    assert os.path.dirname(name) == libdir, (name, libdir)
    print("python package: pip install and cmake --install both import and run")


if __name__ == "__main__":
    main(*sys.argv[1:5])
