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
          items = [];
          for (const i of state.index.popular) {
            if (items.length >= r.k) break;
            if (!excluded.has(i)) items.push({ item: state.itemId(i), score: state.index.itemCounts[i]! });
          }
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

  /** The k best items for one row, skipping `excluded`: asks the batch for k + |excluded| so k remain after filtering. */
  private async topK(
    loaded: LoadedModel,
    state: RecommenderState,
    kind: 'recommend' | 'similar-items',
    row: number,
    k: number,
    excluded: Set<number>,
  ): Promise<ScoredItem[]> {
    const wanted = Math.min(state.items, k + excluded.size);
    const batcher = this.inference.kindBatcher(loaded, kind, (inputs) =>
      kind === 'recommend' ? state.topKForUsers(inputs) : state.topKForItems(inputs),
    );
    const [scores, indices] = await batcher.submit(
      [{ name: 'query', dtype: 'float32', shape: [1, 2], data: Float32Array.from([row, wanted]) }],
      1,
    );
    const out: ScoredItem[] = [];
    // the top-K batch answers numbers: float32 scores, int32 indices
    const scoreData = scores!.data as Float32Array;
    const indexData = indices!.data as Int32Array;
    for (let j = 0; j < indexData.length && out.length < k; j++) {
      const i = indexData[j]!;
      if (!excluded.has(i)) out.push({ item: state.itemId(i), score: scoreData[j]! });
    }
    return out;
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
