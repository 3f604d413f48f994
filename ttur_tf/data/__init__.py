"""Input pipelines: image datasets (images.py)."""
