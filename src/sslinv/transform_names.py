"""The names of the invariance transforms, in the order tables and figures show them.

Kept apart from :mod:`sslinv.transforms` (which needs torch) so that planning the DAG, which
every cluster job repeats, does not pay for importing torch; a test keeps the two in step.
"""

TRANSFORM_NAMES: tuple[str, ...] = (
    "rotation",
    "translation",
    "scale",
    "shear",
    "resized_crop",
    "horizontal_flip",
    "vertical_flip",
    "brightness",
    "contrast",
    "saturation",
    "hue",
    "grayscale",
    "gaussian_blur",
    "sharpness",
    "posterize",
    "invert",
    "equalize",
    "elastic",
)
