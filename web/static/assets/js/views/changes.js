// The patch against the template baseline as a unified diff view.

import { h, replace } from '../dom.js';
import { describe, taskPath } from '../api.js';
import { parseDiff, diffView } from '../diff.js';
import { alertBox, empty, loading } from '../ui.js';

/** diffTab shows GET /patch. */
export function diffTab(app, id) {
  const el = h('div', { class: 'changes' }, loading('Loading changes…'));
  return {
    el,
    async load() {
      try {
        const p = await app.api.get(taskPath(id, 'patch'));
        const files = parseDiff(p.diff);
        const s = p.stats || {};
        const binary = (p.changed_files || []).filter((c) => c.is_binary);
        replace(
          el,
          h(
            'p',
            { class: 'summary' },
            `${s.changed_total || 0} changed file${s.changed_total === 1 ? '' : 's'}: ${s.added || 0} added, ${s.modified || 0} modified, ${s.removed || 0} removed.`,
          ),
          files.length ? diffView(files) : empty('No changes against the template yet.'),
          binary.length ? h('p', { class: 'muted' }, `Binary files not shown: ${binary.map((b) => b.path).join(', ')}`) : null,
        );
      } catch (err) {
        replace(el, alertBox('error', describe(err)));
      }
    },
  };
}
