#!/usr/bin/python3
"""Makes the float16 ONNX fixture of Kiln's ONNX serving tests (float16 converted at the boundary).

Run with Debian's python3 (python3-onnx, python3-numpy):

    /usr/bin/python3 test/support/onnx/make-fp16-fixture.py

The graph has KServe's test tensor names (python/kserve/test/test_inference_client.py sends an INT32
`input-0` and an FP16 `fp16_data`). The float16 arithmetic goes through float32 Casts, so the
expected outputs are exact in numpy: float32 → float16 is round-to-nearest-even in both numpy and
Kiln, and every float16 is exactly a float32.

Writes, beside this script:
  fp16.onnx           inputs  input-0 int32 [-1, 2], fp16_data float16 [-1, 2]
                      outputs output-0 int32 [-1, 2]    = input-0
                              fp16_echo float16 [-1, 2] = fp16_data (what the boundary rounding made of it)
                              fp16_out float16 [-1, 2]  = float16(float32(fp16_data) * 2 + 0.5)
  fp16.expected.json  the inputs (as float32 numbers a client sends) and the outputs for them
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from onnx_fixture import save_expected, save_model

nodes = [
    helper.make_node("Identity", ["input-0"], ["output-0"]),
    helper.make_node("Identity", ["fp16_data"], ["fp16_echo"]),
    helper.make_node("Cast", ["fp16_data"], ["wide"], to=TensorProto.FLOAT),
    helper.make_node("Mul", ["wide", "two"], ["doubled"]),
    helper.make_node("Add", ["doubled", "half"], ["shifted"]),
    helper.make_node("Cast", ["shifted"], ["fp16_out"], to=TensorProto.FLOAT16),
]
initializers = [
    numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two"),
    numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half"),
]
save_model(
    __file__,
    "fp16",
    "fp16.onnx",
    nodes,
    [("input-0", TensorProto.INT32, 2), ("fp16_data", TensorProto.FLOAT16, 2)],
    [("output-0", TensorProto.INT32, 2), ("fp16_echo", TensorProto.FLOAT16, 2), ("fp16_out", TensorProto.FLOAT16, 2)],
    initializers,
)

# KServe's values, and two that float16 cannot hold (2049 → 2048, a tie to even; 30001 → 30000).
ints = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.int32)
fp32 = np.array([[1.1, 2.22], [3.345, 4.34343], [2049.0, 30001.0]], dtype=np.float32)
echo = fp32.astype(np.float16)
out = (echo.astype(np.float32) * np.float32(2) + np.float32(0.5)).astype(np.float16)

save_expected(
    "fp16",
    {"input-0": ints.tolist(), "fp16_data": [[float(v) for v in row] for row in fp32]},
    {
        "output-0": ints.tolist(),
        "fp16_echo": [[float(v) for v in row] for row in echo.astype(np.float32)],
        "fp16_out": [[float(v) for v in row] for row in out.astype(np.float32)],
    },
)
