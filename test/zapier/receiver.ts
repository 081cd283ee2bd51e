import { randomBytes } from 'node:crypto';
import { Receiver as WebhookReceiver } from '../support/receiver.js';

export { until } from '../support/receiver.js';

/** Stands in for hooks.zapier.com: every target looks like a Zap's own hook URL. */
export class Receiver extends WebhookReceiver {
  override target(): { url: string; path: string } {
    return super.target([], `/hooks/standard/${randomBytes(6).toString('hex')}/`);
  }
}
