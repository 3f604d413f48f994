"""Text data: line fitting, the character map, the corpus sources and the resumable batch order."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from ttur_tf.data import text
from ttur_tf.data.text import CharMap, fit_line, load_text_data, read_lines, training_batches


def test_lines_are_cut_or_padded_with_backticks():
    assert fit_line("hello world", 5) == "hello"
    assert fit_line("hi", 5) == "hi```"
    assert fit_line("", 3) == "```"


def test_the_character_map_keeps_the_most_frequent_characters_and_maps_the_rest_to_unk():
    lines = ["aaab", "aabc", "aa`d"]
    charmap = CharMap.from_lines(lines, max_vocab_size=3)  # unk + two characters
    assert charmap.chars == ("a", "b")  # a: 7, b: 2; c, d, ` once each
    assert charmap.vocab_size == 3
    ids = charmap.encode(lines)
    assert ids.dtype == np.int32 and ids.shape == (3, 4)
    assert ids.tolist() == [[1, 1, 1, 2], [1, 1, 2, 0], [1, 1, 0, 0]]
    assert charmap.decode(ids) == ["aaab", "aabunk", "aaunkunk"]  # unk reads "unk", as the original


def test_frequency_ties_are_broken_by_code_point_so_maps_are_reproducible():
    assert CharMap.from_lines(["ba", "ab"]).chars == ("a", "b")


def test_unseen_characters_read_unk_and_encode_then_decode_is_the_identity_otherwise():
    charmap = CharMap.from_lines(["hello world`"])
    assert charmap.decode(charmap.encode(["world hello`"])) == ["world hello`"]
    assert charmap.encode(["héllo"]).tolist() == [[charmap.chars.index("h") + 1, 0] +
                                                   [charmap.chars.index(c) + 1 for c in "llo"]]
    with pytest.raises(ValueError, match="fit_line"):
        charmap.encode(["ab", "abc"])


def test_the_character_map_file_round_trips_and_bad_files_are_explained(tmp_path):
    charmap = CharMap.from_lines(["naïve `text` — ünïcode"])
    charmap.save(tmp_path / "charmap.json")
    assert CharMap.load(tmp_path / "charmap.json") == charmap
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a character map"):
        CharMap.load(tmp_path / "broken.json")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        CharMap.load(tmp_path / "missing.json")


def test_the_builtin_corpus_is_english_prose_in_lines_of_at_most_seq_len():
    lines = text.builtin_corpus_lines(32)
    assert len(lines) > 5000
    assert all(0 < len(line) <= 32 for line in lines)
    assert not any(line.lstrip().startswith(">>>") for line in lines)
    words = " ".join(lines).split()
    assert sum(word.isalpha() for word in words) > 0.7 * len(words)
    data = load_text_data("builtin", seq_len=32)
    assert data.lines.shape == (len(lines), 32) and data.charmap.vocab_size < 200
    assert int(np.count_nonzero(data.lines == 0)) == 0  # every character is in the map


def write_billion_word_shards(root, shards):
    folder = root / text.BILLION_WORD_SHARD_FOLDER
    folder.mkdir(parents=True)
    for index, lines in shards.items():
        (folder / f"news.en-{index:05d}-of-00100").write_text("".join(f"{line}\n" for line in lines))
    return folder


def test_billion_word_shards_are_read_in_order_up_to_max_n_examples(tmp_path):
    folder = write_billion_word_shards(
        tmp_path, {1: ["The first line .", "A second one ."], 2: ["Third ."], 3: ["Fourth ."]})
    assert read_lines(str(tmp_path), 8, 3) == ["The firs", "A second", "Third .`"]
    assert read_lines(str(folder), 8, 100)[-1] == "Fourth .", "the shard folder itself works too"


def test_a_text_file_is_one_example_per_line(tmp_path):
    (tmp_path / "corpus.txt").write_text("one\ntwo\n\nthree\n", encoding="utf-8")
    assert read_lines(str(tmp_path / "corpus.txt"), 4, 10) == ["one`", "two`", "````", "thre"]


def test_missing_or_empty_sources_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*builtin"):
        read_lines(str(tmp_path / "nowhere"), 32, 10)
    with pytest.raises(FileNotFoundError, match="news.en-00001-of-00100.*statmt.org"):
        read_lines(str(tmp_path), 32, 10)
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="no lines"):
        load_text_data(str(tmp_path / "empty.txt"))
    with pytest.raises(ValueError, match="could not load the tfds dataset 'no_such_dataset'"):
        read_lines("tfds:no_such_dataset", 32, 10)


def test_a_corpus_that_is_not_utf8_names_the_file_and_the_line(tmp_path):
    corpus = tmp_path / "latin1.txt"
    corpus.write_bytes("first line\nsecond line\nna\u00efve caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=f"{corpus}, line 3, is not valid utf-8 .*at byte 2 of "
                                         "the line.*--encoding"):
        read_lines(str(corpus), 16, 10)
    assert read_lines(str(corpus), 11, 10, encoding="latin-1")[2] == "na\u00efve caf\u00e9`"


def test_windows_line_ends_are_not_part_of_the_line(tmp_path):
    (tmp_path / "crlf.txt").write_bytes(b"one\r\ntwo\r\n")
    assert read_lines(str(tmp_path / "crlf.txt"), 4, 10) == ["one`", "two`"]


def test_a_corpus_of_blank_lines_is_refused_like_an_empty_one(tmp_path):
    (tmp_path / "blank.txt").write_text("\n   \n\t\n\n")
    with pytest.raises(ValueError, match="has no text: all its 4 lines are blank"):
        load_text_data(str(tmp_path / "blank.txt"))


def test_encodings_that_do_not_split_at_the_newline_byte_are_refused(tmp_path):
    (tmp_path / "corpus.txt").write_text("text\n")
    with pytest.raises(ValueError, match="utf-16 are not supported"):
        read_lines(str(tmp_path / "corpus.txt"), 8, 10, encoding="utf-16")


def test_lm1b_from_tfds_on_mock_data():
    with tfds.testing.mock_data(num_examples=12):
        data = load_text_data("lm1b", seq_len=16, max_n_examples=10)
    assert data.lines.shape == (10, 16)
    assert data.charmap.vocab_size > 2


def test_batches_cover_each_epoch_once_and_drop_its_partial_tail():
    lines = np.arange(10, dtype=np.int32).reshape(10, 1) * np.ones((1, 3), np.int32)
    stream = training_batches(lines, batch_size=4, seed=7).as_numpy_iterator()
    first_epoch = [next(stream) for _ in range(2)]  # 10 lines: two batches of 4, two dropped
    seen = np.concatenate(first_epoch)[:, 0]
    assert len(set(seen.tolist())) == 8 and first_epoch[0].shape == (4, 3)
    second_epoch = np.concatenate([next(stream) for _ in range(2)])[:, 0]
    assert second_epoch.tolist() != seen.tolist()


def test_a_resumed_stream_continues_exactly_where_the_run_stopped():
    lines = np.random.default_rng(0).integers(0, 50, size=(23, 5)).astype(np.int32)
    uninterrupted = list(training_batches(lines, 4, seed=3).take(12).as_numpy_iterator())
    resumed = list(training_batches(lines, 4, seed=3, start_batch=7).take(5).as_numpy_iterator())
    for expected, actual in zip(uninterrupted[7:], resumed):
        np.testing.assert_array_equal(actual, expected)


def test_a_corpus_smaller_than_one_batch_is_refused():
    with pytest.raises(ValueError, match="fewer than one batch of 64"):
        training_batches(np.zeros((10, 32), np.int32), 64, seed=0)
