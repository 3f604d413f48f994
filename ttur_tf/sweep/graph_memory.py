"""The memory a traced graph's tensors need at their peak, counted from the graph itself.

Used to estimate an accelerator's memory for a training step or an evaluation without running on
one: an allocator-independent count, where the peak resident set of a CPU process says little
(its allocator reuses what tracing left behind).
"""

from __future__ import annotations

import collections

import tensorflow as tf

__all__ = ["peak_tensor_bytes"]

# Ops whose output is a view of their first input (no new buffer), or a variable's value.
_VIEWS = frozenset({"Identity", "IdentityN", "Reshape", "Squeeze", "ExpandDims", "StopGradient",
                    "Snapshot", "ReadVariableOp", "PreventGradient", "EnsureShape"})


def _tensor_bytes(tensor: tf.Tensor) -> int:
    if tensor.dtype in (tf.resource, tf.variant, tf.string) or not tensor.shape.is_fully_defined():
        return 0
    return tensor.shape.num_elements() * tensor.dtype.size


def _buffer(tensor: tf.Tensor) -> tf.Tensor:
    """The tensor whose buffer ``tensor`` is a view of (itself if it has its own)."""
    while tensor.op.type in _VIEWS and tensor.op.inputs:
        tensor = tensor.op.inputs[0]
    return tensor


def peak_tensor_bytes(graph: tf.Graph) -> int:
    """The largest total size of the tensors alive at once when ``graph`` runs in its ops'
    order.

    A tensor lives from the op that makes it to its last consumer (views such as ``Reshape``
    extend their source's life); constants live throughout; variables (read through
    ``ReadVariableOp``) are not counted: they are the model's state. Inputs (placeholders) count
    from the start. Tensors of unknown shape count 0, so trace with fixed shapes. Nested
    functions (``While``, ``If``, calls) are not looked into: their outputs count, their
    insides do not.

    Args:
        graph: a graph with static shapes, e.g. ``concrete_function.graph``.

    Returns:
        Bytes.
    """
    operations = graph.get_operations()
    last_use = {}
    for index, operation in enumerate(operations):
        for tensor in operation.inputs:
            last_use[_buffer(tensor).ref()] = index
    constants = sum(_tensor_bytes(operation.outputs[0]) for operation in operations
                    if operation.type == "Const")
    freed_after = collections.defaultdict(int)
    live = peak = 0
    for index, operation in enumerate(operations):
        if operation.type not in _VIEWS and operation.type != "Const":
            for tensor in operation.outputs:
                size = _tensor_bytes(tensor)
                live += size
                freed_after[last_use.get(tensor.ref(), index)] += size
        peak = max(peak, live)
        live -= freed_after.pop(index, 0)
    return constants + peak
