/**
 * Which deployment references a version (as a route or as the shadow). Used inside the registry's
 * archive transaction: a deployed version cannot be archived.
 */
import type { EntityManager } from 'typeorm';

export type DeploymentReference = 'route' | 'shadow' | null;

export async function deploymentReference(m: EntityManager, modelId: string, versionId: string): Promise<DeploymentReference> {
  const rows: Array<{ shadow: boolean }> = await m.query(
    `SELECT shadow_version_id = $2 AS shadow FROM model_deployments
     WHERE model_id = $1 AND (shadow_version_id = $2 OR routes @> $3::jsonb)`,
    [modelId, versionId, JSON.stringify([{ versionId }])],
  );
  if (!rows[0]) return null;
  return rows[0].shadow ? 'shadow' : 'route';
}
