import { runningEmbeddedPort } from '@onramp/cli';
import { embeddedUrl } from '@onramp/cli';

/** The connection string of the embedded PostgreSQL a running `onramp start` keeps under DATA_DIR. */
export function embeddedUrlFor(dataDir: string): string {
  const port = runningEmbeddedPort(dataDir);
  if (port === null) throw new Error(`no embedded PostgreSQL running under ${dataDir}`);
  return embeddedUrl(dataDir, port);
}
