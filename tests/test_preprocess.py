"""The one path from a drawing to the model's input: MNIST's normalization, any input, clear errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from digitrec.constants import DIGIT_BOX, IMAGE_SIZE
from digitrec.errors import EmptyImageError, ImageTooLargeError, InvalidImageError
from digitrec.limits import MAX_PIXELS
from digitrec.preprocess import CENTRE, normalize
from digitrec.render import STROKES, STYLES, draw_strokes, paint, render_on_canvas, render_photo
from tests.conftest import sketch


def centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(x.shape)
    return float((ys * x).sum() / x.sum()), float((xs * x).sum() / x.sum())


def extent(x: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(x.any(1)), np.flatnonzero(x.any(0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def test_mnist_digits_are_a_fixed_point(mnist_sample):
    # MNIST digits were made by this recipe, so normalizing them again must change (almost) nothing.
    x, _ = mnist_sample
    for digit in x[:100]:
        out = normalize(digit)
        assert np.abs(out - digit / 255.0).mean() < 2e-3


@pytest.mark.parametrize("style", STYLES)
def test_canvas_output_has_mnist_geometry(mnist_sample, style):
    x, _ = mnist_sample
    rng = np.random.default_rng(0)
    for digit in x[::25]:
        out = normalize(render_on_canvas(digit, rng, style=style))
        assert out.shape == (IMAGE_SIZE, IMAGE_SIZE) and out.dtype == np.float32
        assert out.max() == pytest.approx(1.0) and out.min() >= 0
        cy, cx = centre_of_mass(out)
        assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5
        assert max(extent(out)) == DIGIT_BOX


def test_polarity_and_alpha_do_not_change_the_result(mnist_sample):
    x, _ = mnist_sample
    mask = Image.fromarray(x[3]).resize((560, 560), Image.Resampling.BICUBIC)
    outs = [normalize(paint(mask, style)) for style in STYLES]
    for out in outs[1:]:
        assert np.abs(out - outs[0]).max() < 0.02


def test_translation_does_not_change_the_result(mnist_sample):
    x, _ = mnist_sample
    mask = Image.fromarray(x[7]).resize((200, 200), Image.Resampling.BICUBIC)
    outs = []
    for pos in [(0, 0), (350, 10), (120, 390)]:
        canvas = Image.new("L", (600, 600), 0)
        canvas.paste(mask, pos)
        outs.append(normalize(paint(canvas, "black_on_white")))
    for out in outs[1:]:
        np.testing.assert_allclose(out, outs[0], atol=1e-5)


@pytest.mark.parametrize("pos", [(0, 0), (200, 100), (400, 400)])  # in a corner, inside, touching two edges
@pytest.mark.parametrize("ink_to_the_edge", [False, True])
def test_transparent_canvas_reads_like_the_same_drawing_on_paper(mnist_sample, pos, ink_to_the_edge):
    # Only the inked region of a transparent canvas is processed, and a border that no
    # stroke reaches is known to be paper; neither may matter.
    digit = Image.fromarray(mnist_sample[0][5]).resize((200, 200), Image.Resampling.BICUBIC)
    left, top, _, _ = digit.getbbox()
    shift = (left + 10, top + 10) if ink_to_the_edge else (0, 0)  # in the corner, the canvas cuts the digit
    mask = Image.new("L", (600, 600), 0)
    mask.paste(digit, (pos[0] - shift[0], pos[1] - shift[1]))
    assert (mask.getbbox()[0] == 0) == (ink_to_the_edge and pos == (0, 0))
    transparent = paint(mask, "transparent")
    on_paper = Image.alpha_composite(Image.new("RGBA", mask.size, "white"), transparent)
    np.testing.assert_allclose(normalize(transparent), normalize(on_paper), atol=1e-6)


def test_a_thin_one_stays_thin():
    out = normalize(draw_strokes(STROKES["1_plain"], size=(800, 800), width=12))
    height, width = extent(out)
    assert height == DIGIT_BOX and width <= 2


def test_any_canvas_size_from_small_scans_to_large_photos(mnist_sample):
    x, _ = mnist_sample
    for side in (16, 28, 100, 4000):
        img = Image.fromarray(x[0]).resize((side, side), Image.Resampling.BILINEAR)
        out = normalize(img)
        assert max(extent(out)) == DIGIT_BOX


def test_accepts_every_input_kind(tmp_path, mnist_sample):
    digit = mnist_sample[0][5]
    rgb = paint(Image.fromarray(digit).resize((280, 280)), "black_on_white")
    reference = normalize(rgb)
    path = tmp_path / "digit.png"
    rgb.save(path)
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=95)
    rgba = rgb.convert("RGBA")
    inputs = {
        "L": rgb.convert("L"),
        "RGBA opaque": rgba,
        "LA": rgb.convert("LA"),
        "P": rgb.convert("P"),
        "1-bit": rgb.convert("L").point(lambda v: 255 if v > 127 else 0).convert("1"),
        "uint8 HxW": np.asarray(rgb.convert("L")),
        "uint8 HxWx3": np.asarray(rgb),
        "uint8 HxWx4": np.asarray(rgba),
        "float HxWx1": np.asarray(rgb.convert("L"), np.float32)[..., None] / 255,
        "bool": np.asarray(rgb.convert("L")) < 128,
        "path": path,
        "str path": str(path),
        "png bytes": path.read_bytes(),
        "jpeg bytes": buf.getvalue(),
        "sketchpad composite": sketch(rgba),
        "sketchpad layers": {
            "background": Image.new("RGBA", rgb.size, "white"),
            "layers": [paint(Image.fromarray(digit).resize((280, 280)), "transparent")],
            "composite": None,
        },
        "sketchpad file dict": {"composite": {"path": str(path)}, "layers": [], "background": None},
    }
    for name, value in inputs.items():
        out = normalize(value)
        tolerance = 0.2 if name in ("1-bit", "bool", "jpeg bytes") else 0.02
        assert np.abs(out - reference).mean() < tolerance, name


@pytest.mark.parametrize(
    "blank",
    [
        Image.new("RGB", (800, 800), "white"),
        Image.new("L", (280, 280), 0),
        Image.new("RGBA", (800, 800), (0, 0, 0, 0)),
        Image.new("RGB", (300, 300), (120, 30, 200)),
        np.full((64, 64), 0.5, np.float32),
        {"background": Image.new("RGBA", (800, 800), "white"), "layers": [], "composite": None},
        sketch(),
    ],
    ids=["white", "black", "transparent", "purple", "grey array", "erased sketchpad", "no layers"],
)
def test_empty_input_raises_a_clear_error(blank):
    with pytest.raises(EmptyImageError, match="no digit found"):
        normalize(blank)


def test_stray_pixels_are_not_a_digit():
    img = Image.new("L", (800, 800), 255)
    for xy in [(10, 10), (400, 300), (700, 650)]:
        img.putpixel(xy, 0)
    with pytest.raises(EmptyImageError):
        normalize(img)


def test_faint_noise_on_paper_is_not_a_digit():
    rng = np.random.default_rng(1)
    paper = (235 + rng.integers(-8, 9, size=(400, 400))).astype(np.uint8)
    with pytest.raises(EmptyImageError):
        normalize(paper)


def test_huge_images_are_refused_before_decoding():
    buf = io.BytesIO()
    Image.new("1", (8000, 8000), 1).save(buf, format="PNG")  # tiny file, 64 MP when decoded
    assert buf.tell() < 100_000
    with pytest.raises(ImageTooLargeError, match="limit"):
        normalize(buf.getvalue())
    side = int(MAX_PIXELS**0.5) + 1
    with pytest.raises(ImageTooLargeError):
        normalize(Image.new("L", (side, side)))


@pytest.mark.parametrize(
    "bad, message",
    [
        (b"not an image at all", "not a readable image"),
        ("/nonexistent/digit.png", "cannot open"),
        (np.zeros((5, 5, 2), np.uint8), "shape"),
        (np.full((28, 28), np.nan), "NaN"),
        (42, "expected a PIL image"),
        ({"image": "x"}, "Sketchpad value"),
        ({"composite": None, "layers": "oops"}, "list"),
        ({"composite": {"url": "https://example.com/x.png"}}, "remote URL"),
    ],
)
def test_invalid_input_raises_a_clear_error(bad, message):
    with pytest.raises(InvalidImageError, match=message):
        normalize(bad)


def test_truncated_png_is_refused(mnist_sample):
    buf = io.BytesIO()
    Image.fromarray(mnist_sample[0][0]).resize((300, 300)).save(buf, format="PNG")
    with pytest.raises(InvalidImageError):
        normalize(buf.getvalue()[: buf.tell() // 2])


def _tight(digit: np.ndarray, scale: float, polarity: str) -> Image.Image:
    img = Image.fromarray(digit if polarity == "light_on_dark" else 255 - digit)
    img = img.crop(Image.fromarray(digit).getbbox())  # ink touches all four edges
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.BOX)


@pytest.mark.parametrize("polarity", ["light_on_dark", "dark_on_light"])
@pytest.mark.parametrize("scale", [0.8, 1, 3, 8])  # 16-20 px up to about 160 px
def test_a_tight_crop_reads_like_the_same_digit_with_a_margin(mnist_sample, recognizer, scale, polarity):
    # Ink on every edge: the border is not paper, so the paper's noise floor must not come from it.
    x, _y = mnist_sample
    refused, agree = 0, 0
    for digit in x[::4]:
        try:
            out = normalize(_tight(digit, scale, polarity))
        except EmptyImageError:
            refused += 1
            continue
        with_margin = normalize(digit)
        if scale == 1:  # the same pixels: at most a faint pixel's difference
            assert np.abs(out - with_margin).max() < 0.05
        agree += recognizer.probabilities(out[None]).argmax() == recognizer.probabilities(with_margin[None]).argmax()
    assert refused == 0
    assert agree >= len(x[::4]) - 1


# Two MNIST test ones (indices 4069 and 9274) cropped to their ink, column by column: four pixels
# wide, so their border is as much ink as paper.
THIN_ONES = [
    [
        [113, 216, 216, 216, 216, 216, 216, 216, 216, 216, 217, 216, 177, 123, 123, 123, 123, 123, 123, 157],
        [254, 253, 253, 253, 253, 253, 253, 253, 253, 253, 254, 253, 253, 253, 253, 253, 253, 253, 253, 253],
        [136, 254, 254, 254, 254, 254, 254, 254, 254, 254, 255, 254, 254, 254, 254, 254, 254, 254, 254, 254],
        [8, 42, 122, 122, 122, 122, 187, 180, 135, 122, 181, 215, 176, 122, 173, 215, 215, 215, 204, 122],
    ],
    [
        [255, 253, 253, 253, 253, 253, 232, 109, 110, 109, 31, 0, 0, 0, 16, 109, 110, 109, 94, 0],
        [180, 242, 252, 252, 252, 252, 252, 252, 253, 252, 227, 217, 218, 217, 222, 252, 253, 252, 247, 217],
        [0, 186, 215, 236, 252, 252, 252, 252, 253, 252, 252, 252, 253, 252, 252, 252, 253, 252, 252, 252],
        [0, 0, 0, 62, 108, 108, 108, 108, 108, 108, 108, 108, 170, 252, 252, 252, 253, 252, 252, 252],
    ],
]


@pytest.mark.parametrize("polarity", ["light_on_dark", "dark_on_light"])
@pytest.mark.parametrize("which", [0, 1])
def test_a_thin_one_cropped_to_its_ink_is_read_in_either_polarity(recognizer, which, polarity):
    crop = np.array(THIN_ONES[which], np.uint8).T
    img = Image.fromarray(crop if polarity == "light_on_dark" else 255 - crop)
    assert max(recognizer.predict(img).items(), key=lambda kv: kv[1])[0] == "1"


def test_a_tight_crop_of_a_transparent_drawing_reads_like_one_with_a_margin(mnist_sample):
    digit = Image.fromarray(mnist_sample[0][9]).resize((140, 140), Image.Resampling.BICUBIC)
    tight = paint(digit.crop(digit.getbbox()), "transparent")
    roomy = paint(digit, "transparent")
    np.testing.assert_allclose(normalize(tight), normalize(roomy), atol=1e-6)


def _photo_stored_with_orientation(img: Image.Image, orientation: int) -> bytes:
    """``img`` saved the way a phone stores it: pixels as the sensor saw them, and the EXIF tag to undo that."""
    stored = {
        1: lambda i: i,
        2: lambda i: i.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        3: lambda i: i.transpose(Image.Transpose.ROTATE_180),
        4: lambda i: i.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
        5: lambda i: i.transpose(Image.Transpose.TRANSPOSE),
        6: lambda i: i.transpose(Image.Transpose.ROTATE_90),
        7: lambda i: i.transpose(Image.Transpose.TRANSVERSE),
        8: lambda i: i.transpose(Image.Transpose.ROTATE_270),
    }
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    stored[orientation](img).save(buf, format="JPEG", quality=95, exif=exif)
    return buf.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_on_every_decoding_path(tmp_path, orientation):
    upright = draw_strokes(STROKES["7_plain"], size=(300, 400))
    reference = normalize(upright)
    data = _photo_stored_with_orientation(upright, orientation)
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    for value in (
        data,
        path,
        str(path),
        Image.open(path),
        {"composite": {"path": str(path)}},
        {"composite": None, "background": Image.open(path), "layers": []},
    ):
        assert np.abs(normalize(value) - reference).mean() < 0.03, (orientation, type(value).__name__)


@pytest.mark.parametrize("sigma", [1, 3, 6])
def test_sensor_noise_on_the_paper_leaves_the_digit_where_it_was(mnist_sample, sigma):
    # Noise on every paper pixel: the specks above the border's noise floor must not count as ink,
    # or the digit's box would stretch over the whole page.
    x, _y = mnist_sample
    rng = np.random.default_rng(sigma)
    for digit in x[::25]:
        clean = np.asarray(render_on_canvas(digit, rng, canvas=600, style="black_on_white").convert("L"), np.float32)
        noisy = np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 255).astype(np.uint8)
        assert np.abs(normalize(noisy) - normalize(clean.astype(np.uint8))).mean() < 0.1


def test_photos_of_digits_on_paper_are_read(mnist_sample, recognizer):
    # Noise, a light gradient across the page, a shadow, JPEG: each pixel is read against the paper around it.
    x, y = mnist_sample
    rng = np.random.default_rng(0)
    photos = np.stack([normalize(render_photo(digit, rng)) for digit in x[::5]])
    assert (recognizer.probabilities(photos).argmax(1) == y[::5]).mean() >= 0.95


def test_a_shadow_across_a_photographed_digit_leaves_no_haze(mnist_sample):
    # A shadow band 60 greys deep, centred on the digit: the paper under it is paper, not faint ink.
    # A closing alone lifts the shadow's floor to the paper beside it and leaves up to 14% of the
    # input's ink away from the strokes.
    x, _y = mnist_sample
    rng = np.random.default_rng(0)
    w, h = 900, 700
    for digit in x[::10]:
        side = int(rng.uniform(200, 450))
        left, top = int(rng.integers(0, w - side)), int(rng.integers(0, h - side))
        ink = np.zeros((h, w), np.float32)
        ink[top : top + side, left : left + side] = np.asarray(Image.fromarray(digit).resize((side, side)), np.float32)
        ink /= 255
        centre = (left + side * rng.uniform(0.2, 0.8)) / w
        shadow = 60 * np.clip(1 - np.abs(np.linspace(0, 1, w) - centre) / 0.25, 0, 1)
        photo = (215 - shadow) * (1 - ink) + 40 * ink + rng.normal(0, 2, ink.shape)
        unshaded = normalize((215 * (1 - ink) + 40 * ink).astype(np.uint8))
        strokes = np.asarray(Image.fromarray(np.uint8(unshaded > 0) * 255).filter(ImageFilter.MaxFilter(3))) > 0
        got = normalize(np.clip(photo, 0, 255).astype(np.uint8))
        assert got[~strokes].sum() / got.sum() < 0.06


@pytest.mark.parametrize(
    "seed, how",
    [
        # The border is the table: the sheet reads as one solid block of light ink until it is read on its own.
        (0, {}),
        (1, {"tilt": 15}),  # turned on the table
        (2, {"tilt": 15, "slant": 0.12}),  # at a slant: a trapezoid, straightened by its four corners
        (3, {"tilt": 15, "slant": 0.12, "off_edge": True}),  # off the photo: the table on three sides only
    ],
    ids=["flat", "turned", "slanted", "off_the_edge"],
)
def test_a_sheet_photographed_on_a_darker_table_is_read(mnist_sample, recognizer, seed, how):
    x, y = mnist_sample
    rng = np.random.default_rng(seed)
    photos = np.stack([normalize(render_photo(digit, rng, table=True, **how)) for digit in x[::5]])
    assert (recognizer.probabilities(photos).argmax(1) == y[::5]).mean() >= 0.95


def test_a_fat_light_zero_on_a_dark_canvas_is_not_a_sheet():
    # Large, solid and with a dark hole, as a sheet with writing on it is; but round. Read as a
    # sheet, its hole would become the digit.
    canvas = Image.new("L", (400, 400), 0)
    draw = ImageDraw.Draw(canvas)
    draw.ellipse((100, 60, 300, 340), fill=255)
    draw.ellipse((180, 170, 220, 230), fill=0)
    got = normalize(canvas)
    assert got[12:17, 12:17].min() < 0.2  # the hole stays a hole
    assert (got > 0.5).sum() > 150


def test_a_blank_light_block_on_a_dark_canvas_is_still_the_drawing():
    # As large and solid as a sheet on a table, but with nothing written on it: the block is
    # what was drawn, so the input is that block, not a refusal or its blank inside.
    canvas = np.zeros((400, 400), np.uint8)
    canvas[80:320, 100:300] = 255
    got = normalize(canvas)
    assert got.max() == 1.0
    assert (got > 0.5).sum() > 0.4 * (got > 0).sum() > 100


@pytest.mark.parametrize("light_ink", [False, True])
def test_photos_lit_strongly_from_one_side_are_read(mnist_sample, recognizer, light_ink):
    # A gradient of up to 160 greys splits the border between light and dark, as ink cut by the
    # edge does; going round the border, the grey changes slowly, so it is paper. Its median
    # cannot tell the ink's polarity either: light ink on dark paper is read too.
    x, y = mnist_sample
    rng = np.random.default_rng(0)
    photos = [Image.open(io.BytesIO(render_photo(digit, rng, gradient=160))).convert("L") for digit in x[::5]]
    if light_ink:
        photos = [ImageOps.invert(photo) for photo in photos]
    inputs = np.stack([normalize(photo) for photo in photos])
    assert (recognizer.probabilities(inputs).argmax(1) == y[::5]).mean() >= 0.95
