"""The networks of the book. Every model returns logits (no softmax inside).

- :class:`MLP`: fully connected, f_k = σ(W_k f_{k-1} + b_k), no activation on the
  last layer (chapter "Neural networks");
- :class:`DeepMLP`: a plain or residual stack of equal-width layers,
  residual: f_k = f_{k-1} + W_{k,1} σ(W_{k,2} f_{k-1} + b_k) (chapter "ResNet");
- :class:`CNN`: the pytorch/examples MNIST network of the lecture (1,199,882
  parameters), optionally with an extra pooling stage (chapter "CNNs on MNIST").
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .configspec import CNN_ARCHS
from .errors import ConfigError

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def activation(name: str) -> nn.Module:
    """The activation module called ``name`` (relu, tanh or sigmoid)."""
    if name not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}: choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def _check_widths(widths) -> list[int]:
    widths = list(widths)
    if len(widths) < 2 or any(not isinstance(w, int) or w <= 0 for w in widths):
        raise ConfigError(f"widths must be two or more positive integers, got {widths}")
    return widths


class MLP(nn.Module):
    """Fully connected network with layer widths ``widths`` (input first, output last).

    ``MLP([784, 10, 10])`` is the lecture's 2-layer MNIST network with 10 hidden
    nodes. Inputs of any shape are flattened per sample.
    """

    def __init__(self, widths, activation_name: str = "relu"):
        super().__init__()
        widths = _check_widths(widths)
        activation(activation_name)  # validate the name even for a single layer
        self.widths = widths
        layers: list[nn.Module] = []
        for k, (w_in, w_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers.append(nn.Linear(w_in, w_out))
            if k < len(widths) - 2:
                layers.append(activation(activation_name))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class ResidualBlock(nn.Module):
    """f_k = f_{k-1} + W_{k,1} σ(W_{k,2} f_{k-1} + b_k)."""

    def __init__(self, width: int, activation_name: str = "relu"):
        super().__init__()
        self.inner = nn.Linear(width, width)             # W_{k,2}, b_k
        self.outer = nn.Linear(width, width, bias=False)  # W_{k,1}
        self.act = activation(activation_name)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return f + self.outer(self.act(self.inner(f)))


class PlainBlock(nn.Module):
    """f_k = σ(W_k f_{k-1} + b_k)."""

    def __init__(self, width: int, activation_name: str = "relu"):
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.act = activation(activation_name)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.act(self.linear(f))


class DeepMLP(nn.Module):
    """``depth`` hidden blocks of width ``width``, plain or residual, between an
    input layer and an output layer; used to compare depth with and without
    skip connections."""

    def __init__(self, in_features: int, width: int, depth: int, out_features: int,
                 residual: bool = False, activation_name: str = "relu"):
        super().__init__()
        _check_widths([in_features, width, out_features])
        if not isinstance(depth, int) or depth < 1:
            raise ConfigError(f"depth must be a positive integer, got {depth!r}")
        block = ResidualBlock if residual else PlainBlock
        self.residual = residual
        self.inp = nn.Sequential(nn.Linear(in_features, width), activation(activation_name))
        self.blocks = nn.ModuleList(block(width, activation_name) for _ in range(depth))
        self.out = nn.Linear(width, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.inp(x.flatten(1))
        for blk in self.blocks:
            f = blk(f)
        return self.out(f)


def typical_cnn() -> nn.Sequential:
    """A typical small CNN for 28×28 grey images: convolution and pooling
    twice, then two fully connected layers."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(),    # 1×28×28 → 32×26×26
        nn.MaxPool2d(2),                   # → 32×13×13
        nn.Conv2d(32, 64, 3), nn.ReLU(),   # → 64×11×11
        nn.MaxPool2d(2),                   # → 64×5×5 (11/2 rounds down)
        nn.Flatten(),                      # → 1,600 numbers
        nn.Linear(64 * 5 * 5, 128), nn.ReLU(),
        nn.Linear(128, 10),                # one output per class
    )


class CNN(nn.Module):
    """The lecture's CNN (pytorch/examples' MNIST net).

    conv 1→32 (3x3) → ReLU → conv 32→64 (3x3) → ReLU → max-pool 2 →
    dropout 0.25 → flatten (64·12·12 = 9216) → linear 9216→128 → ReLU →
    dropout 0.5 → linear 128→10. With ``extra_pool=True`` a second 2x2
    max-pool follows the first (64·6·6 = 2304 features), the variant that
    tests "more pooling, more translation invariance".

    Written as pytorch/examples writes it. While it trains,
    :func:`nnbook.train.fit` swaps in faster dropout layers that compute
    the same function (:mod:`nnbook.speedups`).
    """

    def __init__(self, extra_pool: bool = False, num_classes: int = 10):
        super().__init__()
        self.extra_pool = extra_pool
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        features = 64 * (6 * 6 if extra_pool else 12 * 12)
        self.fc1 = nn.Linear(features, 128)
        self.fc2 = nn.Linear(128, num_classes)

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The activations after each convolution (for the channel figures)."""
        a1 = F.relu(self.conv1(x))
        a2 = F.relu(self.conv2(a1))
        return {"conv1": a1, "conv2": a2}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        if self.extra_pool:
            x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return self.fc2(x)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ----------------------------------------------------------------------------- variants
# Used by the chapters "Curing shift sensitivity" and "Reproducing the lecture".


class RandomShift(nn.Module):
    """Shift augmentation as a layer: in training mode each image is moved
    by its own random offset of up to ``max_shift`` pixels along each axis
    (zero fill with ``background``, the normalised black); in eval mode it
    does nothing."""

    def __init__(self, max_shift: int, background: float = 0.0):
        super().__init__()
        if not isinstance(max_shift, int) or not 0 <= max_shift < 14:
            raise ConfigError("augment_shift must be an integer from 0 to "
                              f"13, got {max_shift!r}")
        self.max_shift, self.background = max_shift, background

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.max_shift == 0:
            return x
        from .shifts import random_shift

        return random_shift(x, self.max_shift, self.background)


class Augmented(nn.Module):
    """``net`` behind a :class:`RandomShift` layer (``augment`` holds the layer)."""

    def __init__(self, net: nn.Module, max_shift: int, background: float = 0.0):
        super().__init__()
        self.augment = RandomShift(max_shift, background)
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.augment(x))


class GapCNN(nn.Module):
    """A CNN that ends in *global average pooling* instead of flattening.

    conv 1→32 → BN → ReLU → conv 32→64 → BN → ReLU → max-pool 2 (the
    lecture's CNN with batch normalisation) → conv 64→128 → BN → ReLU →
    max-pool 2 → conv 128→128 → BN → ReLU → mean over all 3×3 positions
    of each channel (128 features) → dropout 0.5 → linear 128→10. The
    classifier sees how strongly each channel responded, not where. The
    two further convolutions widen each feature's receptive field from 6
    to 20 pixels, so that a channel can respond to a digit-sized shape:
    averaged over positions, 6-pixel features only say which strokes
    occur.
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv3 = nn.Conv2d(64, 128, 3, 1)
        self.bn3 = nn.BatchNorm2d(128)
        self.conv4 = nn.Conv2d(128, 128, 3, 1)
        self.bn4 = nn.BatchNorm2d(128)
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.max_pool2d(x, 2)
        x = F.relu(self.bn3(self.conv3(x)))
        x = F.max_pool2d(x, 2)
        x = F.relu(self.bn4(self.conv4(x)))
        x = x.mean(dim=(2, 3))
        x = self.dropout(x)
        return self.fc(x)


class WideCNN(nn.Module):
    """The lecture's CNN deepened and widened, at about 1.6 times its arithmetic.

    conv 1→32 → ReLU → conv 32→64 → ReLU → max-pool 2 (as the lecture's) → a
    further block conv 64→128 → ReLU → max-pool 2 (128·5·5 = 3,200 features) →
    dropout 0.25 → linear 3200→256 → ReLU → dropout 0.5 → linear 256→10. Tests
    the lecture's remark that a larger network would reach about 99 % on
    Fashion-MNIST.
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.conv3 = nn.Conv2d(64, 128, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(128 * 5 * 5, 256)
        self.fc2 = nn.Linear(256, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = F.relu(self.conv3(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return self.fc2(x)


#: The CNN architectures an experiment can ask for (config key ``arch``; defined with
#: the other settings' choices in :mod:`nnbook.configspec`).
ARCHS = CNN_ARCHS


def build_cnn(arch: str = "lecture", augment_shift: int = 0,
              background: float = 0.0) -> nn.Module:
    """The CNN called ``arch`` (:data:`ARCHS`), behind a shift-augmentation layer when
    ``augment_shift`` > 0."""
    nets = {"lecture": CNN, "extra-pool": lambda: CNN(extra_pool=True), "gap": GapCNN,
            "wide": WideCNN}
    if arch not in nets:
        raise ConfigError(f"unknown CNN architecture {arch!r}: choose one of {', '.join(ARCHS)}")
    net = nets[arch]()
    return Augmented(net, augment_shift, background) if augment_shift else net


def flops_per_image(model: nn.Module, in_shape=(1, 28, 28)) -> int:
    """Multiply-adds × 2 of one forward pass through the convolution and linear layers."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            total += 2 * output[0].numel() * k
        elif isinstance(module, nn.Linear):
            total += 2 * module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *in_shape))
    finally:
        for h in handles:
            h.remove()
    return total
