// Checks every HTTP response the helpers receive against docs/openapi.yaml: the path, method and
// status must be documented, a documented JSON body must validate against its schema, and a
// response documented without a body must have none.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssertionError } from 'node:assert';
import YAML from 'yaml';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const OPENAPI_PATH = path.join(REPO_ROOT, 'docs/openapi.yaml');

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

function escapePointer(s) {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

export class OpenApiValidator {
  constructor(file = OPENAPI_PATH) {
    this.doc = YAML.parse(readFileSync(file, 'utf8'));
    this.ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addSchema(this.doc, 'oas');
    this.cache = new Map();
    this.templates = Object.keys(this.doc.paths ?? {}).map((t) => ({
      template: t,
      segments: t.split('/').slice(1),
    }));
  }

  /** Finds the documented path template for a concrete (still percent-encoded) path. */
  matchPath(urlPath) {
    const segs = urlPath.split('/').slice(1);
    let best = null;
    let bestLiterals = -1;
    for (const t of this.templates) {
      if (t.segments.length !== segs.length) continue;
      let literals = 0;
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const ts = t.segments[i];
        if (/^\{[^}]+\}$/.test(ts)) {
          if (segs[i] === '') {
            ok = false;
            break;
          }
        } else if (ts === segs[i]) {
          literals++;
        } else {
          ok = false;
          break;
        }
      }
      if (ok && literals > bestLiterals) {
        best = t.template;
        bestLiterals = literals;
      }
    }
    return best;
  }

  /** Follows a local $ref; returns [object, pointer]. */
  deref(obj, pointer) {
    let guard = 0;
    while (obj && typeof obj === 'object' && typeof obj.$ref === 'string' && guard++ < 10) {
      if (!obj.$ref.startsWith('#/')) throw new Error(`only local $ref supported: ${obj.$ref}`);
      pointer = obj.$ref.slice(1);
      obj = pointer
        .split('/')
        .slice(1)
        .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
        .reduce((o, k) => (o == null ? undefined : o[k]), this.doc);
    }
    return [obj, pointer];
  }

  compile(pointer) {
    let v = this.cache.get(pointer);
    if (!v) {
      v = this.ajv.getSchema(`oas#${pointer}`);
      if (!v) throw new Error(`cannot compile schema at ${pointer}`);
      this.cache.set(pointer, v);
    }
    return v;
  }

  /** Validates a value against components/schemas/NAME; throws AssertionError when invalid. */
  assertSchema(name, value, what = name) {
    const v = this.compile(`/components/schemas/${escapePointer(name)}`);
    if (!v(value)) {
      throw new AssertionError({
        message: `${what} does not match schema ${name}: ${this.ajv.errorsText(v.errors)}\nvalue: ${JSON.stringify(value)?.slice(0, 2000)}`,
      });
    }
  }

  /**
   * @param {string} method  HTTP method
   * @param {string} urlPath path without query, as sent (percent-encoded)
   * @param {number} status
   * @param {string|null} contentType
   * @param {string} text    raw body
   * @param {Headers|object} headers
   */
  check(method, urlPath, status, contentType, text, headers) {
    const fail = (msg) => {
      throw new AssertionError({
        message: `OpenAPI: ${method.toUpperCase()} ${urlPath} → ${status}: ${msg}\nbody: ${String(text).slice(0, 2000)}`,
      });
    };
    const template = this.matchPath(urlPath);
    if (!template) fail('path is not documented in docs/openapi.yaml');
    const m = method.toLowerCase();
    if (!METHODS.includes(m) || !this.doc.paths[template][m]) fail(`method is not documented for ${template}`);
    const opPointer = `/paths/${escapePointer(template)}/${m}`;
    const responses = this.doc.paths[template][m].responses ?? {};
    let key = String(status);
    if (!(key in responses)) {
      const range = `${String(status)[0]}XX`;
      if (range in responses) key = range;
      else fail(`status ${status} is not documented for ${m.toUpperCase()} ${template}`);
    }
    const [resp, respPointer] = this.deref(responses[key], `${opPointer}/responses/${key}`);
    const content = resp?.content;
    if (!content || Object.keys(content).length === 0) {
      if (text && text.length > 0) fail('documented without a body, but the response has one');
      return;
    }
    // Documented headers that are required must be present.
    for (const [h, hdef] of Object.entries(resp.headers ?? {})) {
      const [hd] = this.deref(hdef, '');
      const val = typeof headers?.get === 'function' ? headers.get(h) : headers?.[h.toLowerCase()];
      if (hd?.required && (val === null || val === undefined)) fail(`required header ${h} is missing`);
    }
    const ct = (contentType ?? '').split(';')[0].trim().toLowerCase();
    if (!(ct in content)) fail(`content type '${contentType}' is not documented (have ${Object.keys(content).join(', ')})`);
    if (ct !== 'application/json') return;
    let body;
    try {
      body = JSON.parse(text);
    } catch (e) {
      fail(`body is not valid JSON: ${e.message}`);
    }
    const media = content[ct];
    if (!media.schema) return;
    const [, schemaPointer] = this.deref(media.schema, `${respPointer}/content/${escapePointer(ct)}/schema`);
    const validate = this.compile(schemaPointer);
    if (!validate(body)) fail(`body does not match the schema: ${this.ajv.errorsText(validate.errors)}`);
  }
}

let shared = null;
export function validator() {
  if (!shared) shared = new OpenApiValidator();
  return shared;
}
