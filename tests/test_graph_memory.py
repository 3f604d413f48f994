"""The peak tensor memory of a traced graph, against counts done by hand."""

import tensorflow as tf

from ttur_tf.sweep.graph_memory import peak_tensor_bytes

VECTOR = tf.TensorSpec([1000], tf.float32)  # 4,000 bytes
VECTOR_BYTES = 4000


def _graph(function, *specs):
    return tf.function(function).get_concrete_function(*specs).graph


def test_a_chain_holds_only_what_later_ops_still_read():
    def chain(x):
        a = tf.math.sin(x)  # x is dead after this
        b = tf.math.cos(a)
        return a * b  # a, b and the product alive at once: the peak

    assert peak_tensor_bytes(_graph(chain, VECTOR)) == 3 * VECTOR_BYTES


def test_a_reshape_is_a_view_that_keeps_its_source_alive():
    def viewed(x):
        a = tf.math.sin(x)
        view = tf.reshape(a, [10, 100])
        b = tf.math.cos(x)  # x, a (through its view) and b alive
        return tf.math.tan(view), b  # a, b and tan's output alive

    shape_constant = 2 * 4  # the reshape's [10, 100], int32
    assert peak_tensor_bytes(_graph(viewed, VECTOR)) == 3 * VECTOR_BYTES + shape_constant


def test_constants_count_throughout_and_variables_not_at_all():
    weights = tf.Variable(tf.ones([1000]))
    table = tf.constant(tf.ones([1000]))

    def with_state(x):
        return tf.math.sin(x * weights + table)

    # Two vectors at every op (x and the product, the product and the sum, the sum and the
    # sine) and the constant; the variable is state, not counted.
    assert peak_tensor_bytes(_graph(with_state, VECTOR)) == 3 * VECTOR_BYTES


def test_the_peak_grows_with_the_batch():
    def layer(x):
        return tf.nn.relu(tf.linalg.matmul(x, tf.ones([64, 64])))

    peak = {batch: peak_tensor_bytes(_graph(layer, tf.TensorSpec([batch, 64])))
            for batch in (8, 16, 80)}
    # The input and the product (then the product and the relu): 2 · 64 floats a row.
    assert peak[16] - peak[8] == 8 * 2 * 64 * 4
    assert peak[80] - peak[8] == 9 * (peak[16] - peak[8])
