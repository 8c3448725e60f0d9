// The page's only script, served as a file so the Content-Security-Policy needs no 'unsafe-inline'. Progressive
// enhancement: every page reads fine without it (a <noscript> meta refresh covers pending claims). It touches the DOM
// only through textContent and never inserts markup, so nothing the API returns can become HTML.
export const SITE_JS = `
(function () {
  'use strict';
  var POLL_MS = 2000;

  function fmtDuration(ms) {
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + String(s % 60).padStart(2, '0') + 's';
    var h = Math.floor(m / 60);
    return h + 'h ' + String(m % 60).padStart(2, '0') + 'm';
  }

  function describe(claim) {
    var jobs = claim.replay || [];
    for (var i = 0; i < jobs.length; i++) {
      if (jobs[i].state === 'leased') return (jobs[i].kind === 'audit' ? 'audit replay' : 'replay') + ' running for ' + fmtDuration(jobs[i].runningForMs || 0);
    }
    for (var j = 0; j < jobs.length; j++) {
      if (jobs[j].state === 'queued') return (jobs[j].kind === 'audit' ? 'audit replay' : 'replay') + ' queued';
    }
    return null;
  }

  // A pending claim (or one with an audit in flight) polls its JSON and reloads once its status changes, so the
  // verdict appears without a manual reload.
  var watched = document.querySelector('[data-poll-claim]');
  if (watched && window.fetch) {
    var id = watched.getAttribute('data-poll-claim');
    var shown = watched.getAttribute('data-status');
    var text = document.querySelector('[data-pending-text]');
    var poll = function () {
      if (document.hidden) { setTimeout(poll, POLL_MS); return; }
      fetch('/v1/claims/' + encodeURIComponent(id), { headers: { accept: 'application/json' }, cache: 'no-store' })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (claim) {
          if (claim && claim.status !== shown) { window.location.reload(); return; }
          if (claim && text) { var d = describe(claim); if (d) text.textContent = d; }
          setTimeout(poll, POLL_MS);
        })
        .catch(function () { setTimeout(poll, POLL_MS * 3); });
    };
    setTimeout(poll, POLL_MS);
  }

  // Copy buttons: copy the text of the element they name.
  var buttons = document.querySelectorAll('button[data-copy]');
  for (var k = 0; k < buttons.length; k++) {
    buttons[k].hidden = false;
    buttons[k].addEventListener('click', function (ev) {
      var btn = ev.currentTarget;
      var source = document.getElementById(btn.getAttribute('data-copy'));
      if (!source || !navigator.clipboard) return;
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        var label = btn.textContent;
        btn.textContent = 'Copied';
        setTimeout(function () { btn.textContent = label; }, 1500);
      });
    });
  }
})();
`;
