"""The import graph of tfrbm/ has no cycle and follows the layering of docs/ARCHITECTURE.md.

The graph is read from the source with ``ast``: every ``import`` statement, at module level or
inside a function, plus the imports tfrbm makes by name (``importlib.import_module``), declared
below in DYNAMIC. Three rules:

* no cycle, whether the imports are at module level or inside functions;
* a module imports only modules of its own layer or of a lower one (LAYERS);
* imports sit at the top of a module. An import inside a function is allowed only for a
  genuinely optional or deliberately deferred dependency: one of OPTIONAL (with the reason),
  or TensorFlow/Keras (directly, or through a tfrbm module that loads them) deferred by a
  module that does not load them itself, so that ``tfrbm --help``, ``import tfrbm.validation``
  and the pipelines' config classes stay free of TensorFlow.
"""
import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tfrbm"

#: the layers, bottom first; a module may import its own layer and those below. The first
#: matching pattern gives a module's layer. Keep in step with docs/ARCHITECTURE.md.
LAYERS = [
    ("foundation", r"tfrbm\.(errors|validation|limits|interrupt|argtypes|backupdir|_quiet|_compat)"),
    ("data", r"tfrbm\.data(\..*)?"),
    ("core", r"tfrbm\.(units|layers|gibbs|centering|tempering|fastpath|tracing|serving|testing"
             r"|ranking_metrics|dropout|anomaly"
             r"|likelihood(\..*)?)"),
    ("infrastructure", r"tfrbm\.(safety|export|resume|monitors|stages|summary|tensorboard|viz)"),
    ("models", r"tfrbm\.models(\..*)?"),
    ("companions and adapters", r"tfrbm\.(course(\..*)?|sklearn|tuning)"),
    ("pipelines", r"tfrbm\.pipelines(\..*)?"),
    ("command line", r"tfrbm\.(cli|commands(\..*)?|__main__)"),
]

#: imports made by name, at import time or when a function runs (module -> modules it loads)
DYNAMIC = {
    "tfrbm.cli": "every tfrbm.commands.* module (pkgutil discovery in build_parser)",
    "tfrbm": "its public names and submodules on attribute access; layers, models and course "
             "in register_keras_classes",
    "tfrbm.models": "its public classes on attribute access (models._import_all)",
    "tfrbm.course": "its modules on attribute access and in register_keras_classes",
    "tfrbm.pipelines": "its modules on attribute access",
    "tfrbm.data": "its modules on attribute access",
}

#: third-party packages a function may import on first use, and why
OPTIONAL = {
    "matplotlib": "figures only (the 'viz' extra); the library trains and evaluates without it",
    "keras_tuner": "hyper-parameter search only (the 'tuning' extra)",
    "tensorflow_datasets": "an optional download route for MNIST and the text corpora",
    "importlib_resources": "needed by tensorflow_datasets' download route only",
    "sklearn": "the digits data and a few metrics; importing it costs a second",
}

#: modules a function may import where it uses them, and why
OPTIONAL_MODULES = {
    "keras.src": "Keras internals (tfrbm._compat only): a Keras that moved one breaks only the "
                 "feature that uses it, caught by try/except ImportError there",
}

#: deferred because loading them takes seconds; allowed inside functions of modules that do not
#: load them anyway
HEAVY = {"tensorflow", "keras"}


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module):
    for i, (_, pattern) in enumerate(LAYERS):
        if re.fullmatch(pattern, module):
            return i
    return None


def _target(name):
    """The tfrbm module an imported name lives in (``tfrbm.x.y`` -> the longest module prefix)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module):
    """(target, is_tfrbm, at_top, line) for every import statement of ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    functions = [n for n in ast.walk(tree)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]
    in_function = {id(sub) for f in functions for sub in ast.walk(f) if sub is not f}
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        at_top = id(node) not in in_function
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                package = module.split(".")
                if path.name != "__init__.py":
                    package = package[:-1]
                package = package[:len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names]
        for name in names:
            if name.split(".")[0] == "tfrbm":
                target = _target(name)
                if target != module:
                    out.append((target, True, at_top, node.lineno))
            else:
                out.append((name, False, at_top, node.lineno))
    return out


IMPORTS = {m: _imports(m) for m in MODULES}


def _edges():
    edges = {m: {t for t, internal, _, _ in IMPORTS[m] if internal} for m in MODULES}
    # build_parser imports every command module; the packages' lazy loading on attribute access
    # (and tfrbm.register_keras_classes) runs after import, from the caller, and is no edge: the
    # root package is every module's parent, so counting it would make everything a cycle
    edges["tfrbm.cli"] |= {m for m in MODULES if m.startswith("tfrbm.commands.")}
    return edges


def _loads_heavy():
    """Modules whose import loads TensorFlow or Keras (through module-level imports)."""
    heavy = {m for m in MODULES
             if any(not internal and at_top and t.split(".")[0] in HEAVY
                    for t, internal, at_top, _ in IMPORTS[m])}
    changed = True
    while changed:
        changed = False
        for m in MODULES:
            if m not in heavy and any(internal and at_top and t in heavy
                                      for t, internal, at_top, _ in IMPORTS[m]):
                heavy.add(m)
                changed = True
    return heavy


def test_the_graph_reads_every_module():
    assert len(MODULES) > 50 and "tfrbm.likelihood.ais" in MODULES
    assert all(_layer(m) is not None for m in MODULES if m != "tfrbm"), \
        [m for m in MODULES if m != "tfrbm" and _layer(m) is None]


def test_every_dynamic_import_is_declared():
    """importlib.import_module appears only in the modules DYNAMIC names."""
    users = {m for m, p in MODULES.items() if "importlib.import_module" in p.read_text()}
    assert users <= set(DYNAMIC), users - set(DYNAMIC)


def _cycles(edges):
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    assert _cycles(_edges()) == []


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_imports_follow_the_layers():
    wrong = []
    for module, edges in _edges().items():
        if module == "tfrbm":
            continue
        for target in edges:
            if target != "tfrbm" and _layer(target) > _layer(module):
                wrong.append(f"{module} ({LAYERS[_layer(module)][0]}) imports {target} "
                             f"({LAYERS[_layer(target)][0]})")
    assert wrong == []


def test_imports_inside_functions_are_optional_or_deferred_dependencies():
    heavy = _loads_heavy()
    wrong = []
    for module in MODULES:
        for target, internal, at_top, line in IMPORTS[module]:
            if at_top:
                continue
            root = target.split(".")[0]
            if not internal and (root in OPTIONAL or any(
                    target == p or target.startswith(p + ".") for p in OPTIONAL_MODULES)):
                continue
            deferred = (target in heavy) if internal else (root in HEAVY)
            if deferred and module not in heavy:
                continue
            why = ("it loads nothing heavy" if not deferred else
                   f"{module} loads TensorFlow at import anyway")
            wrong.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {target} inside a "
                         f"function, but {why}: import it at the top")
    assert wrong == [], "\n".join(wrong)


def test_no_private_name_crosses_modules():
    """``from tfrbm.x import _helper`` is refused (a private module, ``from tfrbm import
    _compat``, is fine: it is the module that is imported)."""
    wrong = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tfrbm"):
                for alias in node.names:
                    private = alias.name.startswith("_") and not alias.name.startswith("__")
                    if private and f"{node.module}.{alias.name}" not in MODULES:
                        wrong.append(f"{module} imports {node.module}.{alias.name}")
    assert wrong == []


def test_no_command_imports_the_cli():
    """cli.py imports the commands; what they share is in tfrbm.commands.common."""
    users = [m for m in MODULES if m.startswith("tfrbm.commands")
             and any(t == "tfrbm.cli" for t, internal, _, _ in IMPORTS[m] if internal)]
    assert users == []


@pytest.mark.parametrize("module", sorted(
    [m for m in MODULES if m.startswith("tfrbm.commands")]
    + ["tfrbm.cli", "tfrbm.validation"]
    + [m for m in MODULES if m.startswith("tfrbm.pipelines.")]))
def test_the_command_line_and_the_configs_load_no_tensorflow(module):
    """``tfrbm --help`` imports cli.py and every command module, and with them the pipelines'
    config classes: none may load TensorFlow."""
    assert module not in _loads_heavy()


def _architecture_rows():
    """{layer number: the modules column of docs/ARCHITECTURE.md's layer table, joined}."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    table = text.split("```")[1]
    rows, current = {}, None
    for line in table.splitlines():
        head = re.match(r"  (\d) \S.{22}(.{44})", line)
        if head:
            current = int(head.group(1))
            rows[current] = head.group(2)
        elif current is not None and len(line) > 28:
            rows[current] += " " + line[28:72]
    return rows


def test_the_architecture_table_is_the_tests_layers():
    """Every module stands in the row of its layer in docs/ARCHITECTURE.md (as ``x.py``, or
    under its package's ``pkg/*`` or ``pkg/x.py``), and every file the page names exists."""
    rows = _architecture_rows()
    assert sorted(rows) == list(range(len(LAYERS)))
    wrong = []
    for module in MODULES:
        parts = module.split(".")[1:]
        if not parts:
            continue
        row = rows[_layer(module)]
        if MODULES[module].name == "__init__.py":       # a package
            names = ["/".join(parts) + "/*"]
        elif len(parts) == 1:
            names = [f"{parts[0]}.py"]
        else:
            names = [f"{parts[0]}/*", "/".join(parts) + ".py"]
        if not any(re.search(rf"(?<![\w/]){re.escape(n)}", row) for n in names):
            wrong.append(f"{module}: not in layer {_layer(module)}'s row")
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    for name in set(re.findall(r"[\w/]+\.py\b", text)):
        if not any((base / name).exists() for base in (ROOT, PACKAGE, PACKAGE / "models",
                                                          PACKAGE / "pipelines", PACKAGE / "course",
                                                          PACKAGE / "likelihood", PACKAGE / "data")):
            wrong.append(f"docs/ARCHITECTURE.md names {name}, which does not exist")
    assert wrong == [], "\n".join(wrong)
