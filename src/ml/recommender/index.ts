/**
 * The `recommender` template: matrix factorisation on user–item interactions (framework-free TF.js).
 *
 *   recommender-spec      columns {user, item, rating?, timestamp?}, hyperparameters, split fractions
 *   interactions          dense ids, duplicate merging, the per-user (time or seeded) holdout
 *   matrix-factorization  training (squared error for ratings; BPR or binary with sampled negatives
 *                         for implicit feedback), evaluation next to the popularity baseline, the
 *                         serving model and its index (vocabularies, seen items, popularity)
 *   ranking-metrics       partial sort and precision/recall/NDCG/MAP@K, coverage
 *   embeddings-import     a recommender trained elsewhere (ids + embeddings + biases, JSON) as the same serving model and index
 */
export * from './recommender-spec';
export * from './interactions';
export * from './ranking-metrics';
export * from './matrix-factorization';
export * from './embeddings-import';
