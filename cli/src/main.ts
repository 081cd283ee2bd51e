#!/usr/bin/env node
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig } from '@onramp/core';
import { commands, type Command } from './commands/index.js';

function usage(): string {
  const lines = ['Usage: onramp <command> [options]', '', 'Commands:'];
  for (const c of commands) lines.push(`  ${c.name.padEnd(16)} ${c.summary}`);
  lines.push('', 'Run `onramp <command> --help` for the options of a command.');
  return lines.join('\n');
}

function commandHelp(c: Command): string {
  const lines = [`Usage: onramp ${c.name} ${c.usage}`, '', c.summary];
  const opts = Object.entries(c.options ?? {});
  if (opts.length) {
    lines.push('', 'Options:');
    for (const [name, o] of opts) lines.push(`  --${name}${o.type === 'string' ? ' VALUE' : ''}`.padEnd(28) + (c.optionHelp?.[name] ?? ''));
  }
  lines.push('  --help'.padEnd(28) + 'Show this help');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(usage());
    return 0;
  }
  // Longest match: "agency create" before "agency".
  let command: Command | undefined;
  let used = 0;
  for (let n = Math.min(words.length, 2); n > 0 && !command; n--) {
    command = commands.find((c) => c.name === words.slice(0, n).join(' '));
    used = n;
  }
  if (!command) {
    const group = commands.filter((c) => c.name.startsWith(`${words[0]} `));
    if (group.length && (words.length === 1 || argv.includes('--help'))) {
      console.log(group.map((c) => `onramp ${c.name} ${c.usage}\n    ${c.summary}`).join('\n'));
      return words.length === 1 && !argv.includes('--help') ? 2 : 0;
    }
    console.error(`onramp: unknown command "${words.join(' ')}". Run \`onramp --help\` for the list.`);
    return 2;
  }
  const rest = argv.slice(used);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...(command.options ?? {}), help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.positionals !== undefined,
      strict: true,
    } as ParseArgsConfig);
  } catch (err) {
    console.error(`onramp ${command.name}: ${(err as Error).message.split('\n')[0]} (see \`onramp ${command.name} --help\`)`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(commandHelp(command));
    return 0;
  }
  if (command.positionals !== undefined && parsed.positionals.length !== command.positionals) {
    console.error(`onramp ${command.name}: expected ${command.positionals} argument(s): ${command.usage}`);
    return 2;
  }
  for (const req of command.required ?? []) {
    if (parsed.values[req] === undefined) {
      console.error(`onramp ${command.name}: --${req} is required (see \`onramp ${command.name} --help\`)`);
      return 2;
    }
  }
  try {
    const config = command.needsConfig === false ? null : loadConfig();
    return await command.run({ values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals, config });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`onramp: configuration error: ${err.message}`);
      return 1;
    }
    const e = err as Error & { code?: string; detail?: string };
    console.error(`onramp ${command.name}: ${e.detail ?? e.message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`onramp: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
