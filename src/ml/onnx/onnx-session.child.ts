/**
 * Entry of an ONNX session process (isolated-onnx-model.ts): one imported graph loaded on ONNX
 * Runtime, run on the tensors the server sends, in a process whose writable memory is capped
 * (src/platform/util/capped-spawn.ts). A graph that allocates past the cap for some input (a large
 * batch or dynamic dimension the import's dry run did not try) fails or kills this process, not the
 * server. Messages over the IPC channel (advanced serialization: typed arrays travel as they are):
 *
 *   server → child   {type: 'load', graph, intraOpThreads} once, then {type: 'run', id, inputs, outputNames}
 *   child → server   {type: 'loaded', inputs, outputs} | {type: 'load-failed', message}
 *                    {type: 'result', id, outputs} | {type: 'failed', id, message}
 */
import { OnnxInputError, OnnxModel, type OnnxHostTensor, type OnnxTensorInfo } from './onnx-model';

export type SessionRequest =
  | { type: 'load'; graph: Uint8Array; intraOpThreads: number }
  | { type: 'run'; id: number; inputs: OnnxHostTensor[]; outputNames: string[] };

export type SessionReply =
  | { type: 'loaded'; inputs: OnnxTensorInfo[]; outputs: OnnxTensorInfo[] }
  | { type: 'load-failed'; message: string }
  | { type: 'result'; id: number; outputs: OnnxHostTensor[] }
  /** `input`: the inputs were at fault (an OnnxInputError), not the session. */
  | { type: 'failed'; id: number; message: string; input?: boolean };

function main(): void {
  const reply = (m: SessionReply): void => void process.send?.(m);
  let model: OnnxModel | null = null;
  process.on('message', (m: SessionRequest) => {
    if (m.type === 'load') {
      OnnxModel.fromBytes(m.graph, { intraOpThreads: m.intraOpThreads }).then(
        (loaded) => {
          model = loaded;
          reply({ type: 'loaded', inputs: loaded.inputs, outputs: loaded.outputs });
        },
        (e: unknown) => reply({ type: 'load-failed', message: (e as Error)?.message ?? String(e) }),
      );
      return;
    }
    if (!model) return reply({ type: 'failed', id: m.id, message: 'the graph is not loaded' });
    model.run(m.inputs, m.outputNames).then(
      (outputs) => reply({ type: 'result', id: m.id, outputs }),
      (e: unknown) =>
        reply({
          type: 'failed',
          id: m.id,
          message: (e as Error)?.message ?? String(e),
          ...(e instanceof OnnxInputError ? { input: true } : {}),
        }),
    );
  });
  // the server went away (or unloaded the model): nothing to serve
  process.on('disconnect', () => process.exit(0));
}

if (require.main === module) main();
