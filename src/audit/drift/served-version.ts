/**
 * Which version of a served model the drift check watches: the version that takes the model's
 * main traffic. With a deployment that is its primary route (the first route that resolves to a
 * version; the others are canaries); without one, the `production` alias, as the inference
 * runtime routes. Canary and shadow versions are not checked: a report compares one version's
 * traffic with the one dataset version it was trained on. Pure.
 */
import type { ModelRouting, VersionRef } from '../../models';

export function primaryVersion(routing: Pick<ModelRouting, 'aliases' | 'deployment'>): VersionRef | null {
  if (routing.deployment) {
    const route = routing.deployment.routes.find((r) => r.versionId !== null && r.version !== null);
    return route ? { version: route.version!, versionId: route.versionId! } : null;
  }
  return Object.hasOwn(routing.aliases, 'production') ? routing.aliases.production! : null;
}
