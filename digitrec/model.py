"""The CNN and the simpler baselines, built with Keras 3.

Every model takes the preprocessed ``(28, 28, 1)`` float image in ``[0, 1]`` (white ink
on black, as :func:`digitrec.preprocess.normalize` returns it) and standardizes it
inside the network, so no caller can forget the scaling.
"""

from __future__ import annotations

import keras
from keras import layers

from digitrec.constants import IMAGE_SIZE, NUM_CLASSES

# MNIST pixel mean and standard deviation on the [0, 1] scale.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

ARCHITECTURES = ("resnet", "cnn2", "mlp")


def _conv_bn(x, filters: int, kernel: int = 3, strides: int = 1, activation: bool = True):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x) if activation else x


def _residual(x, filters: int):
    shortcut = x
    y = _conv_bn(x, filters)
    y = _conv_bn(y, filters, activation=False)
    return layers.Activation("relu")(layers.Add()([shortcut, y]))


def _inputs():
    inputs = keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 1), name="image")
    x = layers.Rescaling(1.0 / MNIST_STD, offset=-MNIST_MEAN / MNIST_STD, name="standardize")(inputs)
    return inputs, x


def build_resnet(width: int = 32, dropout: float = 0.3) -> keras.Model:
    """The product model: three stages of conv + BN + residual blocks, global pooling, softmax."""
    inputs, x = _inputs()
    x = _conv_bn(x, width)  # 28x28
    x = _conv_bn(x, width)
    x = layers.MaxPooling2D()(x)  # 14x14
    x = _conv_bn(x, 2 * width)
    x = _residual(x, 2 * width)
    x = layers.MaxPooling2D()(x)  # 7x7
    x = _conv_bn(x, 4 * width)
    x = _residual(x, 4 * width)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digitrec_resnet")


def build_cnn2() -> keras.Model:
    """Baseline: two conv layers and a 128-unit dense layer (the classic Keras example)."""
    inputs, x = _inputs()
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digitrec_cnn2")


def build_mlp() -> keras.Model:
    """Baseline: the 784-250-10 sigmoid network."""
    inputs, x = _inputs()
    x = layers.Flatten()(x)
    x = layers.Dense(250, activation="sigmoid")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digitrec_mlp")


def build_model(arch: str = "resnet", **kwargs) -> keras.Model:
    """Build an untrained model by architecture name (one of :data:`ARCHITECTURES`)."""
    builders = {"resnet": build_resnet, "cnn2": build_cnn2, "mlp": build_mlp}
    if arch not in builders:
        raise ValueError(f"unknown architecture {arch!r}: expected one of {', '.join(ARCHITECTURES)}")
    return builders[arch](**kwargs)
