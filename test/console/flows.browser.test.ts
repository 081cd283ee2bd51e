import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { countRows } from '../support/fixtures.js';
import { createInvitation, createProject } from '../pages/fixtures.js';
import { addMember, launchChromium, screenshots, signedIn, withPassword } from './browserKit.js';

/**
 * An ops person's day in the console, in Debian's chromium: the invitations dashboard (search, select all,
 * every match across pages in one action, a partly successful bulk, invite from the dashboard, revoke
 * confirmed, copy button), clients, projects and templates; members read-only; unknown addresses as pages.
 */
let stack: TestStack;
let browser: Browser;

beforeAll(async () => {
  stack = await startStack({ smtp: false, worker: false });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack.close();
});

async function agencyWithOwner(name: string): Promise<TestAgency> {
  const agency = await createTestAgency(stack, name);
  await withPassword(stack, agency);
  return agency;
}

const tag = () => randomBytes(3).toString('hex');

describe('invitations dashboard', () => {
  it('resends every pending invitation of a filter across pages in one action, and says what partly failed', async () => {
    const agency = await agencyWithOwner('Dashboard');
    const projectId = await createProject(stack, agency, 'Spring onboarding');
    for (let i = 0; i < 120; i++) await createInvitation(stack, agency, { projectId, email: `bulk${String(i).padStart(3, '0')}@many.test`, firstName: 'Bulk' });
    const blocked = await createInvitation(stack, agency, { projectId, email: 'bulkblocked@many.test', firstName: 'Bulk' });
    await stack.deps.pool.query(`update clients set status = 'deactivated' where id = $1`, [blocked.clientId]);
    const other = await createInvitation(stack, agency, { projectName: 'Other project', email: 'someone@else.test', firstName: 'Sam' });

    const { page, context, problems } = await signedIn(browser, stack, agency.email);
    await page.fill('#q', 'BULK');
    await Promise.all([page.waitForURL(/q=BULK/), page.click('form.filters button[type=submit]')]);
    await expect(page.locator('tbody tr').count()).resolves.toBe(50);
    await expect(page.locator('#matching-count').textContent()).resolves.toBe('All 121 pending invitations');
    expect(await page.locator('a[rel=next]').count()).toBe(1);
    await screenshots(page, 'dashboard');

    await Promise.all([page.waitForURL(/flash=/), page.click('#matching button[value=resend]')]);
    const notice = page.locator('#flash-notice');
    await expect(notice.getAttribute('class')).resolves.toBe('notice partial');
    await expect(notice.textContent()).resolves.toContain('Partly done: 120 resent, 1 client deactivated (of 121 matching invitations)');
    await expect(notice.textContent()).resolves.toContain('bulkblocked@many.test');
    await screenshots(page, 'dashboard-bulk-result');
    expect(await countRows(stack.deps.pool, `select 1 from invitations where project_id = $1 and send_count = 2`, [projectId])).toBe(120);
    expect(await countRows(stack.deps.pool, `select 1 from invitations where id = $1 and send_count = 1`, [other.invitationId])).toBe(1);
    // A refresh of the result page shows the result again and resends nothing.
    await page.reload();
    await expect(page.locator('#flash-notice').textContent()).resolves.toContain('120 resent');
    expect(await countRows(stack.deps.pool, `select 1 from emails where kind = 'invitation_resend' and agency_id = $1`, [agency.agencyId])).toBe(120);

    // Once more at once: every one was just resent, so the per-invitation limit answers for each.
    await Promise.all([page.waitForURL(/flash=/), page.click('#matching button[value=resend]')]);
    await expect(page.locator('#flash-alert').textContent()).resolves.toContain('120 rate limited');

    // Select all on this page, revoke, confirm.
    await page.check('#select-all');
    await expect(page.locator('input[name=ids]:checked').count()).resolves.toBe(50);
    await Promise.all([page.waitForLoadState(), page.click('#bulk button[value=revoke]')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Revoke 50 invitations');
    await Promise.all([page.waitForURL(/flash=/), page.click('#confirm-button')]);
    await expect(page.locator('#flash-notice').textContent()).resolves.toContain('50 revoked');
    await expect(page.locator('#matching-count').textContent()).resolves.toBe('All 71 pending invitations');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('invites from the dashboard by choosing a project, and copies a link with the Copy button', async () => {
    const agency = await agencyWithOwner('Invite');
    await createProject(stack, agency, 'Website relaunch');
    const { page, context, problems } = await signedIn(browser, stack, agency.email);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.url });
    await page.click('#invite-card summary');
    // Missing project and a bad email: said next to the fields, nothing created.
    await page.fill('#invite-first', 'Ada');
    await page.fill('#invite-last', 'Lovelace');
    await page.fill('#invite-email', 'ada@analytical.test');
    await Promise.all([page.waitForLoadState(), page.click('#invite-card button[type=submit]')]);
    await expect(page.locator('#project-error').textContent()).resolves.toContain('Project is required');
    await expect(page.locator('#invite-first').inputValue()).resolves.toBe('Ada');
    await page.selectOption('#invite-project', { label: 'Website relaunch' });
    await Promise.all([page.waitForURL(/flash=/), page.click('#invite-card button[type=submit]')]);
    await expect(page.locator('#flash-notice').textContent()).resolves.toContain('Invited Ada Lovelace (ada@analytical.test) to Website relaunch');

    const row = page.locator('tbody tr').first();
    await Promise.all([page.waitForURL(/link=/), row.locator('text=Copy link').click()]);
    const link = await page.locator('#invite-link').inputValue();
    expect(link).toMatch(new RegExp(`^${stack.url}/invite/[A-Za-z0-9_-]{43}$`));
    await page.click('#invite-link-box button.copy');
    // The status is written when the clipboard's promise settles, after the click returns: wait for it.
    await page.locator('#invite-link-box .copy-status', { hasText: /^Copied$/ }).waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => (navigator as any).clipboard.readText())).toBe(link);
    await screenshots(page, 'dashboard-link');
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('clients', () => {
  it('adds, searches, pages, invites, deactivates and reactivates clients', async () => {
    const agency = await agencyWithOwner('Clients');
    const projectId = await createProject(stack, agency, 'Brand refresh');
    await createProject(stack, agency, 'Second workspace');
    for (let i = 0; i < 55; i++) {
      await stack.deps.pool.query(`insert into clients (agency_id, email, first_name, last_name) values ($1, $2, 'Filler', $3)`, [
        agency.agencyId,
        `filler${i}@x.test`,
        `N${i}`,
      ]);
    }
    const { page, context, problems } = await signedIn(browser, stack, agency.email);
    await page.goto(`${stack.url}/console/clients`);
    await expect(page.locator('tbody tr').count()).resolves.toBe(50);
    await Promise.all([page.waitForURL(/cursor=/), page.click('a[rel=next]')]);
    await expect(page.locator('tbody tr').count()).resolves.toBe(5);

    // Without an invitation: Inactive.
    await page.click('#add-card summary');
    await page.fill('#add-first', 'Grace');
    await page.fill('#add-last', 'Hopper-With-A-Very-Long-Family-Name-That-Must-Wrap-Somewhere');
    await page.fill('#add-email', 'grace.hopper.with.a.really.long.address.that.wraps@navy.example.test');
    await Promise.all([page.waitForURL(/\/console\/clients\/[0-9a-f-]{36}\?flash=/), page.click('#add-client')]);
    await expect(page.locator('#flash-notice').textContent()).resolves.toContain('without an invitation');
    await expect(page.locator('.title-row .badge').textContent()).resolves.toBe('inactive');
    const graceUrl = page.url().split('?')[0]!;
    await screenshots(page, 'client');

    // The same address again: said on the page.
    await page.goto(`${stack.url}/console/clients`);
    await page.click('#add-card summary');
    await page.fill('#add-first', 'G');
    await page.fill('#add-last', 'H');
    await page.fill('#add-email', 'GRACE.hopper.with.a.really.long.address.that.wraps@navy.example.test');
    await Promise.all([page.waitForLoadState(), page.click('#add-client')]);
    await expect(page.locator('#add-card .alert').textContent()).resolves.toContain('already a client');

    // With an invitation.
    await page.fill('#add-first', 'Alan');
    await page.fill('#add-last', 'Turing');
    await page.fill('#add-email', 'alan@bletchley.test');
    await page.selectOption('#add-project', { label: 'Brand refresh' });
    await Promise.all([page.waitForURL(/flash=/), page.click('#add-client')]);
    await expect(page.locator('#flash-notice').textContent()).resolves.toContain('Invited Alan Turing (alan@bletchley.test) to Brand refresh');
    await expect(page.locator('tbody tr .badge.pending').count()).resolves.toBe(1);
    await expect(page.locator('tr[data-id]').first().textContent()).resolves.toContain('queued');

    // Search by prefix, filter by status.
    await page.goto(`${stack.url}/console/clients`);
    await page.fill('#client-q', 'tur');
    await Promise.all([page.waitForURL(/q=tur/), page.click('form.filters button[type=submit]')]);
    await expect(page.locator('tbody tr').count()).resolves.toBe(1);
    await page.fill('#client-q', '');
    await page.selectOption('#client-status', 'invited');
    await Promise.all([page.waitForURL(/status=invited/), page.click('form.filters button[type=submit]')]);
    await expect(page.locator('#client-count').textContent()).resolves.toBe('1 client matching');
    await screenshots(page, 'clients');

    // Invite Grace from her page.
    await page.goto(graceUrl);
    await page.selectOption('#client-invite-project', { label: 'Second workspace' });
    await Promise.all([page.waitForURL(/flash=/), page.click('form[action$="/invite"] button[type=submit]')]);
    await expect(page.locator('#flash-notice').textContent()).resolves.toContain('Invited Grace');
    await expect(page.locator('.title-row .badge').textContent()).resolves.toBe('invited');

    // Deactivate: the consequences first.
    await Promise.all([page.waitForURL(/\/deactivate$/), page.click('#deactivate-link')]);
    await expect(page.locator('main').textContent()).resolves.toContain('1 pending invitation revoked');
    await screenshots(page, 'client-deactivate');
    await Promise.all([page.waitForURL(/flash=/), page.click('#confirm-button')]);
    await expect(page.locator('.title-row .badge').textContent()).resolves.toBe('deactivated');
    expect(
      await countRows(stack.deps.pool, `select 1 from invitations where project_id <> $1 and email like 'grace%' and status = 'revoked'`, [projectId]),
    ).toBe(1);
    await Promise.all([page.waitForURL(/\/reactivate$/), page.click('#reactivate-link')]);
    await Promise.all([page.waitForURL(/flash=/), page.click('#confirm-button')]);
    await expect(page.locator('#flash-notice').textContent()).resolves.toContain('reactivated (now inactive)');
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('projects', () => {
  it('creates, renames and archives a project; invites, assigns, bulk-assigns, unassigns, adds from another workspace and removes', async () => {
    const agency = await agencyWithOwner('Projects');
    // An active client of another workspace.
    const elsewhere = await createInvitation(stack, agency, {
      projectName: 'Old workspace',
      email: 'active@client.test',
      firstName: 'Active',
      password: 'client password 1',
    });
    await stack.deps.pool.query(`update invitations set status = 'accepted', accepted_at = now() where id = $1`, [elsewhere.invitationId]);
    await stack.deps.pool.query(`insert into memberships (project_id, client_id, agency_id) values ($1, $2, $3)`, [
      elsewhere.projectId,
      elsewhere.clientId,
      agency.agencyId,
    ]);

    const { page, context, problems } = await signedIn(browser, stack, agency.email);
    await page.goto(`${stack.url}/console/projects`);
    await page.click('#create-card summary');
    await Promise.all([page.waitForLoadState(), page.click('#create-project')]);
    await expect(page.locator('#name-error').textContent()).resolves.toContain('Name is required');
    await page.fill('#project-name', 'Acme website');
    await page.fill('#project-external', `crm-${tag()}`);
    await Promise.all([page.waitForURL(/\/console\/projects\/[0-9a-f-]{36}\?flash=/), page.click('#create-project')]);
    await expect(page.locator('#flash-notice').textContent()).resolves.toMatch(/Created Acme website with \d+ tasks from its template/);
    const projectUrl = page.url().split('?')[0]!;
    const projectId = projectUrl.split('/').pop()!;

    await page.click('details.edit summary');
    await page.fill('#rename', 'Acme website 2.0');
    await Promise.all([page.waitForURL(/flash=/), page.click('form[action$="/rename"] button')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Acme website 2.0');
    await page.click('details.edit summary');
    await Promise.all([page.waitForURL(/flash=/), page.click('#archive-button')]);
    await expect(page.locator('.title-row .badge').textContent()).resolves.toBe('archived');
    await expect(page.locator('main').textContent()).resolves.toContain('unarchive it to invite clients');
    await page.click('details.edit summary');
    await Promise.all([page.waitForURL(/flash=/), page.click('#archive-button')]);
    expect(await page.locator('.title-row .badge').count()).toBe(0);

    // Invite one, then assign a newcomer by email (invited on the way).
    await page.fill('#first_name', 'Casey');
    await page.fill('#last_name', 'Jones');
    await page.fill('#invite-email', 'casey@client.test');
    await Promise.all([page.waitForURL(/done=invited/), page.click('form.invite button[type=submit]')]);
    const tasks = await page.locator('#assign-task option').allTextContents();
    await page.selectOption('#assign-task', { label: tasks[0]! });
    await page.fill('#assign-email', 'dana@client.test');
    await page.fill('#assign-first', 'Dana');
    await page.fill('#assign-last', 'Scully');
    await Promise.all([page.waitForURL(/flash=/), page.click('#assign-form button[type=submit]')]);
    await expect(page.locator('#flash-notice').textContent()).resolves.toContain(
      'Assigned Dana Scully (dana@client.test). They were not in the project, so they were invited.',
    );

    // Bulk: both people x the second and third task.
    for (const email of ['casey@client.test', 'dana@client.test']) await page.locator('#bulk-assign-form li', { hasText: email }).locator('input').check();
    for (const t of [tasks[1]!, tasks[2]!]) await page.locator('#bulk-assign-form li', { hasText: t }).locator('input').check();
    await Promise.all([page.waitForURL(/flash=/), page.click('#bulk-assign-form button[type=submit]')]);
    await expect(page.locator('#flash-notice').textContent()).resolves.toContain('4 assignments made, 0 already there');
    expect(await countRows(stack.deps.pool, 'select 1 from task_assignees a join tasks t on t.id = a.task_id where t.project_id = $1', [projectId])).toBe(5);

    // Unassign Dana from the first task.
    const first = page.locator('tr[data-task]').first();
    await Promise.all([page.waitForURL(/flash=/), first.locator('button[aria-label^="Unassign dana@client.test"]').click()]);
    await expect(page.locator('tr[data-task]').first().textContent()).resolves.toContain('nobody');

    // Add an active client from another workspace: no email.
    const emailsBefore = await countRows(stack.deps.pool, 'select 1 from emails where client_id = $1', [elsewhere.clientId]);
    await page.fill('#add-q', 'act');
    await Promise.all([page.waitForURL(/add_q=act/), page.click('form[role=search] button')]);
    await Promise.all([page.waitForURL(/flash=/), page.click('button[aria-label="Add active@client.test to this project"]')]);
    await expect(page.locator('#flash-notice').textContent()).resolves.toContain('without an email');
    await expect(page.locator(`tr[data-client="${elsewhere.clientId}"]`).count()).resolves.toBe(1);
    expect(await countRows(stack.deps.pool, 'select 1 from emails where client_id = $1', [elsewhere.clientId])).toBe(emailsBefore);
    await screenshots(page, 'project');

    // Remove from workspace, confirmed.
    await Promise.all([page.waitForURL(/\/remove\//), page.locator(`tr[data-client="${elsewhere.clientId}"] a`, { hasText: 'Remove from workspace' }).click()]);
    await screenshots(page, 'project-remove');
    await Promise.all([page.waitForURL(/flash=/), page.click('#confirm-button')]);
    await expect(page.locator('#flash-notice').textContent()).resolves.toContain('Removed Active Client (active@client.test)');
    expect(await countRows(stack.deps.pool, 'select 1 from memberships where project_id = $1 and client_id = $2', [projectId, elsewhere.clientId])).toBe(0);

    await page.goto(`${stack.url}/console/projects`);
    await screenshots(page, 'projects');
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('templates', () => {
  it('creates a template, reorders, adds and removes tasks, renames, and deletes it saying what it affects', async () => {
    const agency = await agencyWithOwner('Templates');
    const { page, context, problems } = await signedIn(browser, stack, agency.email);
    await page.goto(`${stack.url}/console/templates`);
    await page.click('#create-card summary');
    await page.fill('#template-name', 'Website build');
    await page.fill('#template-tasks', 'Kick-off\nSitemap\nsitemap\n');
    await Promise.all([page.waitForLoadState(), page.click('#create-template')]);
    await expect(page.locator('#create-card .alert').textContent()).resolves.toContain('Line 3 (“sitemap”)');
    await page.fill('#template-tasks', 'Kick-off\nSitemap\nCopy\n\nLaunch');
    await Promise.all([page.waitForURL(/flash=/), page.click('#create-template')]);
    const list = () => page.locator('#task-list .t').allTextContents();
    await expect(list()).resolves.toEqual(['Kick-off', 'Sitemap', 'Copy', 'Launch']);

    await Promise.all([page.waitForURL(/flash=/), page.click('button[aria-label="Move Launch up"]')]);
    await expect(list()).resolves.toEqual(['Kick-off', 'Sitemap', 'Launch', 'Copy']);
    await Promise.all([page.waitForURL(/flash=/), page.click('button[aria-label="Remove Sitemap"]')]);
    await page.fill('#new-task', 'Training');
    await Promise.all([page.waitForURL(/flash=/), page.click('#add-task-form button')]);
    await expect(list()).resolves.toEqual(['Kick-off', 'Launch', 'Copy', 'Training']);
    await page.locator('details.edit summary', { hasText: 'Rename' }).click();
    await page.fill('#template-rename', 'Website build v2');
    await Promise.all([page.waitForURL(/flash=/), page.click('form[action$="/rename"] button')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Website build v2');
    await screenshots(page, 'template');

    const templateId = page.url().split('?')[0]!.split('/').pop()!;
    await stack.deps.pool.query('update projects set template_id = null where agency_id = $1', [agency.agencyId]);
    const projectId = await createProject(stack, agency, 'Made from it');
    await stack.deps.pool.query('update projects set template_id = $2 where id = $1', [projectId, templateId]);
    await Promise.all([page.waitForURL(/\/delete$/), page.click('#delete-link')]);
    await expect(page.locator('main').textContent()).resolves.toContain('1 project was created from it: they keep their own tasks');
    await screenshots(page, 'template-delete');
    await Promise.all([page.waitForURL(/\/console\/templates\?flash=/), page.click('#confirm-button')]);
    await expect(page.locator('#flash-notice').textContent()).resolves.toContain('Deleted the template Website build v2');
    expect(await countRows(stack.deps.pool, 'select 1 from templates where id = $1', [templateId])).toBe(0);
    await screenshots(page, 'templates');
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('every page', () => {
  it('shows a member everything read-only, and answers unknown addresses with a console page', async () => {
    const agency = await agencyWithOwner('Readonly');
    const f = await createInvitation(stack, agency, { projectName: 'Visible project' });
    const email = `member-${tag()}@agency.test`;
    await addMember(stack, agency, email);
    const { page, context } = await signedIn(browser, stack, email);
    const { rows } = await stack.deps.pool.query<{ id: string }>('select id from templates where agency_id = $1', [agency.agencyId]);
    for (const path of [
      '/console',
      '/console/projects',
      `/console/projects/${f.projectId}`,
      '/console/clients',
      `/console/clients/${f.clientId}`,
      '/console/templates',
      `/console/templates/${rows[0]!.id}`,
      '/console/imports',
    ]) {
      await page.goto(`${stack.url}${path}`);
      // The only form a member gets is signing out (and the searches, which are GET).
      const posts = await page.locator('form[method=post]').evaluateAll((forms) => forms.map((f) => f.getAttribute('action')));
      expect({ path, posts }).toEqual({ path, posts: ['/console/logout'] });
    }
    const res = await page.goto(`${stack.url}/console/no-such-page`);
    expect(res!.status()).toBe(404);
    expect(res!.headers()['content-type']).toContain('text/html');
    await expect(page.locator('h1').textContent()).resolves.toBe('Not found');
    expect(await page.locator('header nav a').count()).toBeGreaterThanOrEqual(5);
    const other = await page.goto(
      `${stack.url}/console/clients/${randomBytes(16)
        .toString('hex')
        .replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5')}`,
    );
    expect(other!.status()).toBe(404);
    await context.close();
  });
});
