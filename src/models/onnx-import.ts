/**
 * Import of an ONNX graph trained elsewhere (PyTorch, scikit-learn, XGBoost … exports): the `.onnx`
 * file alone is enough. Its inputs and outputs (names, element types, shapes; symbolic axes as -1)
 * are read from the graph by ONNX Runtime, then a dry run on zeros of two rows checks that it runs
 * and that every output has one row per input row (dynamic batching splits outputs by rows).
 *
 * An optional `signature` part gives the record-level contract, so the record API (named features
 * in, labels out), feedback quality and drift treat the version like a trained one:
 *
 *   {"features": [{"name": "age", "type": "number"}, "income", …],   // the input's columns, in order
 *    "task": "binary" | "multiclass" | "regression",
 *    "classes": ["no", "yes"],            // classification: labels in the output's column order
 *    "positiveClass"?: "yes", "threshold"?: 0.5,                        // binary
 *    "input"?: "x", "output"?: "probabilities", "target"?: "label"}     // default: the only input, the first output
 *
 * Features are number, integer or boolean (booleans are sent as 0/1); the values go into the input
 * unchanged (a null becomes 0: the graph holds its own preprocessing, if any), cast to the input's
 * element type: float32, float64, int32 or int64 (an integer input takes integers only; int64 exactly
 * within ±(2^53 − 1), a value past it is a 400 naming the feature, never rounded). A categorical feature
 * `{"name": "colour", "type": "categorical", "categories": ["red", "green"]}` takes categories + 1
 * columns of the input: one-hot in the order given, then one column for any other value or null
 * (Kiln's own one-hot encoding, so drift and the record API treat it as for trained models). Classification
 * outputs are probabilities: binary one column (of the positive class, classes[1] unless
 * positiveClass says otherwise), multiclass one column per class; regression one column.
 *
 * Every refusal is a ValidationProblemException (400) naming `model` or `signature.<key>` and the
 * reason; nothing is stored before the checks pass.
 */
import type { ModelVersionSignature, ModelVersionTarget, ModelVersionPreprocessing } from '../contracts';
import { MAX_CLASSES, OOV_TOKEN, PREPROCESSING_FORMAT_VERSION, RECORD_INPUT_DTYPES, type FeatureSpec } from '../ml';
import { OnnxModel, OnnxModelError, onnxRuntimeInfo, type OnnxHostTensor, type OnnxTensorInfo } from '../ml/onnx';
import { ValidationProblemException } from '../platform/http/validation';
import { LONE_SURROGATE, unstorableFieldIn } from '../platform/http/stored-strings';
import { onnx } from 'onnx-proto';

function bad(field: string, reason: string): never {
  throw new ValidationProblemException([{ field, reason }]);
}

/** The first bytes of the `model` part say which importer runs: model.json is a JSON object. */
export function looksLikeModelJson(bytes: Buffer, fileName: string | undefined): boolean {
  if (fileName && /\.onnx$/i.test(fileName)) return false;
  for (const b of bytes.subarray(0, 64)) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0xef || b === 0xbb || b === 0xbf) continue;
    return b === 0x7b; // '{'
  }
  return true;
}

export type OnnxFeature =
  { name: string; type: 'number' | 'integer' | 'boolean' } | { name: string; type: 'categorical'; categories: string[] };

export interface OnnxRecordContract {
  features: OnnxFeature[];
  task: 'binary' | 'multiclass' | 'regression';
  classes: string[] | null;
  positiveClass: string | null;
  threshold: number | null;
  input: string | null;
  output: string | null;
  target: string;
}

const CONTRACT_KEYS = ['features', 'task', 'classes', 'positiveClass', 'threshold', 'input', 'output', 'target'];
const hasControl = (s: string): boolean => [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
const FEATURE_NAME = { test: (s: string) => s.length >= 1 && s.length <= 200 && !hasControl(s) };
const TENSOR_NAME = { test: (s: string) => s.length >= 1 && s.length <= 500 && !hasControl(s) };
const MAX_FEATURES = 10_000;
/** Categories of one categorical feature (each takes a column of the input). */
const MAX_CATEGORIES = 1_000;

/** Parses the optional `signature` part of an ONNX import (undefined → no record contract). */
export function parseOnnxSignature(raw: string | undefined): OnnxRecordContract | null {
  if (raw === undefined) return null;
  let j: unknown;
  try {
    j = JSON.parse(raw);
  } catch (e) {
    bad('signature', `is not valid JSON (${(e as Error).message})`);
  }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) bad('signature', 'must be a JSON object {features, task, classes?}');
  const unstorable = unstorableFieldIn(j, 'signature');
  if (unstorable) bad(unstorable.field, unstorable.reason);
  const o = j as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!CONTRACT_KEYS.includes(k)) {
      bad(
        `signature.${k.slice(0, 100)}`,
        `is not a known key (an ONNX graph declares its own tensors; the signature may give ${CONTRACT_KEYS.join(', ')})`,
      );
    }
  }
  if (!Array.isArray(o.features) || o.features.length === 0 || o.features.length > MAX_FEATURES)
    bad('signature.features', `must be a non-empty array (at most ${MAX_FEATURES}) of feature names or {name, type}`);
  const names = new Set<string>();
  const features = o.features.map((f: unknown, i): OnnxFeature => {
    const where = `signature.features.${i}`;
    const {
      name,
      type = 'number',
      categories,
      ...rest
    } = typeof f === 'string' ? { name: f } : f !== null && typeof f === 'object' ? (f as Record<string, unknown>) : {};
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) bad(`${where}.${extra.slice(0, 100)}`, 'is not a known key of a feature (name, type, categories)');
    if (typeof name !== 'string' || !FEATURE_NAME.test(name))
      bad(typeof f === 'object' ? `${where}.name` : where, 'must be a name of 1–200 characters without control characters');
    if (names.has(name)) bad(where, `'${name}' is named twice`);
    names.add(name);
    if (type === 'categorical') {
      if (
        !Array.isArray(categories) ||
        categories.length === 0 ||
        categories.length > MAX_CATEGORIES ||
        categories.some((c) => typeof c !== 'string' || !FEATURE_NAME.test(c))
      )
        bad(
          `${where}.categories`,
          `a categorical feature needs 1–${MAX_CATEGORIES} categories (strings of 1–200 characters), in the order of its one-hot columns`,
        );
      if (new Set(categories).size !== categories.length) bad(`${where}.categories`, 'names a category twice');
      return { name, type, categories: categories as string[] };
    }
    if (categories !== undefined) bad(`${where}.categories`, "only a feature of type 'categorical' has categories");
    if (type !== 'number' && type !== 'integer' && type !== 'boolean')
      bad(`${where}.type`, "must be 'number', 'integer', 'boolean' or 'categorical' (with categories)");
    return { name, type: type as 'number' | 'integer' | 'boolean' };
  });
  const task = o.task;
  if (task !== 'binary' && task !== 'multiclass' && task !== 'regression')
    bad('signature.task', "is required with features: 'binary', 'multiclass' or 'regression'");
  let classes: string[] | null = null;
  if (task === 'regression') {
    if (o.classes !== undefined) bad('signature.classes', 'a regression model has no classes');
  } else {
    if (!Array.isArray(o.classes) || o.classes.some((c) => typeof c !== 'string' || c === '' || c.length > 200))
      bad('signature.classes', 'must be an array of class labels (non-empty strings), in the order of the output columns');
    classes = o.classes as string[];
    if (new Set(classes).size !== classes.length) bad('signature.classes', 'names a class twice');
    if (task === 'binary' && classes.length !== 2) bad('signature.classes', `binary needs exactly 2 classes, got ${classes.length}`);
    if (task === 'multiclass' && (classes.length < 2 || classes.length > MAX_CLASSES))
      bad('signature.classes', `multiclass needs 2–${MAX_CLASSES} classes, got ${classes.length}`);
  }
  let positiveClass: string | null = null;
  let threshold: number | null = null;
  if (task === 'binary') {
    if (o.positiveClass !== undefined) {
      if (typeof o.positiveClass !== 'string' || !classes!.includes(o.positiveClass))
        bad('signature.positiveClass', `must name one of the classes (${classes!.join(', ')})`);
      if (o.positiveClass !== classes![1])
        bad(
          'signature.positiveClass',
          `must be the second class ('${classes![1]}'): the output is its probability; list the classes in that order`,
        );
      positiveClass = o.positiveClass;
    }
    if (o.threshold !== undefined) {
      if (typeof o.threshold !== 'number' || !(o.threshold > 0 && o.threshold < 1))
        bad('signature.threshold', 'must be a number in (0, 1)');
      threshold = o.threshold;
    }
  } else {
    if (o.positiveClass !== undefined) bad('signature.positiveClass', 'only a binary model has a positive class');
    if (o.threshold !== undefined) bad('signature.threshold', 'only a binary model has a threshold');
  }
  const tensorName = (key: 'input' | 'output'): string | null => {
    const v = o[key];
    if (v === undefined) return null;
    if (typeof v !== 'string' || !TENSOR_NAME.test(v)) bad(`signature.${key}`, `must name an ${key} of the graph`);
    return v;
  };
  const target = o.target ?? 'prediction';
  if (typeof target !== 'string' || !FEATURE_NAME.test(target)) bad('signature.target', 'must be a name of 1–200 characters');
  return { features, task, classes, positiveClass, threshold, input: tensorName('input'), output: tensorName('output'), target };
}

export interface OnnxImport {
  signature: ModelVersionSignature;
  task: OnnxRecordContract['task'] | null;
  preprocessing: ModelVersionPreprocessing | null;
  target: ModelVersionTarget | null;
  /** For lineage. */
  engine: ReturnType<typeof onnxRuntimeInfo>;
}

const DRY_RUN_ROWS = 2;

const fmt = (s: readonly number[] | null): string => (s ? `[${s.join(', ')}]` : 'unknown');

/**
 * Loads the graph on ONNX Runtime, reads its signature, dry-runs two rows of zeros and checks the
 * record contract against the graph. `maxElements` bounds the elements of one row of all inputs (and
 * of all outputs) together, as for TF.js imports (KILN_IMPORT_MAX_ELEMENTS).
 */
export async function inspectOnnx(
  bytes: Buffer,
  contract: OnnxRecordContract | null,
  maxElements: number,
  memoryLimitMb: number | null = null,
): Promise<OnnxImport> {
  // Weights in external files would make ONNX Runtime open paths the uploader chose (it refuses most,
  // but the graph has no business naming files on this server): refused before the graph is loaded.
  const external = externalDataTensor(bytes);
  if (external !== null) {
    bad(
      'model',
      `tensor '${external}' keeps its data in an external file; save the graph with its weights inside ` +
        '(onnx.save_model(model, path, save_as_external_data=False))',
    );
  }
  let model: OnnxModel;
  try {
    model = await OnnxModel.fromBytes(bytes);
  } catch (e) {
    if (e instanceof OnnxModelError) bad('model', e.tensor ? `the graph's ${e.tensor}: ${e.message}` : e.message);
    throw e;
  }
  try {
    const batchShape = (t: OnnxTensorInfo, where: string): number[] => {
      if (!t.shape) bad('model', `the graph's ${where} '${t.name}' has no declared shape; Kiln needs its rank`);
      if (t.shape[0] !== -1) {
        bad(
          'model',
          `the graph's ${where} '${t.name}' has shape ${fmt(t.shape)}: its first (batch) dimension must be dynamic ` +
            `(torch.onnx.export: dynamic_axes={'${t.name}': {0: 'batch'}})`,
        );
      }
      return t.shape;
    };
    [...model.inputs, ...model.outputs].forEach((t) => {
      if (hasControl(t.name) || LONE_SURROGATE.test(t.name))
        bad('model', `the graph names a tensor ${JSON.stringify(t.name)}: tensor names must be free of control characters`);
    });
    const inputs = model.inputs.map((t, i) => ({ name: t.name, dtype: t.dtype, shape: batchShape(t, `inputs.${i}`) }));
    const perRow = (shape: number[]) => shape.slice(1).reduce((a, d) => a * (d === -1 ? 1 : d), 1);
    const inElements = inputs.reduce((s, t) => s + perRow(t.shape), 0);
    if (inElements > maxElements)
      bad('model', `the graph's inputs take ${inElements} elements per row in total; at most ${maxElements} (KILN_IMPORT_MAX_ELEMENTS)`);

    const feeds: OnnxHostTensor[] = inputs.map((t) => {
      const shape = t.shape.map((d, k) => (k === 0 ? DRY_RUN_ROWS : d === -1 ? 1 : d));
      const n = shape.reduce((a, b) => a * b, 1);
      const data =
        t.dtype === 'float32'
          ? new Float32Array(n)
          : t.dtype === 'int32'
            ? new Int32Array(n)
            : t.dtype === 'bool'
              ? new Uint8Array(n)
              : t.dtype === 'string'
                ? Array.from({ length: n }, () => Uint8Array.of(0x30)) // "0", which graphs that Cast text to numbers read too
                : new Float64Array(n); // float64, int64 (held as float64)
      return { name: t.name, dtype: t.dtype, shape, data };
    });
    let ys: OnnxHostTensor[];
    try {
      ys = await model.run(feeds);
    } catch (e) {
      const message = (e as Error).message.split('\n')[0]!.slice(0, 500);
      if (memoryLimitMb !== null && /Failed to allocate memory|bad_alloc/i.test(message))
        bad(
          'model',
          `the dry run on zeros (${DRY_RUN_ROWS} rows) needs more memory than an import may use ` +
            `(${memoryLimitMb} MB, KILN_IMPORT_MAX_MEMORY_MB): ${message}`,
        );
      bad('model', `the dry run on zeros (${DRY_RUN_ROWS} rows) failed: ${message}`);
    }
    const outputs = model.outputs.map((t, i) => {
      const y = ys[i]!;
      if (y.shape[0] !== DRY_RUN_ROWS) {
        bad(
          'model',
          `the graph's outputs.${i} '${t.name}' has shape ${fmt(y.shape)} for ${DRY_RUN_ROWS} input rows: ` +
            `every output needs one row per input row (a dynamic first dimension)`,
        );
      }
      const shape = t.shape && t.shape.length === y.shape.length ? t.shape.map((d, k) => (k === 0 ? -1 : d)) : [-1, ...y.shape.slice(1)];
      return { name: t.name, dtype: t.dtype, shape };
    });
    const outElements = outputs.reduce((s, t) => s + perRow(t.shape), 0);
    if (outElements > maxElements)
      bad('model', `the graph's outputs give ${outElements} elements per row in total; at most ${maxElements} (KILN_IMPORT_MAX_ELEMENTS)`);

    const engine = onnxRuntimeInfo();
    if (!contract) return { signature: { inputs, outputs }, task: null, preprocessing: null, target: null, engine };

    // The record contract: one [-1, columns] input (float32, float64, int32 or int64: the record API casts
    // the features to it, integers exactly), one [-1, k] float32 or float64 output.
    let input = inputs[0]!;
    if (contract.input !== null) {
      const found = inputs.find((t) => t.name === contract.input);
      if (!found)
        bad('signature.input', `'${contract.input}' is not an input of the graph (inputs: ${inputs.map((t) => t.name).join(', ')})`);
      input = found;
    }
    if (inputs.length !== 1)
      bad(
        'signature.features',
        `the record API feeds one input; the graph takes ${inputs.length} (${inputs.map((t) => t.name).join(', ')})`,
      );
    if (!(RECORD_INPUT_DTYPES as readonly string[]).includes(input.dtype) || input.shape.length !== 2)
      bad(
        'signature.features',
        `the graph's input '${input.name}' is ${input.dtype} ${fmt(input.shape)}; ` +
          `named features need a [-1, n] input of ${RECORD_INPUT_DTYPES.join(', ')}`,
      );
    // a categorical feature takes its categories' one-hot columns and one for any other value
    const columns = contract.features.flatMap((f) =>
      f.type === 'categorical' ? [...f.categories.map((c) => `${f.name}=${c}`), `${f.name}=${OOV_TOKEN}`] : [f.name],
    );
    if (input.shape[1] !== -1 && input.shape[1] !== columns.length) {
      const categorical = contract.features.some((f) => f.type === 'categorical');
      bad(
        'signature.features',
        `names ${contract.features.length} feature(s) taking ${columns.length} column(s)` +
          `${categorical ? ' (a categorical feature takes one per category and one for other values)' : ''}; ` +
          `the graph's input '${input.name}' has ${input.shape[1]} columns ${fmt(input.shape)}`,
      );
    }
    if (columns.length > maxElements)
      bad('signature.features', `take ${columns.length} input columns; at most ${maxElements} (KILN_IMPORT_MAX_ELEMENTS)`);
    const oi = contract.output === null ? 0 : outputs.findIndex((t) => t.name === contract.output);
    if (oi < 0)
      bad('signature.output', `'${contract.output}' is not an output of the graph (outputs: ${outputs.map((t) => t.name).join(', ')})`);
    const output = outputs[oi]!;
    const width = contract.task === 'multiclass' ? contract.classes!.length : 1;
    if ((output.dtype !== 'float32' && output.dtype !== 'float64') || output.shape.length !== 2 || output.shape[1] !== width) {
      const wanted =
        contract.task === 'multiclass'
          ? `one probability column per class (${width})`
          : contract.task === 'binary'
            ? "one column: the positive class's probability"
            : 'one column: the predicted value';
      bad(
        contract.output === null ? 'signature.task' : 'signature.output',
        `the graph's output '${output.name}' is ${output.dtype} ${fmt(output.shape)}; ` +
          `a ${contract.task} model needs a float32 or float64 [-1, ${width}] output (${wanted})`,
      );
    }
    // The record API decodes the first output: put the chosen one first.
    const ordered = [output, ...outputs.filter((_, i) => i !== oi)];
    const features = contract.features;
    const preprocessing: ModelVersionPreprocessing = {
      formatVersion: PREPROCESSING_FORMAT_VERSION,
      features: features.map((f): FeatureSpec =>
        f.type === 'categorical'
          ? { name: f.name, type: 'categorical', kind: 'categorical', vocabulary: f.categories }
          : f.type === 'boolean'
            ? { name: f.name, type: 'boolean', kind: 'boolean', fill: 0, missingIndicator: false }
            : { name: f.name, type: f.type, kind: 'numeric', mean: 0, std: 1, median: 0, missingIndicator: false },
      ),
      outputNames: columns,
      width: columns.length,
    };
    const target: ModelVersionTarget = {
      name: contract.target,
      columnType: contract.task === 'regression' ? 'number' : 'categorical',
      task: contract.task,
      ...(contract.classes ? { classes: contract.classes } : {}),
      ...(contract.task === 'binary' ? { positiveClass: contract.classes![1]!, threshold: contract.threshold ?? 0.5 } : {}),
    };
    return {
      signature: {
        features: features.map((f) => ({ name: f.name, type: f.type })),
        inputs: [{ ...input, shape: [-1, columns.length] }],
        outputs: ordered,
      },
      task: contract.task,
      preprocessing,
      target,
      engine,
    };
  } finally {
    await model.dispose();
  }
}

/** What the import check (in its own process, onnx-import.child.ts) hands back to the server. */
export interface CheckedOnnxGraph {
  checked: OnnxImport;
  manifest: OnnxManifest;
}

/** inspectOnnx, then the manifest: everything an ONNX import does with the uploaded bytes before storing them. */
export async function checkOnnxGraph(
  bytes: Buffer,
  contract: OnnxRecordContract | null,
  maxElements: number,
  memoryLimitMb: number | null = null,
): Promise<CheckedOnnxGraph> {
  const checked = await inspectOnnx(bytes, contract, maxElements, memoryLimitMb);
  return { checked, manifest: onnxManifest(bytes, checked) };
}

/** What `model_json_sha256` holds for an ONNX version: a small manifest beside the graph (the `weights` blob). */
export interface OnnxManifest {
  format: 'onnx';
  producer: string | null;
  opset: number | null;
  irVersion: number | null;
  inputs: ModelVersionSignature['inputs'];
  outputs: ModelVersionSignature['outputs'];
}

/** Producer, opset and IR version as the graph states them (ONNX Runtime already accepted the bytes). */
export function onnxManifest(graph: Buffer, checked: OnnxImport): OnnxManifest {
  let producer: string | null = null;
  let opset: number | null = null;
  let irVersion: number | null = null;
  try {
    const m = onnx.ModelProto.decode(graph);
    const text = [m.producerName, m.producerVersion].filter(Boolean).join(' ').slice(0, 200);
    producer = text && !hasControl(text) && !LONE_SURROGATE.test(text) ? text : null;
    const main = m.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
    opset = main?.version != null ? Number(main.version) : null;
    irVersion = m.irVersion != null ? Number(m.irVersion) : null;
  } catch {
    // Descriptive only: a graph ONNX Runtime loads but this decoder cannot read keeps nulls.
  }
  return { format: 'onnx', producer, opset, irVersion, inputs: checked.signature.inputs, outputs: checked.signature.outputs };
}

/** The name of the first tensor (initializer or constant, subgraphs included) stored as external data, or null. */
function externalDataTensor(bytes: Buffer): string | null {
  let m: onnx.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch {
    return null; // not a ModelProto: ONNX Runtime refuses it with its own message
  }
  const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;
  const tensor = (t: onnx.ITensorProto | null | undefined): string | null =>
    t && (t.dataLocation === EXTERNAL || (t.externalData?.length ?? 0) > 0) ? t.name || '(unnamed)' : null;
  const graph = (g: onnx.IGraphProto | null | undefined, depth: number): string | null => {
    if (!g || depth > 32) return null;
    for (const t of g.initializer ?? []) if (tensor(t)) return tensor(t);
    for (const sp of g.sparseInitializer ?? []) if (tensor(sp.values) ?? tensor(sp.indices)) return tensor(sp.values) ?? tensor(sp.indices);
    for (const n of g.node ?? []) {
      for (const a of n.attribute ?? []) {
        const found =
          tensor(a.t) ??
          (a.tensors ?? []).map(tensor).find((x) => x !== null) ??
          graph(a.g, depth + 1) ??
          (a.graphs ?? []).map((sub) => graph(sub, depth + 1)).find((x) => x !== null) ??
          null;
        if (found) return found;
      }
    }
    return null;
  };
  return graph(m.graph, 0);
}
