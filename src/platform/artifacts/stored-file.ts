import { StreamableFile } from '@nestjs/common';
import type { StoredFileDto } from '../../contracts/rpc';
import type { ArtifactStore } from './artifact-store';

/**
 * The HTTP answer for a file a domain service wrote to the artifact store (a download, an export):
 * streamed from the store as an attachment, so the data never crosses the transport.
 */
export async function storedFileAnswer(artifacts: ArtifactStore, file: StoredFileDto): Promise<StreamableFile> {
  return new StreamableFile(await artifacts.get(file.sha256), {
    type: file.contentType,
    length: file.size,
    disposition: `attachment; filename="${file.fileName}"`,
  });
}
