import type { IceServer, User } from './types.js';

/** The part of the Web Storage API the SDK uses (localStorage by default). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
  readonly length: number;
  key(index: number): string | null;
}

export type CredentialKind = 'access_token' | 'session_token' | 'jwt';

export interface StoredState {
  deviceId: string;
  user: User | null;
  sessionKey: string | null;
  sessionExpiresAt: number | null;
  credentialKind: CredentialKind | null;
  iceServers: IceServer[];
}

/** Keys: `parley.app` (the app id the stored data belongs to) and `parley.<appId>.state`. */
export const APP_KEY = 'parley.app';
export const stateKey = (appId: string): string => `parley.${appId}.state`;

export class MemoryStorage implements StorageLike {
  private map = new Map<string, string>();
  get length(): number { return this.map.size; }
  key(i: number): string | null { return [...this.map.keys()][i] ?? null; }
  getItem(k: string): string | null { return this.map.has(k) ? (this.map.get(k) as string) : null; }
  setItem(k: string, v: string): void { this.map.set(k, String(v)); }
  removeItem(k: string): void { this.map.delete(k); }
  clear(): void { this.map.clear(); }
}

export function newDeviceId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function freshState(): StoredState {
  return { deviceId: newDeviceId(), user: null, sessionKey: null, sessionExpiresAt: null,
    credentialKind: null, iceServers: [] };
}

/** Removes every key of an app (`parley.<appId>.*`). */
export function clearApp(storage: StorageLike, appId: string): void {
  const prefix = `parley.${appId}.`;
  const doomed: string[] = [];
  for (let i = 0; i < storage.length; i++) {
    const k = storage.key(i);
    if (k && k.startsWith(prefix)) doomed.push(k);
  }
  for (const k of doomed) storage.removeItem(k);
}

/** Loads the state of `appId`; if the storage belongs to another app, clears that app first. */
export function loadState(storage: StorageLike, appId: string): StoredState {
  let previous: string | null = null;
  try { previous = storage.getItem(APP_KEY); } catch { /* storage may be blocked */ }
  if (previous !== null && previous !== appId) {
    try { clearApp(storage, previous); } catch { /* ignore */ }
  }
  try { storage.setItem(APP_KEY, appId); } catch { /* ignore */ }
  let raw: string | null = null;
  try { raw = storage.getItem(stateKey(appId)); } catch { /* ignore */ }
  if (raw) {
    try {
      const s = JSON.parse(raw) as Partial<StoredState>;
      if (s && typeof s.deviceId === 'string' && s.deviceId) {
        return {
          deviceId: s.deviceId,
          user: s.user ?? null,
          sessionKey: typeof s.sessionKey === 'string' ? s.sessionKey : null,
          sessionExpiresAt: typeof s.sessionExpiresAt === 'number' ? s.sessionExpiresAt : null,
          credentialKind: s.credentialKind ?? null,
          iceServers: Array.isArray(s.iceServers) ? s.iceServers : [],
        };
      }
    } catch { /* a broken entry is replaced by a fresh state */ }
  }
  const fresh = freshState();
  saveState(storage, appId, fresh);
  return fresh;
}

export function saveState(storage: StorageLike, appId: string, s: StoredState): void {
  try { storage.setItem(stateKey(appId), JSON.stringify(s)); } catch { /* quota or blocked */ }
}
