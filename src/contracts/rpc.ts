/**
 * Synchronous calls between split apps (gateway → domain service over KILN_TRANSPORT): one message
 * pattern per use case, versioned like the queue payloads (a breaking change is a new `.vN` pattern,
 * served beside the old one until every caller moved), with its payload and result types.
 */
export const RpcPattern = {
  /** Payload `DatasetsListPayload`; result: the ingestion `DatasetDto[]` as JSON. */
  DatasetsList: 'ingestion.datasets.list.v1',
  /** Payload `DatasetsGetPayload`; result: the ingestion `DatasetDto` as JSON. */
  DatasetsGet: 'ingestion.datasets.get.v1',
} as const;
export type RpcPattern = (typeof RpcPattern)[keyof typeof RpcPattern];

/**
 * Readiness across the transport: each domain service that answers message patterns also answers its
 * own health pattern (payload `RpcHealthPayload`, result `RpcHealthResult`), so a gateway's
 * `/health/ready` can tell which of the services it calls answer. One entry per such service.
 */
export const RpcHealthPattern = {
  ingestion: 'ingestion.health.v1',
} as const;
/** A domain service reachable over the transport. */
export type RpcService = keyof typeof RpcHealthPattern;
export type RpcHealthPayload = Record<string, never>;
export interface RpcHealthResult {
  /** The domain services the answering process serves over the transport. */
  services: RpcService[];
  /** Host name and pid of the process that answered (one of possibly several replicas). */
  hostname: string;
  pid: number;
}

export type DatasetsListPayload = Record<string, never>;
export interface DatasetsGetPayload {
  id: string;
}

/**
 * What a failed call answers instead of its result: an HTTP error raised by the domain service, with
 * its status and Nest response body, so the caller rethrows the same error (same status, same problem).
 */
export interface RpcHttpError {
  kind: 'http-error';
  status: number;
  response: string | Record<string, unknown>;
}
