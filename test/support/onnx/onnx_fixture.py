"""What the ONNX fixture scripts beside this file share (make-dtype-fixture.py, make-fp16-fixture.py,
make-simple-string-fixture.py; imported from there, run with Debian's python3).

A fixture is one graph whose inputs and outputs are [batch, width] tensors, saved as an IR 7 model of
opset 13 (what Kiln's ONNX Runtime and Debian's onnx 1.12 both take) with the script as its producer,
and, for the graphs whose outputs the script computes with numpy, <name>.expected.json: the inputs the
tests send and the outputs they must get back, with the versions that computed them.
"""
import json
import os

import numpy as np
import onnx
from onnx import helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save_model(script, graph_name, file_name, nodes, inputs, outputs, initializers=()):
    """Checks and writes the model; `inputs` and `outputs` are (name, TensorProto type, width)."""
    tensors = lambda specs: [helper.make_tensor_value_info(name, elem_type, ["batch", width]) for name, elem_type, width in specs]
    graph = helper.make_graph(nodes, graph_name, tensors(inputs), tensors(outputs), list(initializers))
    model = helper.make_model(graph, producer_name=f"kiln {os.path.basename(script)}", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    path = os.path.join(HERE, file_name)
    onnx.save(model, path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def save_expected(name, inputs, outputs):
    """Writes <name>.expected.json (`inputs` and `outputs`: dicts of JSON-ready lists by tensor name)."""
    expected = {"generatedBy": f"onnx {onnx.__version__}, numpy {np.__version__}", "inputs": inputs, "outputs": outputs}
    with open(os.path.join(HERE, f"{name}.expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")
