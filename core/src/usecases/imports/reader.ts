import { StringDecoder } from 'node:string_decoder';
import type { Queryable } from '../../db/pool.js';
import { getImportChunk } from '../../sql/imports.js';
import { ImportFatalError } from './errors.js';
import { detectDelimiter } from './format.js';
import { parseCsv, sepLine } from './csv.js';

/** The stored upload, one chunk (about 1 MB) at a time, in order: never the whole file in memory. */
export async function* importChunks(db: Queryable, importId: string): AsyncGenerator<Buffer> {
  for (let no = 0; ; no++) {
    const data = await getImportChunk(db, importId, no);
    if (!data) return;
    yield data;
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
 * No row of an import is longer than this. Real rows are a few kB (the longest field Onramp accepts is 20,000
 * characters of task titles). A quote opened and never closed turns the rest of the file into one field:
 * the upload refuses that (RecordCounter), rather than the worker holding and re-parsing a 100 MB row.
 */
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;

const tooLong = (where: string) =>
  `the row that starts ${where} is longer than ${MAX_RECORD_BYTES / 1024 / 1024} MB, the most a row may be: a quote opened there is probably never closed`;

/** The head of the text up to its first line end (or all of it), for the `sep=` line and the delimiter. */
async function firstLine(text: AsyncGenerator<string>): Promise<string | null> {
  let head = '';
  for (;;) {
    const next = await text.next();
    if (next.done) return head === '' ? null : head;
    head += next.value;
    // A CR at the very end may be the first half of a CRLF: the `sep=` line must take both.
    if ((/[\r\n]/.test(head) && !head.endsWith('\r')) || head.length >= 1024 * 1024) return head;
  }
}

/**
 * Records of the upload (csv.ts: quoted delimiters, quotes and line ends; CRLF, LF and lone CR line ends,
 * mixed within one file; the delimiter named by an Excel `sep=` first line, else detected from the header
 * line). The first record yielded is the header. The text is parsed a chunk at a time, the last, maybe
 * incomplete, record carried over to the next chunk: never the whole file in memory.
 */
export async function* importRecords(chunks: AsyncIterable<Buffer>): AsyncGenerator<CsvRecord> {
  const text = importText(chunks);
  let chunk: string | null = await firstLine(text);
  if (chunk === null) return;
  const sep = sepLine(chunk);
  if (sep) chunk = chunk.slice(sep.length);
  const delimiter = sep?.delimiter ?? detectDelimiter(chunk);
  let n = 0;
  let partial = '';
  while (chunk !== null) {
    const aggregate = partial + chunk;
    const results = parseCsv(aggregate, delimiter, false);
    partial = aggregate.substring(results.cursor);
    // Uploads are refused before this can happen; the worker fails such a file rather than hold the row.
    // (Characters never outnumber UTF-8 bytes.)
    if (partial.length > MAX_RECORD_BYTES) throw new ImportFatalError(tooLong(`at record ${n + results.records.length + 1} (the header is record 1)`));
    for (const values of results.records) yield { rowNumber: ++n, values };
    const next = await text.next();
    chunk = next.done ? null : next.value;
  }
  if (partial) {
    for (const values of parseCsv(partial, delimiter, true).records) yield { rowNumber: ++n, values };
  }
}

/** A blank line or a line of empty cells is not a row. */
export const isBlankRecord = (values: string[]): boolean => values.every((v) => v.trim() === '');

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;

const enum Quoted {
  No,
  Inside,
  /** Just after a quote inside a quoted field: the next byte says whether it closed the field. */
  AfterQuote,
  AfterQuoteSpaces,
}

/**
 * Counts an upload's data records as its bytes stream in, so an import knows its total (for progress)
 * without a second pass over the file: a newline (LF, CRLF or a lone CR) outside a quoted field ends a
 * record; a quote opens a field only at its start, and "" inside one is a quote. That is how papaparse
 * reads a well-formed file; the run counts the records it actually read and that count is the final one.
 * Bytes, not text: no UTF-8 sequence contains these ASCII bytes.
 */
export class RecordCounter {
  private records = 0;
  private head: Buffer[] = [];
  private headBytes = 0;
  private delimiter = -1;
  private quoted = Quoted.No;
  private atFieldStart = true;
  private afterCr = false;
  private lineHasData = false;
  /** Line ends seen (LF, CRLF or a lone CR), quoted or not: for naming a line in `problem`. */
  private lines = 0;
  private lineCr = false;
  private recordStartLine = 1;
  private recordBytes = 0;
  /** Set when a row runs over MAX_RECORD_BYTES; the upload is refused with it. */
  problem: string | null = null;

  push(chunk: Buffer): void {
    if (this.delimiter < 0) {
      // The delimiter is the header line's (detectDelimiter): wait for that line to be whole.
      if (this.headBytes === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (chunk.indexOf(LF) < 0 && chunk.indexOf(CR) < 0 && this.headBytes < 1024 * 1024) return;
      this.scanHead();
      return;
    }
    this.scan(chunk);
  }

  private scanHead(): void {
    let head = Buffer.concat(this.head);
    this.head = [];
    const text = head.toString('utf8');
    // As importRecords: an Excel `sep=` line names the delimiter and is not a record (it is a line).
    const sep = sepLine(text);
    if (sep) {
      head = head.subarray(Buffer.byteLength(text.slice(0, sep.length)));
      if (sep.length > 0 && /[\r\n]$/.test(text.slice(0, sep.length))) {
        this.lines = 1;
        this.recordStartLine = 2;
        // A CRLF's LF may come in the next chunk: it still ends the sep line, not a record.
        this.afterCr = text[sep.length - 1] === '\r';
        this.lineCr = this.afterCr;
      }
    }
    this.delimiter = (sep?.delimiter ?? detectDelimiter(head.toString('utf8'))).charCodeAt(0);
    this.scan(head);
  }

  /** Data records (the header excluded), once the whole file was pushed. */
  end(): number {
    if (this.delimiter < 0 && this.head.length) this.scanHead();
    const total = this.records + (this.lineHasData || this.quoted !== Quoted.No ? 1 : 0);
    return Math.max(0, total - 1);
  }

  private scan(buf: Buffer): void {
    if (this.problem) return;
    const delimiter = this.delimiter;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i]!;
      if (b === LF) {
        if (!this.lineCr) this.lines++;
        this.lineCr = false;
      } else if (b === CR) {
        this.lines++;
        this.lineCr = true;
      } else this.lineCr = false;
      if (++this.recordBytes > MAX_RECORD_BYTES) {
        this.problem = tooLong(`on line ${this.recordStartLine}`);
        return;
      }
      if (this.quoted !== Quoted.No) {
        // As papaparse: a quote closes the field only when what follows it (spaces aside) is a delimiter, a
        // newline or the end; "" is a quote; any other quote is text.
        if (this.quoted === Quoted.Inside) {
          if (b === QUOTE) this.quoted = Quoted.AfterQuote;
          continue;
        }
        if (b === delimiter || b === LF || b === CR) this.quoted = Quoted.No;
        else {
          if (b === SPACE) this.quoted = Quoted.AfterQuoteSpaces;
          else if (b === QUOTE) this.quoted = this.quoted === Quoted.AfterQuote ? Quoted.Inside : Quoted.AfterQuote;
          else this.quoted = Quoted.Inside;
          continue;
        }
      }
      if (b === LF || b === CR) {
        if (!(b === LF && this.afterCr)) this.records++;
        this.recordBytes = 0;
        this.recordStartLine = this.lines + 1;
        this.afterCr = b === CR;
        this.atFieldStart = true;
        this.lineHasData = false;
        continue;
      }
      this.afterCr = false;
      this.lineHasData = true;
      if (b === delimiter) this.atFieldStart = true;
      else {
        if (b === QUOTE && this.atFieldStart) this.quoted = Quoted.Inside;
        this.atFieldStart = false;
      }
    }
  }
}
