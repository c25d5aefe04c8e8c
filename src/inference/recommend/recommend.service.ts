import { BadRequestException, Injectable, Logger } from '@nestjs/common';
import { ModelRegistry } from '../../models';
import { ArtifactStore } from '../../platform/artifacts';
import { ValidationProblemException } from '../../platform/http/validation';
import type { RecommenderIndex } from '../../ml';
import { InferenceService } from '../inference.service';
import type { LoadedModel } from '../runtime/loaded-model';
import type { InferenceCall, ModelSelector, ServedModel } from '../runtime/served-model';
import { parseRecommendRequest, parseSimilarItemsRequest, type RecommendRequest, type SimilarItemsRequest } from './recommend-request';
import { RecommenderState } from './recommender-state';

export interface ScoredItem {
  item: string | number;
  score: number;
}

/** One user's list from a batch call. */
export interface UserList {
  user: string;
  /** The user is not in the version's training data: the popularity list. */
  fallback: boolean;
  items: ScoredItem[];
}

/** Options of a batch recommendation call (checked by the batch predictions API). */
export interface RecommendBatchOptions {
  k: number;
  filterSeen: boolean;
  exclude: readonly string[];
}

/** Scores held at once by one batch call's matrix product (users per product = this / catalogue size). */
const BATCH_SCORES = 4_000_000;

export interface RecommendAnswer {
  model: ServedModel;
  items: ScoredItem[];
  /** The user is not in the version's training data: the most popular training items instead. */
  fallback?: 'popularity';
}

/**
 * Recommendations and similar items from a recommender version (template `recommender`), through the
 * runtime's routing, aliases, canary/shadow, batching, audit and metrics (InferenceService.serveKind).
 * Each loaded version gets a RecommenderState (its index artifact read once, item embeddings
 * normalised once) and two batchers: concurrent calls share one matrix product and one top-k.
 */
@Injectable()
export class RecommendService {
  private readonly logger = new Logger('Recommend');
  private readonly states = new WeakMap<LoadedModel, Promise<RecommenderState>>();
  private readonly live = new Set<RecommenderState>();

  constructor(
    private readonly inference: InferenceService,
    private readonly registry: ModelRegistry,
    private readonly artifacts: ArtifactStore,
  ) {}

  async recommend(name: string, selector: ModelSelector, body: unknown, call: InferenceCall): Promise<RecommendAnswer> {
    let req: RecommendRequest | null = null;
    const { model, result } = await this.inference.serveKind(name, selector, call, body, {
      validate: () => {
        req = parseRecommendRequest(body);
      },
      run: async (loaded) => {
        const r = req!;
        const state = await this.stateOf(loaded);
        const excluded = new Set<number>();
        for (const id of r.exclude) {
          const i = state.itemIndex.get(id);
          if (i !== undefined) excluded.add(i);
        }
        const user = state.userIndex.get(r.user);
        let items: ScoredItem[];
        let fallback: 'popularity' | undefined;
        if (user === undefined) {
          fallback = 'popularity';
          items = this.popular(state, r.k, excluded);
        } else {
          if (r.filterSeen) for (const i of state.seen(user)) excluded.add(i);
          items = await this.topK(loaded, state, 'recommend', user, r.k, excluded);
        }
        const result = { items, ...(fallback ? { fallback } : {}) };
        return { result, rows: 1, outputs: result, values: items.map((x) => x.item) };
      },
    });
    return { model, ...result };
  }

  async similarItems(name: string, selector: ModelSelector, body: unknown, call: InferenceCall): Promise<RecommendAnswer> {
    let req: SimilarItemsRequest | null = null;
    const { model, result } = await this.inference.serveKind(name, selector, call, body, {
      validate: () => {
        req = parseSimilarItemsRequest(body);
      },
      run: async (loaded) => {
        const r = req!;
        const state = await this.stateOf(loaded);
        const item = state.itemIndex.get(r.item);
        if (item === undefined) {
          throw new ValidationProblemException([
            {
              field: 'item',
              reason: `'${r.item}' is not in the catalogue of model ${loaded.served.name} version ${loaded.served.version}`,
            },
          ]);
        }
        const excluded = new Set<number>([item]);
        for (const id of r.exclude) {
          const i = state.itemIndex.get(id);
          if (i !== undefined) excluded.add(i);
        }
        const items = await this.topK(loaded, state, 'similar-items', item, r.k, excluded);
        return { result: { items }, rows: 1, outputs: { items }, values: items.map((x) => x.item) };
      },
    });
    return { model, ...result };
  }

  /**
   * Top-K lists for many users in one audited call (batch recommendations: protocol `batch`, one audit
   * record per call with a summary, no shadow). Known users go through the version's batcher in
   * sub-batches of at most BATCH_SCORES scores; unknown users get the popularity list (fallback).
   */
  async recommendUsers(
    name: string,
    selector: ModelSelector,
    users: readonly string[],
    opts: RecommendBatchOptions,
    call: InferenceCall,
  ): Promise<{ model: ServedModel; lists: UserList[] }> {
    const request = { users: users.length, k: opts.k, filterSeen: opts.filterSeen, exclude: opts.exclude.length };
    const { model, result } = await this.inference.serveKind(name, selector, call, request, {
      run: async (loaded) => {
        const state = await this.stateOf(loaded);
        const excludedAll = new Set<number>();
        for (const id of opts.exclude) {
          const i = state.itemIndex.get(id);
          if (i !== undefined) excludedAll.add(i);
        }
        const lists: UserList[] = new Array<UserList>(users.length);
        const known: Array<{ at: number; row: number; k: number; excluded: Set<number> }> = [];
        users.forEach((user, at) => {
          const u = state.userIndex.get(user);
          if (u === undefined) {
            lists[at] = { user, fallback: true, items: this.popular(state, opts.k, excludedAll) };
            return;
          }
          const excluded = new Set(excludedAll);
          if (opts.filterSeen) for (const i of state.seen(u)) excluded.add(i);
          known.push({ at, row: u, k: opts.k, excluded });
        });
        const perCall = Math.max(1, Math.floor(BATCH_SCORES / state.items));
        for (let c = 0; c < known.length; c += perCall) {
          const part = known.slice(c, c + perCall);
          const top = await this.topKRows(loaded, state, 'recommend', part);
          part.forEach((q, n) => (lists[q.at] = { user: users[q.at]!, fallback: false, items: top[n]! }));
        }
        const fallbacks = lists.filter((l) => l.fallback).length;
        const outputs = { lists: lists.length, fallbacks, items: lists.reduce((s, l) => s + l.items.length, 0) };
        return { result: lists, rows: users.length, outputs, values: [] };
      },
    });
    return { model, lists: result };
  }

  /** The training data's most popular items (score: training interactions), skipping `excluded`. */
  private popular(state: RecommenderState, k: number, excluded: ReadonlySet<number>): ScoredItem[] {
    const items: ScoredItem[] = [];
    for (const i of state.index.popular) {
      if (items.length >= k) break;
      if (!excluded.has(i)) items.push({ item: state.itemId(i), score: state.index.itemCounts[i]! });
    }
    return items;
  }

  /** The k best items for one row, skipping `excluded`: asks the batch for k + |excluded| so k remain after filtering. */
  private async topK(
    loaded: LoadedModel,
    state: RecommenderState,
    kind: 'recommend' | 'similar-items',
    row: number,
    k: number,
    excluded: Set<number>,
  ): Promise<ScoredItem[]> {
    return (await this.topKRows(loaded, state, kind, [{ row, k, excluded }]))[0]!;
  }

  /** As topK for several rows in one batcher submission (one matrix product and one top-k for all of them). */
  private async topKRows(
    loaded: LoadedModel,
    state: RecommenderState,
    kind: 'recommend' | 'similar-items',
    queries: ReadonlyArray<{ row: number; k: number; excluded: Set<number> }>,
  ): Promise<ScoredItem[][]> {
    const batcher = this.inference.kindBatcher(loaded, kind, (inputs) =>
      kind === 'recommend' ? state.topKForUsers(inputs) : state.topKForItems(inputs),
    );
    const query = new Float32Array(queries.length * 2);
    queries.forEach((q, n) => {
      query[n * 2] = q.row;
      query[n * 2 + 1] = Math.min(state.items, q.k + q.excluded.size);
    });
    const [scores, indices] = await batcher.submit(
      [{ name: 'query', dtype: 'float32', shape: [queries.length, 2], data: query }],
      queries.length,
    );
    // the top-K batch answers numbers: float32 scores, int32 indices, [rows, k'] with k' the batch's largest
    const scoreData = scores!.data as Float32Array;
    const indexData = indices!.data as Int32Array;
    const width = indices!.shape[1]!;
    return queries.map((q, n) => {
      const out: ScoredItem[] = [];
      for (let j = n * width; j < (n + 1) * width && out.length < q.k; j++) {
        const i = indexData[j]!;
        if (!q.excluded.has(i)) out.push({ item: state.itemId(i), score: scoreData[j]! });
      }
      return out;
    });
  }

  /** The version's recommender state, built once per loaded version (its index read from the artifact store). */
  private stateOf(loaded: LoadedModel): Promise<RecommenderState> {
    const { served } = loaded;
    if (served.task !== 'recommendation') {
      return Promise.reject(
        new BadRequestException(
          `model: ${served.name} version ${served.version} is a ${served.task ?? 'tensor-signature'} model, not a recommender ` +
            `(train one with template 'recommender'); call it through /predict, /v1 or /v2`,
        ),
      );
    }
    for (const s of this.live) if (s.disposeIfUnloaded()) this.live.delete(s);
    let state = this.states.get(loaded);
    if (!state) {
      state = (async () => {
        const { version } = await this.registry.getVersion(served.name, served.version);
        if (!version.recommender) throw new Error(`model ${served.name} version ${served.version} has no recommender index`);
        const index = JSON.parse((await this.artifacts.getBuffer(version.recommender.indexSha256)).toString('utf8')) as RecommenderIndex;
        const s = new RecommenderState(loaded, index);
        this.live.add(s);
        this.logger.log({ model: served.name, version: served.version, items: s.items }, 'recommender index loaded');
        return s;
      })();
      state.catch(() => this.states.delete(loaded));
      this.states.set(loaded, state);
    }
    return state;
  }
}
