import { agencyJson, agencySettingsInput, getAgencySettings, updateAgencySettingsFor } from '@onramp/core';
import { defineRoute } from '../http/route.js';

export const agencyRoutes = [
  defineRoute({
    method: 'get',
    path: '/agency',
    summary: 'The agency settings and branding',
    description: 'Every firm user (members too) reads them. `effective` shows the names emails and pages actually use.',
    tags: ['Agency'],
    responses: { 200: { description: 'The settings', schema: agencyJson } },
    async handler({ deps, principal }) {
      return { status: 200, body: await getAgencySettings(deps, principal) };
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/agency',
    summary: 'Change the agency settings and branding',
    description:
      'Owners and admins. Give only the fields to change; `null` or `""` clears an optional one. A bad value answers 422 naming the field and changes nothing. ' +
      'Writes the event `agency.updated` with the fields that changed. A new `invite_expiry_days` applies to invitations created or resent from now on; invitations already sent keep their expiry.',
    tags: ['Agency'],
    body: agencySettingsInput,
    responses: { 200: { description: 'The settings after the change', schema: agencyJson } },
    async handler({ deps, principal, body }) {
      return { status: 200, body: await updateAgencySettingsFor(deps, principal, body) };
    },
  }),
];
