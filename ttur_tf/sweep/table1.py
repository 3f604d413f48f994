"""The rows of the paper's Table 1, each a pair of flagfiles: its TTUR and its original setting.

A row is named by its flagfiles' common stem (``configs/wgan_gp_cifar10_ttur.flags`` and
``configs/wgan_gp_cifar10_orig.flags`` make the row ``wgan_gp_cifar10``). The paper's values are
read from each flagfile's first line, where every paper flagfile records them:
``(paper Table 1: FID 24.8)`` for an image row, ``(paper: JSD4 0.35, JSD6 0.74)`` for the
language row.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

__all__ = ["PUBLISHED_STATISTICS", "SETTINGS", "Row", "find_rows", "select_rows"]

SETTINGS = ("ttur", "orig")
# The original's published FID statistics of each image dataset of Table 1 (file names as on
# http://bioinf.jku.at/research/ttur/ttur_stats/), by the tfds name the flagfiles train on.
PUBLISHED_STATISTICS = {"cifar10": "fid_stats_cifar10_train.npz",
                        "celeb_a": "fid_stats_celeba.npz",
                        "svhn_cropped": "fid_stats_svhn_train.npz",
                        "lsun/bedroom": "fid_stats_lsun_train.npz"}
_PAPER_FID = re.compile(r"\(paper Table 1: FID ([0-9.]+)\)")
_PAPER_JSD = re.compile(r"JSD([1-6]) ([0-9.]+)")


def _paper_values(flagfile: Path) -> dict[str, float]:
    """{"fid": x} or {"js4": x, "js6": y} from the flagfile's first line ({} if it has none)."""
    first_line = flagfile.read_text(encoding="utf-8").splitlines()[0]
    fid = _PAPER_FID.search(first_line)
    if fid:
        return {"fid": float(fid.group(1))}
    return {f"js{n}": float(value) for n, value in _PAPER_JSD.findall(first_line)}


@dataclasses.dataclass(frozen=True)
class Row:
    """One experiment of Table 1: ``flagfiles`` and ``paper`` values by setting ("ttur",
    "orig"); ``metrics``: what the paper reports of it ("fid", or "js4" and "js6")."""

    name: str
    flagfiles: dict[str, Path]
    paper: dict[str, dict[str, float]]

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.paper["ttur"])

    @property
    def dataset(self) -> str | None:
        """The ``--dataset`` the TTUR flagfile sets (None if it sets none)."""
        for line in self.flagfiles["ttur"].read_text(encoding="utf-8").splitlines():
            if line.strip().startswith("--dataset="):
                return line.strip().split("=", 1)[1]
        return None


def find_rows(configs: Path) -> dict[str, Row]:
    """Every row whose ``<name>_ttur.flags`` and ``<name>_orig.flags`` are in ``configs`` and
    record a paper value, by name (sorted).

    Raises:
        FileNotFoundError: ``configs`` is not a folder or holds no such pair.
    """
    if not configs.is_dir():
        raise FileNotFoundError(f"{configs} is not a folder of flagfiles (--configs)")
    rows = {}
    for ttur in sorted(configs.glob("*_ttur.flags")):
        name = ttur.name.removesuffix("_ttur.flags")
        orig = configs / f"{name}_orig.flags"
        if not orig.is_file():
            continue
        paper = {"ttur": _paper_values(ttur), "orig": _paper_values(orig)}
        if paper["ttur"] and paper["orig"].keys() == paper["ttur"].keys():
            rows[name] = Row(name, {"ttur": ttur, "orig": orig}, paper)
    if not rows:
        raise FileNotFoundError(f"{configs} holds no pair of <row>_ttur.flags and "
                                "<row>_orig.flags recording the paper's values in their first line")
    return rows


def select_rows(rows: dict[str, Row], names: list[str]) -> list[Row]:
    """The rows named (all if ``names`` is empty), in Table 1's order of ``rows``.

    Raises:
        ValueError: a name that is not a row, with the rows there are.
    """
    unknown = [name for name in names if name not in rows]
    if unknown:
        raise ValueError(f"no Table 1 row named {', '.join(unknown)}; the rows are: "
                         f"{', '.join(rows)}")
    return [row for name, row in rows.items() if not names or name in names]
