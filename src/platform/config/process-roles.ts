/** The roles a Kiln process can take. `all` (the default) means every role in one process. */
export const ROLES = ['gateway', 'ingestion', 'training', 'inference', 'audit'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Parses `KILN_ROLES`: `all` or a comma-separated list of role names.
 * Throws on an unknown or empty name so a typo stops start-up instead of silently running nothing.
 */
export function parseRoles(value: string | undefined): Role[] {
  const raw = (value ?? 'all').trim();
  if (raw === '' || raw === 'all') return [...ROLES];
  const names = raw.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(ROLES as readonly string[]).includes(n));
  if (unknown.length > 0 || names.some((n) => n === '')) {
    throw new Error(
      `unknown role ${unknown.map((u) => JSON.stringify(u)).join(', ') || '""'}; expected "all" or a list of ${ROLES.join(', ')}`,
    );
  }
  return [...new Set(names as Role[])];
}
