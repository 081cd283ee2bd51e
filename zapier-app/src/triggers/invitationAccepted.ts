import { defineTrigger } from 'zapier-platform-core';
import type { Bundle, ZObject } from 'zapier-platform-core';

import { apiUrl, fetchFeed, seg } from '../lib/api';
import { throwForOnrampError } from '../middleware';
import type { Item } from '../lib/types';
import { invitationAcceptedSample, invitationEventFields } from '../samples';

export const EVENT = 'invitation.accepted';

interface Hook {
  id: string;
  event: string;
  target_url: string;
  status?: string;
  created_at?: string;
  secret?: string;
}

/** POST /v1/hooks: Onramp will POST each accepted invitation to bundle.targetUrl. */
const performSubscribe = async (z: ZObject, bundle: Bundle) => {
  const response = await z.request<Hook>({
    url: apiUrl(z, bundle, '/hooks'),
    method: 'POST',
    body: { target_url: bundle.targetUrl, event: EVENT },
  });
  const hook = response.data;
  if (!hook?.id) {
    throw new z.errors.Error('Onramp did not return an id for the new webhook subscription.', 'unexpected_response', response.status);
  }
  // Returned object becomes bundle.subscribeData.
  return hook;
};

/** DELETE /v1/hooks/:id. A hook that is already gone (404) counts as unsubscribed. */
const performUnsubscribe = async (z: ZObject, bundle: Bundle) => {
  const id = bundle.subscribeData?.id;
  if (!id) return { id: null, deleted: false };
  const response = await z.request({
    url: apiUrl(z, bundle, `/hooks/${seg(id)}`),
    method: 'DELETE',
    skipThrowForStatus: true,
  });
  if (response.status === 404) return { id, deleted: false };
  // Any other error still goes through the normal mapping.
  throwForOnrampError(response, z, bundle);
  return { id, deleted: true };
};

/**
 * The delivery body is the payload itself: { ...Invitation, id, event, event_id, occurred_at }.
 * A bundle with no request at all is not a delivery: `zapier-platform invoke trigger invitation_accepted` runs
 * perform locally, where no REST hook can reach it; it then reads the same items from the feed, as performList.
 */
const perform = async (z: ZObject, bundle: Bundle): Promise<Item[]> => {
  if (bundle.rawRequest === undefined && bundle.cleanedRequest === undefined) return fetchFeed<Item>(z, bundle, EVENT);
  const payload: unknown = bundle.cleanedRequest;
  const items = Array.isArray(payload) ? payload : [payload];
  return items.filter((item): item is Item => !!item && typeof item === 'object');
};

/** Sample / test data: the polling feed has exactly the delivery shape. */
const performList = (z: ZObject, bundle: Bundle) => fetchFeed<Item>(z, bundle, EVENT);

export const invitationAccepted = defineTrigger({
  key: 'invitation_accepted',
  noun: 'Invitation',
  display: {
    label: 'Invitation Accepted',
    description: 'Triggers when a client accepts an invitation and joins their project (instant).',
  },
  operation: {
    type: 'hook',
    performSubscribe,
    performUnsubscribe,
    perform,
    performList,
    sample: invitationAcceptedSample,
    outputFields: invitationEventFields,
  },
});
