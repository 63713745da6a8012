"""The Inside view: activation maps and saliency come from the loaded model and point at the ink."""

from __future__ import annotations

import numpy as np

from digitrec.explain import Explainer


def test_explanation_has_one_mosaic_per_block_and_saliency_on_the_ink(recognizer, mnist_sample):
    x, y = mnist_sample
    e = Explainer(recognizer).explain(x[0])
    assert e.digit == str(y[0])
    assert len(e.blocks) == 3 and all(m.dtype == np.uint8 and m.ndim == 2 for _, m in e.blocks)
    assert e.saliency.shape == (224, 224, 3)
    # The gradient concentrates on the digit: its box (plus 2 px) holds more of it than its share of the area.
    rows, cols = np.flatnonzero(x[0].any(1)), np.flatnonzero(x[0].any(0))
    box = np.zeros((28, 28), bool)
    box[max(rows[0] - 2, 0) : rows[-1] + 3, max(cols[0] - 2, 0) : cols[-1] + 3] = True
    assert e.gradient[box].sum() / e.gradient.sum() > box.mean() + 0.05
