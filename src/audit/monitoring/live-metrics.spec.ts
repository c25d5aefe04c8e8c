import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { liveQuality, type ClassificationQuality, type LabelledPrediction, type RegressionQuality } from './live-metrics';

/** AUC by counting concordant pairs (ties = ½): independent of the engine's rank formula. */
function pairAuc(y: number[], s: number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < y.length; i++) {
    for (let j = 0; j < y.length; j++) {
      if (y[i] !== 1 || y[j] !== 0) continue;
      den++;
      num += s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  return num / den;
}

function close(actual: number | null | undefined, expected: number, what: string) {
  assert.ok(typeof actual === 'number' && Math.abs(actual - expected) < 1e-12, `${what}: expected ${expected}, got ${actual}`);
}

describe('liveQuality: binary', () => {
  // Predicted label at threshold 0.5 on P(yes) = score; a few of them wrong.
  const scores = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1, 0.55, 0.45];
  const truth = ['yes', 'yes', 'no', 'yes', 'yes', 'no', 'no', 'no', 'no', 'yes'];
  const rows: LabelledPrediction[] = scores.map((s, i) => ({
    predicted: { label: s >= 0.5 ? 'yes' : 'no', score: s, probabilities: { no: 1 - s, yes: s } },
    actual: truth[i]!,
  }));

  it('matches accuracy, F1, macro F1 and ROC AUC computed by hand', () => {
    const q = liveQuality(rows, { task: 'binary', classes: ['no', 'yes'], positiveClass: 'yes' }) as ClassificationQuality;
    const pred = scores.map((s) => (s >= 0.5 ? 'yes' : 'no'));
    const tp = pred.filter((p, i) => p === 'yes' && truth[i] === 'yes').length; // 3
    const fp = pred.filter((p, i) => p === 'yes' && truth[i] === 'no').length; // 2
    const fn = pred.filter((p, i) => p === 'no' && truth[i] === 'yes').length; // 2
    const tn = pred.filter((p, i) => p === 'no' && truth[i] === 'no').length; // 3
    const f1Yes = (2 * tp) / (2 * tp + fp + fn);
    const f1No = (2 * tn) / (2 * tn + fn + fp);
    assert.equal(q.labelled, 10);
    close(q.accuracy, (tp + tn) / 10, 'accuracy');
    close(q.f1, f1Yes, 'f1');
    close(q.macroF1, (f1Yes + f1No) / 2, 'macroF1');
    close(
      q.rocAuc,
      pairAuc(
        truth.map((t) => (t === 'yes' ? 1 : 0)),
        scores,
      ),
      'rocAuc',
    );
    assert.equal(q.auc, 'binary');
    assert.deepEqual(q.confusionMatrix, {
      labels: ['no', 'yes'],
      matrix: [
        [tn, fp],
        [fn, tp],
      ],
    });
  });

  it('uses probabilities[positive] when score is absent, and null AUC with one class', () => {
    const noScore = rows.map((r) => ({ ...r, predicted: { label: r.predicted.label, probabilities: r.predicted.probabilities } }));
    const q = liveQuality(noScore, { task: 'binary', classes: ['no', 'yes'], positiveClass: 'yes' }) as ClassificationQuality;
    close(
      q.rocAuc,
      pairAuc(
        truth.map((t) => (t === 'yes' ? 1 : 0)),
        scores,
      ),
      'rocAuc',
    );
    const oneClass = liveQuality(rows.slice(0, 2), {
      task: 'binary',
      classes: ['no', 'yes'],
      positiveClass: 'yes',
    }) as ClassificationQuality;
    assert.equal(oneClass.rocAuc, null);
    close(oneClass.accuracy, 1, 'accuracy');
  });

  it('answers nulls without labelled rows and skips outputs without a known label', () => {
    const q = liveQuality([{ predicted: { value: 3 }, actual: 'yes' }], {
      task: 'binary',
      classes: ['no', 'yes'],
    }) as ClassificationQuality;
    assert.equal(q.labelled, 0);
    assert.equal(q.accuracy, null);
    assert.equal(q.rocAuc, null);
  });
});

describe('liveQuality: multiclass', () => {
  const classes = ['a', 'b', 'c'];
  const probs = [
    [0.7, 0.2, 0.1],
    [0.2, 0.5, 0.3],
    [0.1, 0.3, 0.6],
    [0.4, 0.45, 0.15],
    [0.3, 0.3, 0.4],
    [0.6, 0.1, 0.3],
  ];
  const truth = ['a', 'b', 'c', 'a', 'b', 'c'];
  const rows: LabelledPrediction[] = probs.map((p, i) => {
    const k = p.indexOf(Math.max(...p));
    return {
      predicted: { label: classes[k], score: p[k], probabilities: Object.fromEntries(classes.map((c, j) => [c, p[j]])) },
      actual: truth[i]!,
    };
  });

  it('matches accuracy, macro F1 and one-vs-rest macro AUC computed by hand', () => {
    const q = liveQuality(rows, { task: 'multiclass', classes }) as ClassificationQuality;
    const pred = rows.map((r) => r.predicted.label);
    close(q.accuracy, pred.filter((p, i) => p === truth[i]).length / 6, 'accuracy');
    const f1s = classes.map((c) => {
      const tp = pred.filter((p, i) => p === c && truth[i] === c).length;
      const fp = pred.filter((p, i) => p === c && truth[i] !== c).length;
      const fn = pred.filter((p, i) => p !== c && truth[i] === c).length;
      return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
    });
    close(q.macroF1, f1s.reduce((a, b) => a + b) / 3, 'macroF1');
    const aucs = classes.map((c, j) =>
      pairAuc(
        truth.map((t) => (t === c ? 1 : 0)),
        probs.map((p) => p[j]!),
      ),
    );
    close(q.rocAuc, aucs.reduce((a, b) => a + b) / 3, 'rocAuc');
    assert.equal(q.auc, 'one-vs-rest-macro');
    assert.equal(q.f1, undefined);
  });
});

describe('liveQuality: regression', () => {
  it('matches RMSE and MAE computed by hand', () => {
    const yTrue = [3, -0.5, 2, 7];
    const yPred = [2.5, 0, 2, 8];
    const q = liveQuality(
      yTrue.map((t, i) => ({ predicted: { value: yPred[i] }, actual: t })),
      { task: 'regression' },
    ) as RegressionQuality;
    assert.equal(q.labelled, 4);
    close(q.mae, (0.5 + 0.5 + 0 + 1) / 4, 'mae');
    close(q.rmse, Math.sqrt((0.25 + 0.25 + 0 + 1) / 4), 'rmse');
    assert.deepEqual(liveQuality([], { task: 'regression' }), { labelled: 0, rmse: null, mae: null, r2: null });
  });
});
