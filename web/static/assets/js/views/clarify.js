// The clarification form: built from GET /questions (text → textarea,
// choice → select, multi → checkboxes), saved with POST /input and resumed
// with auto_resume; the server's validation messages appear at the fields.

import { h, replace, uid } from '../dom.js';
import { describe, taskPath } from '../api.js';
import { alertBox, showMessage, loading, announce } from '../ui.js';

function answered(v) {
  if (v === null || v === undefined) return false;
  if (typeof v === 'string') return v.trim() !== '';
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

function questionField(q, prior) {
  const id = uid('q');
  const errId = `${id}-err`;
  const ratId = `${id}-why`;
  const error = h('p', { class: 'field-error', id: errId, 'aria-live': 'polite' });
  const label = [q.text || 'Provide the missing input.', q.required ? h('span', { class: 'req' }, h('span', { 'aria-hidden': 'true' }, ' *'), h('span', { class: 'sr-only' }, ' (required)')) : h('span', { class: 'opt' }, ' (optional)')];
  const rationale = q.rationale ? h('p', { class: 'help', id: ratId }, q.rationale) : null;
  const described = [rationale ? ratId : '', errId].filter(Boolean).join(' ');
  let control;
  let read;
  let focusEl;
  const choices = Array.isArray(q.choices) ? q.choices : [];
  if (q.type === 'budget' || q.type === 'plan_approval') {
    return decisionField(q, label, rationale, error, described);
  }
  if (q.type === 'multi' && choices.length) {
    const have = new Set(Array.isArray(prior) ? prior.map(String) : []);
    const boxes = choices.map((c) => {
      const cid = uid('opt');
      const box = h('input', { type: 'checkbox', id: cid, value: c, name: q.id });
      box.checked = have.has(String(c));
      return { box, el: h('div', { class: 'check' }, box, h('label', { for: cid }, c)) };
    });
    control = h(
      'fieldset',
      { class: 'field question', 'data-question': q.id, 'aria-describedby': described },
      h('legend', {}, label),
      rationale,
      h('div', { class: 'choices' }, boxes.map((b) => b.el)),
      error,
    );
    read = () => boxes.filter((b) => b.box.checked).map((b) => b.box.value);
    focusEl = boxes[0].box;
    return { q, el: control, read, error, focus: () => focusEl.focus(), invalid: (on) => boxes.forEach((b) => b.box.setAttribute('aria-invalid', String(on))) };
  }
  if (q.type === 'choice' && choices.length) {
    control = h('select', { id, name: q.id, 'aria-describedby': described }, h('option', { value: '' }, 'Choose…'), choices.map((c) => h('option', { value: c }, c)));
    control.value = typeof prior === 'string' ? prior : '';
  } else {
    control = h('textarea', { id, name: q.id, rows: '3', 'aria-describedby': described });
    control.value = typeof prior === 'string' ? prior : prior === undefined || prior === null ? '' : JSON.stringify(prior);
  }
  if (q.required) control.setAttribute('aria-required', 'true');
  read = () => control.value;
  return {
    q,
    el: h('div', { class: 'field question', 'data-question': q.id }, h('label', { for: id }, label), rationale, control, error),
    read,
    error,
    focus: () => control.focus(),
    invalid: (on) => control.setAttribute('aria-invalid', String(on)),
  };
}

function usd(v) {
  const n = Number(v) || 0;
  return n >= 1 ? n.toFixed(2) : n.toFixed(4);
}

// radios builds one radio group; on(value) runs when the pick changes.
function radios(name, options, on) {
  const inputs = [];
  const el = h(
    'div',
    { class: 'choices', role: 'radiogroup' },
    options.map(([value, text]) => {
      const rid = uid('opt');
      const r = h('input', { type: 'radio', id: rid, name, value });
      r.addEventListener('change', () => on(value));
      inputs.push(r);
      return h('div', { class: 'check' }, r, h('label', { for: rid }, text));
    }),
  );
  return { el, inputs, value: () => (inputs.find((r) => r.checked) || {}).value || '' };
}

// decisionField is a budget question (the figures, a new budget or decline)
// or a plan_approval question (the plan as a list of components and files;
// approve, revise with instructions, or reject).
function decisionField(q, label, rationale, error, described) {
  const name = uid('d');
  let group;
  let detail;
  let read;
  let extra;
  if (q.type === 'budget') {
    const b = q.budget || {};
    detail = h(
      'dl',
      { class: 'budget-figures' },
      h('dt', {}, 'Spent'),
      h('dd', {}, `$${usd(b.spent_usd)} of $${usd(b.budget_usd)}; ${b.spent_tokens || 0} of ${b.budget_tokens || 0} tokens (0 = no budget)`),
      h('dt', {}, 'Next call needs up to'),
      h('dd', {}, `$${usd(b.needed_usd)} / ${b.needed_tokens || 0} tokens`),
    );
    const amountId = uid('amt');
    const amount = h('input', { type: 'number', id: amountId, min: '0', step: 'any', 'aria-describedby': described });
    extra = h('div', { class: 'field' }, h('label', { for: amountId }, b.limit === 'tokens' ? 'New token budget' : 'New budget (US dollars)'), amount);
    group = radios(name, [['raise', 'Raise the budget and continue'], ['decline', 'Decline and end the task (its work is kept)']], (v) => {
      amount.disabled = v !== 'raise';
    });
    read = () => {
      const v = group.value();
      if (v === 'decline') return 'decline';
      if (v === 'raise' && amount.value !== '') return amount.value;
      return '';
    };
  } else {
    const p = q.plan || { components: [] };
    detail = h(
      'ol',
      { class: 'plan' },
      (p.components || []).map((c) => h('li', {}, h('strong', {}, c.name), h('ul', {}, (c.files || []).map((f) => h('li', {}, h('code', {}, f)))))),
    );
    const insId = uid('ins');
    const instructions = h('textarea', { id: insId, rows: '3', 'aria-describedby': described });
    extra = h('div', { class: 'field' }, h('label', { for: insId }, 'What should change (for a revision)'), instructions);
    group = radios(name, [['approve', 'Approve and start coding'], ['revise', 'Revise the plan'], ['reject', 'Reject (the task is cancelled, its work kept)']], (v) => {
      instructions.disabled = v !== 'revise';
    });
    read = () => {
      const v = group.value();
      if (v === 'revise') return instructions.value.trim() ? { decision: 'revise', instructions: instructions.value } : '';
      return v;
    };
  }
  return {
    q,
    el: h('fieldset', { class: 'field question decision', 'data-question': q.id, 'aria-describedby': described }, h('legend', {}, label), rationale, detail, group.el, extra, error),
    read,
    error,
    focus: () => group.inputs[0].focus(),
    invalid: (on) => group.inputs.forEach((r) => r.setAttribute('aria-invalid', String(on))),
  };
}

/** clarifyPanel shows the pending questions of a task in needs_input. */
export function clarifyPanel(app, id, onResumed) {
  const body = h('div', {}, loading('Loading questions…'));
  const el = h(
    'section',
    { class: 'card clarify', 'aria-labelledby': 'clarify-title' },
    h('h2', { id: 'clarify-title' }, 'The task needs your input'),
    h('p', { class: 'help' }, 'Answer the questions below, then resume. Save keeps your answers without resuming.'),
    body,
  );
  let gone = false;
  let fields = [];
  const msg = h('div', { class: 'msg' });

  function clearErrors() {
    for (const f of fields) {
      f.error.textContent = '';
      f.invalid(false);
    }
  }

  function fieldErrors(problems, missing) {
    let first = null;
    for (const f of fields) {
      const p = problems && problems[f.q.id];
      const m = missing && missing.includes(f.q.id);
      const text = p ? `${p}.` : m ? 'This question needs an answer before the task can resume.' : '';
      f.error.textContent = text;
      f.invalid(Boolean(text));
      if (text && !first) first = f;
    }
    if (first) first.focus();
  }

  function answers() {
    const out = {};
    for (const f of fields) {
      const v = f.read();
      if (answered(v)) out[f.q.id] = v;
    }
    return out;
  }

  async function submit(resume, buttons) {
    clearErrors();
    showMessage(msg);
    const a = answers();
    if (resume) {
      const missing = fields.filter((f) => f.q.required && !answered(a[f.q.id])).map((f) => f.q.id);
      if (missing.length) {
        fieldErrors(null, missing);
        showMessage(msg, 'error', 'Please answer all required questions before resuming.');
        return;
      }
    }
    buttons.forEach((b) => {
      b.disabled = true;
    });
    try {
      const r = await app.api.post(taskPath(id, 'input'), { answers: a, auto_resume: resume });
      if (r.status === 'input_saved') {
        if (resume && r.missing && r.missing.length) {
          fieldErrors(null, r.missing);
          showMessage(msg, 'error', 'Please answer all required questions before resuming.');
        } else {
          showMessage(msg, 'info', 'Answers saved. Resume when you are ready.');
          announce('Answers saved');
        }
      } else {
        showMessage(msg, 'info', 'Answers sent; the task is resuming.');
        announce('Task resuming');
        onResumed();
      }
    } catch (err) {
      if (err.problems || err.missing) {
        fieldErrors(err.problems, err.missing);
      }
      showMessage(msg, 'error', describe(err));
    } finally {
      buttons.forEach((b) => {
        b.disabled = false;
      });
    }
  }

  app.api
    .get(taskPath(id, 'questions'))
    .then((r) => {
      if (gone) return;
      const qs = r.pending_questions || [];
      if (!qs.length) {
        replace(body, alertBox('info', 'No questions are pending any more.'));
        return;
      }
      const prior = r.provided_answers || {};
      fields = qs.map((q) => questionField(q, prior[q.id]));
      const save = h('button', { type: 'submit', class: 'btn', value: 'save' }, 'Save answers');
      const resume = h('button', { type: 'submit', class: 'btn primary', value: 'resume' }, 'Save and resume');
      const form = h(
        'form',
        { class: 'stack', novalidate: true },
        fields.map((f) => f.el),
        h('p', { class: 'help' }, h('span', { 'aria-hidden': 'true' }, '* '), 'marks a required question.'),
        msg,
        h('div', { class: 'actions' }, resume, save),
      );
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        submit(e.submitter && e.submitter.value === 'save' ? false : true, [save, resume]);
      });
      replace(body, form);
    })
    .catch((err) => {
      if (!gone) replace(body, alertBox('error', describe(err)));
    });

  return {
    el,
    destroy() {
      gone = true;
    },
  };
}
