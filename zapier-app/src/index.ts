import zapier, { defineApp } from 'zapier-platform-core';

import authentication from './authentication';
import { assignClientToTask } from './creates/assignClientToTask';
import { createProject } from './creates/createProject';
import { importCsv } from './creates/importCsv';
import { inviteClient } from './creates/inviteClient';
import { afters, befores } from './middleware';
import { findClient } from './searches/findClient';
import { findProject } from './searches/findProject';
import { projectList, taskList, templateList } from './triggers/dropdowns';
import { importCompleted, newInvitation, newProject } from './triggers/feeds';
import { invitationAccepted } from './triggers/invitationAccepted';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../package.json') as { version: string };

const app = defineApp({
  version,
  platformVersion: zapier.version,

  authentication,
  beforeRequest: [...befores],
  afterResponse: [...afters],

  flags: {
    // Let our afterResponse see 429s so the ThrottledError carries Onramp's Retry-After and a clear message.
    throwForThrottlingEarly: false,
    cleanInputData: true,
  },

  triggers: {
    [invitationAccepted.key]: invitationAccepted,
    [newInvitation.key]: newInvitation,
    [newProject.key]: newProject,
    [importCompleted.key]: importCompleted,
    [projectList.key]: projectList,
    [templateList.key]: templateList,
    [taskList.key]: taskList,
  },

  creates: {
    [createProject.key]: createProject,
    [inviteClient.key]: inviteClient,
    [assignClientToTask.key]: assignClientToTask,
    [importCsv.key]: importCsv,
  },

  searches: {
    [findProject.key]: findProject,
    [findClient.key]: findClient,
  },

  searchOrCreates: {
    find_project: {
      key: 'find_project',
      display: {
        label: 'Find or Create Project',
        description: 'Finds a project by External ID or name, or creates it (with its clients) when none exists.',
      },
      search: 'find_project',
      create: 'create_project',
    },
    find_client: {
      key: 'find_client',
      display: {
        label: 'Find Client or Invite Client',
        description: 'Finds a client by email, or invites them to a project when none exists.',
      },
      search: 'find_client',
      create: 'invite_client',
    },
  },
});

// Zapier loads the app with require(): module.exports = app.
export = app;
