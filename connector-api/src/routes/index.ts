import type { AnyRoute } from '../http/route.js';
import { clientActionRoutes } from './clientActions.js';
import { eventRoutes } from './events.js';
import { invitationRoutes } from './invitations.js';
import { meRoutes } from './me.js';
import { hooksRoutes } from './hooks.js';
import { projectsFeatureRoutes } from './projects.js';
import { importRoutes } from './imports.js';
import { agencyRoutes } from './agency.js';
import { userRoutes } from './users.js';
import { apiKeyRoutes } from './apiKeys.js';

/** Every /v1 route. Each feature exports its list from its own file; this is the only place they meet. */
export const v1Routes: AnyRoute[] = [
  ...meRoutes,
  ...invitationRoutes,
  ...clientActionRoutes,
  ...eventRoutes,
  ...hooksRoutes,
  ...projectsFeatureRoutes,
  ...importRoutes,
  ...agencyRoutes,
  ...userRoutes,
  ...apiKeyRoutes,
];
