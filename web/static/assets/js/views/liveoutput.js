// The "Live output" panel of the task page: what the model is writing while
// a stage runs, from the WebSocket's {"type":"live"} messages. For the
// coder it shows the file being written and its content as it grows
// (decoded by the server from the model's JSON); for the other stages the
// reply as readable text. Everything reaches the page as text nodes.
// A new stream (the next stage, or a restarted attempt) resets the panel;
// a jump in a stream's sequence numbers is marked as missing output.

import { h, replace } from '../dom.js';
import { stageLabel, terminal } from '../format.js';

// Keep the tail of long content: the panel is a view, not a copy.
const KEEP_CHARS = 40000;

/** liveOutputPanel returns {el, update(msg), task(t)}. */
export function liveOutputPanel() {
  const title = h('h2', { id: 'live-title' }, 'Live output');
  const stage = h('span', { class: 'live-stage' });
  const model = h('span', { class: 'live-model muted' });
  const rate = h('span', { class: 'live-rate' });
  const note = h('p', { class: 'live-note muted' });
  const file = h('p', { class: 'live-file' });
  const files = h('ul', { class: 'live-files', 'aria-label': 'Files written so far' });
  const summary = h('p', { class: 'live-summary' });
  const pre = h('pre', { class: 'output live-text', tabindex: '0', 'aria-label': 'Text being written' });
  const el = h(
    'section',
    { class: 'card live-output', 'aria-labelledby': 'live-title', 'data-testid': 'live-output' },
    title,
    h('p', { class: 'live-meta' }, stage, ' ', model, ' ', rate),
    note,
    file,
    files,
    pre,
    summary,
  );
  el.hidden = true;

  let stream = '';
  let seq = 0;
  let gap = false;
  let current = ''; // the file being written ('' for the stage's text)
  let written = []; // files of this request, in order
  let after = ''; // the coder's text after its files (its summary)
  const content = new Map(); // file -> text ('' is the stage's text)
  let ended = false;
  // spoke is set once the stream's model call began: a stage that ended
  // before calling the model (stopped by its budget, say) shows nothing.
  let spoke = false;

  function reset() {
    current = '';
    written = [];
    after = '';
    content.clear();
    gap = false;
    replace(files);
  }

  function render(m) {
    stage.textContent = `${stageLabel(m.stage)}${m.role ? ` (${m.role})` : ''}`;
    model.textContent = m.model ? `· ${m.model}` : '';
    rate.textContent = `· ${Number(m.tokens) || 0} tokens · ${(Number(m.tokens_per_second) || 0).toFixed(1)} tokens/s`;
    const notes = [];
    if (m.attempt > 1) notes.push(`Attempt ${m.attempt}: the stage restarted, so earlier partial output was discarded.`);
    if (gap) notes.push('Some live output was not received; the stored files are complete.');
    if (ended) notes.push('The stage finished writing.');
    note.textContent = notes.join(' ');
    if (current) {
      replace(file, ended ? 'Last file written: ' : 'Writing ', h('code', {}, current));
    } else {
      replace(file);
    }
    const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
    pre.textContent = content.get(current) || '';
    if (atBottom) pre.scrollTop = pre.scrollHeight;
    summary.textContent = after.trim();
  }

  return {
    el,
    /** update takes one live message. */
    update(m) {
      if (!m || m.type !== 'live') return;
      if (m.stream !== stream || m.event === 'start' || m.event === 'restart') {
        stream = m.stream;
        ended = false;
        spoke = false;
        reset();
      } else if (m.seq !== seq + 1) {
        gap = true;
      }
      seq = m.seq;
      // A request that continues a reply cut off at the token limit
      // goes on where the last one stopped.
      if (m.event === 'request' && !m.continued) reset();
      if (m.event === 'delta') {
        const f = m.file || '';
        if (!f && written.length) {
          // The coder's summary after its files: shown under the file,
          // which stays in view.
          after += m.text || '';
          el.hidden = false;
          render(m);
          return;
        }
        if (f !== current) {
          current = f;
          if (f && !written.includes(f)) {
            written.push(f);
            files.appendChild(h('li', {}, h('code', {}, f)));
          }
        }
        let text = (content.get(f) || '') + (m.text || '');
        if (text.length > KEEP_CHARS) text = text.slice(text.length - KEEP_CHARS);
        content.set(f, text);
      }
      if (m.event === 'request' || m.event === 'delta') spoke = true;
      if (m.event === 'done') {
        ended = true;
        if (!spoke) {
          el.hidden = true;
          return;
        }
      }
      if (spoke || m.event === 'restart') el.hidden = false;
      render(m);
    },
    /** task hides the panel once the task has ended. */
    task(t) {
      if (t && terminal(t.status)) el.hidden = true;
    },
  };
}
