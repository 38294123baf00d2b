"""sslinv: why do self-supervised models transfer?

The package holds every piece of logic of the workflow (scenes, augmentations, MoCo-v2,
features, invariances, probes, figures); Snakemake rules only wire its command-line
entry points together, so everything here is importable and testable on its own.
"""

__version__ = "0.1.0"
