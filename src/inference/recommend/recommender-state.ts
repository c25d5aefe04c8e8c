import * as tf from '@tensorflow/tfjs-core';
import { ITEM_FACTORS_LAYER, USER_FACTORS_LAYER, type RecommenderIndex } from '../../ml';
import type { LoadedModel } from '../runtime/loaded-model';
import type { HostTensor } from '../runtime/served-model';

/**
 * A loaded recommender version ready for top-K: the id vocabularies and seen items of its index, the
 * user table and item kernel of its serving model (owned by the model: valid while it is loaded), and
 * the L2-normalised item embeddings for similar-items, computed once here.
 *
 * The normalised matrix is the one tensor this state owns: `disposeIfUnloaded` frees it once the
 * model version has been unloaded (the service sweeps its states on every call).
 */
export class RecommenderState {
  readonly userIndex: Map<string, number>;
  readonly itemIndex: Map<string, number>;
  private readonly userTable: tf.Tensor2D;
  private readonly itemKernel: tf.Tensor2D;
  private readonly normalisedItems: tf.Tensor2D;
  private disposed = false;

  constructor(
    readonly model: LoadedModel,
    readonly index: RecommenderIndex,
  ) {
    const layers = model.layersModel;
    if (!layers) throw new Error(`model ${model.served.name} version ${model.served.version} is not a layers model`);
    this.userTable = layers.getLayer(USER_FACTORS_LAYER).getWeights()[0] as tf.Tensor2D;
    this.itemKernel = layers.getLayer(ITEM_FACTORS_LAYER).getWeights()[0] as tf.Tensor2D;
    const d = this.itemKernel.shape[0] - 2; // rows d, d+1: the constant 1 and mu + b_i
    this.normalisedItems = tf.tidy(() => {
      const q = tf.transpose(tf.slice(this.itemKernel, [0, 0], [d, -1])) as tf.Tensor2D;
      return tf.div(q, tf.maximum(tf.norm(q, 'euclidean', 1, true), 1e-12));
    });
    this.userIndex = new Map(index.users.map((u, i) => [u, i]));
    this.itemIndex = new Map(index.items.map((u, i) => [u, i]));
  }

  get items(): number {
    return this.index.items.length;
  }

  /** Item ids as the dataset column had them (numbers for an integer column). */
  itemId(i: number): string | number {
    const id = this.index.items[i];
    return this.index.itemIdType === 'number' ? Number(id) : id;
  }

  /** Indices of the items `user` interacted with in the training dataset version. */
  seen(user: number): Int32Array | number[] {
    return this.index.seenItems.slice(this.index.seenOffsets[user], this.index.seenOffsets[user + 1]);
  }

  /**
   * One batch of recommendation requests: rows of [user index, k'] → the k' best items per row (the
   * batch's largest k'; each caller keeps its own): one matrix product for the batch and a partial sort (topk).
   */
  async topKForUsers(inputs: HostTensor[]): Promise<HostTensor[]> {
    return this.topK(inputs, (rows) => tf.matMul(tf.gather(this.userTable, rows), this.itemKernel));
  }

  /** As topKForUsers for [item index, k'] rows: cosine similarity of the normalised item embeddings. */
  async topKForItems(inputs: HostTensor[]): Promise<HostTensor[]> {
    return this.topK(inputs, (rows) => tf.matMul(tf.gather(this.normalisedItems, rows), this.normalisedItems, false, true));
  }

  private topK(inputs: HostTensor[], scores: (rows: tf.Tensor1D) => tf.Tensor): HostTensor[] {
    if (this.disposed || this.model.unloaded)
      throw new Error(`model ${this.model.served.name} version ${this.model.served.version} was unloaded`);
    const x = inputs[0]!;
    const query = x.data as Float32Array; // [row, k] pairs built by RecommendService
    const n = x.shape[0]!;
    const rows = new Int32Array(n);
    let k = 1;
    for (let r = 0; r < n; r++) {
      rows[r] = query[r * 2]!;
      k = Math.max(k, query[r * 2 + 1]!);
    }
    k = Math.min(k, this.items);
    // read back outside tidy: tidy walks a returned typed array element by element
    const top = tf.tidy(() => {
      const t = tf.topk(scores(tf.tensor1d(rows, 'int32')), k, true);
      return [t.values, t.indices];
    });
    let values: Float32Array;
    let indices: Int32Array;
    try {
      values = top[0]!.dataSync() as Float32Array;
      indices = top[1]!.dataSync() as Int32Array;
    } finally {
      tf.dispose(top);
    }
    return [
      { name: 'scores', dtype: 'float32', shape: [n, k], data: values },
      { name: 'items', dtype: 'int32', shape: [n, k], data: indices },
    ];
  }

  /** Frees the normalised item matrix once the version is unloaded; true when this state is gone. */
  disposeIfUnloaded(): boolean {
    if (!this.model.unloaded) return false;
    if (!this.disposed) {
      this.disposed = true;
      this.normalisedItems.dispose();
    }
    return true;
  }
}
