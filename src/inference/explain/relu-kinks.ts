import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * Where the ReLUs of a Kiln model switch along each row's straight path from the baseline to the input.
 *
 * Kiln's templates are chains of Dense layers (hidden: relu; output: sigmoid / softmax / linear), so
 * along a straight path the network is linear between ReLU switches and the input gradient jumps at
 * them. Knowing the switches lets the quadrature put piece boundaries there (quadrature.ts).
 *
 * One forward pass over a uniform grid of the path records every ReLU unit's pre-activation; a sign
 * change between two grid points is located by linear interpolation. That is exact for the first
 * hidden layer (its pre-activations are linear in α) and for deeper layers when no lower unit
 * switches in the same grid interval; otherwise it is a close estimate, and whatever error remains
 * shows in `Explanation.delta`. A model that is not a chain of Dense layers gets no breakpoints (the
 * plain grid): still integrated gradients, only with a larger `delta`.
 */

interface DenseStep {
  layer: tfl.layers.Layer;
  relu: boolean;
}

/** The model as a chain of Dense layers (its InputLayer skipped), or null when it is anything else. */
function denseChain(model: tfl.LayersModel): DenseStep[] | null {
  const steps: DenseStep[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') continue;
    if (cls !== 'Dense') return null;
    steps.push({ layer, relu: layer.getConfig().activation === 'relu' });
  }
  return steps;
}

/**
 * Per row, the path positions α ∈ (0, 1) where a ReLU switches (sorted, may repeat). `x` is row-major
 * rows × width, `baseline` is width values, the grid has `gridSteps` intervals.
 */
export function reluKinks(
  model: tfl.LayersModel,
  x: Float32Array,
  baseline: Float32Array,
  rows: number,
  width: number,
  gridSteps: number,
): number[][] {
  const kinks: number[][] = Array.from({ length: rows }, () => []);
  const chain = denseChain(model);
  const lastRelu = chain ? chain.map((s) => s.relu).lastIndexOf(true) : -1;
  if (!chain || lastRelu < 0) return kinks;
  const g = gridSteps + 1;
  // Filled inside the tidy (typed arrays returned from tf.tidy are walked element by element).
  const preActivations: Array<{ units: number; values: Float32Array }> = [];
  tf.tidy(() => {
    const a = tf.tensor3d(
      Float32Array.from({ length: g }, (_, k) => k / gridSteps),
      [1, g, 1],
    );
    const xs = tf.tensor3d(x, [rows, 1, width]);
    const b = tf.tensor3d(baseline, [1, 1, width]);
    let h = tf.reshape(tf.add(tf.mul(a, xs), tf.mul(tf.sub(1, a), b)), [rows * g, width]) as tf.Tensor2D;
    for (let i = 0; i <= lastRelu; i++) {
      const { layer, relu } = chain[i];
      if (!relu) {
        h = layer.apply(h) as tf.Tensor2D;
        continue;
      }
      const [kernel, bias] = layer.getWeights();
      const pre = bias ? tf.add(tf.matMul(h, kernel as tf.Tensor2D), bias) : tf.matMul(h, kernel as tf.Tensor2D);
      preActivations.push({ units: kernel.shape[1] as number, values: pre.dataSync() as Float32Array });
      h = tf.relu(pre) as tf.Tensor2D;
    }
  });
  for (const { units, values } of preActivations) {
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < gridSteps; k++) {
        const p0 = (r * g + k) * units;
        const p1 = p0 + units;
        for (let u = 0; u < units; u++) {
          const v0 = values[p0 + u];
          const v1 = values[p1 + u];
          if (v0 > 0 !== v1 > 0) kinks[r].push((k + v0 / (v0 - v1)) / gridSteps);
        }
      }
    }
  }
  kinks.forEach((k) => k.sort((p, q) => p - q));
  return kinks;
}
