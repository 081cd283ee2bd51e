import { registerBench } from './run.js';

// One line per bench; each lives in its own file.
registerBench('noop', async () => async () => ({ name: 'noop', lines: ['(placeholder until the first bench lands)'] }));
registerBench('projects', async () => (await import('./projects.js')).default);
