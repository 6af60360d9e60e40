// The HTTP client: adds credentials, turns error answers into ApiError with
// a message a person can act on, renews an expired access token once.

/** ApiError is a non-2xx answer (status 0: the server was not reached). */
export class ApiError extends Error {
  constructor(status, detail, headers) {
    super(detailText(detail) || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    const d = detail && typeof detail === 'object' ? detail : {};
    this.code = d.error || '';
    this.problems = d.problems || null;
    this.missing = Array.isArray(d.missing) ? d.missing : null;
    const header = headers ? Number(headers.get('Retry-After')) : NaN;
    this.retryAfter = Number.isFinite(header) && header > 0 ? header : Number(d.retry_after) || 0;
  }
}

function detailText(detail) {
  if (detail === null || detail === undefined) return '';
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) return detail.map((d) => (d && d.msg) || JSON.stringify(d)).join('; ');
  if (detail.message) return String(detail.message);
  if (detail.error) return String(detail.error).replace(/_/g, ' ');
  return JSON.stringify(detail);
}

/** describe turns any error into one sentence for the page. */
export function describe(err) {
  if (!(err instanceof ApiError) || err.status === 0) {
    return 'Unable to reach the server. Check your connection and try again.';
  }
  const text = err.message;
  switch (err.status) {
    case 401:
      return `Not authorised: ${text}. Sign in again with a valid key or account.`;
    case 403:
      return `Not allowed: ${text}.`;
    case 404:
      return `Not found: ${text}.`;
    case 409:
      return text;
    case 413:
      return `Too large: ${text}.`;
    case 422:
      return `The request was not accepted: ${text}.`;
    case 429:
      return err.retryAfter
        ? `Too many requests. Try again in ${err.retryAfter} s.`
        : 'Too many requests. Try again in a minute.';
    case 500:
      return `The server failed: ${text}.`;
    case 502:
    case 503:
    case 504:
      return `The service is temporarily unavailable: ${text}. Try again shortly.`;
    default:
      return text;
  }
}

/** Api issues authenticated requests for one Session. */
export class Api {
  constructor(session, onUnauthorized) {
    this.session = session;
    this.onUnauthorized = onUnauthorized || (() => {});
  }

  async send(method, path, { body, query, headers, raw } = {}) {
    let url = path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
      const s = q.toString();
      if (s) url += `?${s}`;
    }
    const attempt = () => {
      const h = { Accept: 'application/json', ...this.session.headers(), ...(headers || {}) };
      if (body !== undefined) h['Content-Type'] = 'application/json';
      return fetch(url, {
        method,
        headers: h,
        credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    };
    let resp;
    try {
      resp = await attempt();
      if (resp.status === 401 && this.session.token && (await this.session.refresh())) resp = await attempt();
    } catch (e) {
      throw new ApiError(0, e && e.message);
    }
    if (!resp.ok) {
      let detail = null;
      try {
        const data = await resp.json();
        detail = data && 'detail' in data ? data.detail : data;
      } catch {
        detail = resp.statusText;
      }
      const err = new ApiError(resp.status, detail, resp.headers);
      if (resp.status === 401) this.onUnauthorized(err);
      throw err;
    }
    if (raw) return resp;
    if (resp.status === 204) return null;
    return resp.json();
  }

  get(path, query) {
    return this.send('GET', path, { query });
  }

  post(path, body, headers) {
    return this.send('POST', path, { body, headers });
  }

  /** download fetches a file with the credentials and saves it via a blob URL. */
  async download(path, fallbackName) {
    const resp = await this.send('GET', path, { raw: true, headers: { Accept: 'application/zip' } });
    const blob = await resp.blob();
    const cd = resp.headers.get('Content-Disposition') || '';
    const m = /filename="?([^";]+)"?/i.exec(cd);
    const name = (m && m[1]) || fallbackName;
    const href = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = href;
    a.download = name;
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(href), 60000);
    return { name, size: blob.size };
  }
}

/** taskPath builds /api/tasks/{id}/... with each path segment encoded. */
export function taskPath(id, ...rest) {
  const segs = [encodeURIComponent(id), ...rest];
  return `/api/tasks/${segs.join('/')}`;
}

/** filePath encodes a stored file path segment by segment. */
export function filePath(p) {
  return String(p).split('/').map(encodeURIComponent).join('/');
}
