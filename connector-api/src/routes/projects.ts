import { z } from 'zod';
import {
  createProject,
  createProjectInput,
  createdProjectJson,
  getProject,
  listProjectsJson,
  listProjectsQuery,
  pageQuery,
  pageSchema,
  projectJson,
  projectWithTasksJson,
  updateProject,
  updateProjectInput,
} from '@onramp/core';
import { defineRoute, type AnyRoute } from '../http/route.js';
import { clientReadRoutes } from './clients.js';
import { taskRoutes } from './tasks.js';
import { templateRoutes } from './templates.js';

const idParams = z.object({ id: z.string() });

const projectRoutes = [
  defineRoute({
    method: 'post',
    path: '/projects',
    summary: 'Create a project (from a template, with clients to invite and task assignments)',
    description:
      'One call: the project, its tasks copied from the template (template_id or template_name), each client invited ' +
      '(an active client is added without an email; a pending invitation is reused) and the task assignments, in one ' +
      'transaction; emails are queued after commit. Idempotent by external_id: the same external_id again returns the ' +
      'existing project (200, created: false) and adds only the clients and assignments that are missing.',
    tags: ['Projects'],
    body: createProjectInput,
    responses: {
      201: { description: 'Created', schema: createdProjectJson },
      200: { description: 'A project with this external_id already existed', schema: createdProjectJson },
    },
    async handler({ deps, principal, body }) {
      const project = await createProject(deps, principal, body);
      return { status: project.created ? 201 : 200, body: project };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/projects',
    summary: 'List or find projects',
    description: '`name` and `external_id` are exact matches ("Find Project"). Archived projects are left out unless include_archived=true.',
    tags: ['Projects'],
    query: pageQuery.extend(listProjectsQuery.shape),
    responses: { 200: { description: 'A page of projects', schema: pageSchema(projectJson) } },
    async handler({ deps, principal, query }) {
      return {
        status: 200,
        body: await listProjectsJson(
          deps.pool,
          principal.agencyId,
          { name: query.name, externalId: query.external_id, includeArchived: query.include_archived },
          { limit: query.limit, cursor: query.cursor },
        ),
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/projects/:id',
    summary: 'Get a project with its tasks',
    tags: ['Projects'],
    params: idParams,
    responses: { 200: { description: 'The project', schema: projectWithTasksJson } },
    async handler({ deps, principal, params }) {
      return { status: 200, body: await getProject(deps, principal, params.id) };
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/projects/:id',
    summary: 'Rename, archive / unarchive, or set the external id of a project',
    tags: ['Projects'],
    params: idParams,
    body: updateProjectInput,
    responses: { 200: { description: 'The project', schema: projectJson } },
    async handler({ deps, principal, params, body }) {
      return { status: 200, body: await updateProject(deps, principal, params.id, body) };
    },
  }),
];

/** Projects, their tasks and assignments, templates, and the client read endpoints: one registration line. */
export const projectsFeatureRoutes: AnyRoute[] = [...projectRoutes, ...taskRoutes, ...templateRoutes, ...clientReadRoutes];
