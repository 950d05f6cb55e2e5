// The push-notification room: SSRF-guarded, signed, retried webhook delivery and durable configs.
export { checkWebhookRegistration, checkWebhookUrl, blockedRange, validateAllowlist } from './url-guard.js';
export type { CheckedUrl, RefusedUrl, HostResolver, UrlGuardOptions, UrlRefusalCode } from './url-guard.js';
export { deliver } from './deliver.js';
export type { DeliverOptions, DeliveryResult } from './deliver.js';
export {
  DELIVERY_ID_HEADER,
  HMAC_HEADER,
  SIGNATURE_HEADER,
  PushSigner,
  hmacSignature,
  sha256Hex,
  verifyPushHmac,
  verifyPushJwt,
} from './signing.js';
export type { PushSignatureClaims, SignInput, VerifyJwtOptions, VerifyResult } from './signing.js';
export { PushDispatcher } from './sender.js';
export type { PushDispatcherOptions, PushJob, PushLogger } from './sender.js';
export { MemoryPushConfigStore, SqlitePushConfigStore } from './store.js';
export { RedisPushConfigStore } from './redis-store.js';
export type { PushConfigStore, PushStoreOptions, SqlitePushStoreOptions } from './store.js';
export { GatewayPushSender, TOKEN_HEADER, credentialHeaders } from './notification-sender.js';
export type { GatewayPushSenderDeps, TaskEnd, TaskEndListener } from './notification-sender.js';
export { slackNotifier, taskEndText } from './slack.js';
