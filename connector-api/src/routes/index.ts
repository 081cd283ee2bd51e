import type { AnyRoute } from '../http/route.js';
import { meRoutes } from './me.js';
import { importRoutes } from './imports.js';

/** Every /v1 route. Each feature exports its list from its own file; this is the only place they meet. */
export const v1Routes: AnyRoute[] = [...meRoutes, ...importRoutes];
