#!/usr/bin/python3
"""Makes the int64 / float64 / int32 / bool ONNX fixture of Kiln's ONNX serving tests.

Run with Debian's python3 (python3-onnx, python3-numpy):

    /usr/bin/python3 test/support/onnx/make-dtype-fixture.py

skl2onnx is not packaged in Debian, so this graph is written with onnx's own helper API instead of
exported from scikit-learn. Debian's onnx (1.12) has no onnx.reference.ReferenceEvaluator (added in
1.13), so the expected outputs are computed here with numpy, op by op, in the graph's own dtypes
(each output is one elementwise operation or an integer sum, which IEEE doubles and int64 compute
exactly the same way everywhere).

Writes, beside this script:
  dtypes.onnx           inputs  counts int64 [-1, 3], amounts float64 [-1, 2], ids int32 [-1, 1], flags bool [-1, 1]
                        outputs weighted int64 [-1, 1]   = sum(counts * [1000, 1000000, 1], axis 1)
                                scaled float64 [-1, 2]   = amounts * 0.1 + 1e-9
                                next_id int32 [-1, 1]    = ids + 1
                                big bool [-1, 1]         = flags or weighted > 10^12
  dtypes.expected.json  the input rows and the outputs for them
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from onnx_fixture import save_expected, save_model

W = np.array([1000, 1000000, 1], dtype=np.int64)
SCALE = np.array(0.1, dtype=np.float64)
SHIFT = np.array(1e-9, dtype=np.float64)
ONE = np.array(1, dtype=np.int32)
LIMIT = np.array(10**12, dtype=np.int64)

nodes = [
    helper.make_node("Mul", ["counts", "w"], ["products"]),
    helper.make_node("ReduceSum", ["products", "axes"], ["weighted"], keepdims=1),
    helper.make_node("Mul", ["amounts", "scale"], ["scaled_raw"]),
    helper.make_node("Add", ["scaled_raw", "shift"], ["scaled"]),
    helper.make_node("Add", ["ids", "one"], ["next_id"]),
    helper.make_node("Greater", ["weighted", "limit"], ["over"]),
    helper.make_node("Or", ["flags", "over"], ["big"]),
]
initializers = [
    numpy_helper.from_array(W, "w"),
    numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
    numpy_helper.from_array(SCALE, "scale"),
    numpy_helper.from_array(SHIFT, "shift"),
    numpy_helper.from_array(ONE, "one"),
    numpy_helper.from_array(LIMIT, "limit"),
]
save_model(
    __file__,
    "dtypes",
    "dtypes.onnx",
    nodes,
    [("counts", TensorProto.INT64, 3), ("amounts", TensorProto.DOUBLE, 2), ("ids", TensorProto.INT32, 1), ("flags", TensorProto.BOOL, 1)],
    [("weighted", TensorProto.INT64, 1), ("scaled", TensorProto.DOUBLE, 2), ("next_id", TensorProto.INT32, 1), ("big", TensorProto.BOOL, 1)],
    initializers,
)

# Values float32 or int32 could not carry: integers past 2^31 (and products past 2^32), doubles with 17 significant digits.
counts = np.array([[123456789, 42, 7], [5000000000, 1, 2], [-3, 0, 9007199254], [0, 0, 0]], dtype=np.int64)
amounts = np.array([[0.1234567890123, 98765.4321], [1e-300, -2.5e300], [3.141592653589793, 2.718281828459045], [0.0, -0.0]], dtype=np.float64)
ids = np.array([[2147483646], [-2147483648], [0], [41]], dtype=np.int32)
flags = np.array([[False], [False], [True], [False]], dtype=np.bool_)

weighted = (counts * W).sum(axis=1, keepdims=True, dtype=np.int64)
scaled = amounts * SCALE + SHIFT
next_id = ids + ONE
big = np.logical_or(flags, weighted > LIMIT)
assert np.all(np.abs(weighted) <= 2**53), "the fixture stays within what JSON carries exactly"

save_expected(
    "dtypes",
    {"counts": counts.tolist(), "amounts": amounts.tolist(), "ids": ids.tolist(), "flags": flags.tolist()},
    {"weighted": weighted.tolist(), "scaled": scaled.tolist(), "next_id": next_id.tolist(), "big": big.tolist()},
)
