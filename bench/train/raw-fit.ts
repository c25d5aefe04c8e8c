/**
 * The baseline of bench/train: the same network as template 'mlp' (same widths, dropout, L2,
 * initialiser seeds, Adam, batch size, class weights), with tfjs' stock Dropout, trained by a plain
 * in-process `model.fit` on the same split and preprocessing as Kiln's train().
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { TrainSpec, deriveSeed, lossFor, prepareTraining } from '../../src/ml';

/** CPU time of this process (user + system), ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The same network as template 'mlp', with tfjs' stock Dropout, trained by a plain model.fit. */
export async function rawFit(spec: TrainSpec, epochs: number): Promise<{ ms: number; cpu: number; samples: number }> {
  const p = prepareTraining(spec);
  const rows = (idx: number[]) => idx.map((i) => spec.table.rows[i]);
  const opts = { allowExtra: true, allowAbsent: true } as const;
  const trainRows = rows(p.split.train);
  const valRows = rows(p.split.validation);
  const w = p.preprocessor.width;
  const x = tf.tensor2d(p.preprocessor.transform(trainRows, opts), [trainRows.length, w]);
  const xv = tf.tensor2d(p.preprocessor.transform(valRows, opts), [valRows.length, w]);
  const t = p.target;
  const enc = (rs: typeof trainRows): tf.Tensor2D => {
    if (t.task === 'regression') {
      const { mean, std } = t.scale as { mean: number; std: number };
      return tf.tensor2d(rs.map((r) => [((r[t.name] as number) - mean) / std]));
    }
    const classes = t.classes as string[];
    const idx = rs.map((r) => classes.indexOf(String(r[t.name])));
    return t.task === 'binary'
      ? tf.tensor2d(idx.map((i) => [i]))
      : (tf.cast(tf.oneHot(tf.tensor1d(idx, 'int32'), classes.length), 'float32') as tf.Tensor2D);
  };
  const y = enc(trainRows);
  const yv = enc(valRows);
  const hp = p.hp;
  const reg = hp.l2 > 0 ? tfl.regularizers.l2({ l2: hp.l2 }) : undefined;
  const model = tfl.sequential();
  hp.hiddenUnits.forEach((units, i) => {
    model.add(
      tfl.layers.dense({
        units,
        activation: 'relu',
        inputShape: i === 0 ? [w] : undefined,
        kernelInitializer: tfl.initializers.heUniform({ seed: deriveSeed(hp.seed, 0x1a7e, i) }),
        kernelRegularizer: reg,
      }),
    );
    if (hp.dropout > 0) model.add(tfl.layers.dropout({ rate: hp.dropout }));
  });
  const units = t.task === 'multiclass' ? (t.classes as string[]).length : 1;
  model.add(
    tfl.layers.dense({
      units,
      activation: t.task === 'binary' ? 'sigmoid' : t.task === 'multiclass' ? 'softmax' : 'linear',
      inputShape: hp.hiddenUnits.length === 0 ? [w] : undefined,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: deriveSeed(hp.seed, 0x1a7e, 999) }),
      kernelRegularizer: reg,
    }),
  );
  const optimizer = tf.train.adam(hp.learningRate);
  model.compile({ optimizer, loss: lossFor(t.task) });
  let classWeight: tfl.ClassWeight | undefined;
  if (hp.classWeights === 'balanced' && t.classes) {
    const counts = t.classes.map((c) => trainRows.filter((r) => String(r[t.name]) === c).length);
    classWeight = Object.fromEntries(counts.map((c, i) => [i, trainRows.length / (counts.length * c)]));
  }
  const t0 = performance.now();
  const c0 = cpuMs();
  await model.fit(x, y, { epochs, batchSize: hp.batchSize, shuffle: true, verbose: 0, validationData: [xv, yv], classWeight });
  const ms = performance.now() - t0;
  const cpu = cpuMs() - c0;
  tf.dispose([x, xv, y, yv]);
  model.dispose();
  optimizer.dispose();
  return { ms, cpu, samples: trainRows.length * epochs };
}
