"""Text of the paper's language GAN: fixed-length character lines, their character map, batches.

As ``load_dataset`` in bioinf-jku/TTUR ``WGAN_GP/language_helpers.py`` (from
igul222/improved_wgan_training): each line of the corpus becomes one example, cut to ``seq_len``
characters or padded with backticks (`````); at most ``max_n_examples`` lines are read, in file
order; the character map holds the ``max_vocab_size − 1`` most frequent characters, and every
other character becomes ``unk`` (id 0). Ties in frequency are broken by code point here (the
original breaks them by first appearance in its shuffled lines, so they vary from run to run).

Sources (``load_text_data``):

* ``builtin``: English prose from Python's own documentation topics (``pydoc_data.topics``,
  shipped with CPython): paragraphs without code or headings, split into sentences and wrapped at
  word boundaries into lines of at most ``seq_len`` characters. No download.
* the One Billion Word benchmark (http://www.statmt.org/lm-benchmark/) as distributed: a folder
  holding ``training-monolingual.tokenized.shuffled/news.en-000NN-of-00100`` (NN = 01…99, read in
  order), or that folder itself;
* ``lm1b`` or ``tfds:lm1b[/SPLIT]`` (any tfds dataset with a ``text`` feature);
* a UTF-8 text file, one example per line.

Training order follows the original's generator: each epoch is a fresh permutation of all lines
(keyed by (seed, epoch)), cut into full batches; the last partial batch of an epoch is dropped.
``training_batches(start_batch=k)`` resumes after k batches. The batches are tf.data ops from the
in-memory ids to the batch (no Python generator: it would hold the GIL on every batch, and
TensorFlow answers one by lowering glibc's trim threshold for the whole process, which then spends
as much time in the kernel as in training).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path

import numpy as np
import tensorflow as tf
from absl import logging

from ttur_tf.data.tfds_sources import TFDS_PREFIX, load_tfds, parse_tfds_source
from ttur_tf.files import write_bytes_atomically

__all__ = [
    "BILLION_WORD_SHARD_FOLDER",
    "BUILTIN_CORPUS",
    "CharMap",
    "PAD",
    "TextData",
    "UNK",
    "builtin_corpus_lines",
    "check_encoding",
    "fit_line",
    "load_text_data",
    "read_lines",
    "training_batches",
]

PAD = "`"
UNK = "unk"
BUILTIN_CORPUS = "builtin"
BILLION_WORD_SHARD_FOLDER = "training-monolingual.tokenized.shuffled"
_BILLION_WORD_SHARDS = [f"news.en-{index:05d}-of-00100" for index in range(1, 100)]
_LINES_PER_CHUNK = 65_536
_HEADING_UNDERLINE = re.compile(r"\s*([*=\-^~])\1+\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])")
_PROSE_CHARACTERS = frozenset(" ,.;:'\"()-")


def fit_line(line: str, seq_len: int) -> str:
    """The line cut to ``seq_len`` characters, or padded to it with backticks."""
    return line[:seq_len].ljust(seq_len, PAD)


def _codepoints(lines: Sequence[str], seq_len: int) -> np.ndarray:
    """Equal-length lines → (N, seq_len) uint32 code points."""
    if any(len(line) != seq_len for line in lines):
        raise ValueError(f"every line must have {seq_len} characters: apply fit_line first")
    flat = np.frombuffer("".join(lines).encode("utf-32-le"), np.uint32)
    return flat.reshape(len(lines), seq_len)


def _chunks(lines: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(lines), _LINES_PER_CHUNK):
        yield lines[start:start + _LINES_PER_CHUNK]


@dataclasses.dataclass(frozen=True)
class CharMap:
    """Characters ↔ integer ids: id 0 is ``unk``, id i ≥ 1 is ``chars[i − 1]``.

    Attributes:
        chars: the known characters, most frequent first.
    """

    chars: tuple[str, ...]

    def __post_init__(self):
        if any(len(char) != 1 for char in self.chars) or len(set(self.chars)) != len(self.chars):
            raise ValueError("a character map holds distinct single characters")

    @classmethod
    def from_lines(cls, lines: Sequence[str], max_vocab_size: int = 2048) -> "CharMap":
        """The ``max_vocab_size − 1`` most frequent characters of ``lines`` (ties: by code point)."""
        if max_vocab_size < 2:
            raise ValueError(f"max_vocab_size must be ≥ 2 (unk and one character), got {max_vocab_size}")
        counts: collections.Counter = collections.Counter()
        for chunk in _chunks(lines):
            codepoints = np.frombuffer("".join(chunk).encode("utf-32-le"), np.uint32)
            unique, unique_counts = np.unique(codepoints, return_counts=True)
            counts.update(dict(zip(unique.tolist(), unique_counts.tolist())))
        ranked = sorted(counts, key=lambda codepoint: (-counts[codepoint], codepoint))
        return cls(tuple(chr(codepoint) for codepoint in ranked[:max_vocab_size - 1]))

    @property
    def vocab_size(self) -> int:
        """Number of ids, ``unk`` included."""
        return len(self.chars) + 1

    def encode(self, lines: Sequence[str]) -> np.ndarray:
        """Lines of equal length L → int32 ids (N, L); characters not in the map → 0 (``unk``)."""
        if not lines:
            return np.zeros((0, 0), np.int32)
        seq_len = len(lines[0])
        known = np.array([ord(char) for char in self.chars], np.uint32)
        order = np.argsort(known)
        sorted_known = known[order]
        encoded = []
        for chunk in _chunks(lines):
            codepoints = _codepoints(chunk, seq_len)
            index = np.minimum(np.searchsorted(sorted_known, codepoints), len(known) - 1)
            found = sorted_known[index] == codepoints if len(known) else np.zeros_like(codepoints, bool)
            encoded.append(np.where(found, order[index] + 1, 0).astype(np.int32))
        return np.concatenate(encoded)

    def decode(self, ids: np.ndarray) -> list[str]:
        """Ids (N, L) → N strings; id 0 (and any id out of range) reads ``unk``, as the original."""
        table = np.array([UNK, *self.chars], dtype=object)
        ids = np.asarray(ids)
        ids = np.where((ids >= 0) & (ids < len(table)), ids, 0)
        return ["".join(row) for row in table[ids]]

    def save(self, path: str | Path) -> None:
        """Writes the map as JSON, atomically."""
        text = json.dumps({"unk_id": 0, "chars": list(self.chars)}, ensure_ascii=False, indent=0)
        write_bytes_atomically(Path(path), text.encode("utf-8"))

    @classmethod
    def load(cls, path: str | Path) -> "CharMap":
        """Reads a map written by ``save``.

        Raises:
            FileNotFoundError, ValueError: the file is missing or is not such a map.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"character map {path} does not exist")
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
            return cls(tuple(content["chars"]))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path} is not a character map written by ttur_tf ({error})") from error


@dataclasses.dataclass(frozen=True)
class TextData:
    """A text corpus as character ids.

    Attributes:
        name: what was loaded (for messages).
        lines: int32 (num_lines, seq_len) character ids of the charmap.
        charmap: the character map of the ids.
    """

    name: str
    lines: np.ndarray
    charmap: CharMap

    @property
    def num_lines(self) -> int:
        return len(self.lines)

    @property
    def seq_len(self) -> int:
        return self.lines.shape[1]


def _prose_sentences(text: str) -> Iterator[str]:
    for paragraph in re.split(r"\n\s*\n", text):
        rows = paragraph.split("\n")
        if any(row.lstrip().startswith((">>>", "...")) for row in rows):
            continue  # interactive code
        words = " ".join(row.strip() for row in rows if not _HEADING_UNDERLINE.fullmatch(row))
        words = " ".join(words.split())
        for sentence in _SENTENCE_END.split(words):
            if len(sentence.split()) < 4:
                continue  # headings, fragments
            prose = sum(char.isalpha() or char in _PROSE_CHARACTERS for char in sentence)
            if prose >= 0.9 * len(sentence):  # mostly words, not code or tables
                yield sentence


def builtin_corpus_lines(seq_len: int = 32) -> list[str]:
    """The built-in corpus: prose of ``pydoc_data.topics`` wrapped into lines ≤ ``seq_len`` chars."""
    from pydoc_data import topics  # shipped with CPython

    lines = []
    for topic in sorted(topics.topics):
        for sentence in _prose_sentences(topics.topics[topic]):
            lines.extend(textwrap.wrap(sentence, seq_len))
    return lines


def _billion_word_shards(folder: Path) -> list[Path]:
    shard_folder = folder / BILLION_WORD_SHARD_FOLDER
    if not shard_folder.is_dir():
        shard_folder = folder
    shards = [shard_folder / name for name in _BILLION_WORD_SHARDS if (shard_folder / name).is_file()]
    if not shards:
        raise FileNotFoundError(
            f"no One Billion Word shards in {folder}: expected "
            f"{BILLION_WORD_SHARD_FOLDER}/news.en-00001-of-00100 … news.en-00099-of-00100 (download "
            "and extract 1-billion-word-language-modeling-benchmark-r13output.tar.gz from "
            "http://www.statmt.org/lm-benchmark/), or use --dataset=lm1b or --dataset=builtin"
        )
    if len(shards) < len(_BILLION_WORD_SHARDS):
        logging.info("%d of the 99 One Billion Word training shards are in %s", len(shards), folder)
    return shards


def check_encoding(encoding: str) -> None:
    """Raises ValueError unless ``encoding`` is one corpus files can be read in: a known encoding
    whose newline is the byte ``\\n`` (files are split into lines there)."""
    try:
        newline = "\n".encode(encoding)
    except LookupError:
        raise ValueError(f"unknown text encoding {encoding!r} (e.g. utf-8, latin-1)") from None
    if newline != b"\n":
        raise ValueError(f"corpus files in {encoding} are not supported (their newline is not the "
                         "byte \\n): convert the corpus to UTF-8")


def _file_lines(paths: Iterable[Path], encoding: str) -> Iterator[str]:
    """The lines of the files, decoded strictly: a byte sequence that is not ``encoding`` is an
    error naming the file and the line, never a silent replacement character."""
    for path in paths:
        with open(path, "rb") as file:
            for number, raw in enumerate(file, start=1):
                try:
                    line = raw.decode(encoding)
                except UnicodeDecodeError as error:
                    raise ValueError(
                        f"{path}, line {number}, is not valid {encoding} ({error.reason} at byte "
                        f"{error.start} of the line): give the corpus's encoding with --encoding "
                        "(e.g. latin-1) or convert it to UTF-8"
                    ) from None
                yield line.rstrip("\r\n")


def _tfds_lines(source: str) -> Iterator[str]:
    name, split = parse_tfds_source(source)
    dataset, _ = load_tfds(name, split, "text")
    for number, example in enumerate(
            dataset.map(lambda record: record["text"]).as_numpy_iterator(), start=1):
        try:
            yield example.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"the tfds dataset {name!r}, example {number}, is not valid UTF-8 "
                             f"({error.reason})") from None


def read_lines(source: str, seq_len: int, max_n_examples: int, encoding: str = "utf-8") -> list[str]:
    """The source's first ``max_n_examples`` examples, each fitted to ``seq_len`` characters.

    Args:
        source: see ``load_text_data``.
        seq_len: characters per line.
        max_n_examples: lines read at most.
        encoding: the text encoding of corpus files (one whose newline is the byte ``\\n``).

    Raises:
        FileNotFoundError: a path that does not exist, or a folder without the expected files.
        ValueError: a tfds dataset that cannot be loaded; text that is not in ``encoding`` (the
            message names the file and line); a corpus without a line of text.
    """
    if seq_len < 1 or max_n_examples < 1:
        raise ValueError(f"seq_len and max_n_examples must be ≥ 1, got {seq_len}, {max_n_examples}")
    check_encoding(encoding)
    if source == BUILTIN_CORPUS:
        raw: Iterable[str] = builtin_corpus_lines(seq_len)
    elif source == "lm1b" or source.startswith(TFDS_PREFIX):
        raw = _tfds_lines(source)
    else:
        path = Path(source).expanduser()
        if path.is_dir():
            raw = _file_lines(_billion_word_shards(path), encoding)
        elif path.is_file():
            raw = _file_lines([path], encoding)
        else:
            raise FileNotFoundError(
                f"text source {source!r} does not exist: pass 'builtin', 'lm1b', the One Billion "
                "Word folder or a UTF-8 text file with one example per line"
            )
    lines, has_text = [], False
    for line in islice(raw, max_n_examples):
        has_text = has_text or bool(line.strip())
        lines.append(fit_line(line, seq_len))
    if not lines:
        raise ValueError(f"the text source {source!r} has no lines")
    if not has_text:
        raise ValueError(f"the text source {source!r} has no text: all its {len(lines)} lines "
                         "are blank")
    return lines


def load_text_data(
    source: str,
    seq_len: int = 32,
    max_n_examples: int = 10_000_000,
    max_vocab_size: int = 2048,
    charmap: CharMap | None = None,
    encoding: str = "utf-8",
) -> TextData:
    """Reads ``source`` (see the module docstring) into character ids.

    Args:
        source: "builtin", "lm1b", "tfds:NAME[/SPLIT]", a One Billion Word folder or a text file.
        seq_len: characters per example (the paper: 32).
        max_n_examples: examples read at most (the original: 10,000,000).
        max_vocab_size: ids in a new character map, ``unk`` included (the original: 2048).
        charmap: the map to use (a resumed run's); by default, one is built from the lines.
        encoding: the text encoding of corpus files.

    Raises:
        FileNotFoundError, ValueError: see ``read_lines``.
    """
    lines = read_lines(source, seq_len, max_n_examples, encoding)
    charmap = charmap or CharMap.from_lines(lines, max_vocab_size)
    ids = charmap.encode(lines)
    unknown = int(np.count_nonzero(ids == 0))
    if unknown:
        logging.info("%d characters of %s are outside the character map and read 'unk'",
                     unknown, source)
    return TextData(source, ids, charmap)


def training_batches(
    lines: np.ndarray, batch_size: int, seed: int, start_batch: int = 0, rows: slice | None = None
) -> tf.data.Dataset:
    """Endless batches of character ids, int32 (batch_size, seq_len), made by tf.data ops alone.

    Args:
        lines: int32 (num_lines, seq_len) ids.
        batch_size: lines per batch; each epoch yields ⌊num_lines / batch_size⌋ batches.
        seed: epoch e is ordered by ``tf.random.experimental.stateless_shuffle`` of the line
            indices keyed by (seed, e): the order is a function of (seed, epoch) alone.
        start_batch: batches a resumed run already consumed; the stream continues from there
            without drawing the earlier batches (only the first epoch's order is recomputed).
        rows: only these rows of each batch (one worker's share). None: every row.
    """
    num_lines, seq_len = lines.shape
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    per_epoch = num_lines // batch_size
    if per_epoch < 1:
        raise ValueError(
            f"the corpus has {num_lines} lines, fewer than one batch of {batch_size}: use more "
            "data or a smaller --batch_size"
        )
    first_epoch, offset = divmod(int(start_batch), per_epoch)
    rows = rows or slice(0, batch_size)
    kept = len(range(batch_size)[rows])
    table = tf.convert_to_tensor(lines, tf.int32)  # held once; batches gather their rows

    def epoch_batches(epoch: tf.Tensor) -> tf.data.Dataset:
        key = tf.stack([tf.constant(seed, tf.int64), epoch])
        order = tf.random.experimental.stateless_shuffle(tf.range(num_lines, dtype=tf.int64), key)
        batches = tf.reshape(order[:per_epoch * batch_size], [per_epoch, batch_size])
        return tf.data.Dataset.from_tensor_slices(batches[:, rows])

    epochs = tf.data.Dataset.range(first_epoch, np.iinfo(np.int64).max)
    indices = epochs.flat_map(epoch_batches).skip(offset)
    batches = indices.map(lambda line_indices: tf.ensure_shape(tf.gather(table, line_indices),
                                                               [kept, seq_len]))
    return batches.prefetch(tf.data.AUTOTUNE)
