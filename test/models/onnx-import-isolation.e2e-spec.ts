/**
 * A hostile ONNX graph cannot make the server allocate: the import's load and dry run happen in a
 * child process under KILN_IMPORT_MAX_MEMORY_MB (src/models/onnx-import.child.ts). The graph here is a
 * few hundred bytes that ask ONNX Runtime for 1 GiB on every run (ConstantOfShape [16384, 16384]);
 * with a 512 MiB cap it is refused with a 400 naming `model`, the server's peak resident memory (this
 * process: the test Kiln runs in it) does not grow by anything like that, and serving goes on.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { checkOnnxImport } from '../../src/models/model-import-runner';
import { CAP_LAUNCHER_PATHS } from '../../src/platform/util/capped-spawn';
import { hugeAllocationGraph, torchIrisMlp, type TorchExpected } from '../support/onnx/onnx-fixtures';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { assertRefused, importOnnx } from './onnx-import-helpers';

/** Peak resident set size of this process so far, in MiB (VmHWM). */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  assert.ok(m, 'VmHWM in /proc/self/status');
  return Number(m[1]) / 1024;
}

const CAP_MB = 512;
const HOSTILE_SIDE = 16384; // 16384² float32 = 1 GiB, twice the cap

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('ONNX import isolation: a hostile graph is checked in a capped child process', { skip }, () => {
    let kiln: TestKiln;
    let iris: { bytes: Buffer; expected: TorchExpected };

    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_IMPORT_MAX_MEMORY_MB: String(CAP_MB) });
      iris = torchIrisMlp();
      const res = await importOnnx(kiln, 'iris-beside-hostile', iris.bytes);
      assert.equal(res.status, 201, res.text);
      assert.equal((await kiln.request('PUT', '/api/models/iris-beside-hostile/aliases/production', { body: { version: 1 } })).status, 200);
    });
    after(async () => {
      await kiln?.close();
    });

    const infer = () =>
      kiln.request('POST', '/v2/models/iris-beside-hostile/infer', {
        body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: iris.expected.inputs[0] }] },
      });

    it('refuses a graph allocating past the cap with 400 naming model; the server neither allocates it nor stops', async () => {
      const hostile = hugeAllocationGraph(HOSTILE_SIDE, HOSTILE_SIDE);
      assert.ok(hostile.length < 1024, `the hostile graph is small (${hostile.length} bytes)`);
      const before = peakRssMb();
      // other calls are answered while the hostile graph is being checked
      const [res, ...during] = await Promise.all([
        importOnnx(kiln, 'hostile', hostile),
        infer(),
        infer(),
        kiln.request('GET', '/health/ready'),
      ]);
      assertRefused(res, 'model', new RegExp(`more memory than an import may use \\(${CAP_MB} MB`));
      for (const r of during) assert.equal(r.status, 200, r.text);
      const grown = peakRssMb() - before;
      assert.ok(grown < 256, `the server's peak RSS grew by ${grown.toFixed(0)} MiB (the graph asks for 1024)`);
      assert.equal((await kiln.request('GET', '/api/models/hostile')).status, 404, 'nothing registered');
      const after = await infer();
      assert.equal(after.status, 200, after.text);
      assert.equal((await kiln.request('GET', '/health/ready')).status, 200);
    });

    it('imports the same kind of graph when its allocation fits under the cap', async () => {
      const res = await importOnnx(kiln, 'allocates-4mb', hugeAllocationGraph(1024, 1024));
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.body.signature.outputs, [{ name: 'y', dtype: 'float32', shape: [-1, 4] }]);
    });
  });

  describe('ONNX import check process: the timeout', () => {
    it('refuses with 400 naming model when the check does not finish in time, and kills the process', async () => {
      const { bytes } = torchIrisMlp();
      await assert.rejects(checkOnnxImport(bytes, null, { maxElements: 1000, memoryLimitMb: 512, timeoutMs: 1 }), (e: any) => {
        assert.deepEqual(
          e.errors?.map((x: { field: string }) => x.field),
          ['model'],
        );
        assert.match(e.errors[0].reason, /did not finish within/);
        return true;
      });
      // the same graph passes with time to spare (the refusal above was the timeout's)
      const ok = await checkOnnxImport(bytes, null, { maxElements: 1000, memoryLimitMb: 512 });
      assert.deepEqual(ok.checked.signature.inputs, [{ name: 'features', dtype: 'float32', shape: [-1, 4] }]);
      assert.match(ok.manifest.producer ?? '', /^pytorch/);
    });

    it('checks the graph without prlimit and without /bin/sh (uncapped then, never a 500)', async () => {
      const saved = { prlimit: CAP_LAUNCHER_PATHS.prlimit, shell: CAP_LAUNCHER_PATHS.shell };
      CAP_LAUNCHER_PATHS.prlimit = ['/nonexistent/prlimit'];
      CAP_LAUNCHER_PATHS.shell = ['/nonexistent/sh'];
      try {
        const ok = await checkOnnxImport(torchIrisMlp().bytes, null, { maxElements: 1000, memoryLimitMb: 512 });
        assert.deepEqual(ok.checked.signature.outputs, [{ name: 'probabilities', dtype: 'float32', shape: [-1, 3] }]);
      } finally {
        Object.assign(CAP_LAUNCHER_PATHS, saved);
      }
    });
  });
}

void main();
