/** Drift statistics: pure functions over dataset profiles and samples (KS, chi-square, Wasserstein/JS/PSI, histograms); no Nest. */
export * from './ks';
export * from './chi-square';
export * from './distances';
export * from './histogram';
export * from './compare';
