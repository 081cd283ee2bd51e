import { z } from 'zod';
import {
  createTemplate,
  createTemplateInput,
  deleteTemplate,
  getTemplate,
  listTemplatesJson,
  pageQuery,
  pageSchema,
  templateJson,
  updateTemplate,
  updateTemplateInput,
} from '@onramp/core';
import { defineRoute } from '../http/route.js';

const idParams = z.object({ id: z.string() });

export const templateRoutes = [
  defineRoute({
    method: 'get',
    path: '/templates',
    summary: 'List templates',
    description: 'Newest first. The Zapier "Template" dropdown pages through this list.',
    tags: ['Templates'],
    query: pageQuery,
    responses: { 200: { description: 'A page of templates', schema: pageSchema(templateJson) } },
    async handler({ deps, principal, query }) {
      return { status: 200, body: await listTemplatesJson(deps.pool, principal.agencyId, query) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/templates',
    summary: 'Create a template',
    description: 'A template is a name and 1-200 tasks whose titles are unique (case-insensitive) within it.',
    tags: ['Templates'],
    body: createTemplateInput,
    responses: { 201: { description: 'The template', schema: templateJson } },
    async handler({ deps, principal, body }) {
      return { status: 201, body: await createTemplate(deps, principal, body) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/templates/:id',
    summary: 'Get a template',
    tags: ['Templates'],
    params: idParams,
    responses: { 200: { description: 'The template', schema: templateJson } },
    async handler({ deps, principal, params }) {
      return { status: 200, body: await getTemplate(deps, principal, params.id) };
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/templates/:id',
    summary: 'Rename a template or replace its tasks',
    description: '`tasks` replaces the whole list. Projects already created from the template keep their own tasks.',
    tags: ['Templates'],
    params: idParams,
    body: updateTemplateInput,
    responses: { 200: { description: 'The template', schema: templateJson } },
    async handler({ deps, principal, params, body }) {
      return { status: 200, body: await updateTemplate(deps, principal, params.id, body) };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/templates/:id',
    summary: 'Delete a template',
    description: 'Projects created from it keep their tasks; their template_id becomes null.',
    tags: ['Templates'],
    params: idParams,
    responses: { 204: { description: 'Deleted' } },
    async handler({ deps, principal, params }) {
      await deleteTemplate(deps, principal, params.id);
      return { status: 204 };
    },
  }),
];
