// docs/openapi.yaml is well formed: every operation documented, every reference resolves, every
// JSON schema compiles. (Responses are checked against it by the helpers in every other file.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenApiValidator } from './lib/openapi.mjs';

const v = new OpenApiValidator();
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

test('openapi.yaml is OpenAPI 3.0 with info and paths', () => {
  assert.match(v.doc.openapi, /^3\.0\.\d+$/);
  assert.ok(v.doc.info?.title && v.doc.info?.version);
  assert.ok(Object.keys(v.doc.paths).length >= 15);
});

test('every operation has an operationId, responses, and compiling JSON schemas', () => {
  const ids = new Set();
  for (const [p, item] of Object.entries(v.doc.paths)) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      assert.ok(op.operationId, `${m} ${p} has an operationId`);
      assert.ok(!ids.has(op.operationId), `operationId ${op.operationId} is unique`);
      ids.add(op.operationId);
      assert.ok(Object.keys(op.responses ?? {}).length > 0, `${m} ${p} has responses`);
      for (const [status, r] of Object.entries(op.responses)) {
        const [resp, ptr] = v.deref(r, `/paths/${p.replace(/~/g, '~0').replace(/\//g, '~1')}/${m}/responses/${status}`);
        assert.ok(resp, `${m} ${p} ${status} resolves`);
        const media = resp.content?.['application/json'];
        if (media?.schema) {
          const [, sp] = v.deref(media.schema, `${ptr}/content/application~1json/schema`);
          assert.equal(typeof v.compile(sp), 'function');
        }
      }
      // Path parameters are declared.
      const declared = new Set([...(item.parameters ?? []), ...(op.parameters ?? [])].map((x) => v.deref(x, '')[0].name));
      for (const [, name] of p.matchAll(/\{([^}]+)\}/g)) assert.ok(declared.has(name), `${p} declares {${name}}`);
    }
  }
});

test('the issue 2 endpoints are all documented', () => {
  const expect = [
    ['get', '/healthz'],
    ['get', '/metrics'],
    ['get', '/admin/v1/apps'],
    ['post', '/admin/v1/apps'],
    ['post', '/admin/v1/apps/{app_id}/rotate_token'],
    ['delete', '/admin/v1/apps/{app_id}'],
    ['post', '/v1/apps/{app_id}/users'],
    ['get', '/v1/apps/{app_id}/users'],
    ['get', '/v1/apps/{app_id}/users/{user_id}'],
    ['patch', '/v1/apps/{app_id}/users/{user_id}'],
    ['delete', '/v1/apps/{app_id}/users/{user_id}'],
    ['post', '/v1/apps/{app_id}/users/{user_id}/access_token'],
    ['delete', '/v1/apps/{app_id}/users/{user_id}/access_token'],
    ['post', '/v1/apps/{app_id}/users/{user_id}/session_tokens'],
    ['delete', '/v1/apps/{app_id}/users/{user_id}/session_tokens'],
    ['get', '/v1/apps/{app_id}/users/{user_id}/push_tokens'],
    ['delete', '/v1/apps/{app_id}/users/{user_id}/push_tokens/{type}'],
    ['delete', '/v1/apps/{app_id}/users/{user_id}/push_tokens/{type}/{token}'],
    ['get', '/v1/apps/{app_id}/settings'],
    ['patch', '/v1/apps/{app_id}/settings'],
    ['post', '/v1/apps/{app_id}/auth'],
    ['get', '/v1/me'],
    ['delete', '/v1/session'],
    ['put', '/v1/me/push_tokens/{type}/{token}'],
    ['delete', '/v1/me/push_tokens/{type}/{token}'],
    ['delete', '/v1/me/push_tokens/{type}'],
  ];
  for (const [m, p] of expect) assert.ok(v.doc.paths[p]?.[m], `${m.toUpperCase()} ${p} is documented`);
});

test('the issue 3 endpoints (call log, call, usage) are documented with a Call schema', () => {
  const expect = [
    ['get', '/v1/apps/{app_id}/direct_calls'],
    ['get', '/v1/apps/{app_id}/direct_calls/{call_id}'],
    ['get', '/v1/apps/{app_id}/usage'],
    ['get', '/v1/me/direct_calls'],
  ];
  for (const [m, p] of expect) assert.ok(v.doc.paths[p]?.[m], `${m.toUpperCase()} ${p} is documented`);
  for (const s of ['Call', 'CallPage', 'CallEnvelope', 'Usage', 'UsageDay']) assert.ok(v.doc.components.schemas[s], `schema ${s}`);
  // The Call schema refuses what the contract forbids.
  const call = {
    call_id: '5932068a-b6f5-43b4-bb1d-c00be3d3c775', caller_id: 'a', callee_id: 'b', is_video: false,
    state: 'ringing', created_at: 1, accepted_at: null, connected_at: null, ended_at: null,
    end_result: null, ended_by: null, duration_ms: 0, custom_items: {},
  };
  v.assertSchema('Call', call);
  assert.throws(() => v.assertSchema('Call', { ...call, state: 'dialing' }), /schema Call/);
  assert.throws(() => v.assertSchema('Call', { ...call, end_result: 'hung_up' }), /schema Call/);
  assert.throws(() => v.assertSchema('Call', { ...call, created_at: null }), /schema Call/);
  const noDuration = { ...call };
  delete noDuration.duration_ms;
  assert.throws(() => v.assertSchema('Call', noDuration), /schema Call/);
});

test('the validator refuses undocumented paths, statuses and bad bodies', () => {
  assert.throws(() => v.check('GET', '/v1/nope', 200, 'application/json', '{}', {}), /not documented/);
  assert.throws(() => v.check('GET', '/healthz', 418, 'application/json', '{}', {}), /not documented/);
  assert.throws(() => v.check('GET', '/healthz', 200, 'application/json', '{"status":"bad"}', {}), /schema/);
  assert.throws(() => v.check('DELETE', '/v1/session', 204, null, 'unexpected', {}), /without a body/);
  v.check('GET', '/healthz', 200, 'application/json; charset=utf-8', '{"status":"ok"}', {});
});
