// The patrol console's only script: theme, ages of readings, and the live board.
// The server renders every piece of HTML (escaped); this only puts fragments in place.
(function () {
  "use strict";
  var root = document.documentElement;
  var saved = localStorage.getItem("theme");
  if (saved) root.dataset.theme = saved;
  var toggle = document.getElementById("theme");
  if (toggle) toggle.addEventListener("click", function () {
    root.dataset.theme = root.dataset.theme === "light" ? "dark" : "light";
    localStorage.setItem("theme", root.dataset.theme);
  });
  // Printable pages (handover ledger, labels): no inline script under the page's CSP.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  var words = JSON.parse(document.body.dataset.words || "{}");
  var offset = Number(document.body.dataset.now || Date.now()) - Date.now();
  function say(key, n) { return (words[key] || "").replace("{n}", n); }
  function age(seen, now) {
    if (!seen) return say("age.never");
    var s = Math.max(0, Math.floor((now - seen) / 1000));
    if (s >= 86400) return say("age.d", Math.floor(s / 86400));
    if (s >= 3600) return say("age.h", Math.floor(s / 3600));
    if (s >= 60) return say("age.min", Math.floor(s / 60));
    return s >= 5 ? say("age.s", s) : say("age.now");
  }
  function refreshAges() {
    var now = Date.now() + offset;
    document.querySelectorAll(".card[data-interval]").forEach(function (card) {
      var seen = Number(card.dataset.seen) || 0;
      var limit = 3 * Number(card.dataset.interval) * 1000;
      card.classList.toggle("silent", !seen || now - seen > limit);
      var label = card.querySelector(".age");
      if (label) label.textContent = age(seen, now);
    });
  }
  refreshAges();
  setInterval(refreshAges, 5000);

  // Alerts nobody can miss: a sound (once allowed: browsers need a tap first, asked once
  // and remembered), a vibration, and the count of firing alerts in the page's title.
  var sound = document.getElementById("alarm-sound");
  var soundButton = document.getElementById("sound-on");
  var soundOn = localStorage.getItem("sound") === "on";
  function unlock() {
    if (!sound) return;
    sound.muted = true;
    var played = sound.play();
    if (played) played.then(function () { sound.pause(); sound.currentTime = 0; sound.muted = false; })
      .catch(function () { sound.muted = false; });
  }
  if (soundButton) {
    soundButton.hidden = soundOn;
    soundButton.addEventListener("click", function () {
      localStorage.setItem("sound", "on");
      soundOn = true;
      soundButton.hidden = true;
      unlock();
    });
  }
  function askAgain() { if (soundButton) soundButton.hidden = false; }
  if (soundOn && sound) {
    // The choice is remembered, the browser's leave to play is not always: try silently,
    // and ask for the tap again when the browser refuses (or at the first tap anywhere).
    document.addEventListener("pointerdown", unlock, { once: true });
    sound.volume = 0;
    var probe = sound.play();
    if (probe) probe.then(function () { sound.pause(); sound.currentTime = 0; sound.volume = 1; })
      .catch(function () { sound.volume = 1; askAgain(); });
  }
  function alarm() {
    if (soundOn && sound) {
      sound.currentTime = 0;
      var played = sound.play();
      if (played) played.catch(askAgain);
    }
    if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
  }
  var baseTitle = document.title;
  var firing = {};
  function urgent() {
    return Array.prototype.slice.call(
      document.querySelectorAll("#alerts .alert.st-firing.sev-critical, #alerts .alert.st-firing.sev-warning"));
  }
  function watchAlerts(tell) {
    var now = {}, fresh = false;
    urgent().forEach(function (el) { now[el.id] = true; if (!firing[el.id]) fresh = true; });
    firing = now;
    var n = document.querySelectorAll("#alerts .alert.st-firing").length;
    document.title = (n ? "(" + n + ") " : "") + baseTitle;
    if (fresh && tell) alarm();
  }
  watchAlerts(false);

  var board = document.getElementById("board");
  if (!board || !window.EventSource) return;
  var banner = document.getElementById("offline");
  var source = null, lost = false, retry = null;

  function resync() {
    fetch(board.dataset.fragment, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); return null; }
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html !== null && html !== undefined) { board.innerHTML = html; refreshAges(); watchAlerts(true); }
    }).catch(function () {});
  }
  function put(id, html) {
    var old = document.getElementById(id);
    if (!old) return false;
    var holder = document.createElement("div");
    holder.innerHTML = html;
    old.replaceWith(holder.firstElementChild);
    return true;
  }
  function apply(msg) {
    if (msg.now) offset = msg.now - Date.now();
    var missing = false;
    var devices = msg.devices || {};
    var only = board.dataset.building;
    Object.keys(devices).forEach(function (id) {
      var mine = !only || only === devices[id].building;
      if (!put(id, devices[id].html) && mine && board.dataset.view !== "tonight") missing = true;
    });
    if (board.dataset.view === "tonight" && Object.keys(devices).length) missing = true;
    var seen = msg.seen || {};
    Object.keys(seen).forEach(function (id) {
      var card = document.getElementById(id);
      if (card) card.dataset.seen = seen[id];
    });
    if (msg.summary && board.dataset.view !== "tonight") {
      var summary = document.getElementById("summary");
      if (summary) {
        var holder = document.createElement("div");
        holder.innerHTML = msg.summary;
        summary.replaceWith(holder.firstElementChild);
      }
    }
    var alerts = msg.alerts;
    var list = document.getElementById("alerts");
    if (alerts && list) {
      var cards = alerts.put || {};
      Object.keys(cards).forEach(function (id) {
        if (!put(id, cards[id])) {
          var holder = document.createElement("div");
          holder.innerHTML = cards[id];
          list.appendChild(holder.firstElementChild);
        }
      });
      var keep = {};
      alerts.order.forEach(function (id) {
        keep[id] = true;
        var el = document.getElementById(id);
        if (el) list.appendChild(el);
      });
      Array.prototype.slice.call(list.children).forEach(function (el) { if (!keep[el.id]) el.remove(); });
      mineFirst(list);
      watchAlerts(true);
      var none = document.getElementById("no-alerts");
      if (none) none.hidden = alerts.order.length > 0;
    }
    if (missing) resync();
    refreshAges();
  }
  // A person limited to areas sees their areas' alerts first (the feed's order is one
  // for everyone: the browser moves them up, keeping their order).
  function mineFirst(list) {
    var areas = (document.body.dataset.areas || "").split(",").filter(Boolean);
    if (!areas.length) return;
    Array.prototype.slice.call(list.children)
      .filter(function (el) { return areas.indexOf(el.dataset.building) >= 0; })
      .reverse()
      .forEach(function (el) { list.insertBefore(el, list.firstChild); });
  }
  function connect() {
    retry = null;
    source = new EventSource(board.dataset.live);
    source.addEventListener("hello", function (e) {
      banner.hidden = true;
      document.body.dataset.stream = "on";
      if (lost) { lost = false; resync(); }
      var hello = JSON.parse(e.data);
      if (hello.now) offset = hello.now - Date.now();
    });
    source.addEventListener("board", function (e) { apply(JSON.parse(e.data)); });
    source.addEventListener("resync", resync);
    source.onerror = function () {
      lost = true;
      banner.hidden = false;
      document.body.dataset.stream = "off";
      if (source.readyState === EventSource.CLOSED && !retry) {
        // Refused (logged out, or the service answered an error): check, then try again.
        retry = setTimeout(function () {
          fetch("/api/session", { credentials: "same-origin" }).then(function (r) {
            if (r.status === 401) location.href = "/login";
            else connect();
          }).catch(function () { retry = null; source.onerror(); });
        }, 3000);
      }
    };
  }
  connect();
})();
