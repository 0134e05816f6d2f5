// Progress bars for background jobs update without reloading the page; confirm dialogs for risky buttons.
(function () {
  function pollJob(el) {
    var url = el.getAttribute('data-job-url');
    var bar = el.querySelector('.progress-bar');
    var wrap = el.querySelector('.progress');
    var status = el.querySelector('.job-status');
    var err = el.querySelector('.job-error');
    var result = el.querySelector('.job-result');
    function tick() {
      fetch(url, {headers: {'Accept': 'application/json'}, credentials: 'same-origin'})
        .then(function (r) { return r.json(); })
        .then(function (job) {
          bar.style.width = job.progress + '%';
          bar.textContent = job.progress + '%';
          wrap.setAttribute('aria-valuenow', job.progress);
          var label = job.status_label || (job.status.charAt(0).toUpperCase() + job.status.slice(1));
          var badge = status.querySelector('.badge');
          badge.textContent = label;
          badge.setAttribute('data-state', job.status);
          badge.className = 'badge state-badge text-bg-' + ({queued: 'secondary', running: 'primary', succeeded: 'success', failed: 'danger'}[job.status] || 'secondary');
          if (job.error) { err.textContent = job.error; err.classList.remove('d-none'); }
          if (job.result_url && job.status === 'succeeded') { result.querySelector('a').href = job.result_url; result.classList.remove('d-none'); }
          if (job.status === 'succeeded' || job.status === 'failed') {
            bar.classList.remove('progress-bar-animated', 'progress-bar-striped');
            if (job.status === 'failed') { var r = document.querySelector('[data-job-retry]'); if (r) r.classList.remove('d-none'); }
            return;
          }
          setTimeout(tick, 800);
        })
        .catch(function () { setTimeout(tick, 3000); });
    }
    tick();
  }
  document.querySelectorAll('[data-job-url]').forEach(pollJob);
  document.querySelectorAll('form[data-confirm]').forEach(function (f) {
    f.addEventListener('submit', function (e) { if (!window.confirm(f.getAttribute('data-confirm'))) e.preventDefault(); });
  });
  // A form that came back with errors: show the summary, or else the first field that is wrong (not the first field).
  var summary = document.querySelector('.form-error-summary');
  var invalid = document.querySelector('main .is-invalid');
  if (summary) { summary.focus(); } else if (invalid) { invalid.focus(); }
  // A box that scrolls sideways (a wide table on a phone) can be scrolled with the keyboard: it takes the focus.
  function focusableScrollers() {
    document.querySelectorAll('.table-responsive, .cmp-scroll, main table.table').forEach(function (el) {
      if (el.scrollWidth > el.clientWidth + 1) { if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '0'); }
      else if (el.getAttribute('tabindex') === '0') { el.removeAttribute('tabindex'); }
    });
  }
  focusableScrollers();
  window.addEventListener('resize', focusableScrollers);
  document.querySelectorAll('[data-local-time]').forEach(function (el) {
    // Purely informative: the server already renders times in the user's zone.
    el.title = el.getAttribute('data-local-time');
  });
})();
