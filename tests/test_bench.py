"""The speed benchmark (benchmarks/bench.py): its reference network, arithmetic count and table."""

from pathlib import Path

import bench
import pytest
import torch

from nnbook.models import CNN, flops_per_image
from nnbook.train import set_seed


def test_reference_net_is_the_teaching_cnn_with_log_softmax():
    """Same seed, same initial weights; its outputs are log_softmax of CNN's; torch's own
    dropout, as pytorch/examples."""
    set_seed(5)
    ours = CNN().eval()
    set_seed(5)
    ref = bench.NETS["cnn"][0]().eval()
    assert all(torch.equal(a, b) for a, b in zip(ours.state_dict().values(),
                                                 ref.state_dict().values(), strict=True))
    x = torch.randn(4, 1, 28, 28)
    assert torch.allclose(ref(x), torch.log_softmax(ours(x), 1), atol=1e-6)
    assert type(ref.net.dropout1) is torch.nn.Dropout


def test_training_flops_from_the_layer_shapes():
    f = bench.training_flops(CNN())
    conv1, conv2 = 2 * 32 * 26 * 26 * 9, 2 * 64 * 24 * 24 * 9 * 32
    fc1, fc2 = 2 * 9216 * 128, 2 * 128 * 10
    assert f["layers"] == [conv1, conv2, fc1, fc2]
    assert f["forward"] == conv1 + conv2 + fc1 + fc2 == flops_per_image(CNN())
    assert f["training"] == 3 * f["forward"] - conv1 == 71_565_312  # the "about 72"


def test_others_cpu_share_is_a_fraction():
    share, out = bench.others_cpu_share(lambda: sum(range(10**5)))
    assert out == sum(range(10**5)) and 0 <= share <= 1


def _summary(x):
    return {"median": x, "min": x * 0.9, "max": x * 1.1, "all": [x]}


def test_table_shows_medians_spreads_precision_and_the_limit():
    train = {"rounds": 3, "steps_per_round": 60, "nnbook_precision": "fp32", "nnbook_threads": 2,
             "reference_s_per_epoch": _summary(40.0), "nnbook_s_per_epoch": _summary(20.0),
             "speedup": 2.0, "speedup_per_round": {"median": 2.0, "min": 1.9, "max": 2.1}}
    acc = {"steps": 300, "seeds": 3, "reference_test_acc": 0.85, "reference_test_acc_sd": 0.004,
           "nnbook_test_acc": 0.851, "nnbook_test_acc_sd": 0.005}
    r = {"machine": {"cpu": "CPU", "cores": 2, "torch": "2", "device": "cpu",
                     "cpu_capability": "AVX2", "onednn_max_isa": "AVX2", "bf16_native": False},
         "data": "Fashion-MNIST", "precision_asked": "fp32", "cnn_train": train,
         "mlp_train": train, "cnn_accuracy": acc,
         "cnn_eval": {"reference_images_per_s": _summary(1000.0), "shifted_sets": 8,
                      "nnbook_images_per_s": _summary(7000.0), "speedup": 7.0,
                      "nnbook_shifted_images_per_s": _summary(7500.0)},
         "others_cpu_share": _summary(0.01),
         "limit": {"matmul_n": 2048, "matmul_gflops": _summary(200.0),
                   "cnn_flops_per_image": bench.training_flops(CNN()),
                   "cnn_limit_s_per_epoch": 21.5, "reference_fraction": _summary(0.5),
                   "nnbook_fraction": _summary(0.8)}}
    text = bench.format_table(r)
    assert "precision: nnbook fp32 (setting: fp32), reference fp32" in text
    assert "oneDNN limited to AVX2" in text and "native bf16: no" in text
    assert "40.0 [36.0-44.0]" in text and "2.00x [1.90-2.10]" in text
    assert "85.00 ± 0.40 %" in text
    assert "200 [180-220] GFLOP/s" in text and "71.6 MFLOP per image" in text
    assert "nnbook 80 [72-88] %" in text


def test_bad_options_are_one_line_errors():
    from nnbook.errors import ConfigError

    with pytest.raises(ConfigError):
        bench.main(["--accuracy-seeds", "0"])
    with pytest.raises(ConfigError):
        bench.main(["--precision", "fp16"])


def test_compare_runs_both_recipes_in_their_own_processes():
    from nnbook import data

    try:
        ds = data.fashion_mnist(download=False)
    except data.DataError:
        pytest.skip("Fashion-MNIST is not on this machine")
    r = bench.compare(ds, bench.torchvision_root(ds), steps=2, rounds=1, accuracy_steps=2,
                      accuracy_seeds=1, precision="fp32", shifted_sets=1)
    assert r["cnn_train"]["nnbook_precision"] == "fp32"
    assert r["cnn_train"]["speedup"] > 0 and len(r["limit"]["matmul_gflops"]["all"]) == 1
    assert 0 <= r["cnn_accuracy"]["nnbook_test_acc"] <= 1
    assert r["cnn_eval"]["nnbook_shifted_images_per_s"]["median"] > 0
    assert 0 < r["limit"]["nnbook_fraction"]["median"]


def test_the_bench_command_is_a_thin_entry_point(monkeypatch, capsys, tmp_path):
    """``python -m nnbook bench`` runs benchmarks/bench.py of the checkout (the package holds
    no benchmark machinery); without a checkout it says so in one line."""
    import nnbook
    from nnbook import __main__ as cli

    assert not (Path(nnbook.__file__).parent / "bench.py").exists()
    assert cli.benchmarks() is bench
    monkeypatch.setattr(cli, "__file__", str(tmp_path / "site" / "nnbook" / "__main__.py"))
    assert cli.main(["bench", "--help"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "benchmarks/bench.py" in err and "clone" in err
