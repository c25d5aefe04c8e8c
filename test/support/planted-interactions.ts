/**
 * A generated interaction log with planted structure: users and items belong to known latent groups
 * and a user interacts mostly with items of their own group. Item popularity is skewed (Zipf within
 * each group) so a popularity ranking is a real, non-trivial baseline; only a model that learns the
 * groups can beat it by much.
 */
import { mulberry32 } from '../../src/platform/util/seeded-random';

export interface PlantedOptions {
  users?: number;
  items?: number;
  groups?: number;
  /** Interactions per user. */
  perUser?: number;
  /** Probability that an interaction is with the user's own group. */
  inGroup?: number;
  /** With a 1–5 rating column: high inside the group, low outside (plus noise). */
  ratings?: boolean;
  seed?: number;
}

export interface PlantedInteraction {
  user: string;
  item: number;
  ts: string;
  rating?: number;
}

export function plantedInteractions(o: PlantedOptions = {}): {
  rows: PlantedInteraction[];
  groupOfUser: (u: string) => number;
  groupOfItem: (i: number) => number;
} {
  const users = o.users ?? 300;
  const items = o.items ?? 400;
  const groups = o.groups ?? 5;
  const perUser = o.perUser ?? 20;
  const inGroup = o.inGroup ?? 0.85;
  const rand = mulberry32(o.seed ?? 1);
  const groupOfItem = (i: number): number => i % groups;
  const groupOfUser = (u: string): number => Number(u.slice(1)) % groups;
  // Zipf weights over the items of each group; a global Zipf for out-of-group picks
  const weight = (rank: number): number => 1 / (rank + 1);
  const itemsOf = Array.from({ length: groups }, (_, g) => Array.from({ length: items }, (_, i) => i).filter((i) => groupOfItem(i) === g));
  const all = Array.from({ length: items }, (_, i) => i);
  const pick = (list: number[]): number => {
    const total = list.reduce((s, _, r) => s + weight(r), 0);
    let x = rand() * total;
    for (let r = 0; r < list.length; r++) {
      x -= weight(r);
      if (x <= 0) return list[r]!;
    }
    return list[list.length - 1]!;
  };
  const rows: PlantedInteraction[] = [];
  const start = Date.UTC(2024, 0, 1);
  for (let u = 0; u < users; u++) {
    const id = `u${u}`;
    const g = groupOfUser(id);
    const seen = new Set<number>();
    for (let n = 0; n < perUser * 4 && seen.size < perUser; n++) {
      const own = rand() < inGroup;
      const item = pick(own ? itemsOf[g]! : all);
      if (seen.has(item)) continue;
      seen.add(item);
      const row: PlantedInteraction = { user: id, item, ts: new Date(start + Math.floor(rand() * 365 * 86_400_000)).toISOString() };
      if (o.ratings) row.rating = Math.max(1, Math.min(5, Math.round((groupOfItem(item) === g ? 4.3 : 1.8) + (rand() - 0.5) * 1.5)));
      rows.push(row);
    }
  }
  return { rows, groupOfUser, groupOfItem };
}
