"""Drawings made with PIL strokes, the way a person draws on a canvas."""

from __future__ import annotations

from PIL import Image, ImageDraw


def draw_strokes(strokes, size=(400, 400), width=24, ink="black", paper="white", mode="RGB") -> Image.Image:
    """A drawing made of polyline strokes given in 0-1 coordinates, like a person's pen strokes."""
    img = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(img)
    w, h = size
    for stroke in strokes:
        pts = [(x * w, y * h) for x, y in stroke]
        draw.line(pts, fill=ink, width=width, joint="curve")
        for x, y in (pts[0], pts[-1]):
            draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=ink)
    return img


# Hand-made strokes for a few digits, including other countries' styles.
STROKES = {
    "1_flag": [[(0.35, 0.3), (0.55, 0.12), (0.55, 0.88)]],
    "1_plain": [[(0.5, 0.12), (0.5, 0.88)]],
    "7_crossed": [[(0.25, 0.15), (0.75, 0.15), (0.45, 0.88)], [(0.35, 0.5), (0.7, 0.5)]],
    "7_plain": [[(0.25, 0.15), (0.75, 0.15), (0.45, 0.88)]],
    "0_slashed": [[(0.5, 0.1), (0.3, 0.2), (0.25, 0.5), (0.3, 0.8), (0.5, 0.9), (0.7, 0.8), (0.75, 0.5),
                   (0.7, 0.2), (0.5, 0.1)], [(0.65, 0.2), (0.35, 0.8)]],
    "4_open": [[(0.6, 0.1), (0.25, 0.6), (0.75, 0.6)], [(0.6, 0.3), (0.6, 0.9)]],
    "2": [[(0.28, 0.3), (0.4, 0.15), (0.6, 0.13), (0.72, 0.27), (0.65, 0.45), (0.28, 0.85), (0.75, 0.85)]],
    "3": [[(0.3, 0.18), (0.5, 0.1), (0.68, 0.2), (0.65, 0.38), (0.45, 0.48), (0.7, 0.6), (0.7, 0.8),
           (0.5, 0.9), (0.28, 0.82)]],
}
