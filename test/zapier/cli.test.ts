import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { buildIfStale, repoRoot, toolsPath, withBuildLock, zapierAppDir } from './zapierApp.js';

/**
 * Zapier's own CLI, run the way zapier-app/README.md tells a user to run it: `npx zapier-platform build` (what
 * `push` runs before uploading) with the open-file limit at 1,024, and `npx zapier-platform invoke` (the CLI's
 * local runner) against a real Onramp (API and worker on real PostgreSQL and Redis; no nock), checking what
 * each command prints.
 */

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `npx zapier-platform ...` in `cwd` under `ulimit -n 1024`. Asynchronous on purpose: the Onramp API the CLI
 * calls runs in this process, so a blocking spawnSync would leave every request unanswered.
 */
function zapierPlatform(cwd: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', 'ulimit -n 1024 && exec npx --no-install zapier-platform "$@"', 'zapier-platform', ...args], {
      cwd,
      // OCLIF_COLUMNS: the CLI's error box is not wrapped at 80 columns, so a message can be matched whole.
      env: { ...process.env, PATH: toolsPath(), DISABLE_ZAPIER_ANALYTICS: '1', FORCE_COLOR: '0', NO_COLOR: '1', OCLIF_COLUMNS: '1000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The progress lines the CLI prints when each step starts ("- Copying project to temp directory"). */
const stepsOf = (run: Run): string[] =>
  `${run.stderr}\n${run.stdout}`
    .split('\n')
    .map((line) => /^- (.+)$/.exec(line.trim())?.[1])
    .filter((step): step is string => !!step);

/** The CLI's error box: "›   Error: fetch failed" (the "›" lines), as one string. */
const errorOf = (run: Run): string =>
  `${run.stderr}\n${run.stdout}`
    .split('\n')
    .filter((line) => line.trim().startsWith('›'))
    .map((line) => line.replace(/^\s*›\s*/, ''))
    .join(' ')
    .trim();

describe('npx zapier-platform build (what push runs), with ulimit -n 1024', () => {
  it('gets through copying, installing and building the definition; offline, only Zapier’s online check fails', async () => {
    // The app folder holds no node_modules: the build copies the folder file by file, all at once.
    expect({ appNodeModules: existsSync(join(zapierAppDir, 'node_modules')) }).toEqual({ appNodeModules: false });

    // The build recompiles dist in place: the other Zapier suites wait for it (and it for them).
    const run = await withBuildLock(() => zapierPlatform(zapierAppDir, ['build', '--debug']));
    const steps = stepsOf(run);
    expect(steps.slice(0, 6)).toEqual([
      'Running _zapier-build script',
      'Copying project to temp directory',
      'Installing project dependencies using npm',
      'Applying entry point files',
      'Building app definition.json',
      'Validating project schema and style',
    ]);
    expect(`${run.stderr}${run.stdout}`).not.toMatch(/EMFILE|too many open files/);
    const workDir = /Building in temp directory:\s+(\S+)/.exec(run.stderr)?.[1];
    expect(workDir).toBeDefined();

    if (run.code === 0) {
      // Online: the style check passed too, and the CLI zipped and tested the build.
      expect(steps.slice(6)).toEqual(['Zipping project and dependencies', 'Cleaning up temp directory', 'Testing build']);
      expect(run.stdout).toContain('Build complete! Created build/build.zip and build/source.zip.');
      expect(existsSync(join(zapierAppDir, 'build', 'build.zip'))).toBe(true);
      return;
    }

    // Offline: the step that failed is "Validating project schema and style", and not its local half (that
    // would say "We hit some validation errors"): the error is the request to Zapier's style check.
    const error = errorOf(run);
    expect(steps.at(-1)).toBe('Validating project schema and style');
    expect(error).not.toContain('validation errors');
    console.log(
      `zapier-platform build stopped at Zapier's online style check (${error}): this machine cannot reach zapier.com. ` +
        'Copying, installing, applying the entry point and building definition.json passed; the temp directory is checked below.',
    );
    try {
      // What the CLI left in its temp directory is what it would have zipped and uploaded.
      const definition = JSON.parse(readFileSync(join(workDir!, 'definition.json'), 'utf8'));
      const pkg = JSON.parse(readFileSync(join(zapierAppDir, 'package.json'), 'utf8'));
      expect(definition.version).toBe(pkg.version);
      expect(definition.platformVersion).toBe(pkg.dependencies['zapier-platform-core']);
      expect(Object.keys(definition.triggers)).toEqual(expect.arrayContaining(['invitation_accepted', 'new_invitation', 'template_list']));
      expect(Object.keys(definition.creates)).toEqual(expect.arrayContaining(['create_project', 'invite_client', 'assign_client_to_task', 'import_csv']));
      expect(Object.keys(definition.searches)).toEqual(expect.arrayContaining(['find_project', 'find_client']));
      expect(existsSync(join(workDir!, 'zapierwrapper.js'))).toBe(true);
      // `npm install --production` there installed the app's one dependency, and no tool.
      const core = JSON.parse(readFileSync(join(workDir!, 'node_modules', 'zapier-platform-core', 'package.json'), 'utf8'));
      expect(core.version).toBe(pkg.dependencies['zapier-platform-core']);
      for (const tool of ['zapier-platform-cli', 'jest', 'typescript', 'nock'])
        expect({ tool, installed: existsSync(join(workDir!, 'node_modules', tool)) }).toEqual({ tool, installed: false });
    } finally {
      rmSync(workDir!, { recursive: true, force: true });
    }
  }, 600_000);
});

describe('npx zapier-platform invoke against a local Onramp, as in zapier-app/README.md', () => {
  let stack: TestStack;
  let agency: TestAgency;
  let appDir: string;
  const tag = randomBytes(4).toString('hex');
  const email = `ada-${tag}@example.test`;
  const invited = `grace-${tag}@example.test`;
  let project: { id: string; name: string; tasks: Array<{ title: string; assignees: Array<{ email: string }> }> };

  beforeAll(async () => {
    stack = await startStack({ smtp: false });
    agency = await createTestAgency(stack, 'Zapier CLI');
    // A copy of the app folder (its files, and the repository's node_modules through a link) with its own .env,
    // as the README has the user write it in zapier-app/: a developer's own zapier-app/.env stays untouched.
    appDir = mkdtempSync(join(tmpdir(), 'onramp-zapier-invoke-'));
    await withBuildLock(() => {
      buildIfStale();
      for (const file of ['package.json', 'index.js', 'dist']) cpSync(join(zapierAppDir, file), join(appDir, file), { recursive: true });
    });
    symlinkSync(join(repoRoot, 'node_modules'), join(appDir, 'node_modules'));
    writeFileSync(join(appDir, '.env'), `authData_base_url=${stack.url}\nauthData_api_key=${agency.key}\n`);
  }, 180_000);
  afterAll(async () => {
    await stack?.close();
    if (appDir) rmSync(appDir, { recursive: true, force: true });
  });

  const invoke = async (...args: string[]): Promise<Run> => {
    const run = await zapierPlatform(appDir, ['invoke', ...args, '--non-interactive']);
    if (run.code !== 0) throw new Error(`zapier-platform invoke ${args.join(' ')} exited ${run.code}:\n${run.stderr}\n${run.stdout}`);
    return run;
  };
  const json = (run: Run) => JSON.parse(run.stdout);

  it('invoke auth test: prints who the key belongs to (GET /v1/me)', async () => {
    const me = json(await invoke('auth', 'test'));
    expect(me).toEqual({
      agency: { id: agency.agencyId, name: expect.stringMatching(/^Zapier CLI /) },
      user: expect.objectContaining({ id: agency.userId, email: agency.email, role: 'owner' }),
    });
  }, 120_000);

  it('invoke auth label: prints the connection label, "<agency> (<email>)"', async () => {
    const run = await invoke('auth', 'label');
    expect(run.stdout.trim()).toMatch(new RegExp(`^Zapier CLI [0-9a-f]+ \\(${agency.email.replace(/\./g, '\\.')}\\)$`));
  }, 120_000);

  it('invoke create create_project: the template typed by name, a client line item and a task assignment', async () => {
    const input = {
      name: `Acme ${tag}`,
      external_id: `crm-deal-${tag}`,
      template_id: 'client ONBOARDING',
      clients: [{ email, first_name: 'Ada', last_name: 'Lovelace' }],
      assignments: [{ task: 'Welcome call', emails: email }],
      send_emails: 'false',
    };
    project = json(await invoke('create', 'create_project', '-i', JSON.stringify(input)));
    expect(project).toMatchObject({ name: input.name, external_id: input.external_id, created: true, clients: [{ email, result: 'invited' }] });
    expect(project.tasks.map((t) => t.title)).toEqual(['Welcome call', 'Share brand assets', 'Grant account access', 'Review the project plan']);
    expect(project.tasks[0]!.assignees.map((a) => a.email)).toEqual([email]);
  }, 120_000);

  it('invoke create create_project with an unknown template name: fails naming the agency’s templates', async () => {
    const run = await zapierPlatform(appDir, [
      'invoke',
      'create',
      'create_project',
      '-i',
      JSON.stringify({ name: 'X', template_id: 'Onbording' }),
      '--non-interactive',
    ]);
    expect(run.code).not.toBe(0);
    expect(errorOf(run)).toContain(
      'Error: Validation failed: Template (template_name): no template named "Onbording" in this agency; ' +
        'its templates are "Client onboarding" (HTTP 422, validation_failed)',
    );
  }, 120_000);

  it('invoke create invite_client: invites a client to the project', async () => {
    const input = { project_id: project.id, email: invited, first_name: 'Grace', last_name: 'Hopper', message: 'Welcome aboard', send_email: 'false' };
    const invitation = json(await invoke('create', 'invite_client', '-i', JSON.stringify(input)));
    expect(invitation).toMatchObject({
      result: 'invited',
      status: 'pending',
      email: invited,
      message: 'Welcome aboard',
      project: { id: project.id, name: project.name },
      client: { email: invited, first_name: 'Grace', last_name: 'Hopper', status: 'invited' },
      created_by: { id: agency.userId, email: agency.email },
    });
  }, 120_000);

  it('invoke search find_client: finds the invited client by email, in any letter case', async () => {
    const found = json(await invoke('search', 'find_client', '-i', JSON.stringify({ email: invited.toUpperCase() })));
    expect(found).toEqual([expect.objectContaining({ email: invited, first_name: 'Grace', last_name: 'Hopper', status: 'invited' })]);
    expect(json(await invoke('search', 'find_client', '-i', JSON.stringify({ email: `nobody-${tag}@example.test` })))).toEqual([]);
  }, 120_000);

  it('invoke trigger invitation_accepted: after the client accepts, prints the accepted invitation', async () => {
    const api = client(stack.url, agency.key);
    const listed = await api.get(`/v1/invitations?project_id=${project.id}&email=${encodeURIComponent(invited)}`);
    const invitationId = listed.body.data[0].id as string;
    const link = await api.get(`/v1/invitations/${invitationId}/link`);
    const token = new URL(link.body.url).pathname.split('/').pop();
    const accepted = await fetch(`${stack.url}/invite/${token}/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ new_password: 'a long enough password' }),
    });
    expect(accepted.status).toBe(200);

    const items = json(await invoke('trigger', 'invitation_accepted'));
    expect(items).toEqual([
      expect.objectContaining({
        id: invitationId,
        event: 'invitation.accepted',
        status: 'accepted',
        email: invited,
        project: { id: project.id, name: project.name },
        client: expect.objectContaining({ email: invited, status: 'active' }),
      }),
    ]);
  }, 120_000);
});
