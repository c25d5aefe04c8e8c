import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createHash } from 'node:crypto';
import {
  CheckpointMismatchError,
  decodeCheckpoint,
  decodeTensors,
  encodeTensors,
  optimizerState,
  restoreOptimizer,
  type EncodedTensors,
  type TrainingCheckpoint,
} from '../checkpoint';
import { deriveSeed, mulberry32, seededPermutation } from '../random';
import { TrainingCancelledError, type EpochProgress } from '../types';
import {
  itemCounts,
  readInteractions,
  splitInteractions,
  userItems,
  type InteractionSplit,
  type Interactions,
  type UserItems,
} from './interactions';
import { TopKAccumulator, topKIndices, type TopKMetrics } from './ranking-metrics';
import {
  checkInteractionColumns,
  resolveRecommenderHyperparameters,
  resolveRecommenderSplit,
  type InteractionColumns,
  type RecommenderHyperparameters,
  type RecommenderSpec,
} from './recommender-spec';

export type Feedback = 'explicit' | 'implicit';

/** Top-K metrics (and RMSE for ratings) of the model and, on the same split, of the popularity baseline. */
export interface RecommenderMetrics extends TopKMetrics {
  /** Explicit feedback: RMSE of the predicted ratings on the split's interactions. */
  rmse?: number;
  /** Most-interacted training items first (minus the user's known items); RMSE: the training mean rating of the item. */
  baseline: TopKMetrics & { name: 'popularity'; rmse?: number };
}

/**
 * What serving needs besides the embeddings (stored as one JSON artifact with the version): the id
 * vocabularies (model indices ↔ dataset ids), each user's known items (for `filterSeen`), and the
 * training popularity (the unknown-user fallback and the drift reference).
 */
export interface RecommenderIndex {
  format: 'kiln.recommender-index.v1';
  feedback: Feedback;
  columns: InteractionColumns;
  /** 'number' when the dataset column is an integer column (ids are answered as numbers). */
  userIdType: 'number' | 'string';
  itemIdType: 'number' | 'string';
  users: string[];
  items: string[];
  /** Training-split interactions per item (model item order). */
  itemCounts: number[];
  /** Training-split interactions per user (model user order). */
  userCounts: number[];
  /** Items by training popularity, most popular first (at most MAX_POPULAR). */
  popular: number[];
  /** Every interaction of the dataset version per user, CSR: items of user u are seenItems[seenOffsets[u] .. seenOffsets[u+1]). */
  seenOffsets: number[];
  seenItems: number[];
}

export const MAX_POPULAR = 1000;

export interface RecommenderTrainResult {
  /** Serving model: user index [batch, 1] → a score per item [batch, items]; embeddings in layers `user_factors` and `item_factors`. */
  model: tfl.LayersModel;
  index: RecommenderIndex;
  feedback: Feedback;
  columns: InteractionColumns;
  hyperparameters: RecommenderHyperparameters;
  metrics: { validation: RecommenderMetrics; test: RecommenderMetrics };
  history: EpochProgress[];
  split: { by: 'time' | 'random'; train: number; validation: number; test: number; evaluatedUsers: number };
  interactions: number;
  droppedRows: number;
  duplicates: number;
  epochsCompleted: number;
  /** 1-based epoch whose factors the model carries (the best on validation: NDCG@K, or RMSE with ratings). */
  bestEpoch: number;
  /** Training ended before `epochs` because validation did not improve for `earlyStoppingPatience` epochs. */
  stoppedEarly: boolean;
  /** Epochs restored from `resumeFrom` (0 for a fresh run). */
  resumedFromEpoch: number;
  backend: string;
  durationMs: number;
  samplesPerSecond: number;
}

export interface RecommenderTrainOptions {
  onProgress?: (p: EpochProgress) => void | Promise<void>;
  signal?: AbortSignal;
  /** After every epoch (and its progress): the factors, Adam's moments, the best factors and the loop state. */
  onCheckpoint?: (c: TrainingCheckpoint) => void | Promise<void>;
  /** A checkpoint of the same spec and data: training continues after its epoch as if never interrupted. */
  resumeFrom?: TrainingCheckpoint | Buffer;
}

/** The serving model's layer names: the user table is [users, d + 2], the item kernel [d + 2, items]. */
export const USER_FACTORS_LAYER = 'user_factors';
export const ITEM_FACTORS_LAYER = 'item_factors';

/** Users evaluated per epoch for the progress metric (the final metrics use every user). */
const PROGRESS_EVAL_USERS = 500;
/** Scores held at once during evaluation (users per matrix product = this / items). */
const EVAL_SCORES = 4_000_000;

/**
 * The trainable factors: score(u, i) = mu + b_u + b_i + p_u · q_i (explicit); b_i + p_u · q_i
 * (implicit, where a user bias cannot change the ranking and BPR gives it no gradient).
 */
class Factors {
  readonly P: tf.Variable;
  readonly Q: tf.Variable;
  readonly bu: tf.Variable;
  readonly bi: tf.Variable;

  constructor(
    nUsers: number,
    nItems: number,
    readonly d: number,
    readonly mu: number,
    seed: number,
  ) {
    // tidy disposes the initial values (a variable keeps its own reference to the data)
    [this.P, this.Q, this.bu, this.bi] = tf.tidy(() => [
      tf.variable(tf.randomNormal([nUsers, d], 0, 0.1, 'float32', deriveSeed(seed, 0xfac, 1)), true),
      tf.variable(tf.randomNormal([nItems, d], 0, 0.1, 'float32', deriveSeed(seed, 0xfac, 2)), true),
      tf.variable(tf.zeros([nUsers]), true),
      tf.variable(tf.zeros([nItems]), true),
    ]);
  }

  /** Scores of every item for each user, row-major [users.length × items]. */
  scores(users: Int32Array): Float32Array {
    // read back outside tidy: tidy walks a returned typed array element by element
    return hostData(
      tf.tidy(() => {
        const u = tf.tensor1d(users, 'int32');
        const s = tf.add(tf.matMul(tf.gather(this.P, u), this.Q, false, true), tf.expandDims(this.bi, 0));
        return tf.add(tf.add(s, tf.expandDims(tf.gather(this.bu, u), 1)), this.mu);
      }),
    );
  }

  /** Predicted scores of (user, item) pairs. */
  pairScores(users: Int32Array, items: Int32Array): Float32Array {
    return hostData(
      tf.tidy(() => {
        const u = tf.tensor1d(users, 'int32');
        const i = tf.tensor1d(items, 'int32');
        const dot = tf.sum(tf.mul(tf.gather(this.P, u), tf.gather(this.Q, i)), 1);
        return tf.add(tf.add(tf.add(dot, tf.gather(this.bi, i)), tf.gather(this.bu, u)), this.mu);
      }),
    );
  }

  /** The four factor tensors, encoded (checkpoints and the best-so-far copy). */
  encode(): Promise<EncodedTensors> {
    return encodeTensors([
      { name: 'P', tensor: this.P },
      { name: 'Q', tensor: this.Q },
      { name: 'bu', tensor: this.bu },
      { name: 'bi', tensor: this.bi },
    ]);
  }

  restore(enc: EncodedTensors): void {
    const map = decodeTensors(enc);
    try {
      for (const [k, v] of [
        ['P', this.P],
        ['Q', this.Q],
        ['bu', this.bu],
        ['bi', this.bi],
      ] as const) {
        const t = map[k];
        if (!t || !tf.util.arraysEqual(t.shape, v.shape)) throw new CheckpointMismatchError(`factor ${k} does not fit this model`);
        v.assign(t);
      }
    } finally {
      tf.dispose(Object.values(map));
    }
  }

  dispose(): void {
    tf.dispose([this.P, this.Q, this.bu, this.bi]);
  }
}

/** A float tensor's values on the host; the tensor is disposed. */
function hostData(t: tf.Tensor): Float32Array {
  try {
    return t.dataSync() as Float32Array;
  } finally {
    t.dispose();
  }
}

function hasItem(known: UserItems, user: number, item: number): boolean {
  let lo = known.offsets[user];
  let hi = known.offsets[user + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = known.items[mid];
    if (v === item) return true;
    if (v < item) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * tf.gather whose gradient is a ScatterNd (duplicate rows summed) instead of tfjs' UnsortedSegmentSum,
 * which the wasm backend does not implement. Only the table is differentiated; `idx` is int32 [n].
 */
function gatherRows(table: tf.Tensor, idx: tf.Tensor1D): tf.Tensor {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const t = args[0] as tf.Tensor;
    return {
      value: tf.gather(t, idx),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.scatterND(tf.expandDims(idx, 1), dy as tf.Tensor, t.shape),
    };
  });
  return op(table);
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Trains a matrix-factorisation recommender on an interaction table (see recommender-spec.ts). */
export async function trainRecommender(spec: RecommenderSpec, opts: RecommenderTrainOptions = {}): Promise<RecommenderTrainResult> {
  const started = performance.now();
  const columns = checkInteractionColumns(spec.table.columns, spec.columns);
  const hp = resolveRecommenderHyperparameters(spec.hyperparameters);
  const fractions = resolveRecommenderSplit(spec.split);
  const x = readInteractions(spec.table, columns);
  const split = splitInteractions(x, fractions, hp.seed);
  const feedback: Feedback = x.rating ? 'explicit' : 'implicit';
  const trainKnown = userItems(x, split.train);
  const nUsers = x.users.length;
  const nItems = x.items.length;
  let mu = 0;
  if (x.rating) {
    for (const k of split.train) mu += x.rating[k];
    mu /= Math.max(1, split.train.length);
  }
  const factors = new Factors(nUsers, nItems, hp.embeddingSize, mu, hp.seed);
  const optimizer = tf.train.adam(hp.learningRate);
  const history: EpochProgress[] = [];
  const evaluator = new Evaluator(x, split, feedback, hp.k);
  let samples = 0;
  let loopMs = 0;
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify({
        template: 'recommender',
        hp,
        columns,
        fractions,
        sizes: [nUsers, nItems, split.train.length, split.validation.length, split.test.length],
      }),
    )
    .digest('hex');
  // early stopping on the validation loss: RMSE² (ratings) or 1 − NDCG@K (implicit)
  let best: { epoch: number; valLoss: number } | null = null;
  let bestWeights: EncodedTensors | null = null;
  let wait = 0;
  let stoppedEarly = false;
  try {
    if (opts.resumeFrom) {
      const ck = Buffer.isBuffer(opts.resumeFrom) ? decodeCheckpoint(opts.resumeFrom) : opts.resumeFrom;
      if (ck.fingerprint !== fingerprint) throw new CheckpointMismatchError('it was written for a different training spec or data');
      factors.restore(ck.weights);
      if (ck.optimizer) await restoreOptimizer(optimizer, ck.optimizer);
      history.push(...ck.history);
      best = ck.best;
      bestWeights = ck.bestWeights;
      wait = ck.wait;
      stoppedEarly = hp.earlyStoppingPatience > 0 && wait >= hp.earlyStoppingPatience;
    }
    const resumedFromEpoch = history.length;
    for (let epoch = history.length + 1; epoch <= hp.epochs && !stoppedEarly; epoch++) {
      const t0 = performance.now();
      const order = seededPermutation(split.train.length, deriveSeed(hp.seed, 0xe0c, epoch));
      const rand = mulberry32(deriveSeed(hp.seed, 0x4e6, epoch));
      const costs: tf.Scalar[] = [];
      for (let start = 0, batch = 0; start < order.length; start += hp.batchSize, batch++) {
        if (opts.signal?.aborted) throw new TrainingCancelledError(epoch, batch);
        const rows = order.subarray(start, Math.min(order.length, start + hp.batchSize));
        const u = new Int32Array(rows.length);
        const i = new Int32Array(rows.length);
        const r = new Float32Array(rows.length);
        rows.forEach((row, n) => {
          const k = split.train[row];
          u[n] = x.user[k];
          i[n] = x.item[k];
          if (x.rating) r[n] = x.rating[k];
        });
        const cost =
          feedback === 'explicit'
            ? explicitStep(factors, optimizer, hp, u, i, r)
            : implicitStep(factors, optimizer, hp, u, i, trainKnown, nItems, rand);
        if (cost) costs.push(cost);
        samples += rows.length;
        if (batch % 8 === 7) await yieldToEventLoop(); // lets a cancel message in (worker thread)
      }
      const meanCost = costs.length ? tf.tidy(() => tf.div(tf.addN(costs), costs.length)) : null;
      const loss = meanCost ? meanCost.dataSync()[0] : NaN;
      meanCost?.dispose();
      tf.dispose(costs);
      loopMs += performance.now() - t0;
      const val = evaluator.evaluate(factors, 'validation', PROGRESS_EVAL_USERS);
      const progress: EpochProgress =
        feedback === 'explicit'
          ? { epoch, epochs: hp.epochs, loss, valLoss: (val.rmse ?? NaN) ** 2, valMetric: val.rmse ?? NaN, valMetricName: 'rmse' }
          : // implicit: 1 − NDCG@K as the validation loss (lower is better, like every other template's)
            { epoch, epochs: hp.epochs, loss, valLoss: 1 - val.ndcgAtK, valMetric: val.ndcgAtK, valMetricName: 'ndcgAtK' };
      history.push(progress);
      const valLoss = Number.isFinite(progress.valLoss) ? progress.valLoss : Infinity;
      if (best === null || valLoss < best.valLoss) {
        best = { epoch, valLoss };
        bestWeights = await factors.encode();
        wait = 0;
      } else {
        wait++;
        if (hp.earlyStoppingPatience > 0 && wait >= hp.earlyStoppingPatience) stoppedEarly = true;
      }
      await opts.onProgress?.(progress);
      if (opts.onCheckpoint) {
        await opts.onCheckpoint({
          formatVersion: 1,
          fingerprint,
          epochsCompleted: epoch,
          history: [...history],
          best,
          wait,
          weights: await factors.encode(),
          bestWeights,
          optimizer: await optimizerState(optimizer),
        });
      }
      await yieldToEventLoop();
    }
    // the best epoch's factors (early stopping, or a later epoch that did worse on validation)
    if (bestWeights && best && best.epoch !== history.length) factors.restore(bestWeights);
    const metrics = { validation: evaluator.evaluate(factors, 'validation'), test: evaluator.evaluate(factors, 'test') };
    const model = exportServingModel(factors, nUsers, nItems);
    const all = Int32Array.from({ length: x.user.length }, (_, k) => k);
    const seen = userItems(x, all);
    const trainCounts = itemCounts(x, split.train);
    const userCounts = new Array<number>(nUsers).fill(0);
    for (const k of split.train) userCounts[x.user[k]] += 1;
    const typeOf = (name: string): 'number' | 'string' =>
      spec.table.columns.find((c) => c.name === name)?.type === 'integer' ? 'number' : 'string';
    const index: RecommenderIndex = {
      format: 'kiln.recommender-index.v1',
      feedback,
      columns,
      userIdType: typeOf(columns.user),
      itemIdType: typeOf(columns.item),
      users: x.users,
      items: x.items,
      itemCounts: Array.from(trainCounts),
      userCounts,
      popular: popularityOrder(trainCounts).slice(0, MAX_POPULAR),
      seenOffsets: Array.from(seen.offsets),
      seenItems: Array.from(seen.items),
    };
    return {
      model,
      index,
      feedback,
      columns,
      hyperparameters: hp,
      metrics,
      history,
      split: {
        by: split.by,
        train: split.train.length,
        validation: split.validation.length,
        test: split.test.length,
        evaluatedUsers: split.evaluatedUsers,
      },
      interactions: x.user.length,
      droppedRows: x.droppedRows,
      duplicates: x.duplicates,
      epochsCompleted: history.length,
      bestEpoch: best?.epoch ?? history.length,
      stoppedEarly,
      resumedFromEpoch,
      backend: tf.getBackend(),
      durationMs: performance.now() - started,
      samplesPerSecond: loopMs > 0 ? samples / (loopMs / 1000) : 0,
    };
  } finally {
    factors.dispose();
    optimizer.dispose();
  }
}

function l2Penalty(hp: RecommenderHyperparameters, ...parts: tf.Tensor[]): tf.Scalar {
  const terms = parts.map((t) => (t.rank === 2 ? tf.mean(tf.sum(tf.square(t), 1)) : tf.mean(tf.square(t))));
  return tf.mul(tf.addN(terms), hp.l2) as tf.Scalar;
}

/** Squared error on the observed ratings. */
function explicitStep(
  f: Factors,
  optimizer: tf.Optimizer,
  hp: RecommenderHyperparameters,
  u: Int32Array,
  i: Int32Array,
  r: Float32Array,
): tf.Scalar | null {
  const ut = tf.tensor1d(u, 'int32');
  const it = tf.tensor1d(i, 'int32');
  const rt = tf.tensor1d(r);
  try {
    return optimizer.minimize(
      () => {
        const pu = gatherRows(f.P, ut);
        const qi = gatherRows(f.Q, it);
        const bu = gatherRows(f.bu, ut);
        const bi = gatherRows(f.bi, it);
        const pred = tf.add(tf.add(tf.add(tf.sum(tf.mul(pu, qi), 1), bu), bi), f.mu);
        return tf.add(tf.mean(tf.square(tf.sub(pred, rt))), l2Penalty(hp, pu, qi, bu, bi)) as tf.Scalar;
      },
      true,
      [f.P, f.Q, f.bu, f.bi],
    );
  } finally {
    tf.dispose([ut, it, rt]);
  }
}

/**
 * Implicit feedback: each observed (user, item) gets `negatives` items the user has not interacted
 * with in training, sampled uniformly (rejection sampling, seeded). BPR maximises log σ(x_ui − x_uj);
 * 'binary' is logistic loss with the positive labelled 1 and the sampled ones 0.
 */
function implicitStep(
  f: Factors,
  optimizer: tf.Optimizer,
  hp: RecommenderHyperparameters,
  u: Int32Array,
  i: Int32Array,
  known: UserItems,
  nItems: number,
  rand: () => number,
): tf.Scalar | null {
  const m = hp.negatives;
  const uRep = new Int32Array(u.length * m);
  const iRep = new Int32Array(u.length * m);
  const j = new Int32Array(u.length * m);
  for (let n = 0; n < u.length; n++) {
    for (let s = 0; s < m; s++) {
      let neg = Math.floor(rand() * nItems);
      for (let tries = 0; tries < 20 && hasItem(known, u[n], neg); tries++) neg = Math.floor(rand() * nItems);
      uRep[n * m + s] = u[n];
      iRep[n * m + s] = i[n];
      j[n * m + s] = neg;
    }
  }
  const ut = tf.tensor1d(uRep, 'int32');
  const it = tf.tensor1d(iRep, 'int32');
  const jt = tf.tensor1d(j, 'int32');
  try {
    return optimizer.minimize(
      () => {
        const pu = gatherRows(f.P, ut);
        const qi = gatherRows(f.Q, it);
        const qj = gatherRows(f.Q, jt);
        const bi = gatherRows(f.bi, it);
        const bj = gatherRows(f.bi, jt);
        const xi = tf.add(tf.sum(tf.mul(pu, qi), 1), bi);
        const xj = tf.add(tf.sum(tf.mul(pu, qj), 1), bj);
        const fit =
          hp.loss === 'bpr'
            ? tf.mean(tf.softplus(tf.sub(xj, xi))) // −log σ(x_ui − x_uj)
            : tf.add(tf.mean(tf.softplus(tf.neg(xi))), tf.mean(tf.softplus(xj)));
        return tf.add(fit, l2Penalty(hp, pu, qi, qj, bi, bj)) as tf.Scalar;
      },
      true,
      [f.P, f.Q, f.bi],
    );
  } finally {
    tf.dispose([ut, it, jt]);
  }
}

/** Item indices by count, largest first (ties: lower index first). */
export function popularityOrder(counts: ArrayLike<number>): number[] {
  return Array.from({ length: counts.length }, (_, i) => i).sort((a, b) => counts[b] - counts[a] || a - b);
}

/**
 * Scores a split: for each user with held-out items, every item not already known to the user
 * (training, plus validation when scoring test) is ranked; the held-out items are the relevant ones.
 * The popularity baseline ranks by training counts under the same exclusions.
 */
class Evaluator {
  private readonly trainKnown: UserItems;
  private readonly valKnown: UserItems;
  private readonly targets: { validation: UserItems; test: UserItems };
  private readonly popular: number[];
  private readonly itemMean: Float64Array;
  private readonly mean: number;

  constructor(
    private readonly x: Interactions,
    private readonly split: InteractionSplit,
    private readonly feedback: Feedback,
    private readonly k: number,
  ) {
    this.trainKnown = userItems(x, split.train);
    this.valKnown = userItems(x, split.validation);
    this.targets = { validation: this.valKnown, test: userItems(x, split.test) };
    this.popular = popularityOrder(itemCounts(x, split.train));
    const sums = new Float64Array(x.items.length);
    const counts = new Float64Array(x.items.length);
    let total = 0;
    if (x.rating) {
      for (const k of split.train) {
        sums[x.item[k]] += x.rating[k];
        counts[x.item[k]] += 1;
        total += x.rating[k];
      }
    }
    this.mean = total / Math.max(1, split.train.length);
    this.itemMean = sums.map((s, i) => (counts[i] > 0 ? s / counts[i] : this.mean));
  }

  evaluate(f: Factors, which: 'validation' | 'test', maxUsers = Infinity): RecommenderMetrics {
    const target = this.targets[which];
    const nItems = this.x.items.length;
    let users: number[] = [];
    for (let u = 0; u < this.x.users.length; u++) if (target.offsets[u + 1] > target.offsets[u]) users.push(u);
    if (users.length > maxUsers) users = users.filter((_, n) => n % Math.ceil(users.length / maxUsers) === 0);
    const model = new TopKAccumulator(this.k, nItems);
    const baseline = new TopKAccumulator(this.k, nItems);
    const chunkSize = Math.max(1, Math.floor(EVAL_SCORES / nItems));
    for (let c = 0; c < users.length; c += chunkSize) {
      const chunk = Int32Array.from(users.slice(c, c + chunkSize));
      const scores = f.scores(chunk);
      chunk.forEach((u, row) => {
        const s = scores.subarray(row * nItems, (row + 1) * nItems);
        const excluded = new Set<number>(this.trainKnown.items.subarray(this.trainKnown.offsets[u], this.trainKnown.offsets[u + 1]));
        if (which === 'test')
          for (const i of this.valKnown.items.subarray(this.valKnown.offsets[u], this.valKnown.offsets[u + 1])) excluded.add(i);
        for (const i of excluded) s[i] = -Infinity;
        const relevant = new Set<number>(target.items.subarray(target.offsets[u], target.offsets[u + 1]));
        model.add(topKIndices(s, this.k), relevant);
        const pop: number[] = [];
        for (const i of this.popular) {
          if (pop.length >= this.k) break;
          if (!excluded.has(i)) pop.push(i);
        }
        baseline.add(pop, relevant);
      });
    }
    const result: RecommenderMetrics = { ...model.result(), baseline: { name: 'popularity', ...baseline.result() } };
    if (this.feedback === 'explicit' && this.x.rating) {
      const rows = this.split[which];
      const pu = new Int32Array(rows.length);
      const pi = new Int32Array(rows.length);
      rows.forEach((k, n) => {
        pu[n] = this.x.user[k];
        pi[n] = this.x.item[k];
      });
      const pred = rows.length ? f.pairScores(pu, pi) : new Float32Array(0);
      let se = 0;
      let seBase = 0;
      rows.forEach((k, n) => {
        const r = this.x.rating![k];
        se += (pred[n] - r) ** 2;
        seBase += (this.itemMean[pi[n]] - r) ** 2;
      });
      result.rmse = Math.sqrt(se / Math.max(1, rows.length));
      result.baseline.rmse = Math.sqrt(seBase / Math.max(1, rows.length));
    }
    return result;
  }
}

/**
 * The serving model: Embedding(user) → [p_u, b_u, 1] and a bias-free Dense whose kernel columns are
 * [q_i; 1; mu + b_i], so one matrix product gives mu + b_u + b_i + p_u · q_i for every item. A plain
 * layers model: the runtime loads it like any other and TF Serving / OIP calls can score a user index.
 */
function exportServingModel(f: Factors, nUsers: number, nItems: number): tfl.LayersModel {
  return recommenderServingModel(f.P, f.Q, f.bu, f.bi, f.mu);
}

/**
 * The serving model of factors P [users, d], Q [items, d], biases bu [users], bi [items] and a global
 * bias mu (see exportServingModel): shared by training and the embeddings import. The tensors stay the caller's.
 */
export function recommenderServingModel(P: tf.Tensor, Q: tf.Tensor, bu: tf.Tensor, bi: tf.Tensor, mu: number): tfl.LayersModel {
  const [nUsers, d] = P.shape as [number, number];
  const nItems = Q.shape[0]!;
  const model = tfl.sequential({ name: 'kiln_recommender' });
  model.add(
    tfl.layers.embedding({
      name: USER_FACTORS_LAYER,
      inputDim: nUsers,
      outputDim: d + 2,
      inputLength: 1,
      inputShape: [1],
      embeddingsInitializer: 'zeros',
    }),
  );
  model.add(tfl.layers.flatten({ name: 'flatten' }));
  model.add(tfl.layers.dense({ name: ITEM_FACTORS_LAYER, units: nItems, useBias: false, kernelInitializer: 'zeros' }));
  const [userTable, itemKernel] = tf.tidy(() => [
    tf.concat([P, tf.expandDims(bu, 1), tf.ones([nUsers, 1])], 1),
    tf.concat([tf.transpose(Q), tf.ones([1, nItems]), tf.expandDims(tf.add(bi, mu), 0)], 0),
  ]);
  model.setWeights([userTable, itemKernel]);
  tf.dispose([userTable, itemKernel]);
  return model;
}
