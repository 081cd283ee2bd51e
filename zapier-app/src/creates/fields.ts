import type { PlainInputField } from 'zapier-platform-core';

/** Shared input fields. Keys are fixed: scripts and tests rely on them. */

export const projectIdField = {
  key: 'project_id',
  label: 'Project',
  type: 'string',
  required: true,
  dynamic: 'project_list.id.name',
  search: 'find_project.id',
  helpText: 'The project (client workspace). Pick one, or map a Project ID from an earlier step.',
} satisfies PlainInputField;

export const emailField = {
  key: 'email',
  label: 'Email',
  type: 'string',
  required: true,
  helpText: "The client's email address. Client emails are unique within your agency (case-insensitive).",
} satisfies PlainInputField;

export const firstNameField = {
  key: 'first_name',
  label: 'First Name',
  type: 'string',
  required: false,
} satisfies PlainInputField;

export const lastNameField = {
  key: 'last_name',
  label: 'Last Name',
  type: 'string',
  required: false,
} satisfies PlainInputField;

export const messageField = {
  key: 'message',
  label: 'Message',
  type: 'text',
  required: false,
  helpText: 'An optional personal message shown in the invitation email.',
} satisfies PlainInputField;

/** Onramp needs a name for every invitation (POST /v1/projects/:id/invitations requires both). */
export const requiredFirstNameField = {
  ...firstNameField,
  required: true,
  helpText: "The client's first name, shown in the invitation email.",
} satisfies PlainInputField;

export const requiredLastNameField = {
  ...lastNameField,
  required: true,
} satisfies PlainInputField;
