"""The table of settings (nnbook.configspec) and the regenerate commands built from it."""

import json
import shlex

import numpy as np
import pytest

from nnbook import configspec, experiments
from nnbook.__main__ import parser, run_arguments
from nnbook.errors import ConfigError


def test_every_config_key_of_every_experiment_is_declared():
    """A key added to an experiment without a row in configspec.KEYS fails here."""
    assert configspec.undeclared(experiments.REGISTRY) == []


def test_an_undeclared_key_is_caught():
    fake = {"x": experiments.Experiment("x", None, {"seed": 0, "augment": True},
                                        {"seed": 0, "augment": True}, "", "")}
    assert configspec.undeclared(fake) == [("x", "augment")]


def test_every_default_fits_its_spec():
    for name, exp in experiments.REGISTRY.items():
        for profile in experiments.PROFILES:
            config = exp.config(profile)
            assert configspec.validate_config(name, config) == config, (name, profile)


@pytest.mark.parametrize("key", sorted(configspec.KEYS))
def test_every_key_has_a_comment_and_a_one_line_description(key):
    text = configspec.describe(key)
    assert text.startswith(f"{key}: ") and "\n" not in text and len(configspec.KEYS[key].comment)


@pytest.mark.parametrize("value,expected", [
    (5, 5), (np.int64(5), 5), (True, None), (5.0, None), ("5", None), (None, None), (0, None),
    (8193, None),
])
def test_integers(value, expected):
    if expected is None:
        with pytest.raises(ConfigError, match="mnist-mlp: setting hidden must be an integer"):
            configspec.validate("mnist-mlp", "hidden", value)
    else:
        out = configspec.validate("mnist-mlp", "hidden", value)
        assert out == expected and type(out) is int


def test_numbers_are_floats_and_finite():
    assert type(configspec.validate("rings", "lr", 1)) is float
    for bad in (0, -1.0, float("nan"), float("inf"), "0.1", False):
        with pytest.raises(ConfigError, match="lr must be a number"):
            configspec.validate("rings", "lr", bad)


def test_null_only_where_it_means_something():
    assert configspec.validate("mnist-mlp", "n_train", None) is None
    assert "null (all of them)" in configspec.describe("n_train")
    with pytest.raises(ConfigError, match="got null"):
        configspec.validate("mnist-mlp", "num_epochs", None)


def test_the_same_key_can_mean_something_else_in_one_experiment():
    assert configspec.validate("gradient-descent", "snapshots", [0, 10]) == [0, 10]
    with pytest.raises(ConfigError, match=r"snapshots\[0\] must be an integer from 1"):
        configspec.validate("rings", "snapshots", [0, 10])


@pytest.mark.parametrize("value", [
    True, False, None, [100, 50], [], "sgd", "true", "null", "12", "two words", 'a"quote',
    "it's", 0.1, 1e-05, 2**63 - 1, [0.01, 1.0], ["plain", "residual"], "",
])
def test_format_and_parse_round_trip(value):
    text = configspec.format_value(value)
    assert configspec.parse_value(text) == value
    assert shlex.split(shlex.quote(f"k={text}")) == [f"k={text}"]


TRICKY = [
    ("mnist-cnn", {"arch": "extra-pool"}),
    ("mnist-cnn", {"arch": "gap", "augment_shift": 3, "n_train": None, "n_test": None}),
    ("mnist-overfit", {"sizes": [100, 50], "largest_available": False}),
    ("depth", {"variants": ["plain", "residual"], "depths": [2, 3], "lr": 0.001}),
    ("gradient-descent", {"lrs": [0.01, 1e-05], "activation": "tanh", "snapshots": [0, 5]}),
    ("rings", {"optimizer": "adam", "loss": "normalised", "noise": 0}),
    ("loss-compare", {"hidden": 16, "n_train": None}),
    ("shift-study", {"source": "fashion-cnn", "shifts": [1, 3]}),
    ("mnist-mlp", {"hidden": np.int64(12), "lr": np.float32(0.5)}),
]


@pytest.mark.parametrize("name,overrides", TRICKY, ids=[n for n, _ in TRICKY])
def test_regenerate_commands_paste_into_the_parser(name, overrides):
    """What command() writes, split as a shell would, is accepted by the command line's
    parser and resolves to the same config as the Python call it came from."""
    text = experiments.command(name, "quick", 7, overrides)
    words = shlex.split(text)
    assert words[:4] == ["python", "-m", "nnbook", "run"]
    kwargs = run_arguments(parser().parse_args(words[3:]))
    assert experiments.resolve(**kwargs) == experiments.resolve(name, "quick", 7, **overrides)


def test_the_book_spelling_of_a_bool_in_a_command():
    assert "--set largest_available=true" in experiments.command(
        "mnist-overfit", "quick", 1, {"largest_available": True})
    assert "'sizes=[100, 50]'" in experiments.command("mnist-overfit", "quick", 1,
                                                      {"sizes": [100, 50]})


def test_env_parses_lazily_and_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NNBOOK_DATA", "~/data")
    assert configspec.env("NNBOOK_DATA") == tmp_path / "data"
    monkeypatch.setenv("NNBOOK_THREADS", " 3 ")
    assert configspec.env("NNBOOK_THREADS") == 3
    for value in ("3.5", "-1", "0x10", "١٢", "²", "1e3"):
        monkeypatch.setenv("NNBOOK_THREADS", value)
        with pytest.raises(ConfigError, match="NNBOOK_THREADS") as info:
            configspec.env("NNBOOK_THREADS")
        assert "\n" not in str(info.value)
    for word, flag in (("off", False), ("ON", True), ("0", False), ("yes", True)):
        monkeypatch.setenv("NNBOOK_PROGRESS", word)
        assert configspec.env("NNBOOK_PROGRESS") is flag


def test_every_variable_in_use_is_in_the_table():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    used = set()
    for path in [*(root / "code").rglob("*.py"), *(root / "tests").glob("*.py"),
                 root / "Makefile"]:
        used |= set(re.findall(r"\bNNBOOK_[A-Z_]+\b", path.read_text()))
    assert used - set(configspec.ENV) == set()
    assert json.dumps(sorted(configspec.ENV))  # (printed by `python -m nnbook list --settings`)
