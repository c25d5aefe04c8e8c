/**
 * String tensors end to end on PostgreSQL: an imported graph model with a DT_STRING input (a text
 * model: Identity outputs and StringToHashBucketFast) served over OIP v2 as BYTES (JSON strings, and
 * binary: 4-byte little-endian length + bytes, as tritonclient serializes them) and over TF Serving
 * v1 as strings and `{"b64": …}` (api_rest.md "Encoding binary values": inputs may be base64, outputs
 * named `*_bytes` come back base64). Bytes that are not UTF-8 survive the binary round trip.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { TEXT_SIGNATURE, textGraphModel } from '../support/tfjs/graph-model-fixture';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { auditRecord } from '../utils/audit-lookup';
import { servingReady } from './triton-test-client';
import { importGraphModel } from '../models/model-import-helpers';

const TEXT = 'text-model';

/** tritonclient's serialize_byte_tensor: each element a 4-byte little-endian length, then its bytes. */
function serializeBytes(elements: Buffer[]): Buffer {
  return Buffer.concat(
    elements.flatMap((b) => {
      const n = Buffer.alloc(4);
      n.writeUInt32LE(b.length);
      return [n, b];
    }),
  );
}

function deserializeBytes(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < bytes.length;) {
    const n = bytes.readUInt32LE(o);
    out.push(bytes.subarray(o + 4, o + 4 + n));
    o += 4 + n;
  }
  return out;
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('string tensors: BYTES on /v2, DT_STRING and {"b64"} on /v1 (configuration "postgres")', { skip }, () => {
    let kiln: TestKiln;
    const words = ['cat', 'dog', 'héllo wörld'];
    let buckets: number[];

    before(async () => {
      await TfRuntime.initForTests();
      buckets = Array.from(tf.string.stringToHashBucketFast(tf.tensor(words, [3], 'string'), 16).dataSync());
      kiln = await startTestKiln('postgres');
      await importGraphModel(kiln, TEXT, textGraphModel(), TEXT_SIGNATURE);
      await servingReady(kiln);
    });
    after(async () => {
      await kiln?.close();
    });

    it('metadata: BYTES on /v2, DT_STRING on /v1', async () => {
      const v2 = await kiln.request('GET', `/v2/models/${TEXT}`);
      assert.equal(v2.status, 200, v2.text);
      assert.deepEqual(v2.body.inputs, [{ name: 'text', datatype: 'BYTES', shape: [-1] }]);
      assert.deepEqual(
        v2.body.outputs.map((o: { datatype: string }) => o.datatype),
        ['BYTES', 'BYTES', 'INT32'],
      );
      const v1 = await kiln.request('GET', `/v1/models/${TEXT}/metadata`);
      assert.equal(v1.status, 200, v1.text);
      assert.equal(v1.body.metadata.signature_def.signature_def.serving_default.inputs.text.dtype, 'DT_STRING');
    });

    it('OIP v2: BYTES as JSON strings in and out; the text model computes on them', async () => {
      const res = await kiln.request('POST', `/v2/models/${TEXT}/infer`, {
        body: { inputs: [{ name: 'text', shape: [3], datatype: 'BYTES', data: words }] },
      });
      assert.equal(res.status, 200, res.text);
      const out = Object.fromEntries(res.body.outputs.map((o: { name: string }) => [o.name, o]));
      assert.deepEqual(out.text_out, { name: 'text_out', datatype: 'BYTES', shape: [3], data: words });
      assert.deepEqual(out.bucket.data, buckets);
    });

    it('OIP v2: BYTES as binary data both ways (tritonclient simple_identity), bytes that are not UTF-8 intact', async () => {
      const elements = [Buffer.from('cat'), Buffer.from([0xff, 0x00, 0x80]), Buffer.alloc(0)];
      const tail = serializeBytes(elements);
      const header = Buffer.from(
        JSON.stringify({
          inputs: [{ name: 'text', shape: [3], datatype: 'BYTES', parameters: { binary_data_size: tail.length } }],
          outputs: [{ name: 'text_out', parameters: { binary_data: true } }],
        }),
      );
      const res = await fetch(`${kiln.url}/v2/models/${TEXT}/infer`, {
        method: 'POST',
        headers: { authorization: `Bearer ${kiln.adminKey}`, 'Inference-Header-Content-Length': String(header.length) },
        body: Buffer.concat([header, tail]),
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200, bytes.toString('latin1'));
      const length = Number(res.headers.get('inference-header-content-length'));
      const json = JSON.parse(bytes.subarray(0, length).toString('utf8'));
      assert.deepEqual(json.outputs, [{ name: 'text_out', datatype: 'BYTES', shape: [3], parameters: { binary_data_size: tail.length } }]);
      assert.deepEqual(deserializeBytes(bytes.subarray(length)), elements);
    });

    it('a raw binary request (Triton http_test.py test_byte): the body is the one BYTES element; outputs length-prefixed', async () => {
      const res = await fetch(`${kiln.url}/v2/models/${TEXT}/infer`, {
        method: 'POST',
        headers: { authorization: `Bearer ${kiln.adminKey}`, 'Inference-Header-Content-Length': '0' },
        body: Buffer.from('427'), // no Content-Type, as requests.post(data=…) sends it
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200, bytes.toString('latin1'));
      const length = Number(res.headers.get('inference-header-content-length'));
      // Triton returns a BYTES tensor with its byte size prepended; text_out is the first output
      assert.equal(bytes.subarray(length + 4, length + 7).toString(), '427');
      assert.equal(bytes.readUInt32LE(length), 3);
    });

    it('TF Serving v1: strings and {"b64"} in; outputs named *_bytes come back as {"b64"}; row and columnar forms', async () => {
      const rows = await kiln.request('POST', `/v1/models/${TEXT}:predict`, {
        body: { instances: ['cat', { b64: Buffer.from('dog').toString('base64') }, 'héllo wörld'] },
      });
      assert.equal(rows.status, 200, rows.text);
      assert.deepEqual(
        rows.body.predictions,
        words.map((w, i) => ({ text_out: w, text_bytes: { b64: Buffer.from(w).toString('base64') }, bucket: buckets[i] })),
      );
      const columns = await kiln.request('POST', `/v1/models/${TEXT}:predict`, { body: { inputs: { text: words } } });
      assert.equal(columns.status, 200, columns.text);
      assert.deepEqual(columns.body.outputs.text_out, words);
      assert.deepEqual(columns.body.outputs.bucket, buckets);
    });

    it('400 naming the element or input for numbers into a string input and strings into a number', async () => {
      const v1 = await kiln.request('POST', `/v1/models/${TEXT}:predict`, { body: { instances: ['cat', 2] } });
      assert.equal(v1.status, 400, v1.text);
      assert.match(v1.body.error, /instances\[1\].*2 is not a string or \{"b64": …\} \(the input is string\)/);
      const v2 = await kiln.request('POST', `/v2/models/${TEXT}/infer`, {
        body: { inputs: [{ name: 'text', shape: [1], datatype: 'FP32', data: [1] }] },
      });
      assert.equal(v2.status, 400, v2.text);
      assert.match(v2.body.error, /^inputs\[0\]\.datatype: input 'text' is BYTES; FP32 data cannot be converted to it/);
      const v2b = await kiln.request('POST', `/v2/models/${TEXT}/infer`, {
        body: { inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: ['a', 3] }] },
      });
      assert.equal(v2b.status, 400, v2b.text);
      assert.match(v2b.body.error, /^inputs\[0\]\.data\[1\]: 3 is not a string \(datatype BYTES\)/);
    });

    it('the audit record keeps string inputs losslessly as {"b64"}', async () => {
      const res = await kiln.request('POST', `/v2/models/${TEXT}/infer`, {
        body: { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['audit me'] }] },
      });
      assert.equal(res.status, 200, res.text);
      const id = res.headers.get('x-request-id')!;
      const record = await auditRecord(kiln, id);
      assert.deepEqual(record.inputs[0].data, [{ b64: Buffer.from('audit me').toString('base64') }]);
    });
  });
}

void main();
