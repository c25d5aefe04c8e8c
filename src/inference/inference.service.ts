import { Injectable } from '@nestjs/common';
import type { engine } from '../training';
import type { HostTensor, InferenceCall, InferenceResult, ModelSelector, ServedModel } from './runtime/served-model';

/** One record's answer on the record API (engine.RecordPrediction + the raw model score). */
export interface RecordPredictionResult {
  model: ServedModel;
  canary: boolean;
  predictions: engine.RecordPrediction[];
}

export type VersionState = 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

/**
 * The data plane's single entry point: every protocol controller calls these. Errors are Nest
 * HttpExceptions (400 bad input naming the field, 404 unknown model/version/alias, 503 not ready,
 * queue full or timed out); ErrorFormats renders them as problem+json on /api and {"error"} on /v1, /v2.
 * (Skeleton: implementation lands with the runtime.)
 */
@Injectable()
export class InferenceService {
  /** Metadata of the version the selector resolves to (no load needed). */
  async describe(_name: string, _selector: ModelSelector): Promise<ServedModel> {
    throw new Error('not implemented yet');
  }

  /** Loading state of the selected versions (all active versions when the selector is empty). */
  async versionStatus(_name: string, _selector: ModelSelector): Promise<Array<{ version: number; state: VersionState; error: string | null }>> {
    throw new Error('not implemented yet');
  }

  /** True when the selected version is loaded and warm (loads it when it is not, for explicit versions). */
  async isReady(_name: string, _selector: ModelSelector): Promise<boolean> {
    throw new Error('not implemented yet');
  }

  /** True when every version referenced by an alias or a deployment is loaded and warm. */
  serverReady(): boolean {
    throw new Error('not implemented yet');
  }

  /**
   * Runs input tensors through the selected version (validated against its signature: names, dtypes,
   * shapes; batched with concurrent calls). Outputs in signature order, optionally filtered by name.
   */
  async infer(_name: string, _selector: ModelSelector, _inputs: HostTensor[], _call: InferenceCall, _opts: { outputs?: string[] } = {}): Promise<InferenceResult> {
    throw new Error('not implemented yet');
  }

  /** Named-feature records through the saved preprocessing, the model and the target decoding. */
  async predictRecords(_name: string, _selector: ModelSelector, _records: unknown[], _call: InferenceCall): Promise<RecordPredictionResult> {
    throw new Error('not implemented yet');
  }
}
