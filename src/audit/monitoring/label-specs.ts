/**
 * The task and classes of a model version, read from the registry (versions are immutable, so the
 * answers are cached). Versions without a task (imported tensor models) have no spec: feedback and
 * quality metrics need a classification or regression version.
 */
import { Injectable, NotFoundException } from '@nestjs/common';
import { ModelRegistry } from '../../models';
import type { ModelVersionTarget } from '../../contracts';
import type { LabelSpec } from './feedback-input';

const MAX_CACHED = 1000;

/** A registry row's task/target → LabelSpec, or null when the version has no usable task. */
export function labelSpecOf(task: string | null, target: ModelVersionTarget | null): LabelSpec | null {
  if (task === 'regression') return { task };
  if (task !== 'binary' && task !== 'multiclass') return null;
  // stored JSON: checked rather than trusted
  const stored = target?.classes;
  if (!Array.isArray(stored) || stored.length < 2) return null;
  const classes = stored.map(String);
  const positiveClass = typeof target?.positiveClass === 'string' ? target.positiveClass : classes[1]!;
  return { task, classes, ...(task === 'binary' ? { positiveClass } : {}) };
}

@Injectable()
export class LabelSpecs {
  private readonly cache = new Map<string, LabelSpec | null>();

  constructor(private readonly registry: ModelRegistry) {}

  /** The version's spec; null when it has none (or no longer exists in the registry). */
  async of(model: string, version: number | null): Promise<LabelSpec | null> {
    if (version === null) return null;
    const key = `${model}\u0000${version}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    let spec: LabelSpec | null;
    try {
      const { version: v } = await this.registry.getVersion(model, version);
      spec = labelSpecOf(v.task, v.target);
    } catch (e) {
      if (e instanceof NotFoundException) return null;
      throw e;
    }
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(key, spec);
    return spec;
  }
}
