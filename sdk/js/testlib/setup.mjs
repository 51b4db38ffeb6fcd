import { ParleyClient, MemoryStorage } from '../dist/parley.js';
import { fakeMediaDevices, FakePeerConnection, FakeMediaStream } from './fakes.mjs';

/** A client of `server`, initialized, optionally authenticated and connected as `userId`. */
const made = [];
/** Closes every client made (their timers would keep node alive). */
export function closeAll() { for (const c of made.splice(0)) c.disconnectWebSocket(); }

export async function makeClient(server, userId, { connect = true, storage = new MemoryStorage(), ...extra } = {}) {
  const client = new ParleyClient();
  made.push(client);
  const logs = [];
  const media = fakeMediaDevices();
  const eventTarget = new EventTarget();
  client.init(server.appId, {
    apiUrl: 'http://parley.test', storage, fetch: server.fetch, WebSocket: server.WebSocket,
    RTCPeerConnection: FakePeerConnection, mediaDevices: media, MediaStream: FakeMediaStream,
    eventTarget, logger: (l, m) => logs.push(`${l}: ${m}`), ...extra,
  });
  if (userId) {
    await client.authenticate({ userId, accessToken: `tok-${userId}` });
    if (connect) await client.connectWebSocket();
  }
  return { client, logs, media, eventTarget, storage };
}

/** Records the events of a call listener and of a client listener. */
export function recorder() {
  const events = [];
  const l = {};
  for (const name of ['onEstablished', 'onConnected', 'onEnded', 'onRemoteAudioSettingsChanged', 'onRemoteVideoSettingsChanged',
    'onReconnecting', 'onReconnected', 'onSignal', 'onRinging', 'onDisconnected'])
    l[name] = (...args) => events.push({ name, args });
  l.events = events;
  l.names = () => events.map((e) => e.name);
  return l;
}
