import { arrayLiteral, createPool, type Pool } from '@onramp/core';

/**
 * The import sends its batch parameters as array literals it builds itself (core/src/sql/arrays.ts). Each
 * literal must read back in PostgreSQL exactly as node-postgres's own serialisation of the same array does.
 */
let pool: Pool;
beforeAll(() => {
  pool = createPool(process.env.TEST_DATABASE_URL!, 2);
});
afterAll(async () => {
  await pool.end();
});

const awkward = [
  '',
  ' ',
  '  padded  ',
  'NULL',
  'null',
  'a,b',
  '{braces}',
  'quote " inside',
  '""',
  'back\\slash',
  '\\',
  'ends with \\',
  '\\"',
  'tab\tnew\nline\rcr',
  'emoji 🎉 and ünïcödé',
  'semi;colon',
  "it's",
  '=cmd|calc',
  'x'.repeat(10_000),
];

describe('arrayLiteral', () => {
  it('reads back as the same text[] as node-postgres sends, for awkward strings and NULLs', async () => {
    const values = [...awkward, null, 'after null', undefined];
    const ours = await pool.query<{ a: Array<string | null> }>('select $1::text[] as a', [arrayLiteral(values)]);
    const theirs = await pool.query<{ a: Array<string | null> }>('select $1::text[] as a', [values]);
    expect(ours.rows[0]!.a).toEqual([...awkward, null, 'after null', null]);
    expect(ours.rows[0]!.a).toEqual(theirs.rows[0]!.a);
  });

  it('sends uuids, booleans, integers and bytea', async () => {
    const uuids = ['0190f1d2-7a3b-7c4d-8e5f-0123456789ab', '00000000-0000-0000-0000-000000000000'];
    const bytes = [Buffer.from([0, 1, 0x5c, 0x22, 0xff]), Buffer.alloc(0), Buffer.from('\\x41', 'utf8'), null];
    const { rows } = await pool.query<{ u: string[]; b: boolean[]; n: number[]; h: Array<Buffer | null> }>(
      'select $1::uuid[] as u, $2::boolean[] as b, $3::int[] as n, $4::bytea[] as h',
      [arrayLiteral(uuids), arrayLiteral([true, false, null]), arrayLiteral([0, -7, 2147483647]), arrayLiteral(bytes)],
    );
    expect(rows[0]!.u).toEqual(uuids);
    expect(rows[0]!.b).toEqual([true, false, null]);
    expect(rows[0]!.n).toEqual([0, -7, 2147483647]);
    expect(rows[0]!.h.map((b) => (b === null ? null : Buffer.from(b).toString('hex')))).toEqual(bytes.map((b) => (b === null ? null : b.toString('hex'))));
  });

  it('gives an empty array for no elements, and refuses what it cannot represent', async () => {
    const { rows } = await pool.query<{ a: string[] }>('select $1::text[] as a', [arrayLiteral([])]);
    expect(rows[0]!.a).toEqual([]);
    expect(() => arrayLiteral([{ a: 1 }])).toThrow(/unsupported element at index 0/);
    expect(() => arrayLiteral(['ok', Number.NaN])).toThrow(/unsupported element at index 1/);
    expect(() => arrayLiteral([['nested']])).toThrow(/unsupported element/);
  });

  it('a string with every byte that needs escaping, and nothing else, round-trips', async () => {
    const s = '\\"\\\\""\\';
    const { rows } = await pool.query<{ a: string[] }>('select $1::text[] as a', [arrayLiteral([s, s])]);
    expect(rows[0]!.a).toEqual([s, s]);
  });
});
