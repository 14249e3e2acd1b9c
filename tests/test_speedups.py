"""The trainer's fast twin (nnbook.speedups): the same function as the teaching code."""

import pytest
import torch
from torch.nn import functional as F

from nnbook import speedups
from nnbook.models import CNN, GapCNN, WideCNN, build_cnn
from nnbook.train import TrainConfig, fit, set_seed


def _masks_forward(model, x, masks):
    """pytorch/examples' forward written out, each dropout a given 0/1 mask (scaled
    first, then multiplied, as torch's own dropout does)."""
    x = F.max_pool2d(F.relu(model.conv2(F.relu(model.conv1(x)))), 2)
    if model.extra_pool:
        x = F.max_pool2d(x, 2)
    x = x * (masks[0] / (1 - model.dropout1.p))
    x = F.relu(model.fc1(torch.flatten(x, 1)))
    x = x * (masks[1] / (1 - model.dropout2.p))
    return model.fc2(x)


def _run(forward, model, x):
    model.zero_grad()
    out = forward(x)
    out.square().sum().backward()
    return out.detach(), [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("extra_pool", [False, True])
def test_twin_computes_the_teaching_forward_bit_for_bit(channels_last, extra_pool):
    """In training mode, with the twin's own masks handed to the written-out forward:
    identical outputs and gradients (so the layout-keeping gradient changes nothing)."""
    set_seed(0)
    model = CNN(extra_pool=extra_pool).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    x = torch.randn(8, 1, 28, 28)
    x[:, :, :10] = -0.81  # a flat background: ties in the pooling windows
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with speedups.swapped_in(model):
        assert type(model.dropout1) is speedups.Dropout
        torch.manual_seed(1)
        fast = _run(model, model, x)
    # the same masks again: the same seed gives the same bytes
    torch.manual_seed(1)
    pooled = 12 if not extra_pool else 6
    like = torch.empty(8, 64, pooled, pooled)
    if channels_last:
        like = like.contiguous(memory_format=torch.channels_last)
    b1 = speedups.random_bytes_like(like)
    b2 = speedups.random_bytes_like(torch.empty(8, 128))
    masks = [(b1 >= 64).float(), (b2 >= 128).float()]
    plain = _run(lambda t: _masks_forward(model, t, masks), model, x)
    assert torch.equal(fast[0], plain[0])
    assert all(torch.equal(a, b) for a, b in zip(fast[1], plain[1], strict=True))


@pytest.mark.parametrize("make", [CNN, GapCNN, WideCNN, lambda: build_cnn("lecture", 2)])
def test_twin_in_eval_mode_is_the_teaching_model(make):
    set_seed(0)
    model = make().eval()
    x = torch.randn(4, 1, 28, 28)
    plain = _run(model, model, x)
    with speedups.swapped_in(model):
        fast = _run(model, model, x)
    assert torch.equal(fast[0], plain[0])
    assert all(torch.equal(a, b) for a, b in zip(fast[1], plain[1], strict=True))


def test_fit_trains_the_twin_and_hands_back_the_teaching_model():
    X, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    model = build_cnn("lecture", 2)  # nested: the shift layer holds the CNN
    originals = (model.net.dropout1, model.net.dropout2)
    seen = []
    fit(model, X, y, TrainConfig(num_epochs=1, batch_size=32, max_steps=2),
        callback=lambda step, m: seen.append(type(m.net.dropout1)))
    assert seen == [speedups.Dropout, speedups.Dropout]
    assert (model.net.dropout1, model.net.dropout2) == originals
    assert model.net.dropout1.training  # the mode training left
    with pytest.raises(RuntimeError):  # restored when training fails, too
        fit(model, X, y, TrainConfig(num_epochs=1, batch_size=32),
            callback=lambda step, m: (_ for _ in ()).throw(RuntimeError("stop")))
    assert model.net.dropout1 is originals[0]


def test_dropout_masks_have_the_stated_distribution():
    x = torch.ones(64, 64, 12, 12).contiguous(memory_format=torch.channels_last)
    for p in (0.25, 0.5):
        layer = speedups.Dropout(p)
        out = layer(x)
        zeros = (out == 0).float().mean().item()
        n = x.numel()
        assert abs(zeros - p) < 5 * (p * (1 - p) / n) ** 0.5  # 5 standard errors
        assert out.unique().tolist() == [0.0, pytest.approx(1 / (1 - p))]
        assert out.is_contiguous(memory_format=torch.channels_last)
        torch.manual_seed(3)
        a = layer(x)
        torch.manual_seed(3)
        assert torch.equal(a, layer(x))  # seeded
        layer.eval()
        assert torch.equal(layer(x), x)
    # neighbouring elements are not correlated
    m = (speedups.Dropout(0.5)(torch.ones(200_000)) > 0).float()
    assert abs(torch.corrcoef(torch.stack([m[:-1], m[1:]]))[0, 1].item()) < 0.02
    # p without an exact byte threshold: torch's own dropout
    assert abs((speedups.Dropout(0.3)(torch.ones(100_000)) == 0).float().mean().item()
               - 0.3) < 0.01
    # the gradient is the mask, scaled
    x = torch.randn(1000, requires_grad=True)
    out = speedups.Dropout(0.25)(x)
    out.sum().backward()
    assert torch.equal(x.grad, (out != 0).float() / 0.75)


def test_gradient_through_flatten_keeps_the_channels_last_layout():
    """What saves the pooling backward its layout conversions."""
    for layer, kept in ((speedups.Dropout(0.25), True), (torch.nn.Dropout(0.25), False)):
        x = torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
        x.requires_grad_()
        mid = x * 1  # a channels-last intermediate, as a pooling output is
        out = torch.flatten(layer(mid), 1)
        grads = []
        mid.register_hook(grads.append)
        out.backward(torch.ones_like(out))
        assert grads[0].is_contiguous(memory_format=torch.channels_last) is kept
