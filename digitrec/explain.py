"""A look inside the network: activation maps of each convolutional block, and a saliency map.

Read from the loaded network's second signature (no second copy of the weights); the
main prediction path never calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from digitrec.constants import IMAGE_SIZE, PIXEL_MAX

GRID = 4  # each block is shown as a GRID x GRID mosaic of its most active channels
TILE = 56  # pixels per channel tile


@dataclass(frozen=True)
class Explanation:
    digit: str
    blocks: list[tuple[str, np.ndarray]]  # (caption, uint8 mosaic) per convolutional block
    gradient: np.ndarray  # (28, 28) |d p(digit) / d pixel|
    saliency: np.ndarray  # uint8 RGB heatmap of the gradient over the input


class Explainer:
    """Activation and gradient views of a :class:`digitrec.Recognizer`'s network: the ``inside``
    signature of its graph (:mod:`digitrec.graph`), on LiteRT or in TensorFlow as it runs."""

    def __init__(self, recognizer):
        self.recognizer = recognizer

    def explain(self, image) -> Explanation:
        """Normalize ``image`` like every prediction does, then show what each block and each pixel did."""
        result = self.recognizer.recognize(image)
        maps, gradient = self.recognizer.network.inside(result.input[None, ..., None].astype(np.float32))
        blocks = [(f"block {i + 1}: {act.shape}", _mosaic(act)) for i, act in enumerate(maps)]
        gradient = np.abs(gradient)
        return Explanation(result.digit, blocks, gradient, _heatmap(result.input, gradient))


def _mosaic(act: np.ndarray) -> np.ndarray:
    strongest = np.argsort(act.mean(axis=(0, 1)))[::-1][: GRID * GRID]
    tiles = []
    for c in strongest:
        a = act[..., c]
        a = (a - a.min()) / (np.ptp(a) or 1.0)
        tiles.append(
            np.asarray(Image.fromarray(np.uint8(a * PIXEL_MAX)).resize((TILE, TILE), Image.Resampling.NEAREST))
        )
    tiles += [np.zeros((TILE, TILE), np.uint8)] * (GRID * GRID - len(tiles))
    rows = [np.hstack(tiles[r * GRID : (r + 1) * GRID]) for r in range(GRID)]
    return np.vstack(rows)


def _heatmap(x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    # Red where the gradient is large, over the ink in grey.
    g = grad / (grad.max() or 1.0)
    rgb = np.stack([np.maximum(g, x * 0.35), x * 0.35, x * 0.35], axis=-1)
    img = Image.fromarray(np.uint8(np.clip(rgb, 0, 1) * PIXEL_MAX))
    return np.asarray(img.resize((IMAGE_SIZE * 8, IMAGE_SIZE * 8), Image.Resampling.NEAREST))
