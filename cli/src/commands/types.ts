import type { Config } from '@onramp/core';

interface CommandArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  config: Config | null;
}

export interface Command {
  name: string;
  usage: string;
  summary: string;
  options?: Record<string, { type: 'string' | 'boolean'; short?: string }>;
  optionHelp?: Record<string, string>;
  required?: string[];
  /** Number of positional arguments, when the command takes any. */
  positionals?: number;
  needsConfig?: boolean;
  /** Exit code; -1 means the command keeps the process running and sets the code itself. */
  run(args: CommandArgs): Promise<number>;
}
