import zapier from 'zapier-platform-core';

/** The compiled package, loaded the way Zapier loads it (root index.js -> dist). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const compiled = require('..') as Record<string, any>;

describe('app definition (compiled dist, as Zapier loads it)', () => {
  it('exports the app object itself (module.exports = app)', () => {
    expect(compiled.platformVersion).toBe(zapier.version);
    expect(compiled.version).toBe('1.0.0');
    expect(compiled.authentication.type).toBe('custom');
  });

  it('has every trigger, create and search', () => {
    expect(Object.keys(compiled.triggers).sort()).toEqual([
      'import_completed',
      'invitation_accepted',
      'new_invitation',
      'new_project',
      'project_list',
      'task_list',
      'template_list',
    ]);
    expect(Object.keys(compiled.creates).sort()).toEqual(['assign_client_to_task', 'create_project', 'import_csv', 'invite_client']);
    expect(Object.keys(compiled.searches).sort()).toEqual(['find_client', 'find_project']);
  });

  it('pairs searches with creates as find-or-create', () => {
    expect(compiled.searchOrCreates.find_project).toMatchObject({ search: 'find_project', create: 'create_project' });
    expect(compiled.searchOrCreates.find_client).toMatchObject({ search: 'find_client', create: 'invite_client' });
  });

  it('gives every visible action a sample, output fields and a proper description', () => {
    const groups: Array<[string, string]> = [
      ['triggers', 'Triggers when'],
      ['creates', 'Creates'],
      ['searches', 'Finds'],
    ];
    for (const [group, prefix] of groups) {
      for (const [key, def] of Object.entries<any>(compiled[group])) {
        if (def.display.hidden) continue;
        expect([key, def.display.description.startsWith(prefix)]).toEqual([key, true]);
        expect([key, Object.keys(def.operation.sample).length > 3]).toEqual([key, true]);
        expect([key, def.operation.outputFields.length > 3]).toEqual([key, true]);
        for (const field of def.operation.outputFields) {
          // Title Case labels
          expect([key, field.key, /^([A-Z][A-Za-z]*|ID|CSV|URL)( ([A-Z][A-Za-z]*|ID|CSV|URL|to|of|At|By))*$/.test(field.label)]).toEqual([
            key,
            field.key,
            true,
          ]);
        }
      }
    }
  });

  it('keeps the fixed input field keys', () => {
    const keys = (group: string, key: string) => compiled[group][key].operation.inputFields.map((f: { key: string }) => f.key);
    expect(keys('creates', 'create_project')).toEqual(
      expect.arrayContaining(['name', 'external_id', 'template_id', 'clients', 'assignments', 'message', 'send_emails']),
    );
    const clients = compiled.creates.create_project.operation.inputFields.find((f: { key: string }) => f.key === 'clients');
    expect(clients.children.map((f: { key: string }) => f.key)).toEqual(['email', 'first_name', 'last_name']);
    expect(keys('creates', 'invite_client')).toEqual(['project_id', 'email', 'first_name', 'last_name', 'message', 'send_email']);
    // POST /v1/projects/:id/invitations requires both names; assigning to a task does not (existing clients).
    const required = (kind: 'creates', key: string) =>
      (compiled[kind][key].operation.inputFields as Array<{ key: string; required?: boolean }>).filter((f) => f.required).map((f) => f.key);
    expect(required('creates', 'invite_client')).toEqual(['project_id', 'email', 'first_name', 'last_name']);
    expect(required('creates', 'assign_client_to_task')).toEqual(['project_id', 'task_id', 'email']);
    expect(keys('creates', 'assign_client_to_task')).toEqual(['project_id', 'task_id', 'email', 'first_name', 'last_name']);
    expect(keys('creates', 'import_csv')).toEqual(['file', 'dry_run', 'send_emails']);
    expect(keys('searches', 'find_client')).toEqual(['email']);
    expect(keys('searches', 'find_project')).toEqual(['external_id', 'name']);
  });

  it('sample timestamps are ISO 8601 with a time zone', () => {
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
    const sample = compiled.triggers.invitation_accepted.operation.sample;
    for (const k of ['created_at', 'expires_at', 'accepted_at', 'occurred_at', 'last_sent_at']) {
      expect([k, iso.test(sample[k])]).toEqual([k, true]);
    }
  });

  it('passes zapier-platform-schema validation', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const schema = require('zapier-platform-schema') as { validateAppDefinition: (app: unknown) => { errors: unknown[] } };
    // Functions are replaced by $func$ markers the way the CLI serialises the app before validating.
    const results = schema.validateAppDefinition(JSON.parse(JSON.stringify(compiled, (_k, v) => (typeof v === 'function' ? '$func$2$f$' : v))));
    expect(results.errors).toEqual([]);
  });
});
