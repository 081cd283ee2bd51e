import { randomBytes } from 'node:crypto';

import { defineCreate } from 'zapier-platform-core';
import type { Bundle, ZObject } from 'zapier-platform-core';

import { apiUrl, parseBool } from '../lib/api';
import type { Item } from '../lib/types';
import { importFields, importSample } from '../samples';

export interface CsvFile {
  content: Buffer;
  filename: string;
}

const DEFAULT_FILENAME = 'import.csv';

/** filename from Content-Disposition (filename*= or filename=), else from the URL path. */
export const pickFilename = (disposition: string | undefined | null, url: string): string => {
  if (disposition) {
    const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(disposition);
    if (star?.[1]) {
      try {
        return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''));
      } catch {
        /* fall through */
      }
    }
    const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
    if (plain?.[1]?.trim()) return plain[1].trim();
  }
  try {
    const last = new URL(url).pathname.split('/').pop();
    if (last && /\.[a-z0-9]{1,5}$/i.test(last)) return decodeURIComponent(last);
  } catch {
    /* ignore */
  }
  return DEFAULT_FILENAME;
};

/**
 * A `file` field reaches us as a URL (Zapier hydrates files from earlier steps
 * into a downloadable URL). We stream it with z.request({raw: true}) - no
 * Onramp API key is sent there. Plain text that is not a URL is taken as the CSV itself.
 */
export const loadCsv = async (z: ZObject, value: unknown): Promise<CsvFile> => {
  const text = typeof value === 'string' ? value.trim() : '';
  if (!text) {
    throw new z.errors.HaltedError('Choose a CSV file (for example a file from an earlier step) to import.');
  }
  if (!/^https?:\/\//i.test(text)) return { content: Buffer.from(String(value), 'utf8'), filename: DEFAULT_FILENAME };
  const response = await z.request({ url: text, method: 'GET', raw: true });
  const content = await response.buffer();
  return { content, filename: pickFilename(response.getHeader('content-disposition'), text) };
};

/** multipart/form-data with the option fields first (streaming parsers see them before the file) and `file` last. */
export const buildMultipart = (file: CsvFile, fields: Record<string, string>) => {
  const boundary = `----onramp-zapier-${randomBytes(12).toString('hex')}`;
  const safeName = file.filename.replace(/["\r\n\\]/g, '_');
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`, 'utf8'));
  }
  parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName}"\r\nContent-Type: text/csv\r\n\r\n`, 'utf8'));
  parts.push(file.content);
  parts.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8'));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
};

const perform = async (z: ZObject, bundle: Bundle) => {
  const input = bundle.inputData as Record<string, unknown>;
  const file = await loadCsv(z, input.file);
  const options = {
    dry_run: String(parseBool(input.dry_run, false)),
    send_emails: String(parseBool(input.send_emails, true)),
  };
  const { body, contentType } = buildMultipart(file, options);
  const response = await z.request<Item>({
    url: apiUrl(z, bundle, '/imports'),
    method: 'POST',
    params: options,
    headers: { 'Content-Type': contentType },
    body,
  });
  // 202: the import runs in the background; use the Import Completed trigger to follow it.
  return response.data;
};

export const importCsv = defineCreate({
  key: 'import_csv',
  noun: 'Import',
  display: {
    label: 'Import CSV',
    description: 'Creates a CSV import that creates projects and invites clients in bulk. Returns right away with the import ID and status.',
  },
  operation: {
    perform,
    inputFields: [
      {
        key: 'file',
        label: 'CSV File',
        type: 'file',
        required: true,
        helpText: 'A CSV file in the Onramp import format (download the template from the Onramp console).',
      },
      {
        key: 'dry_run',
        label: 'Dry Run',
        type: 'boolean',
        required: false,
        default: 'false',
        helpText: 'Choose Yes to only validate the file and report what would happen, without changing anything.',
      },
      {
        key: 'send_emails',
        label: 'Send Invitation Emails',
        type: 'boolean',
        required: false,
        default: 'true',
      },
    ],
    sample: importSample,
    outputFields: importFields,
  },
});
