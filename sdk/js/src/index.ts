import { ParleyClient } from './client.js';

export { ParleyClient } from './client.js';
export type {
  InitOptions, AuthenticateParams, DialParams, CallLogQuery, ParleyListener, SessionHandler,
  ReconnectPolicy, LogLevel,
} from './client.js';
export { DirectCall } from './call.js';
export type { CallOption, DirectCallListener } from './call.js';
export { ParleyError, ERROR_CODES } from './errors.js';
export type { ErrorCode } from './errors.js';
export { MemoryStorage } from './storage.js';
export type { StorageLike } from './storage.js';
export type {
  User, IceServer, CallInfo, CallState, EndResult, CallLogPage, PushTokenType, ConnectionState,
  DisconnectInfo, DisconnectReason, Callback,
} from './types.js';

/** The version of this SDK. */
export const VERSION = '0.1.0';

/** The Parley client: `Parley.init(appId, {apiUrl})`, then `Parley.authenticate(...)`. */
const Parley = new ParleyClient();
export default Parley;
