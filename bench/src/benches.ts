import { registerBench } from './run.js';

// One line per bench; each lives in its own file.
registerBench('import', async () => (await import('./import.js')).benchImport);
