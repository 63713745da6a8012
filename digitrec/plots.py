"""PNG figures drawn with Pillow: the confusion matrix and the training curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from digitrec.constants import CLASS_NAMES

CELL = 44
COLOURS = {"train": (31, 119, 180), "validation": (255, 127, 14)}


def confusion_matrix_png(cm: np.ndarray, path: Path) -> None:
    """Rows = true digit, columns = predicted digit; off-diagonal errors in red, shaded by count."""
    n = len(cm)
    margin = 40
    img = Image.new("RGB", (margin + n * CELL + 10, margin + n * CELL + 30), "white")
    draw = ImageDraw.Draw(img)
    worst = max(int((cm - np.diag(np.diag(cm))).max()), 1)
    for r in range(n):
        for c in range(n):
            x, y = margin + c * CELL, margin + r * CELL
            value = int(cm[r, c])
            if r == c:
                fill = (200, 230, 200)
            else:
                shade = int(255 - 180 * min(value / worst, 1.0)) if value else 255
                fill = (255, shade, shade)
            draw.rectangle([x, y, x + CELL - 1, y + CELL - 1], fill=fill, outline=(220, 220, 220))
            draw.text((x + CELL / 2, y + CELL / 2), str(value), fill="black", anchor="mm")
        draw.text((margin / 2, margin + r * CELL + CELL / 2), CLASS_NAMES[r], fill="black", anchor="mm")
        draw.text((margin + r * CELL + CELL / 2, margin / 2), CLASS_NAMES[r], fill="black", anchor="mm")
    draw.text((margin, margin + n * CELL + 15), "rows: true digit, columns: predicted", fill="black", anchor="lm")
    img.save(path)


def _panel(draw, box, series: dict[str, list[float]], title: str) -> None:
    x0, y0, x1, y1 = box
    values = [v for vals in series.values() for v in vals]
    lo, hi = min(values), max(values)
    hi = hi if hi > lo else lo + 1
    draw.rectangle(box, outline="black")
    draw.text(((x0 + x1) / 2, y0 - 12), title, fill="black", anchor="mm")
    draw.text((x0 - 4, y0), f"{hi:.4g}", fill="black", anchor="rt")
    draw.text((x0 - 4, y1), f"{lo:.4g}", fill="black", anchor="rb")
    for i, (name, vals) in enumerate(series.items()):
        n = max(len(vals) - 1, 1)
        pts = [(x0 + (x1 - x0) * k / n, y1 - (y1 - y0) * (v - lo) / (hi - lo)) for k, v in enumerate(vals)]
        draw.line(pts, fill=COLOURS[name], width=2)
        draw.text((x1 - 6, y0 + 8 + 14 * i), name, fill=COLOURS[name], anchor="rt")
    draw.text(((x0 + x1) / 2, y1 + 12), "epoch", fill="black", anchor="mm")


def training_curves_png(history: dict[str, list[float]], path: Path) -> None:
    """Accuracy and loss per epoch, training and validation, side by side."""
    img = Image.new("RGB", (860, 340), "white")
    draw = ImageDraw.Draw(img)
    for i, metric in enumerate(("accuracy", "loss")):
        series = {"train": history[metric], "validation": history[f"val_{metric}"]}
        _panel(draw, (60 + i * 420, 40, 420 + i * 420, 300), series, metric)
    img.save(path)
