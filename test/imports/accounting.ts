import Papa from 'papaparse';
import { client } from '../support/http.js';
import type { TestStack } from '../support/stack.js';

/**
 * The invariant of an import: every data record of the file (a record with a non-blank cell, after the
 * header) ends up exactly once as imported, as a duplicate (duplicates.csv, naming the row it repeats) or
 * as an error row (errors.csv). `expected` is what the test knows of the file it wrote: each data row's
 * record number, its project key (`x:` external id, else `n:` name) and its email as written.
 */
export interface ExpectedRow {
  rowNumber: number;
  key: string;
  email: string;
}

export async function checkAccounting(stack: TestStack, key: string, agencyId: string, imp: any, expected: ExpectedRow[]): Promise<void> {
  const q = async (sql: string, values: unknown[]) => (await stack.deps.pool.query(sql, values)).rows;
  if (imp.status !== 'completed') throw new Error(`import ${imp.id} is ${imp.status}: ${imp.error}`);
  const errors = (await q('select row_number from import_errors where import_id = $1', [imp.id])).map((r: any) => r.row_number as number);
  const dups = await q('select row_number, duplicate_of, project_key, email_normalized from import_duplicates where import_id = $1', [imp.id]);
  const inFile = new Map(expected.map((r) => [r.rowNumber, r]));
  const errorSet = new Set(errors);
  const dupByRow = new Map<number, any>(dups.map((d: any) => [d.row_number, d]));

  // Nothing is listed that is not a data row of the file, and nothing twice.
  for (const n of errors) expect({ errorRow: n, inFile: inFile.has(n) }).toEqual({ errorRow: n, inFile: true });
  for (const d of dups)
    expect({ duplicateRow: d.row_number, inFile: inFile.has(d.row_number), alsoError: errorSet.has(d.row_number) }).toEqual({
      duplicateRow: d.row_number,
      inFile: true,
      alsoError: false,
    });

  // Every imported row's client is in its project: a pending invitation or a membership, in the database.
  const there = new Set(
    (
      await q(
        `select (case when p.external_id is not null then 'x:' || p.external_id else 'n:' || p.name end) || E'\\n' || i.email_normalized as k
           from invitations i join projects p on p.id = i.project_id where i.agency_id = $1 and i.status = 'pending'
         union
         select (case when p.external_id is not null then 'x:' || p.external_id else 'n:' || p.name end) || E'\\n' || c.email_normalized
           from memberships m join projects p on p.id = m.project_id join clients c on c.id = m.client_id where m.agency_id = $1`,
        [agencyId],
      )
    ).map((r: any) => r.k as string),
  );
  const imported = expected.filter((r) => !errorSet.has(r.rowNumber) && !dupByRow.has(r.rowNumber));
  for (const r of imported) {
    const pair = `${r.key}\n${r.email.trim().toLowerCase()}`;
    expect({ row: r.rowNumber, pair, inDatabase: there.has(pair) }).toEqual({ row: r.rowNumber, pair, inDatabase: true });
  }
  // A duplicate names the imported row it repeats: the same project and email, earlier in the file.
  const importedRows = new Set(imported.map((r) => r.rowNumber));
  for (const d of dups) {
    const self = inFile.get(d.row_number)!;
    const origin = inFile.get(d.duplicate_of);
    expect({
      row: d.row_number,
      originImported: importedRows.has(d.duplicate_of),
      earlier: d.duplicate_of < d.row_number,
      sameKey: origin?.key === self.key,
      sameEmail: origin?.email.trim().toLowerCase() === self.email.trim().toLowerCase(),
    }).toEqual({ row: d.row_number, originImported: true, earlier: true, sameKey: true, sameEmail: true });
  }

  // The counts say the same: imported + duplicates + errors = the file's data rows.
  const c = imp.counts;
  expect({
    rows: c.rows,
    errors: c.errors,
    duplicates: c.duplicates,
    imported: c.clients_invited + c.already_invited + c.clients_added + c.already_members,
  }).toEqual({
    rows: expected.length,
    errors: errors.length,
    duplicates: dups.length,
    imported: imported.length,
  });

  // And the downloadable files list exactly those rows.
  const api = client(stack.url, key);
  const errorsCsv = await api.get(`/v1/imports/${imp.id}/errors.csv`);
  const dupsCsv = await api.get(`/v1/imports/${imp.id}/duplicates.csv`);
  expect([errorsCsv.status, dupsCsv.status]).toEqual([200, 200]);
  const rowsOf = (text: string) =>
    Papa.parse<string[]>(text.replace(/^\uFEFF/, ''), { skipEmptyLines: true })
      .data.slice(1)
      .map((r) => Number(r[0]))
      .sort((a, b) => a - b);
  expect(rowsOf(errorsCsv.text)).toEqual([...errors].sort((a, b) => a - b));
  expect(rowsOf(dupsCsv.text)).toEqual(dups.map((d: any) => d.row_number as number).sort((a, b) => a - b));
}
