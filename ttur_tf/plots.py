"""Figures of the reproduction scripts, when matplotlib (the optional ``plots`` extra) is installed."""

from __future__ import annotations

import io
from pathlib import Path

from absl import logging

from ttur_tf.files import write_bytes_atomically

__all__ = ["figure_rows", "pyplot_or_none", "save_figure"]


def pyplot_or_none():
    """``matplotlib.pyplot`` with a file-only backend, or None (logged) if it is not installed."""
    try:
        import matplotlib
    except ImportError:
        logging.warning("matplotlib is not installed, so no PNG is written (the CSV is): "
                        "pip install -e '.[plots]'")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def figure_rows(rows: int, columns: int):
    """(figure, axes[rows, columns]) of panels 5 wide and 2.5 high, or None without matplotlib."""
    pyplot = pyplot_or_none()
    if pyplot is None:
        return None
    return pyplot.subplots(rows, columns, figsize=(5 * columns, 2.5 * rows), squeeze=False)


def save_figure(figure, path: str | Path) -> None:
    """Writes ``figure`` as a PNG atomically, then closes it."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    write_bytes_atomically(Path(path), buffer.getvalue())
    import matplotlib.pyplot as pyplot

    pyplot.close(figure)
