// Who the browser is signed in as. The API key lives in sessionStorage (this
// tab only, gone when it closes; never localStorage). An access token from
// email/password sign-in lives only in memory; the HttpOnly refresh cookie
// (path /auth) renews it silently, so a reload stays signed in without the
// page ever seeing a long-lived secret.

const KEY_STORAGE = 'aiPlatformApiKey';

// When another tab refreshed with the same cookie a moment earlier, the
// server answers 401 refresh_token_rotated (without revoking anything) and
// that tab's answer sets the new cookie. Wait this long for it to land in
// the cookie jar, then retry once.
const ROTATED_RETRY_MS = 300;

function rotatedElsewhere(r) {
  return r.status === 401 && Boolean(r.body && r.body.detail && r.body.detail.error === 'refresh_token_rotated');
}

/** Session holds the credentials and tells listeners when they change. */
export class Session {
  constructor(config) {
    this.config = config;
    this.token = '';
    this.user = null;
    this.timer = 0;
    this.inflight = null;
    this.listeners = new Set();
  }

  /** authEnabled: the server offers email/password accounts. */
  get authEnabled() {
    return this.config.auth_mode === 'auth' || this.config.auth_mode === 'hybrid';
  }

  /** keysEnabled: the server accepts API keys. */
  get keysEnabled() {
    return this.config.auth_mode !== 'auth';
  }

  get apiKey() {
    try {
      return sessionStorage.getItem(KEY_STORAGE) || '';
    } catch {
      return '';
    }
  }

  get signedIn() {
    return Boolean(this.token || (this.keysEnabled && this.apiKey));
  }

  /** label describes the identity for the header. */
  get label() {
    if (this.token && this.user) return this.user.email;
    const k = this.apiKey;
    return k ? `API key …${k.slice(-4)}` : '';
  }

  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit() {
    for (const fn of this.listeners) fn(this);
  }

  /** headers are the credentials for an API request. */
  headers() {
    if (this.token) return { Authorization: `Bearer ${this.token}` };
    if (this.keysEnabled && this.apiKey) return { 'X-API-Key': this.apiKey };
    return {};
  }

  /** wsAuth is the first WebSocket message (credentials never go in the URL). */
  wsAuth() {
    if (this.token) return { type: 'auth', access_token: this.token };
    return { type: 'auth', api_key: this.apiKey };
  }

  useApiKey(key) {
    this.dropToken();
    sessionStorage.setItem(KEY_STORAGE, key);
    this.emit();
  }

  forgetApiKey() {
    sessionStorage.removeItem(KEY_STORAGE);
  }

  dropToken() {
    this.token = '';
    this.user = null;
    clearTimeout(this.timer);
  }

  accept(resp) {
    this.token = resp.access_token;
    this.user = resp.user || null;
    this.forgetApiKey();
    clearTimeout(this.timer);
    // Renew a minute before expiry (at least 10 s from now).
    const ms = Math.max(10, (Number(resp.expires_in) || 900) - 60) * 1000;
    this.timer = setTimeout(() => this.refresh().catch(() => {}), ms);
    this.emit();
  }

  /** authPost calls an /auth endpoint and returns {ok, status, body}. */
  async authPost(path, body) {
    const resp = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    let data = null;
    try {
      data = await resp.json();
    } catch {
      data = null;
    }
    return { ok: resp.ok, status: resp.status, body: data, headers: resp.headers };
  }

  /** login signs in (or registers) with email and password. */
  async login(email, password, register = false) {
    const r = await this.authPost(register ? '/auth/register' : '/auth/login', { email, password });
    if (r.ok) this.accept(r.body);
    return r;
  }

  /** refresh renews the access token from the refresh cookie (one at a time). */
  refresh() {
    if (!this.authEnabled) return Promise.resolve(false);
    if (!this.inflight) {
      this.inflight = this.authPost('/auth/refresh')
        .then(async (r) => {
          if (rotatedElsewhere(r)) {
            await new Promise((done) => setTimeout(done, ROTATED_RETRY_MS));
            r = await this.authPost('/auth/refresh');
          }
          if (r.ok && r.body && r.body.access_token) {
            this.accept(r.body);
            return true;
          }
          if (this.token) {
            this.dropToken();
            this.emit();
          }
          return false;
        })
        .catch(() => false)
        .finally(() => {
          this.inflight = null;
        });
    }
    return this.inflight;
  }

  /** signOut forgets every credential and revokes the refresh session. */
  async signOut() {
    const hadToken = Boolean(this.token) || this.authEnabled;
    this.dropToken();
    this.forgetApiKey();
    if (hadToken) {
      try {
        await this.authPost('/auth/logout');
      } catch {
        // Offline: the cookie expires on its own.
      }
    }
    this.emit();
  }
}
