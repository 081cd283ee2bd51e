import { adminCommands } from './admin.js';
import { serveCommands } from './serve.js';
import { userCommands } from './users.js';
import { importCommands } from './import.js';
import type { Command } from './types.js';

export type { Command } from './types.js';
export const commands: Command[] = [...serveCommands, ...adminCommands, ...userCommands, ...importCommands];
