/**
 * Why a received advert was dropped. Stable names, usable as Prometheus label values; they
 * follow keepalived's statistics counters where keepalived has one.
 */
export const DROP_REASONS = [
  'truncated',
  'packet_len_err',
  'ip_ttl_err',
  'version_mismatch',
  'invalid_authtype',
  'authtype_mismatch',
  'auth_failure',
  'interval_mismatch',
  'invalid_type',
  'addr_list_err',
  'checksum_err',
  'not_a_peer',
  'unknown_vrid',
  'unicast_multicast_mismatch',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];
