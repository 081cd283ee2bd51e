/**
 * The CSV tokenizer of an import: RFC 4180 records, with the line ends real files have. Any of CRLF, LF
 * and a lone CR ends a record outside quotes, line by line: a file whose lines end differently from line
 * to line (two exports pasted together, a hand edit in another editor) loses no row. papaparse, which
 * this replaces, guesses one line ending from the first megabyte and treats the others as text, so such a
 * file's rows were silently merged into the cell before them.
 *
 * Quoting is papaparse's (and RecordCounter's, which counts records on the upload's bytes the same way):
 * a field is quoted only when a quote is its first character; inside, `""` is a quote; a quote closes the
 * field only when what follows it (spaces aside) is the delimiter, a line end or the end of the file, and
 * any other quote is text. A quote never closed runs to the end of the file.
 */

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;

export interface ParsedCsv {
  records: string[][];
  /** Where the first record not returned starts (incomplete without more text); text.length when all is read. */
  cursor: number;
}

/**
 * The complete records of `text`. Unless `final`, a record that might continue in the next text (no line
 * end yet, an open quote, a CR that may be the first half of a CRLF) is left for the next call, from `cursor`.
 */
export function parseCsv(text: string, delimiter: string, final: boolean): ParsedCsv {
  const records: string[][] = [];
  const len = text.length;
  const d = delimiter.charCodeAt(0);
  // Positions of the next delimiter / LF / CR, searched again only once passed (-1: none left).
  let nextDelim = text.indexOf(delimiter);
  let nextLf = text.indexOf('\n');
  let nextCr = text.indexOf('\r');
  let pos = 0;
  const incomplete = (recordStart: number): ParsedCsv => ({ records, cursor: recordStart });

  while (pos < len) {
    const recordStart = pos;
    const row: string[] = [];
    /** Where the record's line end is; -1 = the record ends with the text. */
    let end: number;
    for (;;) {
      if (text.charCodeAt(pos) === QUOTE && pos < len) {
        let search = pos + 1;
        let escaped = false;
        let close = -1;
        let after = -1;
        for (;;) {
          const q = text.indexOf('"', search);
          if (q < 0) break;
          if (q + 1 >= len && !final) return incomplete(recordStart);
          if (text.charCodeAt(q + 1) === QUOTE) {
            escaped = true;
            search = q + 2;
            continue;
          }
          let k = q + 1;
          while (k < len && text.charCodeAt(k) === SPACE) k++;
          if (k >= len && !final) return incomplete(recordStart);
          const c = k < len ? text.charCodeAt(k) : -1;
          if (c === -1 || c === d || c === LF || c === CR) {
            close = q;
            after = k;
            break;
          }
          // A quote followed by anything else is text.
          escaped = true;
          search = q + 1;
        }
        if (close < 0) {
          // Never closed: the rest of the file is this field.
          if (!final) return incomplete(recordStart);
          row.push(unquote(text.slice(pos + 1), escaped));
          end = -1;
          pos = len;
          break;
        }
        row.push(unquote(text.slice(pos + 1, close), escaped));
        if (after < len && text.charCodeAt(after) === d) {
          pos = after + 1;
          continue;
        }
        end = after < len ? after : -1;
        pos = after;
        break;
      }
      if (nextDelim !== -1 && nextDelim < pos) nextDelim = text.indexOf(delimiter, pos);
      if (nextLf !== -1 && nextLf < pos) nextLf = text.indexOf('\n', pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = text.indexOf('\r', pos);
      const nl = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
      if (nextDelim !== -1 && (nl === -1 || nextDelim < nl)) {
        row.push(text.slice(pos, nextDelim));
        pos = nextDelim + 1;
        continue;
      }
      if (nl === -1) {
        if (!final) return incomplete(recordStart);
        row.push(text.slice(pos));
        end = -1;
        pos = len;
        break;
      }
      row.push(text.slice(pos, nl));
      end = nl;
      pos = nl;
      break;
    }
    if (end >= 0) {
      if (text.charCodeAt(end) === CR) {
        if (end + 1 >= len && !final) return incomplete(recordStart);
        pos = text.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
      } else pos = end + 1;
    }
    records.push(row);
  }
  return { records, cursor: len };
}

function unquote(raw: string, escaped: boolean): string {
  return escaped ? raw.replace(/""/g, '"') : raw;
}

/**
 * Excel's `sep=;` first line (written by Excel and by tools that target it): it names the delimiter and is
 * not a record. Returns the delimiter and the length of the line with its line end, or null. The delimiter
 * must be one ASCII character other than a quote or a line end (the upload counts records on bytes).
 */
export function sepLine(text: string): { delimiter: string; length: number } | null {
  const m = /^"?sep=([^"\r\n])"?[ \t]*(\r\n|\n|\r|$)/i.exec(text);
  if (!m || m[1]!.charCodeAt(0) > 0x7e) return null;
  return { delimiter: m[1]!, length: m[0].length };
}
