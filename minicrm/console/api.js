// The console's only way to the edge: the JSON API with the session token, and the SSE stream read
// with fetch (EventSource sends no Authorization header).

const KEY = 'minicrm.session';

export class ApiError extends Error {
  constructor(status, body) {
    super(`${status} ${body?.error ?? ''}`.trim());
    this.status = status;
    this.body = body;
  }
}

export const session = {
  get() { try { return JSON.parse(sessionStorage.getItem(KEY)); } catch { return null; } },
  set(value) { sessionStorage.setItem(KEY, JSON.stringify(value)); },
  clear() { sessionStorage.removeItem(KEY); },
};

const listeners = new Set();
/** Called with no argument when the edge says the session is over (401). */
export function onSignedOut(listener) { listeners.add(listener); }

function headers(extra = {}) {
  const token = session.get()?.token;
  return { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...extra };
}

/** `{data, headers}` of a JSON call; ApiError for any 4xx or 5xx, with the edge's `{error, detail}`. */
export async function api(method, path, body, params) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  const init = { method, headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(url, init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (!response.ok) {
    if (response.status === 401 && session.get()) { session.clear(); listeners.forEach((l) => l()); }
    throw new ApiError(response.status, data);
  }
  return { data, headers: response.headers };
}

/**
 * Reads a Server-Sent Events stream: `onEvent(type, data)` for each event; reconnects with
 * Last-Event-ID while the stream ends before its `final` event. Stops when `signal` aborts.
 */
export async function stream(path, onEvent, signal) {
  let lastId = '';
  for (let attempt = 0; !signal.aborted && attempt < 20; attempt++) {
    let final = false;
    try {
      const response = await fetch(path, {
        headers: headers({ Accept: 'text/event-stream', ...(lastId ? { 'Last-Event-ID': lastId } : {}) }),
        signal,
      });
      if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = { type: 'message', data: '' };
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':');
            const name = line.slice(0, colon), text = line.slice(colon + 1).trimStart();
            if (name === 'event') event.type = text;
            else if (name === 'data') event.data += text;
            else if (name === 'id') lastId = text;
          }
          final ||= event.type === 'final';
          onEvent(event.type, JSON.parse(event.data));
        }
      }
      if (final) return;
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status < 500) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
