"""Perturbations applied to a drawn puzzle image: the image factors that are not part of a :class:`Style`.

Each is a number with a neutral value (the image unchanged) and all are deterministic: the noise is drawn from a
generator seeded by ``(seed, key)`` (a build passes its seed and the puzzle id), so one puzzle gets the same noise
pattern at every noise level, scaled by sigma, and the same bytes on every run. They apply in a fixed order, the
order a photo or a pipeline would meet them: rotate, blur, downscale, contrast, gaussian_noise, jpeg_quality.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from crossmath.errors import CrossmathError

NEUTRAL: dict[str, float | None] = {
    "rotate": 0, "blur": 0, "downscale": 1, "contrast": 1, "gaussian_noise": 0, "jpeg_quality": None,
}
"""Every perturbation in the order it applies, and the level that leaves the image unchanged."""

DOCS = {
    "rotate": "degrees counter-clockwise, bicubic, with expand (the canvas grows to hold the whole grid, filled with "
              "the background colour)",
    "blur": "Gaussian blur radius in pixels",
    "downscale": "factor: the image is shrunk to 1/factor of its size (Lanczos) and resampled back to its size "
                 "(bicubic), so its geometry is unchanged and only detail is lost",
    "contrast": "contrast factor (Pillow ImageEnhance.Contrast: 1 unchanged, below 1 towards grey)",
    "gaussian_noise": "standard deviation of additive Gaussian noise in grey levels (0-255), clipped",
    "jpeg_quality": "JPEG quality (1-95): the image is JPEG-encoded at this quality and decoded again (stored as "
                    "PNG, so the JPEG artefacts are kept losslessly); none: no JPEG round trip",
}


PNG_COMPRESS_LEVEL = 1
"""zlib level for perturbed images: noise barely compresses, and level 1 encodes a noisy 11x13 RGB image about
twice as fast as level 6 for about 4% more bytes (measured on this project's 2-core machine)."""


class PerturbationError(CrossmathError):
    """An unknown perturbation or a level it cannot take."""


def check(name: str, level: float | None) -> None:
    """Raise :class:`PerturbationError` unless ``level`` is a valid level of perturbation ``name``."""
    if name not in NEUTRAL:
        raise PerturbationError(f"unknown perturbation {name!r}; choose one of {', '.join(NEUTRAL)}")
    if level is None:
        if NEUTRAL[name] is not None:
            raise PerturbationError(f"{name} needs a number (neutral: {NEUTRAL[name]})")
        return
    valid = {"rotate": True, "blur": level >= 0, "downscale": level >= 1, "contrast": level >= 0,
             "gaussian_noise": level >= 0, "jpeg_quality": level == int(level) and 1 <= level <= 95}
    if not valid[name]:
        raise PerturbationError(f"{name} cannot be {level!r}: {DOCS[name]}")


def is_neutral(levels: Mapping[str, float | None]) -> bool:
    return all(levels.get(name, neutral) == neutral for name, neutral in NEUTRAL.items())


def _rng(seed: int, key: str) -> np.random.Generator:
    digest = hashlib.sha256(f"crossmath-perturb:{seed}:{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def apply(image: Image.Image, levels: Mapping[str, float | None], *, background: str = "#FFFFFF", seed: int = 0,
          key: str = "") -> Image.Image:
    """``image`` (RGB) with every perturbation in ``levels`` applied, in the fixed order; neutral ones skip."""
    image = image.convert("RGB")
    for name, neutral in NEUTRAL.items():
        level = levels.get(name, neutral)
        if level == neutral:
            continue
        check(name, level)
        assert level is not None, "check() refuses None unless it is the neutral level"
        image = _STEPS[name](image, level, background, seed, key)
    return image


def _rotate(image: Image.Image, level: float, background: str, seed: int, key: str) -> Image.Image:
    return image.rotate(level, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=background)


def _blur(image: Image.Image, level: float, background: str, seed: int, key: str) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(level))


def _downscale(image: Image.Image, level: float, background: str, seed: int, key: str) -> Image.Image:
    small = (max(1, round(image.width / level)), max(1, round(image.height / level)))
    return image.resize(small, Image.Resampling.LANCZOS).resize(image.size, Image.Resampling.BICUBIC)


def _contrast(image: Image.Image, level: float, background: str, seed: int, key: str) -> Image.Image:
    return ImageEnhance.Contrast(image).enhance(level)


def _noise(image: Image.Image, level: float, background: str, seed: int, key: str) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float32)
    noise = _rng(seed, key).standard_normal(pixels.shape[:2], dtype=np.float32)[..., None] * np.float32(level)
    return Image.fromarray(np.clip(np.rint(pixels + noise), 0, 255).astype(np.uint8), "RGB")


def _jpeg(image: Image.Image, level: float, background: str, seed: int, key: str) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(level))
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


_STEPS = {"rotate": _rotate, "blur": _blur, "downscale": _downscale, "contrast": _contrast,
          "gaussian_noise": _noise, "jpeg_quality": _jpeg}


def box_after(box: tuple[float, float, float, float], size: tuple[int, int],
              levels: Mapping[str, float | None]) -> tuple[float, float, float, float]:
    """Where a box of the drawn image (of ``size``) lies after the perturbations, as an upright box inside it:
    rotation moves its centre and tilts it, so this is the largest upright box of its proportions centred there
    that stays within the tilted one (the other perturbations keep the geometry)."""
    angle = levels.get("rotate") or 0
    if not angle:
        return box
    width, height = size
    theta = np.deg2rad(angle)
    cos, sin = np.cos(theta), np.sin(theta)
    new_w, new_h = width * abs(cos) + height * abs(sin), width * abs(sin) + height * abs(cos)
    dx, dy = (box[0] + box[2]) / 2 - width / 2, (box[1] + box[3]) / 2 - height / 2
    x, y = dx * cos + dy * sin + new_w / 2, -dx * sin + dy * cos + new_h / 2
    shrink = 1 / (abs(cos) + abs(sin))
    half_w, half_h = (box[2] - box[0]) * shrink / 2, (box[3] - box[1]) * shrink / 2
    return float(x - half_w), float(y - half_h), float(x + half_w), float(y + half_h)
