#!/usr/bin/python3
"""Makes the PyTorch-exported ONNX fixture of Kiln's ONNX import tests.

Run with Debian's python3 (python3-torch, python3-onnx, python3-sklearn):

    /usr/bin/python3 test/support/onnx/make-torch-fixture.py

Writes, beside this script:
  torch-iris-mlp.onnx           a 4 -> 16 -> 3 softmax MLP trained on iris, exported by torch.onnx.export
                                with a dynamic batch axis (input "features" [-1, 4], output "probabilities" [-1, 3])
  torch-iris-mlp.expected.json  a few input rows and PyTorch's own outputs for them (float32 values written
                                as the exact decimal of each float32), plus the signature a client would send
The weights are seeded, so a rerun writes the same graph (up to the exporter's version string).
"""
import json
import os

import numpy as np
import onnx
import torch
from sklearn.datasets import load_iris

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(7)

iris = load_iris()
x = torch.tensor(iris.data, dtype=torch.float32)
y = torch.tensor(iris.target, dtype=torch.long)

model = torch.nn.Sequential(
    torch.nn.Linear(4, 16),
    torch.nn.ReLU(),
    torch.nn.Linear(16, 3),
)
opt = torch.optim.Adam(model.parameters(), lr=0.05)
for _ in range(300):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()

served = torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval()

path = os.path.join(HERE, "torch-iris-mlp.onnx")
torch.onnx.export(
    served,
    torch.zeros(1, 4),
    path,
    input_names=["features"],
    output_names=["probabilities"],
    dynamic_axes={"features": {0: "batch"}, "probabilities": {0: "batch"}},
    opset_version=13,
)
onnx.checker.check_model(onnx.load(path))

rows = [iris.data[i].tolist() for i in (0, 51, 120, 149)] + [[6.0, 2.9, 4.8, 1.7], [0.0, 0.0, 0.0, 0.0]]
with torch.no_grad():
    out = served(torch.tensor(rows, dtype=torch.float32)).numpy().astype(np.float32)
accuracy = float((served(x).argmax(1) == y).float().mean())

expected = {
    "generatedBy": f"torch {torch.__version__}, onnx {onnx.__version__}",
    "trainingAccuracy": accuracy,
    "inputs": [[float(np.float32(v)) for v in r] for r in rows],
    "probabilities": [[float(v) for v in r] for r in out.tolist()],
    "labels": [iris.target_names[i].item() for i in out.argmax(1)],
    "signature": {
        "features": [{"name": n.replace(" (cm)", "").replace(" ", "_"), "type": "number"} for n in iris.feature_names],
        "task": "multiclass",
        "classes": iris.target_names.tolist(),
    },
}
with open(os.path.join(HERE, "torch-iris-mlp.expected.json"), "w") as f:
    json.dump(expected, f, indent=2)
    f.write("\n")
print(f"wrote {path} ({os.path.getsize(path)} bytes), training accuracy {accuracy:.3f}")
