"""The suite's own scheduling: under ``--dist loadgroup`` each test file is one xdist group
(conftest.py), so a module-scoped fixture is built once, on one worker."""
import pathlib


def test_this_file_is_one_xdist_group(request):
    if not request.config.getoption("loadgroup", default=False):   # only xdist's workers set it
        return   # run without xdist (or with another --dist): there are no groups to check
    assert request.node.nodeid.endswith("@" + pathlib.Path(__file__).stem), (
        f"{request.node.nodeid}: xdist did not apply the file's group (a pytest/xdist version "
        "pair that ignores xdist_group: see setup.cfg's pin)")
