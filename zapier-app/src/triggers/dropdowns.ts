import { defineTrigger } from 'zapier-platform-core';
import type { Bundle, ZObject } from 'zapier-platform-core';

import { apiUrl, fetchDropdownPage, seg, str } from '../lib/api';
import type { Item } from '../lib/types';
import { projectFields, projectSample, taskSample, templateSample } from '../samples';

/**
 * Hidden triggers that feed dynamic dropdowns. They page through the API's
 * cursor pagination (canPaginate + z.cursor) when the user clicks "Load more".
 */

export const projectList = defineTrigger({
  key: 'project_list',
  noun: 'Project',
  display: { label: 'List Projects', description: 'Lists projects for dropdowns.', hidden: true },
  operation: {
    type: 'polling',
    canPaginate: true,
    perform: (z: ZObject, bundle: Bundle) => fetchDropdownPage<Item>(z, bundle, apiUrl(z, bundle, '/projects')),
    sample: projectSample,
    outputFields: projectFields,
  },
});

export const templateList = defineTrigger({
  key: 'template_list',
  noun: 'Template',
  display: { label: 'List Templates', description: 'Lists project templates for dropdowns.', hidden: true },
  operation: {
    type: 'polling',
    canPaginate: true,
    perform: (z: ZObject, bundle: Bundle) => fetchDropdownPage<Item>(z, bundle, apiUrl(z, bundle, '/templates')),
    sample: templateSample,
    outputFields: [
      { key: 'id', label: 'Template ID', type: 'string' },
      { key: 'name', label: 'Template Name', type: 'string' },
    ],
  },
});

export const taskList = defineTrigger({
  key: 'task_list',
  noun: 'Task',
  display: { label: 'List Tasks', description: 'Lists the tasks of the chosen project for dropdowns.', hidden: true },
  operation: {
    type: 'polling',
    canPaginate: true,
    // The action's input (project_id) reaches the dropdown's trigger in bundle.inputData.
    inputFields: [{ key: 'project_id', label: 'Project', type: 'string', required: false, dynamic: 'project_list.id.name' }],
    perform: async (z: ZObject, bundle: Bundle) => {
      const projectId = str((bundle.inputData as Record<string, unknown>).project_id);
      if (!projectId) return []; // nothing to list until a project is chosen
      return fetchDropdownPage<Item>(z, bundle, apiUrl(z, bundle, `/projects/${seg(projectId)}/tasks`));
    },
    sample: taskSample,
    outputFields: [
      { key: 'id', label: 'Task ID', type: 'string' },
      { key: 'title', label: 'Task Title', type: 'string' },
      { key: 'project_id', label: 'Project ID', type: 'string' },
    ],
  },
});
