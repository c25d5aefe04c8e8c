#!/usr/bin/python3
"""Makes Triton's `simple_string` example model as an ONNX graph, for Kiln's string-tensor tests.

Run with Debian's python3 (python3-onnx, python3-numpy):

    /usr/bin/python3 test/support/onnx/make-simple-string-fixture.py

Triton's `simple_string` (qa/python_models, used by tritonclient's simple_*_string_infer_client.py
examples) takes two BYTES tensors of decimal numbers and answers their sum and difference as BYTES:

  inputs   INPUT0 string [batch, 16], INPUT1 string [batch, 16]
  outputs  OUTPUT0 string [batch, 16] = str(int(INPUT0) + int(INPUT1))
           OUTPUT1 string [batch, 16] = str(int(INPUT0) - int(INPUT1))

Written with onnx's helper API: Cast string→int32, Add / Sub, Cast int32→string (ONNX Cast converts
between strings and numbers in decimal). Writes simple-string.onnx beside this script.
"""
from onnx import TensorProto, helper

from onnx_fixture import save_model

nodes = [
    helper.make_node("Cast", ["INPUT0"], ["a"], to=TensorProto.INT32),
    helper.make_node("Cast", ["INPUT1"], ["b"], to=TensorProto.INT32),
    helper.make_node("Add", ["a", "b"], ["sum"]),
    helper.make_node("Sub", ["a", "b"], ["difference"]),
    helper.make_node("Cast", ["sum"], ["OUTPUT0"], to=TensorProto.STRING),
    helper.make_node("Cast", ["difference"], ["OUTPUT1"], to=TensorProto.STRING),
]
save_model(
    __file__,
    "simple_string",
    "simple-string.onnx",
    nodes,
    [("INPUT0", TensorProto.STRING, 16), ("INPUT1", TensorProto.STRING, 16)],
    [("OUTPUT0", TensorProto.STRING, 16), ("OUTPUT1", TensorProto.STRING, 16)],
)
