"""``tfds:NAME[/CONFIG][/SPLIT]`` sources: parsing, and loading with an error that says what to do.

A dataset that is not prepared yet is downloaded and prepared by tensorflow-datasets' own
``download_and_prepare`` into the data directory: ``$TFDS_DATA_DIR`` (read when a dataset is
loaded, not when tfds is imported), else tfds's default ``~/tensorflow_datasets``.

Before a download starts, each of the dataset's download servers (from tfds's checksums) is asked
for the headers of one file, within ``DOWNLOAD_PROBE_SECONDS``: on a machine without a route to
them, tfds would spend minutes in retries before failing; here the run stops at once and says
how to prepare the data offline. Any answer, even an HTTP error, counts as reachable, so a slow
network or a server that refuses HEAD requests still downloads. ``TTUR_SKIP_DOWNLOAD_PROBE=1``
skips the check (tests that mock tfds set it; so may a user whose network drops HEAD requests).
"""

from __future__ import annotations

import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

from ttur_tf.errors import first_line

__all__ = [
    "DOWNLOAD_PROBE_SECONDS",
    "TFDS_PREFIX",
    "check_download_servers",
    "load_tfds",
    "parse_tfds_source",
    "prepare_tfds",
    "tfds_data_dir",
]

DOWNLOAD_PROBE_SECONDS = 15.0
_SKIP_PROBE = "TTUR_SKIP_DOWNLOAD_PROBE"

TFDS_PREFIX = "tfds:"
_SPLIT_PATTERN = re.compile(
    r"^(train|test|validation|valid|val|extra|unlabelled|unlabeled|all)\b|[\[\]%+]"
)


def parse_tfds_source(source: str) -> tuple[str, str]:
    """``tfds:NAME[/CONFIG][/SPLIT]`` (prefix optional) → (name, split); split defaults to "train"."""
    spec = source[len(TFDS_PREFIX):] if source.startswith(TFDS_PREFIX) else source
    head, _, last = spec.strip("/").rpartition("/")
    if head and _SPLIT_PATTERN.search(last):
        return head, last
    return spec.strip("/"), "train"


def tfds_data_dir() -> str | None:
    """``$TFDS_DATA_DIR`` if set (None: tfds's default folder)."""
    return os.environ.get("TFDS_DATA_DIR") or None


def _offline_help(name: str) -> str:
    return (f"For a machine without internet access, run `TFDS_DATA_DIR=DIR python "
            f"scripts/prepare_data.py --dataset=tfds:{name}` where there is access, copy DIR here "
            "and set TFDS_DATA_DIR=DIR; or pass local files (a folder of images, an .npz, a text "
            "file) instead.")


def _why_unreachable(url: str, seconds: float) -> str | None:
    """None if the server of ``url`` answers a HEAD request within ``seconds`` (any HTTP
    status), else why it does not. The proxies of the environment are used, as tfds does."""
    outcome: dict[str, str | None] = {}

    def probe():
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"),
                                        timeout=seconds):
                outcome["why"] = None
        except urllib.error.HTTPError:  # the server answered
            outcome["why"] = None
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)  # URLError wraps the socket's error
            outcome["why"] = reason if isinstance(reason, str) else first_line(reason)

    thread = threading.Thread(target=probe, daemon=True)  # name lookups have no timeout
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        return f"no answer within {seconds:g} s"
    return outcome.get("why")


def check_download_servers(name: str, builder, seconds: float = DOWNLOAD_PROBE_SECONDS) -> None:
    """Raises at once if a server the dataset downloads from does not answer.

    Args:
        name: the dataset, for the message.
        builder: its tfds builder (its class's ``url_infos`` list the download URLs; a builder
            without them is not checked).
        seconds: how long each server may take to answer.

    Raises:
        ValueError: a server cannot be reached; the message says how to prepare the data
            offline.
    """
    if os.environ.get(_SKIP_PROBE) == "1":
        return
    urls = list(getattr(type(builder), "url_infos", None) or {})
    one_per_server = {urllib.parse.urlsplit(url).netloc: url for url in urls}
    for server, url in one_per_server.items():
        why = _why_unreachable(url, seconds)
        if why is not None:
            raise ValueError(
                f"the tfds dataset {name!r} is not prepared in "
                f"{tfds_data_dir() or '~/tensorflow_datasets'} and its download server {server} "
                f"cannot be reached from here ({why}). "
                + _offline_help(name)
            )


def _builder_checked_for_download(name: str):
    """The tfds builder of ``name`` (None if tfds does not know it: the load or prepare call
    then reports that), after ``check_download_servers`` if tfds would download it now."""
    import tensorflow_datasets as tfds  # imported only when a tfds source is used

    try:
        builder = tfds.builder(name, data_dir=tfds_data_dir())
    except Exception:  # unknown dataset (tfds raises several types): reported by the caller
        return None
    if not builder.is_prepared():
        check_download_servers(name, builder)
    return builder


def prepare_tfds(name: str):
    """Downloads and prepares a tfds dataset in the data directory, as ``tfds.load`` does on first
    use; returns its ``DatasetInfo``.

    Raises:
        ValueError: unknown dataset, or the download or preparation failed (the message says why).
    """
    import tensorflow_datasets as tfds  # imported only when a tfds source is used

    builder = _builder_checked_for_download(name)
    try:
        builder = builder or tfds.builder(name, data_dir=tfds_data_dir())
        builder.download_and_prepare()
    except Exception as error:  # tfds raises many types (DatasetNotFoundError, network errors…)
        raise ValueError(
            f"could not prepare the tfds dataset {name!r} ({type(error).__name__}: "
            f"{first_line(error)})"
        ) from error
    return builder.info


def load_tfds(name: str, split: str, feature: str, **load_kwargs):
    """``tfds.load`` in file order (preparing the dataset first if needed), for a dataset that
    must have ``feature``.

    Returns:
        (dataset of examples, DatasetInfo).

    Raises:
        ValueError: the dataset cannot be loaded (unknown, cannot be downloaded here…) or lacks
            ``feature``; the message says where it was looked for and how to prepare it offline.
    """
    import tensorflow_datasets as tfds  # imported only when a tfds source is used

    data_dir = tfds_data_dir()
    _builder_checked_for_download(name)
    try:
        dataset, info = tfds.load(
            name, split=split, shuffle_files=False, with_info=True, data_dir=data_dir,
            **load_kwargs,
        )
    except Exception as error:  # tfds raises many types (DatasetNotFoundError, network errors…)
        where = data_dir or "~/tensorflow_datasets (set TFDS_DATA_DIR to use another folder)"
        raise ValueError(
            f"could not load the tfds dataset {name!r}, split {split!r}, from {where} "
            f"({type(error).__name__}: {first_line(error)}). " + _offline_help(name)
        ) from error
    if feature not in info.features:
        raise ValueError(f"the tfds dataset {name!r} has no {feature!r} feature")
    return dataset, info
