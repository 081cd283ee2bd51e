import type { JobName } from '@onramp/core';
import type { Processor } from './types.js';
import { sweep } from './sweep.js';
import { touchApiKey } from './touchApiKey.js';
import { csvImport } from './csvImport.js';
import { sendEmail } from './sendEmail.js';
import { deliverWebhook } from './deliverWebhook.js';
import { deliverWebhooks } from './deliverWebhooks.js';
import { fanOutEvent } from './fanOutEvent.js';
import { queueEmails } from './queueEmails.js';

/** Every job name must have a processor: the type makes a missing one a compile error. */
export const processors: { [N in JobName]: Processor<N> } = {
  'touch-api-key': touchApiKey,
  sweep,
  'send-email': sendEmail,
  'deliver-webhook': deliverWebhook,
  'deliver-webhooks': deliverWebhooks,
  'fan-out-event': fanOutEvent,
  'csv-import': csvImport,
  'queue-emails': queueEmails,
};
