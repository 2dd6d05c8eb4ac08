"""The layer check passes on the tree and fails on an upward or a sideways include planted in a copy of it."""
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_layers.py"


def run(root):
    return subprocess.run([sys.executable, str(SCRIPT), str(root)], capture_output=True, text=True)


def copy_tree(dst):
    shutil.copytree(ROOT / "src", dst / "src")
    shutil.copytree(ROOT / "bindings" / "c", dst / "bindings" / "c")


def plant(root, rel, include):
    path = root / rel
    path.write_text(f'#include "{include}"\n' + path.read_text())


def expect_violation(rel, include, words):
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        copy_tree(root)
        assert run(root).returncode == 0
        plant(root, rel, include)
        r = run(root)
        assert r.returncode == 1, r.stderr
        assert rel in r.stderr and include in r.stderr and words in r.stderr, r.stderr


def main():
    r = run(ROOT)
    assert r.returncode == 0, r.stderr
    expect_violation("src/cost/rollups.cc", "api/store_impl.h", "a layer above it")       # engine -> api
    expect_violation("src/records/users.cc", "cost/rollups.h", "a layer above it")       # records -> engine
    expect_violation("src/util/time.cc", "sqlite/connection.h", "a layer above it")      # util -> sqlite
    expect_violation("src/sqlite/connection.cc", "schema/migrations.h", "a layer above it")
    expect_violation("src/metadata/search.cc", "cost/rollups.h", "a sibling engine")     # engine -> engine
    expect_violation("src/cost/budgets.cc", "metadata/index.h", "a sibling engine")
    expect_violation("bindings/c/convstore_c.cc", "api/store_impl.h", "src/api")         # C ABI -> internals
    print("layer check: clean tree passes, 7 planted violations fail")


if __name__ == "__main__":
    main()
