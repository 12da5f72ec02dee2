/**
 * Every Redis key of the webhook notifications, from the platform prefix. All share the hash tag
 * `{webhooks}` so that an endpoint and its owner's set, or a delivery and its owner's index, can be
 * written in one pipeline on Redis Cluster.
 */
export function webhookKeys(prefix: string) {
  const base = `${prefix}{webhooks}:`;
  return {
    /** Hash: endpoint id → WebhookEndpoint JSON. */
    endpoints: `${base}endpoint`,
    /** Set of the endpoint ids of an owner (a department code or `bureau`). */
    ownerEndpoints: (owner: string) => `${base}owner:${owner}`,
    /** String with a TTL: Delivery JSON. */
    delivery: (id: string) => `${base}delivery:${id}`,
    /** Sorted set of an owner's delivery ids, scored by creation time, trimmed to the newest. */
    ownerDeliveries: (owner: string) => `${base}deliveries:${owner}`,
    /** String with a TTL: an event as delivered (no recipients), shared by the inboxes it is in. */
    event: (id: string) => `${base}event:${id}`,
    /** Sorted set of the event ids in an owner's inbox, scored by event time, trimmed to the newest. */
    inbox: (owner: string) => `${base}inbox:${owner}`,
  };
}
