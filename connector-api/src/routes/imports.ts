import { z } from 'zod';
import {
  cancelImport,
  createImport,
  getImport,
  importErrorsCsv,
  importDuplicatesCsv,
  importWarningsCsv,
  importJson,
  importTemplateCsv,
  listImports,
  notFound,
  pageQuery,
  pageSchema,
} from '@onramp/core';
import { defineRoute } from '../http/route.js';
import { streamCsv } from '../http/csv.js';
import { discardBody, digestOnly, readUpload } from '../http/importUpload.js';

const idParams = z.object({ id: z.uuid('must be an import id') });
const uploadQuery = z.object({
  dry_run: z.string().optional(),
  send_emails: z.string().optional(),
  default_template: z.string().optional(),
  filename: z.string().optional(),
});

export const importRoutes = [
  defineRoute({
    method: 'get',
    path: '/imports/template.csv',
    summary: 'Download the CSV import template',
    description: 'The header row and two example rows. Column names are matched without case, spaces or underscores.',
    tags: ['Imports'],
    responses: { 200: { description: 'The template', schema: z.string(), contentType: 'text/csv' } },
    async handler() {
      return {
        status: 200,
        contentType: 'text/csv; charset=utf-8',
        headers: { 'Content-Disposition': 'attachment; filename="onramp-import-template.csv"' },
        body: importTemplateCsv,
      };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/imports',
    summary: 'Upload a CSV to import projects, clients and task assignments',
    description:
      'The file as multipart/form-data (field `file`) or a text/csv body; options `dry_run`, `send_emails` (default true), `default_template` as query or form fields. Answers 202 at once; poll GET /v1/imports/{id}.',
    tags: ['Imports'],
    rawBody: true,
    query: uploadQuery,
    body: z.object({ file: z.string().describe('The CSV file: a header row (see GET /v1/imports/template.csv), then one row per client to invite') }),
    bodyContentTypes: ['multipart/form-data', 'text/csv'],
    file: { field: 'file', contentType: 'text/csv' },
    responses: { 202: { description: 'Accepted; the import runs in the background', schema: importJson } },
    async replayDigest(req, deps) {
      return (await readUpload(deps, req, digestOnly)).digest;
    },
    async handler({ deps, principal, req, res }) {
      let created;
      try {
        created = await readUpload(deps, req, (file, options) => createImport(deps, principal, file, options));
      } catch (err) {
        discardBody(req, res);
        throw err;
      }
      return { status: 202, body: created.value, headers: { Location: `/v1/imports/${created.value.id}` }, requestDigest: created.digest };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/imports',
    summary: 'List imports, newest first',
    tags: ['Imports'],
    query: pageQuery,
    responses: { 200: { description: 'A page of imports', schema: pageSchema(importJson) } },
    async handler({ deps, principal, query }) {
      return { status: 200, body: await listImports(deps, principal.agencyId, query) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/imports/:id',
    summary: 'Status, progress and counts of an import',
    tags: ['Imports'],
    params: idParams,
    responses: { 200: { description: 'The import', schema: importJson } },
    async handler({ deps, principal, params }) {
      const found = await getImport(deps, principal.agencyId, params.id);
      if (!found) throw notFound('Import');
      return { status: 200, body: found };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/imports/:id/cancel',
    summary: 'Cancel an import (it stops after the batch in progress)',
    tags: ['Imports'],
    params: idParams,
    responses: { 200: { description: 'The import', schema: importJson } },
    async handler({ deps, principal, params }) {
      return { status: 200, body: await cancelImport(deps, principal, params.id) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/imports/:id/errors.csv',
    summary: 'The rows that could not be imported, with row_number and error',
    description: 'Fix them and upload this file again: the row_number and error columns are ignored on upload.',
    tags: ['Imports'],
    params: idParams,
    responses: { 200: { description: 'CSV', schema: z.string(), contentType: 'text/csv' } },
    async handler({ deps, principal, params, res }) {
      const found = await getImport(deps, principal.agencyId, params.id);
      if (!found) throw notFound('Import');
      await streamCsv(res, `import-${params.id}-errors.csv`, importErrorsCsv(deps, principal.agencyId, params.id));
      return { status: 200 };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/imports/:id/warnings.csv',
    summary: 'Rows whose email looks like a typo of a common mail domain, with the likely address',
    description:
      'A warning never refuses a row: the row was imported as written. Columns: `row_number` (as in errors.csv), `field`, `value`, `suggestion` (e.g. ana@gmial.com -> ana@gmail.com). Domains are compared with a list of common mail domains; no network lookup is made.',
    tags: ['Imports'],
    params: idParams,
    responses: { 200: { description: 'CSV', schema: z.string(), contentType: 'text/csv' } },
    async handler({ deps, principal, params, res }) {
      const found = await getImport(deps, principal.agencyId, params.id);
      if (!found) throw notFound('Import');
      await streamCsv(res, `import-${params.id}-warnings.csv`, importWarningsCsv(deps, principal.agencyId, params.id));
      return { status: 200 };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/imports/:id/duplicates.csv',
    summary: 'The rows skipped as duplicates, with row_number and the row each repeats',
    description:
      'A row with the same project and email (lower-cased) as an earlier applied row of the import. Columns: `row_number`, `duplicate_of_row` (empty when the pair was put there by an invitation made outside the file while the import ran), then the original columns. Every data row of a file is imported, in errors.csv, or here.',
    tags: ['Imports'],
    params: idParams,
    responses: { 200: { description: 'CSV', schema: z.string(), contentType: 'text/csv' } },
    async handler({ deps, principal, params, res }) {
      const found = await getImport(deps, principal.agencyId, params.id);
      if (!found) throw notFound('Import');
      await streamCsv(res, `import-${params.id}-duplicates.csv`, importDuplicatesCsv(deps, principal.agencyId, params.id));
      return { status: 200 };
    },
  }),
];
