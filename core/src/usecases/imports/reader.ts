import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import Papa from 'papaparse';
import type { Queryable } from '../../db/pool.js';
import { detectDelimiter } from './format.js';

/** The stored upload, one chunk (about 1 MB) at a time, in order: never the whole file in memory. */
export async function* importChunks(db: Queryable, importId: string): AsyncGenerator<Buffer> {
  for (let no = 0; ; no++) {
    const { rows } = await db.query<{ data: Buffer }>('select data from import_chunks where import_id = $1 and chunk_no = $2', [importId, no]);
    if (!rows[0]) return;
    yield rows[0].data;
  }
}

/** UTF-8 text of the upload (BOM dropped), split characters carried across chunk boundaries. */
async function* importText(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let first = true;
  for await (const chunk of chunks) {
    let text = decoder.write(chunk);
    if (first && text.length > 0) {
      text = text.replace(/^\uFEFF/, '');
      first = false;
    }
    if (text) yield text;
  }
  const rest = decoder.end();
  if (rest) yield rest;
}

export interface CsvRecord {
  /** 1-based record number in the file; the header is record 1, so the first data row is 2. */
  rowNumber: number;
  values: string[];
}

/**
 * Records of the upload through papaparse's streaming parser (quoted commas, quotes and newlines; CRLF or
 * LF; delimiter detected from the header line). The first record yielded is the header.
 */
export async function* importRecords(chunks: AsyncIterable<Buffer>): AsyncGenerator<CsvRecord> {
  const text = importText(chunks);
  const head = await text.next();
  if (head.done) return;
  const delimiter = detectDelimiter(head.value);
  const source = Readable.from(
    (async function* () {
      yield head.value;
      yield* text;
    })(),
    { objectMode: false, encoding: 'utf8' },
  );
  const parser = Papa.parse(Papa.NODE_STREAM_INPUT, { delimiter, newline: '' as never, quoteChar: '"' }) as unknown as NodeJS.ReadWriteStream;
  source.on('error', (err) => parser.emit('error', err));
  source.pipe(parser);
  let n = 0;
  for await (const values of parser as AsyncIterable<string[]>) {
    n++;
    yield { rowNumber: n, values };
  }
}

/** A blank line or a line of empty cells is not a row. */
export const isBlankRecord = (values: string[]): boolean => values.every((v) => v.trim() === '');
