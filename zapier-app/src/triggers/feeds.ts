import { defineTrigger } from 'zapier-platform-core';
import type { Bundle, ZObject } from 'zapier-platform-core';

import { fetchFeed } from '../lib/api';
import type { Item } from '../lib/types';
import { importCompletedSample, importEventFields, invitationCreatedSample, invitationEventFields, projectCreatedSample, projectEventFields } from '../samples';

/**
 * Polling triggers read GET /v1/feeds/:event (newest first). Each item's `id`
 * is the entity id, so Zapier deduplicates per invitation / project / import.
 */
const feed = (event: string) => (z: ZObject, bundle: Bundle) => fetchFeed<Item>(z, bundle, event);

export const newInvitation = defineTrigger({
  key: 'new_invitation',
  noun: 'Invitation',
  display: {
    label: 'New Invitation',
    description: 'Triggers when a client is invited to a project (from the API, Zapier, a CSV import or the console).',
  },
  operation: {
    type: 'polling',
    perform: feed('invitation.created'),
    sample: invitationCreatedSample,
    outputFields: invitationEventFields,
  },
});

export const newProject = defineTrigger({
  key: 'new_project',
  noun: 'Project',
  display: {
    label: 'New Project',
    description: 'Triggers when a new project (client workspace) is created.',
  },
  operation: {
    type: 'polling',
    perform: feed('project.created'),
    sample: projectCreatedSample,
    outputFields: projectEventFields,
  },
});

export const importCompleted = defineTrigger({
  key: 'import_completed',
  noun: 'Import',
  display: {
    label: 'Import Completed',
    description: 'Triggers when a CSV import finishes, with its counts of projects, invitations and errors.',
  },
  operation: {
    type: 'polling',
    perform: feed('import.completed'),
    sample: importCompletedSample,
    outputFields: importEventFields,
  },
});
