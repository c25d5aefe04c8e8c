import { actorOf } from '../platform/audit-trail/admin-event-outbox';
import { Audited } from '../platform/audit-trail/audited.decorator';
import type { Multipart } from '@fastify/multipart';
import { ParseVersionPipe } from './version-number';
import { KILN_CONFIG, type KilnConfig } from '../platform/config/kiln-config';
import { NUL_REASON } from '../platform/http/stored-strings';
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Req, UnsupportedMediaTypeException } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ArtifactStore } from '../platform/artifacts';
import { ValidationProblemException } from '../platform/http/validation';
import { parseSignature } from './model-import';
import { EMBEDDINGS_FORMAT, importRecommenderEmbeddings, TrainingSpecError, type ImportedRecommender } from '../ml';
import { saveModelToBytes, type ModelBytes } from '../platform/tfjs/artifact-io';
import { TfRuntime } from '../platform/tfjs/tf-runtime';
import { checkImport, checkOnnxImport } from './model-import-runner';
import { looksLikeModelJson, parseOnnxSignature } from './onnx-import';
import type { AuthenticatedRequest } from '../platform/auth';
import { Roles } from '../platform/auth';
import { MODEL_NAME_PATTERN } from './model-registry.service';
import { checkAliasName } from './version-selector';
import { AliasChangeDto, AliasHistoryEntryDto, ModelDto, ModelVersionDto, SetAliasDto } from './models.dto';
import { ModelsPort } from './models.port';

/** Model registry: reads for any role, writes for `developer` (and admin). */
@ApiTags('models')
@Controller('api/models')
export class ModelsController {
  constructor(
    private readonly registry: ModelsPort,
    private readonly artifacts: ArtifactStore,
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List registered models' })
  @ApiResponse({ status: 200, type: [ModelDto] })
  async list(): Promise<ModelDto[]> {
    return this.registry.list();
  }

  @Get(':name')
  @ApiResponse({ status: 200, type: ModelDto })
  async get(@Param('name') name: string): Promise<ModelDto> {
    return this.registry.get(name);
  }

  @Get(':name/versions')
  @ApiOperation({ summary: 'Versions of a model, newest first' })
  @ApiResponse({ status: 200, type: [ModelVersionDto] })
  async versions(@Param('name') name: string) {
    return this.registry.listVersions(name);
  }

  @Get(':name/versions/:version')
  @ApiOperation({ summary: 'One version: signature, preprocessing, metrics, lineage' })
  @ApiResponse({ status: 200, type: ModelVersionDto })
  async version(@Param('name') name: string, @Param('version', ParseVersionPipe) version: number) {
    return this.registry.getVersion(name, version);
  }

  @Post(':name/versions')
  @Audited('model.imported')
  @Roles('developer')
  @HttpCode(201)
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['model'],
      properties: {
        model: {
          type: 'string',
          format: 'binary',
          description: 'model.json (TF.js layers or graph model; then weights and signature are required) or a .onnx file (alone)',
        },
        weights: {
          type: 'array',
          items: { type: 'string', format: 'binary' },
          description: "weight shard files, under the file names model.json's weightsManifest uses",
        },
        signature: {
          type: 'string',
          description:
            'TF.js: JSON {inputs: [{name, dtype, shape}], outputs: [...]}; -1 for the batch dimension. ' +
            'ONNX (optional): JSON {features: [{name, type}], task, classes?, positiveClass?, threshold?, input?, output?} ' +
            'for the record API',
        },
      },
    },
  })
  @ApiOperation({
    summary: 'Import a TF.js model (model.json + weight shards + signature) or an ONNX graph (.onnx) as a new version',
    description:
      'Kiln loads the model, runs a dry prediction on zeros of the declared input shapes and checks the outputs; ' +
      'an ONNX graph declares its own tensors (read by ONNX Runtime; dynamic axes as -1) and is served by ONNX Runtime; ' +
      'what does not load or does not match is refused with 400 naming the problem. Creates the model if missing; ' +
      'version numbers are shared with trained versions.',
  })
  @ApiResponse({ status: 201, type: ModelVersionDto })
  async importVersion(@Param('name') name: string, @Req() req: AuthenticatedRequest) {
    if (!MODEL_NAME_PATTERN.test(name)) {
      throw new ValidationProblemException([
        { field: 'name', reason: "must be 1–128 letters, digits, '.', '_' or '-' starting with a letter or digit" },
      ]);
    }
    if (!req.isMultipart())
      throw new UnsupportedMediaTypeException(
        'content-type: send multipart/form-data with parts "model" (model.json or a .onnx file), "weights" (shards) and "signature"',
      );
    let modelJson: Buffer | undefined;
    let modelFile: string | undefined;
    let signatureText: string | undefined;
    let embeddings: Buffer | undefined;
    const shards = new Map<string, Buffer>();
    for await (const part of req.parts({ limits: { files: 101, fields: 10 } }) as AsyncIterable<Multipart>) {
      if (part.type === 'field') {
        if (part.fieldname !== 'signature')
          throw new ValidationProblemException([
            { field: part.fieldname, reason: 'is not a known field; send "model", "weights" and "signature"' },
          ]);
        signatureText = String(part.value);
        continue;
      }
      const buf = await part.toBuffer();
      if (part.fieldname === 'embeddings') {
        if (embeddings) throw new ValidationProblemException([{ field: 'embeddings', reason: 'send one embeddings document' }]);
        embeddings = buf;
      } else if (part.fieldname === 'model') {
        if (modelJson) throw new ValidationProblemException([{ field: 'model', reason: 'send one model file' }]);
        modelJson = buf;
        modelFile = part.filename || undefined;
      } else if (part.fieldname === 'weights') {
        const file = part.filename || '';
        if (!file)
          throw new ValidationProblemException([
            { field: 'weights', reason: "each shard needs its file name (as model.json's weightsManifest names it)" },
          ]);
        if (file.includes('\u0000')) throw new ValidationProblemException([{ field: 'weights', reason: `file name ${NUL_REASON}` }]);
        if (shards.has(file)) throw new ValidationProblemException([{ field: 'weights', reason: `shard '${file}' was sent twice` }]);
        shards.set(file, buf);
      } else {
        throw new ValidationProblemException([
          {
            field: part.fieldname,
            reason: 'is not a known file part; send model.json as "model" and each shard as "weights" (or a recommender\'s "embeddings")',
          },
        ]);
      }
    }
    if (embeddings) {
      if (modelJson || shards.size || signatureText !== undefined)
        throw new ValidationProblemException([
          { field: 'embeddings', reason: "a recommender's embeddings document is the whole import; send it alone" },
        ]);
      return this.importRecommender(name, embeddings, req);
    }
    if (modelJson && !looksLikeModelJson(modelJson, modelFile)) {
      if (shards.size)
        throw new ValidationProblemException([
          { field: 'weights', reason: 'an ONNX graph holds its own weights; send only "model" (and optionally "signature")' },
        ]);
      return this.importOnnx(name, modelJson, modelFile, signatureText, req);
    }
    const signature = parseSignature(signatureText, this.config.importMaxElements);
    // parsing, loading, the dry prediction and storing run in a worker thread (model-import-runner.ts)
    const checked = await checkImport({
      modelJson,
      shards: [...shards],
      signature,
      tfBackend: this.config.tfBackend,
      artifacts: this.artifacts.location(),
      wasmMemoryLimitMb: this.config.importMaxWasmMb,
    });
    return this.registry.importVersion(
      {
        modelName: name,
        format: checked.format,
        modelJsonSha256: checked.modelJsonSha256,
        weightsSha256: checked.weightsSha256,
        signature,
        lineage: {
          imported: {
            files: [...shards.keys()],
            generatedBy: checked.generatedBy,
            convertedBy: checked.convertedBy,
            dryRunBackend: checked.backend,
          },
          backend: checked.backend,
          codeVersion: this.config.version.code,
        },
        createdBy: req.principal?.name ?? null,
      },
      actorOf(req),
    );
  }

  /**
   * A recommender trained elsewhere (src/ml/recommender/embeddings-import.ts): ids, embeddings and
   * biases become the same serving model and index a trained recommender has, so /recommend,
   * /similar-items and batch recommendations serve it alike. Built on this thread: a few tensor copies.
   */
  private async importRecommender(name: string, raw: Buffer, req: AuthenticatedRequest) {
    let doc: unknown;
    try {
      doc = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      throw new ValidationProblemException([{ field: 'embeddings', reason: `is not JSON: ${(e as Error).message}` }]);
    }
    const backend = await TfRuntime.init(this.config.tfBackend);
    let imported: ImportedRecommender;
    try {
      imported = importRecommenderEmbeddings(doc);
    } catch (e) {
      if (e instanceof TrainingSpecError) throw new ValidationProblemException([{ field: `embeddings.${e.field}`, reason: e.reason }]);
      throw e;
    }
    let bytes: ModelBytes;
    try {
      bytes = await saveModelToBytes(imported.model);
    } finally {
      imported.model.dispose();
    }
    const { index } = imported;
    const indexRef = await this.artifacts.put(Buffer.from(JSON.stringify(index)));
    const modelJsonRef = await this.artifacts.put(Buffer.from(JSON.stringify(bytes.modelJson)));
    const weightsRef = await this.artifacts.put(bytes.weights);
    return this.registry.importVersion(
      {
        modelName: name,
        format: 'layers-model',
        task: 'recommendation',
        modelJsonSha256: modelJsonRef.sha256,
        weightsSha256: weightsRef.sha256,
        signature: {
          inputs: [{ name: 'user_index', dtype: 'float32', shape: [-1, 1] }],
          outputs: [{ name: 'scores', dtype: 'float32', shape: [-1, index.items.length] }],
        },
        recommender: {
          feedback: index.feedback,
          columns: index.columns,
          users: index.users.length,
          items: index.items.length,
          embeddingSize: imported.embeddingSize,
          indexSha256: indexRef.sha256,
        },
        lineage: {
          imported: { files: ['embeddings.json'], producer: EMBEDDINGS_FORMAT, dryRunBackend: backend },
          backend,
          codeVersion: this.config.version.code,
        },
        createdBy: req.principal?.name ?? null,
      },
      actorOf(req),
    );
  }

  /** The ONNX branch of the import: inspect and dry-run on ONNX Runtime, store the graph, register. */
  private async importOnnx(
    name: string,
    graph: Buffer,
    file: string | undefined,
    signatureText: string | undefined,
    req: AuthenticatedRequest,
  ) {
    const contract = parseOnnxSignature(signatureText);
    // decoding, loading and the dry run happen in a child process under a memory cap (model-import-runner.ts)
    const { checked, manifest } = await checkOnnxImport(graph, contract, {
      maxElements: this.config.importMaxElements,
      memoryLimitMb: this.config.importMaxMemoryMb,
    });
    const manifestRef = await this.artifacts.put(Buffer.from(JSON.stringify(manifest)));
    const graphRef = await this.artifacts.put(graph);
    return this.registry.importVersion(
      {
        modelName: name,
        format: 'onnx',
        modelJsonSha256: manifestRef.sha256,
        weightsSha256: graphRef.sha256,
        signature: checked.signature,
        task: checked.task,
        preprocessing: checked.preprocessing,
        target: checked.target,
        lineage: {
          imported: {
            files: [file ?? 'model.onnx'],
            producer: manifest.producer,
            opset: manifest.opset,
            dryRunBackend: `onnxruntime-node ${checked.engine.version}`,
          },
          engine: { engine: 'onnxruntime', provider: checked.engine.provider, version: checked.engine.version },
          backend: 'onnxruntime-cpu',
          codeVersion: this.config.version.code,
        },
        createdBy: req.principal?.name ?? null,
      },
      actorOf(req),
    );
  }

  @Post(':name/versions/:version/archive')
  @Audited('model-version.archived')
  @Roles('developer')
  @HttpCode(200)
  @ApiOperation({ summary: 'Archive a version: it stops being servable; 409 while an alias points at it; idempotent' })
  @ApiResponse({ status: 200, type: ModelVersionDto })
  @ApiResponse({ status: 409, description: 'An alias or deployment points at the version' })
  async archive(@Param('name') name: string, @Param('version', ParseVersionPipe) version: number, @Req() req: AuthenticatedRequest) {
    return this.registry.archive(name, version, req.principal?.name ?? null, actorOf(req));
  }

  @Put(':name/aliases/:alias')
  @Audited('alias.moved')
  @Roles('developer')
  @ApiOperation({ summary: 'Point an alias at a version (atomic; recorded in the alias history)' })
  @ApiResponse({ status: 200, type: AliasChangeDto })
  async setAlias(@Param('name') name: string, @Param('alias') alias: string, @Body() body: SetAliasDto, @Req() req: AuthenticatedRequest) {
    const by = req.principal?.name ?? null;
    return this.registry.setAlias(name, checkAliasName(alias), body.version, by, actorOf(req));
  }

  @Delete(':name/aliases/:alias')
  @Audited('alias.deleted')
  @Roles('developer')
  @HttpCode(200)
  @ApiOperation({ summary: 'Remove an alias (recorded in the alias history)' })
  @ApiResponse({ status: 200, type: AliasChangeDto })
  async deleteAlias(@Param('name') name: string, @Param('alias') alias: string, @Req() req: AuthenticatedRequest) {
    return this.registry.deleteAlias(name, checkAliasName(alias), req.principal?.name ?? null, actorOf(req));
  }

  @Get(':name/aliases/:alias/history')
  @ApiOperation({ summary: 'Who moved the alias, when, from which version to which' })
  @ApiResponse({ status: 200, type: [AliasHistoryEntryDto] })
  async aliasHistory(@Param('name') name: string, @Param('alias') alias: string) {
    return this.registry.aliasHistory(name, checkAliasName(alias));
  }
}
