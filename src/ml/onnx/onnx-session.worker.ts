/**
 * Entry of the ONNX serving thread (threaded-onnx-model.ts): the sessions of the graphs served in
 * process, each an OnnxModel, run here so that the main thread keeps reading and answering requests
 * while a graph runs. Messages (structured clone; output arrays are transferred, not copied):
 *
 *   main → thread   {type: 'load', session, graph, options} | {type: 'run', call, session, inputs, outputNames}
 *                   {type: 'release', session}
 *   thread → main   {type: 'loaded', session, inputs, outputs} | {type: 'load-failed', session, message, tensor}
 *                   {type: 'result', call, outputs} | {type: 'failed', call, message, input?}
 */
import { parentPort } from 'node:worker_threads';
import { nameThisThread } from '../../platform/util/thread-name';
import { OnnxInputError, OnnxModel, OnnxModelError, type OnnxHostTensor, type OnnxSessionOptions, type OnnxTensorInfo } from './onnx-model';

export type ThreadRequest =
  | { type: 'load'; session: number; graph: Uint8Array; options: OnnxSessionOptions }
  | { type: 'run'; call: number; session: number; inputs: OnnxHostTensor[]; outputNames: string[] }
  | { type: 'release'; session: number };

export type ThreadReply =
  | { type: 'loaded'; session: number; inputs: OnnxTensorInfo[]; outputs: OnnxTensorInfo[] }
  | { type: 'load-failed'; session: number; message: string; tensor: string | null; refused: boolean }
  | { type: 'result'; call: number; outputs: OnnxHostTensor[] }
  /** `input`: the inputs were at fault (an OnnxInputError), not the session. */
  | { type: 'failed'; call: number; message: string; input: boolean };

/** The buffers of the outputs' typed arrays, handed over to the main thread rather than copied. */
function transferablesOf(outputs: OnnxHostTensor[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const o of outputs) if (!Array.isArray(o.data) && o.data.buffer instanceof ArrayBuffer) buffers.add(o.data.buffer);
  return [...buffers];
}

function main(port: NonNullable<typeof parentPort>): void {
  nameThisThread('kiln-onnx');
  const sessions = new Map<number, OnnxModel>();
  const reply = (m: ThreadReply, transfer: ArrayBuffer[] = []) => {
    try {
      port.postMessage(m, transfer);
    } catch {
      port.postMessage(m); // a buffer that cannot be detached (native memory) is copied instead
    }
  };
  port.on('message', (m: ThreadRequest) => {
    switch (m.type) {
      case 'load':
        OnnxModel.fromBytes(m.graph, m.options).then(
          (model) => {
            sessions.set(m.session, model);
            reply({ type: 'loaded', session: m.session, inputs: model.inputs, outputs: model.outputs });
          },
          (e: unknown) =>
            reply({
              type: 'load-failed',
              session: m.session,
              message: e instanceof Error ? e.message : String(e),
              tensor: e instanceof OnnxModelError ? e.tensor : null,
              refused: e instanceof OnnxModelError,
            }),
        );
        return;
      case 'run': {
        const model = sessions.get(m.session);
        if (!model) return reply({ type: 'failed', call: m.call, message: 'the ONNX session was released', input: false });
        model.run(m.inputs, m.outputNames).then(
          (outputs) => {
            // ONNX Runtime's output arrays may share one buffer with something else: transfer only whole, owned ones
            const owned = outputs.map((o) =>
              Array.isArray(o.data) || (o.data.byteOffset === 0 && o.data.byteLength === o.data.buffer.byteLength)
                ? o
                : { ...o, data: o.data.slice() },
            );
            reply({ type: 'result', call: m.call, outputs: owned }, transferablesOf(owned));
          },
          (e: unknown) =>
            reply({
              type: 'failed',
              call: m.call,
              message: e instanceof Error ? e.message : String(e),
              input: e instanceof OnnxInputError,
            }),
        );
        return;
      }
      case 'release': {
        const model = sessions.get(m.session);
        sessions.delete(m.session);
        void model?.dispose();
        return;
      }
    }
  });
}

if (parentPort) main(parentPort);
