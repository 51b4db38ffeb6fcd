import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError } from '../dist/parley.js';
import { FakeServer, FakePeerConnection, until, tick } from '../testlib/fakes.mjs';
import { closeAll, makeClient, recorder } from '../testlib/setup.mjs';

async function pair() {
  const server = new FakeServer();
  const a = await makeClient(server, 'alice');
  const b = await makeClient(server, 'bob');
  return { server, a, b };
}

/** Dials alice → bob and accepts; waits until both sides are connected. */
async function connectedCall(opts = {}) {
  const { server, a, b } = await pair();
  const ringing = [];
  b.client.addListener({ onRinging: (c) => ringing.push(c) });
  const la = recorder(), lb = recorder();
  const view = { srcObject: null, muted: false, play: () => Promise.resolve() };
  const call = await a.client.dial({ userId: 'bob', isVideoCall: true, listener: la, callOption: { localMediaView: view, ...opts } });
  const incoming = await until(() => ringing[0], 'ringing');
  incoming.setListener(lb);
  await incoming.accept({ callOption: {} });
  await until(() => la.names().includes('onConnected') && lb.names().includes('onConnected'), 'connected on both');
  return { server, a, b, call, incoming, la, lb, view, ringing };
}

after(closeAll);

test('connected: the welcome, the state and connectWebSocket when already connected', async () => {
  const server = new FakeServer();
  const { client } = await makeClient(server, 'alice');
  assert.equal(client.connectionState, 'connected');
  const hello = server.sockets[0].sent[0];
  assert.deepEqual(hello, { type: 'hello', session_key: client.sessionKey, device_id: client.deviceId });
  assert.equal(server.sockets[0].url, 'ws://parley.test/v1/ws');
  await client.connectWebSocket();
  assert.equal(server.sockets.length, 1);
});

test('dial errors carry the server codes (WebSocket)', async () => {
  const { a } = await pair();
  await assert.rejects(a.client.dial({ userId: 'alice' }), (e) => e instanceof ParleyError && e.code === 'dial_myself');
  await assert.rejects(a.client.dial({ userId: 'nobody' }), (e) => e.code === 'callee_not_found' && e.serverCode === 'callee_not_found');
});

test('dial, ringing once, accept, media, connected, end: completed', async () => {
  const { server, a, b, call, incoming, la, lb, view, ringing } = await connectedCall();
  assert.equal(ringing.length, 1);
  assert.equal(call.isOutgoing, true);
  assert.equal(incoming.isOutgoing, false);
  assert.equal(incoming.peerId, 'alice');
  assert.equal(call.state, 'connected');
  // getUserMedia with the call options; the local view shows the camera, muted.
  assert.deepEqual(a.media.requests[0], { audio: true, video: true });
  assert.ok(view.srcObject && view.muted);
  assert.ok(call.remoteStream);
  // The ICE servers of the server reach the peer connection.
  assert.deepEqual(FakePeerConnection.all.at(-1).config.iceServers, [{ urls: ['stun:stun.example.org:3478'] }]);
  // Both sides report media_connected (once each); the server's connected reached both.
  await until(() => server.sent('bob', 'media_connected').length === 1, 'media_connected from the callee');
  await until(() => server.sent('alice', 'media_connected').length === 1, 'media_connected from the caller');
  await tick(20);
  assert.equal(server.sent('alice', 'media_connected').length, 1);
  assert.equal(server.sent('bob', 'media_connected').length, 1);
  assert.deepEqual(la.names().slice(0, 2), ['onEstablished', 'onConnected']);
  assert.deepEqual(lb.names().slice(0, 2), ['onEstablished', 'onConnected']);

  await call.end();
  await until(() => lb.names().includes('onEnded'), 'ended on the callee');
  assert.equal(la.events.filter((e) => e.name === 'onEnded').length, 1);
  assert.equal(la.events.find((e) => e.name === 'onEnded').args[1], 'completed');
  assert.equal(incoming.endResult, 'completed');
  assert.ok(call.isEnded);
  assert.ok(call.localStream.getTracks().every((t) => t.stopped));
  assert.equal(a.client.ongoingCalls.length, 0);
  assert.equal(b.client.ongoingCalls.length, 0);
  const log = await b.client.callLog();
  assert.equal(log.calls[0].callId, call.callId);
  assert.equal(log.calls[0].endResult, 'completed');
});

test('perfect negotiation: the caller offers, the callee answers, candidates trickle', async () => {
  const { server } = await connectedCall();
  const media = (u) => server.sent(u, 'signal').map((m) => m.data.media);
  assert.equal(media('alice')[0], 'offer');
  assert.ok(!media('bob').includes('offer'), 'the callee never offered');
  assert.equal(media('bob')[0], 'answer');
  assert.ok(media('alice').includes('candidate') && media('bob').includes('candidate'));
  // The wire form matches the C++ SDK's: {"media","sdp"} and {"media","candidate"} (+ mid/index).
  const offer = server.sent('alice', 'signal')[0].data;
  assert.deepEqual(Object.keys(offer).sort(), ['media', 'sdp']);
  const cand = server.sent('alice', 'signal').find((m) => m.data.media === 'candidate').data;
  assert.equal(typeof cand.candidate, 'string');
  assert.equal(cand.sdp_mid, '0');
  assert.equal(cand.sdp_mline_index, 0);
});

test('perfect negotiation: glare resolved (impolite caller ignores, polite callee rolls back)', async () => {
  const { server, call, incoming } = await connectedCall();
  const pcs = FakePeerConnection.all.slice(-2);
  const [pcA, pcB] = call.peerConnection === pcs[0] ? pcs : [pcs[1], pcs[0]];
  assert.equal(call.peerConnection, pcA);
  assert.equal(incoming.peerConnection, pcB);
  const before = { a: server.sent('alice', 'signal').length, b: server.sent('bob', 'signal').length };
  call.restartIce();
  incoming.restartIce();
  await until(() => pcB.history.includes('rollback'), 'the polite side rolled back');
  await until(() => pcA.signalingState === 'stable' && pcB.signalingState === 'stable' &&
    pcA.history.filter((h) => h === 'remote:answer').length === 2, 'both stable again');
  const newA = server.sent('alice', 'signal').slice(before.a).map((m) => m.data.media);
  const newB = server.sent('bob', 'signal').slice(before.b).map((m) => m.data.media);
  assert.ok(newA.includes('offer') && newB.includes('offer'), 'both offered at once');
  assert.ok(newB.includes('answer'), 'the polite callee answered the caller\'s offer');
  assert.ok(!pcA.history.includes('rollback'), 'the impolite caller never rolled back');
  assert.equal(pcA.history.filter((h) => h === 'remote:offer').length, 0, 'the caller ignored the colliding offer');
});

test('accept with the offer arriving before the accept ack; candidates before the description wait', async () => {
  const { call, incoming } = await connectedCall();
  const pcB = incoming.peerConnection;
  assert.ok(pcB.history.indexOf('remote:offer') < pcB.history.indexOf('candidate'));
  assert.equal(call.state, 'connected');
});

test('decline: declined for both; cancel: canceled', async () => {
  const { a, b } = await pair();
  const rings = [];
  b.client.addListener({ onRinging: (c) => rings.push(c) });
  const la = recorder();
  const c1 = await a.client.dial({ userId: 'bob', isVideoCall: false, listener: la });
  const r1 = await until(() => rings[0]);
  const lb = recorder();
  r1.setListener(lb);
  await new Promise((resolve, reject) => r1.decline((err) => (err ? reject(err) : resolve())));
  await until(() => la.names().includes('onEnded'));
  assert.equal(c1.endResult, 'declined');
  assert.equal(lb.events.find((e) => e.name === 'onEnded').args[1], 'declined');
  assert.deepEqual(a.media.requests[0], { audio: true, video: false });

  const c2 = await a.client.dial({ userId: 'bob' });
  const r2 = await until(() => rings[1]);
  await c2.end();
  await until(() => r2.isEnded);
  assert.equal(c2.endResult, 'canceled');
  assert.equal(r2.endResult, 'canceled');
  await assert.rejects(r2.accept(), (e) => e.code === 'invalid_call_state');
});

test('a call ringing at connect time rings once, from the welcome', async () => {
  const server = new FakeServer();
  const a = await makeClient(server, 'alice');
  const b = await makeClient(server, 'bob', { connect: false });
  await a.client.dial({ userId: 'bob' });
  const rings = [];
  b.client.addListener({ onRinging: (c) => rings.push(c) });
  await b.client.connectWebSocket();
  await until(() => rings.length === 1);
  b.client.disconnectWebSocket();
  await b.client.connectWebSocket();
  await tick(20);
  assert.equal(rings.length, 1);
});

test('mute and video: media_state is sent, the peer hears the settings', async () => {
  const { server, call, incoming, lb } = await connectedCall();
  call.muteMicrophone();
  await until(() => lb.names().includes('onRemoteAudioSettingsChanged'));
  assert.deepEqual(server.sent('alice', 'media_state').map(({ audio, video }) => ({ audio, video })), [{ audio: false, video: true }]);
  assert.equal(incoming.isRemoteAudioEnabled, false);
  assert.equal(call.isLocalAudioEnabled, false);
  assert.ok(call.localStream.getAudioTracks().every((t) => t.enabled === false));
  call.stopVideo();
  await until(() => lb.names().includes('onRemoteVideoSettingsChanged'));
  assert.equal(incoming.isRemoteVideoEnabled, false);
  assert.ok(call.localStream.getVideoTracks().every((t) => t.enabled === false));
  call.unmuteMicrophone();
  call.startVideo();
  await until(() => server.sent('alice', 'media_state').length === 4);
  assert.deepEqual(server.sent('alice', 'media_state').at(-1).audio, true);
  assert.deepEqual(server.sent('alice', 'media_state').at(-1).video, true);
  await until(() => incoming.isRemoteAudioEnabled && incoming.isRemoteVideoEnabled);
});

test('starting muted sends media_state once established', async () => {
  const { server } = await connectedCall({ audioEnabled: false });
  assert.deepEqual(server.sent('alice', 'media_state').map(({ audio, video }) => ({ audio, video })), [{ audio: false, video: true }]);
});

test('app signals go to onSignal; sendSignal reports delivery', async () => {
  const { call, lb } = await connectedCall();
  assert.equal(await call.sendSignal({ hello: 'there' }), true);
  await until(() => lb.names().includes('onSignal'));
  assert.deepEqual(lb.events.find((e) => e.name === 'onSignal').args[1], { hello: 'there' });
});

test('ICE restart: on failed, after disconnected, and on the window\'s online event', async () => {
  const { server, a, call } = await connectedCall({}, );
  const offers = () => server.sent('alice', 'signal').filter((m) => m.data.media === 'offer').length;
  const pc = call.peerConnection;
  const n0 = offers();
  a.eventTarget.dispatchEvent(new Event('online'));
  await until(() => offers() === n0 + 1, 'an offer after online');
  await until(() => pc.signalingState === 'stable' && pc.history.at(-1) === 'candidate', 'the restart done');
  await tick(10);
  pc.setIceState('failed');
  await until(() => offers() === n0 + 2, 'an offer after failed ' + pc.history.join(',') + ' ' + pc.iceConnectionState + ' ' + pc.signalingState);
  assert.ok(pc.history.filter((h) => h === 'restartIce').length >= 2);
});

test('ICE disconnected for longer than the delay restarts; a quick recovery does not', async () => {
  const server = new FakeServer();
  const a = await makeClient(server, 'alice', { iceRestartDelayMs: 30 });
  const b = await makeClient(server, 'bob');
  const rings = [];
  b.client.addListener({ onRinging: (c) => rings.push(c) });
  const call = await a.client.dial({ userId: 'bob' });
  await (await until(() => rings[0])).accept();
  await until(() => call.state === 'connected');
  const pc = call.peerConnection;
  const restarts = () => pc.history.filter((h) => h === 'restartIce').length;
  pc.setIceState('disconnected');
  await tick(5);
  pc.setIceState('connected');
  await tick(60);
  assert.equal(restarts(), 0);
  pc.setIceState('disconnected');
  await until(() => restarts() === 1, 'a restart after the delay');
});

test('peer reconnecting/reconnected and the server\'s ended reach the call listener', async () => {
  const { server, la, call } = await connectedCall();
  const conn = server.conns.find((c) => c.userId === 'alice');
  server.send(conn, { type: 'peer_reconnecting', call_id: call.callId });
  server.send(conn, { type: 'peer_reconnected', call_id: call.callId });
  const c = server.calls.get(call.callId);
  server.endCall(c, 'connection_lost', null);
  await until(() => la.names().includes('onEnded'));
  assert.deepEqual(la.names().filter((n) => n.startsWith('onRe')), ['onReconnecting', 'onReconnected']);
  assert.equal(call.endResult, 'connection_lost');
});
