// New task: description with a live character count against the server's
// limit, a template picker with descriptions, and clear error messages.

import { h, replace, uid } from '../dom.js';
import { describe } from '../api.js';
import { num } from '../format.js';
import { showMessage } from '../ui.js';

/** createView is the new-task form. */
export function createView(app) {
  const limit = Number(app.config.max_description_chars) || 10000;
  const descId = uid('desc');
  const tplId = uid('tpl');
  const msg = h('div', { class: 'msg' });
  const counter = h('p', { class: 'help counter', id: `${descId}-count` });
  const tplHelp = h('p', { class: 'help', id: `${tplId}-help` });
  const textarea = h('textarea', {
    id: descId,
    name: 'description',
    rows: '8',
    required: true,
    'aria-describedby': `${descId}-hint ${descId}-count`,
    placeholder: 'e.g. A command line tool that counts words, lines and the most frequent words in text files',
  });
  const select = h('select', { id: tplId, name: 'template_id', 'aria-describedby': tplHelp.id }, h('option', { value: '' }, 'None: free-form project'));
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Create task');
  const templates = new Map();

  const update = () => {
    const n = [...textarea.value.trim()].length;
    const over = n > limit;
    counter.textContent = over
      ? `${num(n)} / ${num(limit)} characters: ${num(n - limit)} over the limit`
      : `${num(n)} / ${num(limit)} characters`;
    counter.classList.toggle('over', over);
    textarea.setAttribute('aria-invalid', String(over));
  };
  const describeTemplate = () => {
    const t = templates.get(select.value);
    if (!t) {
      tplHelp.textContent = 'The project is laid out from your description alone.';
      return;
    }
    const qs = (t.clarification_questions || []).length;
    tplHelp.textContent = `${t.description || 'No description.'}${qs ? ` It may ask ${qs} question${qs > 1 ? 's' : ''} first.` : ''}`;
  };
  textarea.addEventListener('input', update);
  select.addEventListener('change', describeTemplate);
  update();
  describeTemplate();

  app.api
    .get('/api/templates')
    .then((r) => {
      for (const t of r.templates || []) {
        templates.set(t.template_id, t);
        select.appendChild(h('option', { value: t.template_id }, t.template_id));
      }
      describeTemplate();
    })
    .catch((err) => showMessage(msg, 'error', `Templates could not be loaded: ${describe(err)}`));

  // One idempotency key per form: a double submit or a retry after a
  // network error creates the task once.
  let idemKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  textarea.addEventListener('input', () => {
    idemKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  });

  const budgetId = uid('budget');
  const tokensId = uid('tokens');
  const approveId = uid('approve');
  const budget = h('input', { type: 'number', id: budgetId, name: 'budget_usd', min: '0', step: 'any', 'aria-describedby': `${budgetId}-hint` });
  const tokens = h('input', { type: 'number', id: tokensId, name: 'budget_tokens', min: '0', step: '1' });
  const approve = h('input', { type: 'checkbox', id: approveId, name: 'approve_plan' });
  // A changed option makes another task: a new idempotency key.
  for (const el of [budget, tokens, approve, select]) {
    el.addEventListener('change', () => {
      idemKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
    });
  }

  const form = h(
    'form',
    { class: 'card stack', novalidate: true },
    h(
      'div',
      { class: 'field' },
      h('label', { for: descId }, 'What should be built?'),
      h('p', { class: 'help', id: `${descId}-hint` }, 'Describe the program in a sentence or more. A very short description (under five words) makes the task ask you questions first.'),
      textarea,
      counter,
    ),
    h('div', { class: 'field' }, h('label', { for: tplId }, 'Project template'), select, tplHelp),
    h(
      'details',
      { class: 'field options' },
      h('summary', {}, 'Budget and plan approval'),
      h('div', { class: 'field' }, h('label', { for: budgetId }, 'Budget (US dollars)'), h('p', { class: 'help', id: `${budgetId}-hint` }, 'When the next model call might go over it, the task stops and asks you to raise it. Leave empty for the server default.'), budget),
      h('div', { class: 'field' }, h('label', { for: tokensId }, 'Budget (tokens)'), tokens),
      h('div', { class: 'check' }, approve, h('label', { for: approveId }, 'Show me the plan and wait for my approval before writing code')),
    ),
    msg,
    h('div', { class: 'actions' }, submit, h('a', { class: 'btn', href: '/app/tasks' }, 'Cancel')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const description = textarea.value.trim();
    if (!description) {
      showMessage(msg, 'error', 'Enter a description of what should be built.');
      textarea.focus();
      return;
    }
    if ([...description].length > limit) {
      showMessage(msg, 'error', `The description is longer than the server's limit of ${num(limit)} characters.`);
      textarea.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Creating…';
    showMessage(msg);
    try {
      const body = { description };
      if (select.value) body.template_id = select.value;
      if (budget.value !== '') body.budget_usd = Number(budget.value);
      if (tokens.value !== '') body.budget_tokens = Number(tokens.value);
      if (approve.checked) body.approve_plan = true;
      const r = await app.api.post('/api/tasks', body, { 'Idempotency-Key': idemKey });
      app.navigate(`/app/tasks/${encodeURIComponent(r.task_id)}`);
    } catch (err) {
      showMessage(msg, 'error', describe(err));
      submit.disabled = false;
      submit.textContent = 'Create task';
    }
  });

  const el = h('section', { class: 'create-page' }, h('div', { class: 'page-head' }, h('h1', {}, 'New task')), form);
  replace(msg);
  return { el };
}
