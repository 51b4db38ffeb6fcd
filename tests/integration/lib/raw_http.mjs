// Raw HTTP over node:net: the request line goes out byte for byte as written (no client library
// normalizes "//" or "%2f" away), for tests about what the server does with odd targets.

import net from 'node:net';

/**
 * Sends `text` (a whole request, or anything) to 127.0.0.1:port and resolves
 * {status, headers, body, raw, closed} once the server has answered one response or closed.
 * opts.localAddress binds the client socket (127.0.0.x) first.
 */
export function rawRequest(port, text, { localAddress, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port, localAddress });
    let raw = Buffer.alloc(0);
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...parseResponse(raw.toString('latin1')), raw: raw.toString('latin1'), closed });
    };
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      sock.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(text.slice(0, 80))}`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(text, 'latin1'));
    sock.on('data', (d) => {
      raw = Buffer.concat([raw, d]);
      if (complete(raw.toString('latin1'))) finish(false);
    });
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', (e) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') finish(true);
      else if (!done) {
        done = true;
        clearTimeout(timer);
        reject(e);
      }
    });
  });
}

/** A GET of `target` (sent verbatim). */
export function rawGet(port, target, opts = {}) {
  return rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, opts);
}

function complete(text) {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end + 2));
  if (!m) return false;
  return Buffer.byteLength(text.slice(end + 4), 'latin1') >= Number(m[1]);
}

function parseResponse(text) {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { status: null, headers: {}, body: '' };
  const lines = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] ?? NaN);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, body: text.slice(end + 4) };
}
