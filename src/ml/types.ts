/**
 * Input of the training engine: an in-memory table, row oriented.
 *
 *   columns  name + logical type (the ingestion schema's types)
 *   rows     one object per record; a key per column; `null` (or an absent key) is a missing value
 *
 * Value conventions per column type:
 *   number, integer  finite JS number
 *   boolean          true / false
 *   categorical      string (the category); free-text `string` columns are treated the same way
 *                    (top-K vocabulary, everything else goes to the out-of-vocabulary bucket)
 *   timestamp        ISO-8601 string or epoch milliseconds; used as a number (epoch ms, standardised)
 */
export type ColumnType = 'number' | 'integer' | 'boolean' | 'categorical' | 'string' | 'timestamp';
export type CellValue = number | string | boolean | null;
export type DataRecord = Record<string, CellValue>;

export interface ColumnSchema {
  name: string;
  type: ColumnType;
}

export interface Table {
  columns: ColumnSchema[];
  rows: DataRecord[];
}

export type Task = 'binary' | 'multiclass' | 'regression';

/** One epoch's progress, reported by train() and stored in checkpoints (`history`). */
export interface EpochProgress {
  /** 1-based. */
  epoch: number;
  epochs: number;
  /** Mean training loss over the epoch's batches (class-weighted when class weights are on, plus L2). */
  loss: number;
  /** Validation loss, unweighted, same loss function (regression: on the standardised target). */
  valLoss: number;
  /** binary: rocAuc; multiclass: accuracy; regression: rmse (target units); recommender: rmse (ratings) or ndcgAtK (implicit). */
  valMetric: number;
  valMetricName: 'rocAuc' | 'accuracy' | 'rmse' | 'ndcgAtK';
}

/** A spec is invalid before any training starts (the Nest layer maps it to a 400 naming `field`). */
export class TrainingSpecError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'TrainingSpecError';
  }
}

/** Thrown by `train()` when its AbortSignal fires; training stopped at the next batch boundary. */
export class TrainingCancelledError extends Error {
  constructor(
    readonly epoch: number,
    readonly batch: number,
  ) {
    super(`training cancelled (epoch ${epoch}, batch ${batch})`);
    this.name = 'TrainingCancelledError';
  }
}
