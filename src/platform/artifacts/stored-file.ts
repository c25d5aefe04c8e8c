import { StreamableFile } from '@nestjs/common';
import type { TransientFileDto } from '../../contracts/rpc';
import type { ArtifactStore } from './artifact-store';
import { followTransientFile } from './transient-file';

/**
 * The HTTP answer for a file a domain service writes to the artifact store (a download, an export):
 * streamed from the store as an attachment while it is being written (transient-file.ts), so the data
 * never crosses the transport and the first bytes leave before the last are written. No length: the
 * size is known only at the end. The file is deleted from the store once streamed.
 */
export async function transientFileAnswer(artifacts: ArtifactStore, file: TransientFileDto): Promise<StreamableFile> {
  return new StreamableFile(await followTransientFile(artifacts, file.id), {
    type: file.contentType,
    disposition: `attachment; filename="${file.fileName}"`,
  });
}
