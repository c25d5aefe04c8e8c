import { BadRequestException } from '@nestjs/common';
import { elementCount, type HostTensor, type ServedModel } from './served-model';

/** Rows per request at most, on every protocol (a larger job belongs on batch scoring). */
export const MAX_ROWS_PER_REQUEST = 10_000;

/**
 * The shared validation core of the three serving protocols: the tensors a protocol layer parsed are
 * checked against the version's signature (every input present once, no unknown input, dtype, rank,
 * fixed dimensions, element count) and returned in signature order. Messages name the input and the
 * reason; the protocol layer decides the error body format.
 *
 * Shapes, as TF Serving and KServe's spec have them:
 *  - the batch dimension is the first dimension of the inputs declared `-1` there; those share one
 *    size (`rows`). Inputs declared with a fixed first dimension take part in no batch, so inputs of
 *    different first dimensions are fine for fixed-shape signatures (KServe's request example:
 *    `[2, 2]` and `[3]`); a request of only such inputs is `batchable: false` and runs alone;
 *  - an input declared `[-1]` (a batch of anything) takes any rank ≥ 1: TF Serving does not hold
 *    requests to the signature's rank (`{"instances": [[1.0, 2.0], [3.0, 4.0]]}` on half_plus_two),
 *    the model decides, and a shape it cannot take is a 400 (LoadedModel.run).
 */
export function validateInputs(model: ServedModel, given: HostTensor[]): { inputs: HostTensor[]; rows: number; batchable: boolean } {
  const byName = new Map<string, HostTensor>();
  for (const t of given) {
    if (byName.has(t.name)) throw new BadRequestException(`input '${t.name}' is given more than once`);
    byName.set(t.name, t);
  }
  const declared = model.inputs.map((s) => s.name);
  for (const name of byName.keys()) {
    if (!declared.includes(name)) {
      throw new BadRequestException(
        `input '${name}' is not an input of model ${model.name} version ${model.version} (inputs: ${declared.join(', ')})`,
      );
    }
  }
  let rows: number | null = null;
  const inputs = model.inputs.map((spec) => {
    const t = byName.get(spec.name);
    if (!t)
      throw new BadRequestException(
        `input '${spec.name}' is missing (model ${model.name} version ${model.version} takes ${declared.join(', ')})`,
      );
    if (t.dtype !== spec.dtype)
      throw new BadRequestException(`input '${spec.name}': datatype ${t.dtype} given, the model takes ${spec.dtype}`);
    const anyRank = spec.shape.length === 1 && spec.shape[0] === -1 && t.shape.length >= 1;
    if (t.shape.length !== spec.shape.length && !anyRank) {
      throw new BadRequestException(
        `input '${spec.name}': shape [${t.shape.join(', ')}] has rank ${t.shape.length}; the model takes [${spec.shape.join(', ')}]`,
      );
    }
    t.shape.forEach((d, i) => {
      if (!Number.isInteger(d) || d < 0)
        throw new BadRequestException(`input '${spec.name}': shape dimension ${i} must be a non-negative integer`);
      const want = spec.shape[i] ?? -1;
      if (want >= 0 && d !== want) {
        throw new BadRequestException(`input '${spec.name}': dimension ${i} is ${d}; the model takes [${spec.shape.join(', ')}]`);
      }
    });
    if (elementCount(t.shape) !== t.data.length) {
      throw new BadRequestException(
        `input '${spec.name}': ${t.data.length} element(s) do not fill shape [${t.shape.join(', ')}] (${elementCount(t.shape)})`,
      );
    }
    if (spec.shape[0] === -1) {
      const n = t.shape[0] ?? 1;
      if (rows !== null && n !== rows) throw new BadRequestException(`input '${spec.name}' has ${n} rows; other inputs have ${rows}`);
      rows = n;
    }
    return t;
  });
  const batchable = rows !== null;
  if (rows === null) rows = 1;
  if (!rows) throw new BadRequestException('the request has no rows (batch dimension 0)');
  if (rows > MAX_ROWS_PER_REQUEST)
    throw new BadRequestException(
      `the request has ${rows} rows; at most ${MAX_ROWS_PER_REQUEST} per request (use batch predictions for more)`,
    );
  return { inputs, rows, batchable };
}
