/**
 * MovieLens ratings (the 100 004-rating "latest-small" sample: 671 users, 9 066 movies) from Debian's
 * `r-cran-dslabs` package, converted at test time with `Rscript` into a temporary CSV and read
 * back as a Table. Never committed nor redistributed: tests that use it skip, loudly, when R or the
 * package is missing (`apt-get install r-cran-dslabs`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Table } from '../../src/ml';

export const MOVIELENS_SOURCE = 'Debian package r-cran-dslabs, R dataset dslabs::movielens (converted at test time; not redistributed)';

/** Why MovieLens cannot be read here, or null when it can. */
export function movielensUnavailable(): string | null {
  try {
    execFileSync('Rscript', ['-e', 'suppressMessages(library(dslabs))'], { stdio: 'pipe' });
    return null;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return err.code === 'ENOENT'
      ? 'Rscript is not installed (apt-get install r-cran-dslabs brings R and the data)'
      : 'the R package dslabs is not installed (apt-get install r-cran-dslabs)';
  }
}

/** userId, movieId, rating (0.5–5), timestamp (epoch seconds → ms) of every rating. */
export function movielensRatings(): Table {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-movielens-'));
  try {
    const csv = join(dir, 'ratings.csv');
    const script =
      'suppressMessages(library(dslabs)); data(movielens); ' +
      `write.csv(movielens[, c("userId", "movieId", "rating", "timestamp")], "${csv}", row.names = FALSE)`;
    execFileSync('Rscript', ['-e', script], { stdio: 'pipe' });
    const lines = readFileSync(csv, 'utf8').trim().split('\n').slice(1);
    return {
      columns: [
        { name: 'userId', type: 'integer' },
        { name: 'movieId', type: 'integer' },
        { name: 'rating', type: 'number' },
        { name: 'timestamp', type: 'integer' },
      ],
      rows: lines.map((line) => {
        const [u, m, r, t] = line.split(',');
        return { userId: Number(u), movieId: Number(m), rating: Number(r), timestamp: Number(t) * 1000 };
      }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
