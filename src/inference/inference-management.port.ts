import { Injectable } from '@nestjs/common';
import { hostname } from 'node:os';
import type { PortOf } from '../platform/rpc/port';
import { InferenceService } from './inference.service';

/** Each answer names the inference replica it describes (with several, the transport picks one). */
export interface ReplicaAnswer<T> {
  replica: string;
  result: T;
}
type Repository = InferenceService['repository'];
export type RepositoryIndex = Awaited<ReturnType<Repository['index']>>;
export type Statistics = Awaited<ReturnType<Repository['statistics']>>;

/**
 * The inference app's management (DI token; patterns `RpcPatterns.inference`): which model versions are
 * loaded (the repository index with READY / LOADING / UNAVAILABLE), their statistics, load and unload.
 * The data plane (record API, /v1, /v2) never goes through it: the inference app serves that over its
 * own HTTP. On a gateway without the inference role this is the inference app over KILN_TRANSPORT.
 */
export abstract class InferenceManagementPort implements PortOf<'inference'> {
  abstract repositoryIndex(readyOnly: boolean): Promise<ReplicaAnswer<RepositoryIndex>>;
  abstract statistics(name?: string, version?: number): Promise<ReplicaAnswer<Statistics>>;
  abstract load(name: string): Promise<ReplicaAnswer<{ versions: number[] }>>;
  abstract unload(name: string): Promise<ReplicaAnswer<{ versions: number[] }>>;
}

/** `InferenceManagementPort` on this process's runtime. */
@Injectable()
export class LocalInferenceManagement extends InferenceManagementPort {
  private readonly replica = `${hostname()}:${process.pid}`;

  constructor(private readonly inference: InferenceService) {
    super();
  }

  async repositoryIndex(readyOnly: boolean): Promise<ReplicaAnswer<RepositoryIndex>> {
    return { replica: this.replica, result: await this.inference.repository.index(readyOnly) };
  }

  async statistics(name?: string, version?: number): Promise<ReplicaAnswer<Statistics>> {
    return { replica: this.replica, result: await this.inference.repository.statistics(name, version) };
  }

  async load(name: string): Promise<ReplicaAnswer<{ versions: number[] }>> {
    return { replica: this.replica, result: await this.inference.repository.load(name) };
  }

  async unload(name: string): Promise<ReplicaAnswer<{ versions: number[] }>> {
    return { replica: this.replica, result: await this.inference.repository.unload(name) };
  }
}
