// Live task updates: a WebSocket that authenticates with its first message
// (no secret in the URL), answers the server's pushes, pings every 20 s and
// reconnects with exponential back-off. While the socket is down the task is
// polled every 2 s, so the page never goes stale.

const PING_MS = 20000;
const POLL_MS = 2000;
const MAX_BACKOFF_MS = 30000;
// A socket that has not delivered the task by then is given up on (a proxy
// may hold the upgrade open forever); polling covers the gap.
const CONNECT_TIMEOUT_MS = 5000;

/**
 * LiveTask follows one task. Callbacks: onTask(task), onState(state, detail),
 * onFatal(code, reason) for 4401/4404 closes, and optionally onLive(msg):
 * with it the socket opts in to the live output ({"type":"live"} messages:
 * what the model is writing) after authenticating.
 */
export class LiveTask {
  constructor({ id, session, api, onTask, onState, onFatal, onLive, WebSocketImpl }) {
    Object.assign(this, { id, session, api, onTask, onState, onFatal, onLive });
    this.WS = WebSocketImpl || window.WebSocket;
    this.ws = null;
    this.attempts = 0;
    this.stopped = false;
    this.timers = { ping: 0, retry: 0, poll: 0, connect: 0 };
    this.lastVersion = -1;
    this.renewed = false;
  }

  start() {
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.retry);
    clearTimeout(this.timers.poll);
    clearTimeout(this.timers.connect);
    if (this.ws) {
      this.ws.onclose = null;
      try {
        this.ws.close(1000, 'page closed');
      } catch {
        // already closed
      }
    }
  }

  deliver(task) {
    if (!task || typeof task !== 'object' || this.stopped) return;
    if (typeof task.version === 'number' && task.version === this.lastVersion) return;
    if (typeof task.version === 'number') this.lastVersion = task.version;
    this.onTask(task);
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/ws/${encodeURIComponent(this.id)}`;
  }

  connect() {
    if (this.stopped) return;
    this.onState(this.attempts ? 'reconnecting' : 'connecting', this.attempts ? `attempt ${this.attempts + 1}` : '');
    let ws;
    try {
      ws = new this.WS(this.url());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    let heard = false;
    clearTimeout(this.timers.connect);
    this.timers.connect = setTimeout(() => {
      if (heard || this.stopped || this.ws !== ws) return;
      ws.onclose = null;
      try {
        ws.close();
      } catch {
        // not open yet
      }
      this.attempts += 1;
      this.scheduleRetry();
    }, CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      ws.send(JSON.stringify(this.session.wsAuth()));
      if (this.onLive) ws.send(JSON.stringify({ type: 'subscribe', live: true }));
    };
    ws.onmessage = (ev) => {
      if (ev.data === 'pong') return;
      heard = true;
      clearTimeout(this.timers.connect);
      this.renewed = false;
      let task;
      try {
        task = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (task && task.type === 'live') {
        if (this.onLive && !this.stopped) this.onLive(task);
        return;
      }
      if (this.attempts || !this.timers.ping) {
        this.attempts = 0;
        this.stopPolling();
        this.onState('live');
        clearInterval(this.timers.ping);
        this.timers.ping = setInterval(() => {
          if (ws.readyState === 1) ws.send('ping');
        }, PING_MS);
      }
      this.deliver(task);
    };
    ws.onclose = (ev) => {
      clearTimeout(this.timers.connect);
      clearInterval(this.timers.ping);
      this.timers.ping = 0;
      if (this.stopped) return;
      if (ev.code === 4401 && this.session.token && !this.renewed) {
        // An expired access token: renew it once, then reconnect.
        this.renewed = true;
        this.session.refresh().then((ok) => {
          if (ok) this.scheduleRetry();
          else this.onFatal(ev.code, ev.reason);
        });
        return;
      }
      if (ev.code === 4401 || ev.code === 4403 || ev.code === 4404) {
        this.onFatal(ev.code, ev.reason);
        this.stopped = true;
        return;
      }
      // A socket that never delivered counts as a failed attempt (longer
      // back-off); one that worked and dropped retries quickly.
      this.attempts = heard ? 1 : this.attempts + 1;
      this.scheduleRetry();
    };
    ws.onerror = () => {
      // onclose follows and decides.
    };
  }

  backoff() {
    const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.max(0, this.attempts - 1));
    return base / 2 + Math.random() * (base / 2);
  }

  scheduleRetry() {
    const wait = this.backoff();
    this.startPolling();
    this.onState('polling', `socket retry in ${Math.ceil(wait / 1000)} s`);
    clearTimeout(this.timers.retry);
    this.timers.retry = setTimeout(() => this.connect(), wait);
  }

  startPolling() {
    if (this.timers.poll || this.stopped) return;
    const tick = async () => {
      if (this.stopped) return;
      try {
        this.deliver(await this.api.get(`/api/tasks/${encodeURIComponent(this.id)}`));
      } catch (err) {
        if (err && (err.status === 401 || err.status === 404)) {
          this.onFatal(err.status === 404 ? 4404 : 4401, err.message);
          this.stop();
          return;
        }
        this.onState('offline', 'server not reachable');
      }
      if (this.timers.poll && !this.stopped) this.timers.poll = setTimeout(tick, POLL_MS);
    };
    this.timers.poll = setTimeout(tick, 0);
  }

  stopPolling() {
    clearTimeout(this.timers.poll);
    this.timers.poll = 0;
  }

  /** refresh fetches the task once now (after a control action). */
  async refresh() {
    try {
      this.deliver(await this.api.get(`/api/tasks/${encodeURIComponent(this.id)}`));
    } catch {
      // the socket or the poller will catch up
    }
  }
}
