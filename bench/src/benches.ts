import { registerBench } from './run.js';

// One line per bench; each lives in its own file.
registerBench('invite', async () => (await import('./invite.js')).benchInvite);
registerBench('projects', async () => (await import('./projects.js')).default);
registerBench('import', async () => (await import('./import.js')).benchImport);
registerBench('list', async () => (await import('./list.js')).benchList);
registerBench('webhooks', async () => (await import('./webhooks.js')).benchWebhooks);
registerBench('peer', async () => (await import('./peer.js')).benchPeer);
