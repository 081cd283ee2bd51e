/* The console's progressive enhancement. Every page works without it; this only adds live import
   progress, drag and drop of the CSV, copy buttons and "select all on this page". No inline script: the
   CSP allows scripts from this origin only. */
(function () {
  'use strict';

  function fmt(n) {
    return n === null || n === undefined ? '\u2014' : Number(n).toLocaleString('en-US');
  }
  function duration(s) {
    var m = Math.floor(s / 60);
    var r = s % 60;
    return m + ':' + (r < 10 ? '0' : '') + r;
  }
  function setText(id, text) {
    var el = document.getElementById(id);
    if (el) el.textContent = text;
  }

  // ---- live import progress: poll the import's progress while it runs, update the page in place.
  function importProgress() {
    var box = document.getElementById('import-progress');
    if (!box || box.getAttribute('data-live') !== 'yes') return;
    var url = box.getAttribute('data-progress-url');
    var note = document.getElementById('live-note');
    if (note) note.textContent = 'This page updates on its own while the import runs.';
    function apply(d) {
      var pct = d.progress.percent;
      var bar = document.getElementById('progress-bar');
      if (bar) bar.value = pct === null ? 0 : pct;
      setText('progress-percent', pct === null ? '\u2014' : pct + '%');
      setText('rows-done', fmt(d.progress.rows_done));
      setText('rows-total', fmt(d.progress.rows_total));
      setText('rows-rate', fmt(d.rows_per_second));
      setText('elapsed', duration(d.elapsed_seconds || 0));
      var status = document.querySelector('#import-status .badge');
      if (status) {
        status.className = 'badge ' + d.status;
        status.textContent = d.status;
      }
      Object.keys(d.counts || {}).forEach(function (k) {
        var el = document.querySelector('[data-count="' + k + '"]');
        if (el) el.textContent = fmt(d.counts[k]);
      });
      var errors = document.getElementById('errors-link');
      if (errors && d.counts && d.counts.errors > 0) {
        errors.hidden = false;
        errors.textContent = 'Download the ' + fmt(d.counts.errors) + ' error rows (errors.csv)';
      }
      var err = document.getElementById('import-error');
      if (err && d.error) {
        err.hidden = false;
        err.textContent = d.error;
      }
      if (d.finished) {
        box.setAttribute('data-live', 'no');
        var cancel = document.getElementById('cancel-form');
        if (cancel) cancel.hidden = true;
        if (note) note.textContent = 'The import is ' + d.status + '.';
      }
      return d.finished;
    }
    function tick() {
      fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
        .then(function (r) {
          if (!r.ok) throw new Error('status ' + r.status);
          return r.json();
        })
        .then(function (d) {
          if (!apply(d)) setTimeout(tick, 1000);
        })
        .catch(function () {
          // A hiccup (a restart, the network): try again a little later.
          setTimeout(tick, 3000);
        });
    }
    setTimeout(tick, 500);
  }

  // ---- drag and drop of the CSV onto the upload form.
  function dropzone() {
    var zone = document.getElementById('dropzone');
    var input = document.getElementById('file');
    if (!zone || !input) return;
    var hint = zone.querySelector('.drop-hint');
    if (hint) hint.hidden = false;
    function show() {
      var f = input.files && input.files[0];
      setText('file-name', f ? f.name + ' (' + fmt(f.size) + ' bytes)' : '');
    }
    input.addEventListener('change', show);
    ['dragenter', 'dragover'].forEach(function (t) {
      zone.addEventListener(t, function (e) {
        e.preventDefault();
        zone.classList.add('over');
      });
    });
    ['dragleave', 'drop'].forEach(function (t) {
      zone.addEventListener(t, function () {
        zone.classList.remove('over');
      });
    });
    zone.addEventListener('drop', function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        show();
      }
    });
  }

  // ---- copy buttons next to read-only fields marked data-copy.
  function copyButtons() {
    document.querySelectorAll('input[data-copy]').forEach(function (input) {
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary small copy';
      button.textContent = 'Copy';
      button.setAttribute('aria-label', 'Copy ' + (input.getAttribute('data-copy') || 'the value'));
      var status = document.createElement('span');
      status.className = 'muted copy-status';
      status.setAttribute('role', 'status');
      input.insertAdjacentElement('afterend', status);
      input.insertAdjacentElement('afterend', button);
      button.addEventListener('click', function () {
        function done() {
          status.textContent = 'Copied';
        }
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(input.value).then(done, function () {
            input.select();
            status.textContent = 'Press Ctrl+C to copy';
          });
        } else {
          input.select();
          try {
            document.execCommand('copy');
            done();
          } catch (e) {
            status.textContent = 'Press Ctrl+C to copy';
          }
        }
      });
    });
  }

  // ---- "select all on this page" for the dashboard's checkboxes.
  function selectAll() {
    document.querySelectorAll('input[data-select-all]').forEach(function (all) {
      var form = all.form;
      if (!form) return;
      var wrap = all.closest('[hidden]');
      if (wrap) wrap.hidden = false;
      function boxes() {
        return form.querySelectorAll('input[type=checkbox][name="' + all.getAttribute('data-select-all') + '"]');
      }
      all.addEventListener('change', function () {
        boxes().forEach(function (b) {
          b.checked = all.checked;
        });
      });
      form.addEventListener('change', function (e) {
        if (e.target === all) return;
        var list = boxes();
        var on = 0;
        list.forEach(function (b) {
          if (b.checked) on++;
        });
        all.checked = on > 0 && on === list.length;
        all.indeterminate = on > 0 && on < list.length;
      });
    });
  }

  function start() {
    importProgress();
    dropzone();
    copyButtons();
    selectAll();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
