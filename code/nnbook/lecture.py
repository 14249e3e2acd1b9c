"""The lecture's claims, kept in one place as data (not results of this book).

The chapters compare their measured numbers with these, and the chapter
"Reproducing the lecture" gathers them all. Accuracies are fractions in [0, 1].
Shifts are in pixels; the lecture does not say in which direction (nor what fills
the uncovered border): the chapter "Reproducing the lecture" compares every reading.
"""

CLAIMS = {
    "mnist-mlp-10": {"what": "2-layer MLP, 10 hidden nodes, MNIST test accuracy",
                     "value": 0.93},
    "mnist-mlp-32": {"what": "2-layer MLP, 32 hidden nodes, MNIST test accuracy",
                     "value": 0.97},
    "mnist-mlp-shift-1": {"what": "2-layer MLP, test set shifted by 1 pixel", "value": 0.87},
    "mnist-mlp-shift-2": {"what": "2-layer MLP, test set shifted by 2 pixels", "value": 0.62},
    "mnist-cnn": {"what": "CNN on MNIST after 14 epochs", "value": 0.9904},
    "mnist-cnn-shift-1": {"what": "CNN on MNIST, 1-pixel shift", "value": 0.9807},
    "mnist-cnn-shift-2": {"what": "CNN on MNIST, 2-pixel shift", "value": 0.9206},
    "mnist-cnn-shift-3": {"what": "CNN on MNIST, 3-pixel shift", "value": 0.75},
    "fashion-cnn": {"what": "CNN on Fashion-MNIST after 14 epochs", "value": 0.9255},
    "fashion-cnn-shift-1": {"what": "CNN on Fashion-MNIST, 1-pixel shift", "value": 0.8973},
    "fashion-cnn-shift-2": {"what": "CNN on Fashion-MNIST, 2-pixel shift", "value": 0.7594},
    "fashion-cnn-shift-3": {"what": "CNN on Fashion-MNIST, 3-pixel shift", "value": 0.4738},
    "deeper-plain-worse": {"what": "deeper plain networks train worse than ResNets",
                           "value": None},
    "normalised-loss": {"what": "the normalised loss -f.y/|f| works equally well",
                        "value": None},
    "less-data-overfits": {"what": "less training data overfits more (60000/10000/1000/100)",
                           "value": None},
    "pooling-invariance": {"what": "more pooling gives more translation invariance",
                           "value": None},
    "cnn-shift-robust": {"what": "CNNs are more robust to shifts than 2-layer networks",
                         "value": None},
    "larger-network": {"what": "a larger network would reach around 99 % on Fashion-MNIST",
                       "value": 0.99},
}
#: Which hidden-layer size the lecture's shifted-MLP numbers (87 % / 62 %) refer to is
#: not stated; the book compares them with both networks.


def claim(name: str) -> float | None:
    """The lecture's value for ``name`` (see :data:`CLAIMS`)."""
    return CLAIMS[name]["value"]
