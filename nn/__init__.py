"""``nn``: plaintext training of homomorphic-encryption-friendly neural networks.

Layers with forward/backward passes in numpy, SGD and Adam, cross-entropy and
knowledge distillation, and the HE-friendly conversion methodology of Baruch
et al. (2022): ReLU/max-pool teacher -> trainable quadratic activations and
average pooling -> distillation.  Every model reports its CKKS multiplicative
depth.  Training is ``fit`` plus Keras-style callbacks (``EarlyStopping``,
``LearningRateSchedule``, ``GradientClipping``, ...).  See
``docs/nn/he_friendly_training.md`` and ``tutorials/he_friendly_training.py``.
"""

from nn import datasets  # nn.datasets.load_mnist(), load_digits(), ...: the shipped data
from nn.activations import (
    GELU,
    Argmax,
    PolyActivation,
    QuadraticActivation,
    ReLU,
    ReLUToQuadratic,
    Sigmoid,
    SiLU,
    SoftArgmax,
    Square,
    Tanh,
)
from nn.convert import (
    TransitionSchedule,
    convert_and_distill,
    finalize,
    fit_relu_quadratic,
    he_friendly_copy,
)
from nn.errors import (
    ConfigError,
    DatasetError,
    IDXFormatError,
    ModelFormatError,
    NNError,
    NotHEFriendlyError,
    ShapeError,
)
from nn.layers import AvgPool2d, Conv2d, Flatten, Layer, Linear, MaxPool2d
from nn.losses import CrossEntropy, DistillationLoss
from nn.metrics import accuracy, f1_score
from nn.model import Sequential
from nn.optim import SGD, Adam
from nn.train import (
    Callback,
    EarlyStopping,
    GradientClipping,
    History,
    LambdaCallback,
    LearningRateSchedule,
    ProgressLogger,
    evaluate,
    fit,
)

#: The release, the same as ckks.__version__ and pyproject.toml (one distribution; tests/test_version.py).
__version__ = "0.2.0"

__all__ = [
    "SGD",
    "Adam",
    "Argmax",
    "AvgPool2d",
    "Callback",
    "ConfigError",
    "Conv2d",
    "CrossEntropy",
    "DatasetError",
    "DistillationLoss",
    "EarlyStopping",
    "Flatten",
    "GELU",
    "GradientClipping",
    "History",
    "IDXFormatError",
    "LambdaCallback",
    "Layer",
    "LearningRateSchedule",
    "Linear",
    "MaxPool2d",
    "ModelFormatError",
    "NNError",
    "NotHEFriendlyError",
    "PolyActivation",
    "ProgressLogger",
    "QuadraticActivation",
    "ReLU",
    "ReLUToQuadratic",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "ShapeError",
    "SoftArgmax",
    "Square",
    "Tanh",
    "TransitionSchedule",
    "accuracy",
    "convert_and_distill",
    "datasets",
    "evaluate",
    "f1_score",
    "finalize",
    "fit",
    "fit_relu_quadratic",
    "he_friendly_copy",
]
