export * from './ks';
export * from './chi-square';
export * from './distances';
export * from './histogram';
export * from './compare';
