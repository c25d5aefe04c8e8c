import { rpcPortController } from '../platform/rpc/port';
import { actor, dto, int, nullable, object, oneOf, shape, text } from '../platform/rpc/port-args';
import { SetDeploymentDto, SetServingDto } from './deployments.dto';
import { ModelsPort } from './models.port';
import { MAX_VERSION_NUMBER } from './version-number';

const name = text(200);
const sha256 = text(64, /^[0-9a-f]{64}$/);
const version = int(1, MAX_VERSION_NUMBER);

/**
 * The training app's answers to `RpcPatterns.models` (the registry lives with it; only reached when the
 * app serves RPC: KILN_TRANSPORT set). Names are any non-empty string: the registry answers 404 for a
 * name it cannot hold, as on its own HTTP API.
 */
export const ModelsRpcController = rpcPortController(ModelsPort, 'models', 'ModelsRpcController', {
  list: {},
  get: { name },
  listVersions: { name },
  getVersion: { name, version },
  importVersion: {
    version: shape({
      modelName: name,
      format: oneOf(['layers-model', 'graph-model', 'onnx']),
      modelJsonSha256: sha256,
      weightsSha256: sha256,
      signature: object(),
      lineage: object(),
      createdBy: nullable(text(200)),
    }),
    actor: actor(),
  },
  archive: { name, version, by: nullable(text(200)), actor: actor() },
  setAlias: { name, alias: text(200), version, by: nullable(text(200)), actor: actor() },
  deleteAlias: { name, alias: text(200), by: nullable(text(200)), actor: actor() },
  aliasHistory: { name, alias: text(200) },
  getDeployment: { name },
  setDeployment: { name, input: dto(SetDeploymentDto), by: nullable(text(200)), actor: actor() },
  deleteDeployment: { name, actor: actor() },
  getServing: { name },
  setServing: { name, input: dto(SetServingDto), by: nullable(text(200)), actor: actor() },
});
