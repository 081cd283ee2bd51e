import { z } from 'zod';
import {
  assignClientToTask,
  assigneeInput,
  assignResultJson,
  bulkAssign,
  bulkAssignInput,
  bulkAssignResultJson,
  createTask,
  createTaskInput,
  deleteTask,
  getTask,
  notFound,
  pageQuery,
  pageSchema,
  pageTasksJson,
  taskJson,
  updateTask,
  updateTaskInput,
  isUuid,
  getProjectRow,
  unassignClientFromTask,
} from '@onramp/core';
import { defineRoute } from '../http/route.js';

const projectParams = z.object({ id: z.string() });
const taskParams = z.object({ id: z.string(), taskId: z.string() });

export const taskRoutes = [
  defineRoute({
    method: 'get',
    path: '/projects/:id/tasks',
    summary: "List a project's tasks",
    description: "In the project's order (template order, then tasks added later), each with its assignees.",
    tags: ['Tasks'],
    params: projectParams,
    query: pageQuery,
    responses: { 200: { description: 'A page of tasks', schema: pageSchema(taskJson) } },
    async handler({ deps, principal, params, query }) {
      if (!isUuid(params.id) || !(await getProjectRow(deps.pool, principal.agencyId, params.id))) throw notFound('Project');
      return { status: 200, body: await pageTasksJson(deps.pool, principal.agencyId, params.id, query) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/projects/:id/tasks',
    summary: 'Add a task to a project',
    tags: ['Tasks'],
    params: projectParams,
    body: createTaskInput,
    responses: { 201: { description: 'The task', schema: taskJson } },
    async handler({ deps, principal, params, body }) {
      return { status: 201, body: await createTask(deps, principal, params.id, body) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/projects/:id/tasks/:taskId',
    summary: 'Get a task with its assignees',
    tags: ['Tasks'],
    params: taskParams,
    responses: { 200: { description: 'The task', schema: taskJson } },
    async handler({ deps, principal, params }) {
      return { status: 200, body: await getTask(deps, principal, params.id, params.taskId) };
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/projects/:id/tasks/:taskId',
    summary: 'Change a task',
    tags: ['Tasks'],
    params: taskParams,
    body: updateTaskInput,
    responses: { 200: { description: 'The task', schema: taskJson } },
    async handler({ deps, principal, params, body }) {
      return { status: 200, body: await updateTask(deps, principal, params.id, params.taskId, body) };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/projects/:id/tasks/:taskId',
    summary: 'Delete a task',
    description: 'Its assignments go with it; the clients stay in the project.',
    tags: ['Tasks'],
    params: taskParams,
    responses: { 204: { description: 'Deleted' } },
    async handler({ deps, principal, params }) {
      await deleteTask(deps, principal, params.id, params.taskId);
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/projects/:id/tasks/:taskId/assignees',
    summary: 'Assign a client to a task (invites them when not yet in the project)',
    description:
      'Someone not yet in the project is invited to it exactly as POST /v1/projects/:id/invitations does (first_name and ' +
      'last_name are then required); a member or a pending invitee is just assigned. Repeating the call changes nothing.',
    tags: ['Tasks'],
    params: taskParams,
    body: assigneeInput,
    responses: {
      201: { description: 'Assigned', schema: assignResultJson },
      200: { description: 'Was already assigned', schema: assignResultJson },
    },
    async handler({ deps, principal, params, body }) {
      const res = await assignClientToTask(deps, principal, params.id, params.taskId, body);
      return { status: res.result === 'assigned' ? 201 : 200, body: res.body };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/projects/:id/tasks/:taskId/assignees/:clientId',
    summary: 'Unassign a client from a task',
    description: 'The client stays in the project.',
    tags: ['Tasks'],
    params: taskParams.extend({ clientId: z.string() }),
    responses: { 204: { description: 'Unassigned' } },
    async handler({ deps, principal, params }) {
      await unassignClientFromTask(deps, principal, params.id, params.taskId, params.clientId);
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/projects/:id/assignments/bulk',
    summary: 'Assign many clients to tasks of a project',
    description:
      'Up to 1,000 items in one transaction, each with its own result: an item that cannot be done is reported and the ' +
      'others go through. People not yet in the project are invited (names needed on at least one item for that email).',
    tags: ['Tasks'],
    params: projectParams,
    body: bulkAssignInput,
    responses: { 200: { description: 'One result per item, in request order', schema: bulkAssignResultJson } },
    async handler({ deps, principal, params, body }) {
      return { status: 200, body: await bulkAssign(deps, principal, params.id, body) };
    },
  }),
];
