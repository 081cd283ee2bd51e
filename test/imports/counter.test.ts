import { ImportFatalError, importRecords, MAX_RECORD_BYTES, RecordCounter } from '@onramp/core';

/**
 * The upload counts records for progress as the bytes arrive (RecordCounter); the run reads them with
 * papaparse (importRecords). On every file the run reads the same way, the two must agree, whatever the
 * chunk boundaries.
 */
const files: Record<string, string> = {
  lf: 'a,b,c\n1,2,3\n4,5,6\n',
  'crlf, no final newline': 'a,b,c\r\n1,2,3\r\n4,5,6',
  'lone CR line endings': 'a,b,c\r1,2,3\r4,5,6\r',
  'quoted newlines, commas and quotes': 'a,b,c\n"line\nbreak","x, y","say ""hi""\r\nthere"\n"","",""\n7,8,9\n',
  'a quote inside an unquoted field is text': 'a,b\nab"c,d\n"e",f\n',
  'semicolon delimiter, a comma inside a field is text': 'a;b\n"x;y",1,"2\n3"\n4;"5\n6"\n',
  'tab delimiter': 'a\tb\n"t\tx"\ty\n',
  'blank lines are records': 'a,b\n\n1,2\n\n\n3,4\n',
  'BOM and quoted header': '\ufeff"a","b"\n1,2\n',
  'header only': 'a,b,c\n',
  'multi-byte text': 'name,city\n"Zoë\nÅsa",Malmö\n日本,東京\n',
  'unterminated quote runs to the end': 'a,b\n1,"2\n3,4\n',
};

async function* chunksOf(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function papaparseCount(buf: Buffer): Promise<number> {
  let last = 1;
  for await (const rec of importRecords(chunksOf(buf, 1 << 20))) last = rec.rowNumber;
  return last - 1;
}

describe('RecordCounter', () => {
  it.each(Object.entries(files))('counts what the run reads: %s', async (_name, text) => {
    const buf = Buffer.from(text, 'utf8');
    const expected = await papaparseCount(buf);
    for (const size of [1, 2, 3, 7, buf.length]) {
      const counter = new RecordCounter();
      for await (const c of chunksOf(buf, size)) counter.push(c);
      expect({ size, total: counter.end() }).toEqual({ size, total: expected });
    }
  });

  it('counts 100k generated rows with quoted fields exactly', async () => {
    const lines = ['project_name,email,message'];
    for (let i = 0; i < 100_000; i++) lines.push(i % 7 === 0 ? `P${i},c${i}@x.test,"multi\nline, ""quoted"""` : `P${i},c${i}@x.test,hello`);
    const buf = Buffer.from(`${lines.join('\r\n')}\r\n`);
    const counter = new RecordCounter();
    for await (const c of chunksOf(buf, 65_536)) counter.push(c);
    expect(counter.end()).toBe(100_000);
    expect(await papaparseCount(buf)).toBe(100_000);
  });

  it('names the line where a row over MAX_RECORD_BYTES starts, whatever the chunking and line endings', async () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const body = `a,b${eol}1,2${eol}"x${eol}y",3${eol}4,"never closed${eol}${'z,z'.repeat(MAX_RECORD_BYTES / 3)}${eol}`;
      for (const size of [65_536, 1 << 20]) {
        const counter = new RecordCounter();
        for await (const c of chunksOf(Buffer.from(body), size)) counter.push(c);
        expect(counter.problem).toMatch(/^the row that starts on line 5 is longer than 4 MB/);
      }
    }
  });

  it('accepts a row just under MAX_RECORD_BYTES, and reads it whole', async () => {
    const field = 'y'.repeat(MAX_RECORD_BYTES - 100);
    const buf = Buffer.from(`a,b\n1,"${field}"\n2,3\n`);
    const counter = new RecordCounter();
    for await (const c of chunksOf(buf, 1 << 20)) counter.push(c);
    expect(counter.problem).toBeNull();
    expect(counter.end()).toBe(2);
    const rows: string[][] = [];
    for await (const rec of importRecords(chunksOf(buf, 1 << 20))) rows.push(rec.values);
    expect(rows.map((r) => r[1]!.length)).toEqual([1, field.length, 1]);
  });

  it('the worker refuses a row over MAX_RECORD_BYTES in a file stored without the check', async () => {
    const buf = Buffer.from(`a,b\n1,2\n3,"${'w'.repeat(MAX_RECORD_BYTES + 10)}`);
    const read = async () => {
      for await (const rec of importRecords(chunksOf(buf, 1 << 20))) void rec;
    };
    await expect(read()).rejects.toThrow(
      new ImportFatalError(
        'the row that starts at record 3 (the header is record 1) is longer than 4 MB, the most a row may be: a quote opened there is probably never closed',
      ),
    );
  });

  it('counts nothing for an empty upload', () => {
    expect(new RecordCounter().end()).toBe(0);
  });
});
