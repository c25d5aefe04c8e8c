import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationProblemException } from '../platform/http/validation';
import { parseSignature } from './model-import';
import { parseSignatureDefs } from './signature-defs';

function refused(fn: () => unknown, field: string, reason: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationProblemException, String(err));
    assert.equal(err.errors[0]!.field, field);
    assert.match(err.errors[0]!.reason, reason);
    return true;
  });
}

const t = (name: string, extra: object = {}) => ({ name, dtype: 'float32', shape: [-1], ...extra });

describe('named signatures of imported graph models', () => {
  it('parses {method, inputs, outputs} with graph tensor names, kept in the stored signature', () => {
    const sig = parseSignature(
      JSON.stringify({
        inputs: [t('x')],
        outputs: [t('y')],
        signatures: { regress_x_to_y: { method: 'regress', inputs: [t('x')], outputs: [t('outputs', { tensor: 'y' })] } },
      }),
    );
    assert.deepEqual(sig.signatures, {
      regress_x_to_y: {
        method: 'regress',
        inputs: [{ name: 'x', dtype: 'float32', shape: [-1] }],
        outputs: [{ name: 'outputs', dtype: 'float32', shape: [-1], tensor: 'y' }],
      },
    });
    assert.equal(parseSignature(JSON.stringify({ inputs: [t('x')], outputs: [t('y')] })).signatures, undefined);
    assert.equal(parseSignatureDefs({ p: { inputs: [t('x')], outputs: [t('y')] } })!.p!.method, 'predict', 'predict by default');
  });

  it('refuses malformed signatures with a 400 naming the field', () => {
    refused(() => parseSignatureDefs([]), 'signature.signatures', /must be an object/);
    refused(() => parseSignatureDefs({ serving_default: {} }), 'signature.signatures.serving_default', /name the others differently/);
    refused(() => parseSignatureDefs({ 'a b': {} }), 'signature.signatures.a b', /letters, digits/);
    refused(
      () => parseSignatureDefs({ s: { method: 'explain', inputs: [t('x')], outputs: [t('y')] } }),
      'signature.signatures.s.method',
      /one of predict, classify, regress/,
    );
    refused(() => parseSignatureDefs({ s: { inputs: [], outputs: [t('y')] } }), 'signature.signatures.s.inputs', /non-empty/);
    refused(
      () => parseSignatureDefs({ s: { inputs: [t('x', { tensor: 7 })], outputs: [t('y')] } }),
      'signature.signatures.s.inputs.0.tensor',
      /graph tensor name/,
    );
    refused(
      () => parseSignatureDefs({ s: { method: 'regress', inputs: [t('x')], outputs: [t('a'), t('b')] } }),
      'signature.signatures.s.outputs',
      /one output/,
    );
    refused(
      () => parseSignatureDefs({ s: { method: 'regress', inputs: [t('x')], outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 2] }] } }),
      'signature.signatures.s.outputs.0.shape',
      /one value per example/,
    );
  });
});
