import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import { customMessage, emailAddress, personName } from '../inputs.js';

/** The columns Onramp understands. `tasks` holds task titles separated by `;`. */
export const importFields = ['project_name', 'project_external_id', 'template', 'first_name', 'last_name', 'email', 'tasks', 'message'] as const;
export type ImportField = (typeof importFields)[number];
export const requiredImportFields: ImportField[] = ['project_name', 'first_name', 'last_name', 'email'];

/** Header names are compared without case, spaces, underscores, hyphens and dots; these spellings are accepted too. */
const aliases: Record<ImportField, string[]> = {
  project_name: ['projectname', 'project', 'company', 'companyname', 'workspace', 'workspacename', 'account', 'accountname'],
  project_external_id: ['projectexternalid', 'externalid', 'projectid', 'crmid', 'dealid', 'projectref', 'reference'],
  template: ['template', 'templatename', 'projecttemplate'],
  first_name: ['firstname', 'first', 'givenname', 'forename'],
  last_name: ['lastname', 'last', 'surname', 'familyname'],
  email: ['email', 'emailaddress', 'mail', 'clientemail'],
  tasks: ['tasks', 'task', 'tasktitles', 'assigntasks', 'assignto'],
  message: ['message', 'custommessage', 'invitemessage', 'invitationmessage', 'note'],
};

const normaliseHeader = (h: string): string =>
  h
    .replace(/^\uFEFF/, '')
    .toLowerCase()
    .replace(/[\s_\-.]+/g, '');

export type HeaderMap = Partial<Record<ImportField, number>>;

export interface HeaderProblems {
  /** Required fields no column names. */
  missing: ImportField[];
  /** Fields two or more columns name (the same name twice, or two aliases of one field), with those columns as written. */
  repeated: Array<{ field: ImportField; columns: string[] }>;
}

/**
 * Column index of each known field; `missing` names the required ones absent, `repeated` the fields more
 * than one column names. A file with a repeated field is refused: which of the two columns a row means is
 * a guess, and a wrong guess imports the wrong email or name without a word.
 */
export function mapHeader(header: string[]): { map: HeaderMap } & HeaderProblems {
  const map: HeaderMap = {};
  const columns = new Map<ImportField, string[]>();
  header.forEach((raw, index) => {
    const n = normaliseHeader(raw);
    for (const field of importFields) {
      if (!aliases[field].includes(n)) continue;
      if (map[field] === undefined) map[field] = index;
      columns.set(field, [...(columns.get(field) ?? []), raw.replace(/^\uFEFF/, '').trim()]);
    }
  });
  const repeated = [...columns].filter(([, cols]) => cols.length > 1).map(([field, cols]) => ({ field, columns: cols }));
  return { map, missing: requiredImportFields.filter((f) => map[f] === undefined), repeated };
}

/** "the columns "Email" and "E-mail" both name email; …": for the 422 and for a stored file the worker refuses. */
export const repeatedColumnsMessage = (repeated: HeaderProblems['repeated']): string =>
  `${repeated
    .map(({ field, columns }) => `the columns ${columns.map((c) => `"${c}"`).join(' and ')} ${columns.length === 2 ? 'both' : 'all'} name ${field}`)
    .join('; ')}; keep one column for each`;

// eslint-disable-next-line no-control-regex
const controlChars = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `must be at most ${max} characters`)
    .refine((v) => !controlChars.test(v), 'must not contain control characters')
    .transform((v) => (v === '' ? null : v));

/** One CSV row, after header mapping: the invite API's own schemas (usecases/inputs.ts) for names, email and message. */
export const importRowSchema = z.object({
  project_name: personName,
  project_external_id: optionalText(200),
  template: optionalText(200),
  first_name: personName,
  last_name: personName,
  email: emailAddress,
  tasks: z
    .string()
    .max(20_000, 'must be at most 20,000 characters')
    .transform((v) => {
      // Case-insensitive de-duplication; order kept for the error message.
      const seen = new Map<string, string>();
      for (const t of v.split(';')) {
        const title = t.trim();
        if (title && !seen.has(title.toLowerCase())) seen.set(title.toLowerCase(), title);
      }
      return [...seen.values()];
    }),
  message: customMessage.transform((v) => (v == null || v.trim() === '' ? null : v)),
});
export type ImportRow = z.output<typeof importRowSchema>;

export function rowObject(values: string[], map: HeaderMap): Record<ImportField, string> {
  const out = {} as Record<ImportField, string>;
  for (const field of importFields) {
    const i = map[field];
    out[field] = i === undefined ? '' : (values[i] ?? '');
  }
  return out;
}

export function parseImportRow(values: string[], map: HeaderMap): { ok: true; row: ImportRow } | { ok: false; error: string } {
  const parsed = importRowSchema.safeParse(rowObject(values, map));
  if (parsed.success) return { ok: true, row: parsed.data };
  return { ok: false, error: [...new Set(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`))].join('; ') };
}

/** Delimiter of the header line: the most frequent of `,` `;` tab outside quotes; comma on a tie. */
export function detectDelimiter(firstText: string): ',' | ';' | '\t' {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (let i = 0; i < firstText.length; i++) {
    const c = firstText[i]!;
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) break;
    else if (!quoted && (c === ',' || c === ';' || c === '\t')) counts[c]++;
  }
  if (counts[';'] > counts[','] && counts[';'] >= counts['\t']) return ';';
  if (counts['\t'] > counts[','] && counts['\t'] > counts[';']) return '\t';
  return ',';
}

/**
 * Validates UTF-8 across chunk boundaries and finds the first NUL byte, keeping only up to 3 bytes of
 * carry: a 100 MB upload is checked without holding it. Offsets and lines are 0-based bytes / 1-based lines.
 */
export class TextCheck {
  private carry = Buffer.alloc(0);
  private offset = 0;
  private lines = 1;
  problem: string | null = null;

  push(chunk: Buffer): void {
    if (this.problem) return;
    const nul = chunk.indexOf(0);
    if (nul >= 0) {
      this.problem = `the file is not text: it contains a NUL byte at byte ${this.offset + nul} (line ${this.lines + count(chunk, 10, nul)}); upload a CSV file`;
      return;
    }
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const base = this.offset - this.carry.length;
    // Hold back an incomplete trailing sequence: it may complete in the next chunk.
    let end = buf.length;
    for (let back = 1; back <= Math.min(3, buf.length); back++) {
      const b = buf[buf.length - back]!;
      if ((b & 0xc0) === 0x80) continue;
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      if (need > back) end = buf.length - back;
      break;
    }
    const body = buf.subarray(0, end);
    if (!isUtf8(body)) {
      const at = firstInvalidUtf8(body);
      this.problem = `the file is not UTF-8: invalid byte 0x${body[at]!.toString(16).padStart(2, '0')} at byte ${base + at} (line ${this.lines + count(body, 10, at)}); save it as "CSV UTF-8" and upload again`;
      return;
    }
    this.lines += count(body, 10, body.length);
    this.carry = Buffer.from(buf.subarray(end));
    this.offset += chunk.length;
  }

  end(): void {
    if (!this.problem && this.carry.length) {
      this.problem = `the file is not UTF-8: it ends in the middle of a character (byte ${this.offset - this.carry.length})`;
    }
  }
}

function count(buf: Buffer, byte: number, until: number): number {
  let n = 0;
  for (let i = buf.indexOf(byte); i >= 0 && i < until; i = buf.indexOf(byte, i + 1)) n++;
  return n;
}

/** Only called once a chunk is known to be bad, so a plain scan is fine. */
function firstInvalidUtf8(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) return i;
    if (need > 0 && !isUtf8(buf.subarray(i, i + need + 1))) return i;
    i += need + 1;
  }
  return Math.max(0, buf.length - 1);
}

/** A spreadsheet runs a cell starting with = + - @ (or tab / CR before them) as a formula; a leading quote stops it. */
export function neutraliseCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export const csvLine = (cells: string[]): string => `${cells.map(csvCell).join(',')}\r\n`;

export const importTemplateCsv =
  csvLine([...importFields]) +
  csvLine(['Acme Corp', 'crm-1001', 'Client onboarding', 'Ada', 'Lovelace', 'ada@acme.example', 'Welcome call;Share brand assets', 'Welcome aboard, Ada!']) +
  csvLine(['Acme Corp', 'crm-1001', 'Client onboarding', 'Charles', 'Babbage', 'charles@acme.example', 'Welcome call', '']);
