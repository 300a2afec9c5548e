/* A MUSHRA test page (ITU-R BS.1534-3) made by `nac listen make`; its items come from items.js.
 * Playback: Web Audio starts every version of an item at the same instant, each through its own
 * gain, so switching is a 5 ms crossfade at the same position, without a gap; the mix plays
 * through the page's <audio> element (a MediaStream), so it also sounds on phones whose silent
 * switch mutes Web Audio. Items and versions are shuffled per listener with a seeded generator. */
(function () {
  "use strict";

  var cfg = window.NAC_LISTEN;
  var $ = function (id) { return document.getElementById(id); };
  var FADE = 0.005; /* seconds of crossfade when switching */

  /* ---------------------------------------------------------------- seeded order */

  function fnv1a(s) {
    var h = 0x811c9dc5;
    for (var i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h >>> 0;
  }

  function mulberry32(a) {
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function shuffled(list, rand) {
    var a = list.slice();
    for (var i = a.length - 1; i > 0; i--) {
      var j = Math.floor(rand() * (i + 1));
      var t = a[i]; a[i] = a[j]; a[j] = t;
    }
    return a;
  }

  /* ---------------------------------------------------------------- state */

  var listener = "";
  var items = [];      /* per listener: [{id, duration, reference, stimuli: [{file, condition}]}] */
  var scores = [];     /* scores[i][k]: rating of items[i].stimuli[k], or null */
  var heard = [];      /* heard[i][k]: version k of item i was played */
  var cur = 0;
  var player = null;

  function label(k) { return String.fromCharCode(65 + k); }

  /* ---------------------------------------------------------------- audio */

  function Player() {
    var AC = window.AudioContext || window.webkitAudioContext;
    this.ctx = new AC();
    this.master = this.ctx.createGain();
    this.out = $("out");
    this.sink = "speakers";
    if (this.ctx.createMediaStreamDestination && this.out && "srcObject" in this.out) {
      var dest = this.ctx.createMediaStreamDestination();
      this.master.connect(dest);
      this.out.srcObject = dest.stream;
      this.sink = "element";
    } else {
      this.master.connect(this.ctx.destination);
    }
    this.cache = {};     /* url -> Promise<AudioBuffer> */
    this.buffers = null; /* the current item's: [reference, version 0, version 1, ...] */
    this.sources = null;
    this.gains = null;
    this.selected = -1;  /* index in buffers: 0 reference, k + 1 version k */
    this.t0 = 0;         /* context time at which the sources' position was 0 */
    this.loop = false;
    this.loopStart = 0;
    this.loopEnd = 0;
    this.onstop = null;
    this.lastSel = 0;    /* what Play starts with */
    this.paused = 0;
  }

  Player.prototype.fetch = function (url) {
    var ctx = this.ctx;
    if (!this.cache[url]) {
      this.cache[url] = fetch(url).then(function (r) {
        if (!r.ok) throw new Error(url + ": HTTP " + r.status);
        return r.arrayBuffer();
      }).then(function (data) {
        return new Promise(function (ok, fail) { ctx.decodeAudioData(data, ok, fail); });
      });
    }
    return this.cache[url];
  };

  Player.prototype.load = function (urls) {
    var self = this;
    this.stop();
    this.buffers = null;
    return Promise.all(urls.map(function (u) { return self.fetch(u); })).then(function (b) {
      self.buffers = b;
      self.loopStart = 0;
      self.loopEnd = b[0].duration;
      return b;
    });
  };

  Player.prototype.playing = function () { return this.sources !== null; };

  Player.prototype.position = function () {
    if (!this.buffers) return 0;
    if (!this.sources) return this.paused || 0;
    var t = this.ctx.currentTime - this.t0;
    if (this.loop && t > this.loopEnd) {
      var len = this.loopEnd - this.loopStart;
      t = len > 0 ? this.loopStart + ((t - this.loopStart) % len) : this.loopStart;
    }
    return Math.min(t, this.buffers[0].duration);
  };

  Player.prototype.start = function (sel) {
    var self = this, ctx = this.ctx;
    if (!this.buffers) return;
    if (ctx.state === "suspended") ctx.resume();
    if (this.out && this.sink === "element" && this.out.paused) {
      var p = this.out.play();
      if (p && p.catch) p.catch(function () { /* reported through the element's events */ });
    }
    var from = this.loop ? this.loopStart : 0;
    var when = ctx.currentTime + 0.03;
    this.sources = [];
    this.gains = [];
    this.buffers.forEach(function (b, i) {
      var s = ctx.createBufferSource(), g = ctx.createGain();
      s.buffer = b;
      s.loop = self.loop;
      s.loopStart = self.loopStart;
      s.loopEnd = self.loopEnd;
      g.gain.value = i === sel ? 1 : 0;
      s.connect(g).connect(self.master);
      s.start(when, from);
      self.sources.push(s);
      self.gains.push(g);
    });
    this.sources[0].onended = function () {
      if (self.sources && self.sources[0] === this) self.stop(true);
    };
    this.t0 = when - from;
    this.selected = sel;
    this.lastSel = sel;
  };

  Player.prototype.select = function (sel) {
    if (!this.sources) { this.start(sel); return; }
    var t = this.ctx.currentTime;
    this.gains.forEach(function (g, i) {
      g.gain.cancelScheduledValues(t);
      g.gain.setValueAtTime(g.gain.value, t);
      g.gain.linearRampToValueAtTime(i === sel ? 1 : 0, t + FADE);
    });
    this.selected = sel;
    this.lastSel = sel;
  };

  Player.prototype.stop = function (ended) {
    if (this.sources) {
      this.paused = ended ? 0 : this.position();
      this.sources.forEach(function (s) { s.onended = null; try { s.stop(); } catch (e) { /* not started */ } });
    }
    this.sources = null;
    this.gains = null;
    this.selected = -1;
    if (this.onstop) this.onstop();
  };

  Player.prototype.setLoop = function (on, a, b) {
    this.loop = on;
    this.loopStart = a;
    this.loopEnd = b;
    if (this.sources) {
      this.sources.forEach(function (s) { s.loop = on; s.loopStart = a; s.loopEnd = b; });
    }
  };

  /* ---------------------------------------------------------------- page */

  function problem(html) {
    var p = $("problem");
    p.innerHTML = html;
    p.hidden = false;
  }

  function show(id) {
    ["welcome", "trial", "done"].forEach(function (s) { $(s).hidden = s !== id; });
  }

  function fmt(t) { return t.toFixed(1) + " s"; }

  function message(text) { $("message").textContent = text; }

  function updateButtons() {
    var sel = player ? player.selected : -1;
    var playing = player && player.playing();
    $("play-ref").setAttribute("aria-pressed", String(sel === 0));
    $("play-ref").classList.toggle("active", sel === 0);
    var ps = $("play-stop");
    ps.innerHTML = (playing ? "Stop" : "Play") + " <kbd>Space</kbd>";
    ps.setAttribute("aria-pressed", String(!!playing));
    var btns = document.querySelectorAll("#ratings .play");
    for (var k = 0; k < btns.length; k++) {
      btns[k].setAttribute("aria-pressed", String(sel === k + 1));
      btns[k].classList.toggle("active", sel === k + 1);
      btns[k].parentNode.classList.toggle("active", sel === k + 1);
    }
    $("status").textContent = playing ? (sel === 0 ? "Playing the reference" : "Playing " + label(sel - 1)) : "Stopped";
  }

  function playSel(sel) {
    if (!player || !player.buffers) return;
    if (sel > 0) heard[cur][sel - 1] = true;
    if (player.playing() && player.selected === sel) {
      player.stop();
    } else {
      player.select(sel);
    }
    updateButtons();
  }

  function togglePlay() {
    if (!player || !player.buffers) return;
    if (player.playing()) player.stop();
    else playSel(player.lastSel || 0);
    updateButtons();
  }

  function loopChanged() {
    var a = parseFloat($("loop-start").value), b = parseFloat($("loop-end").value);
    var dur = items[cur].duration;
    if (b - a < 0.2) {
      if (this === $("loop-start")) { a = Math.max(0, b - 0.2); $("loop-start").value = a; }
      else { b = Math.min(dur, a + 0.2); $("loop-end").value = b; }
    }
    $("loop-start-out").textContent = fmt(a);
    $("loop-end-out").textContent = fmt(b);
    var band = $("loop-band");
    band.style.left = (100 * a / dur) + "%";
    band.style.width = (100 * (b - a) / dur) + "%";
    band.classList.toggle("on", $("loop").checked);
    if (player) player.setLoop($("loop").checked, a, b);
  }

  function tick() {
    if (player && player.buffers) {
      var d = player.buffers[0].duration || 1;
      $("playhead").style.left = (100 * player.position() / d) + "%";
    }
    window.requestAnimationFrame(tick);
  }

  function buildItem(i) {
    var it = items[i];
    cur = i;
    $("progress-text").textContent = "Item " + (i + 1) + " of " + items.length;
    $("progress").max = items.length;
    $("progress").value = i;
    $("item-title").textContent = "Item " + (i + 1) + " of " + items.length;
    var box = $("ratings");
    box.innerHTML = "";
    it.stimuli.forEach(function (s, k) {
      var row = document.createElement("div");
      row.className = "row";
      var b = document.createElement("button");
      b.type = "button";
      b.className = "play";
      b.id = "play-" + k;
      b.setAttribute("aria-pressed", "false");
      b.innerHTML = "Play " + label(k) + (k < 9 ? " <kbd>" + (k + 1) + "</kbd>" : "");
      b.addEventListener("click", function () { playSel(k + 1); });
      var r = document.createElement("input");
      r.type = "range";
      r.min = "0";
      r.max = "100";
      r.step = "1";
      r.id = "score-" + k;
      r.value = scores[i][k] === null ? "0" : String(scores[i][k]);
      r.setAttribute("aria-label", "Rating of version " + label(k) + ", 0 bad to 100 excellent");
      var o = document.createElement("output");
      o.htmlFor = r.id;
      o.id = "value-" + k;
      o.textContent = scores[i][k] === null ? "–" : String(scores[i][k]);
      r.addEventListener("input", function () {
        scores[cur][k] = parseInt(r.value, 10);
        o.textContent = r.value;
        save();
        row.classList.add("rated");
        message("");
      });
      if (scores[i][k] !== null) row.classList.add("rated");
      row.appendChild(b);
      row.appendChild(r);
      row.appendChild(o);
      box.appendChild(row);
    });
    $("prev").disabled = i === 0;
    $("next").textContent = i + 1 === items.length ? "Finish" : "Next item";
    $("loop-start").max = $("loop-end").max = String(it.duration);
    $("loop-start").value = "0";
    $("loop-end").value = String(it.duration);
    loopChanged.call(null);
    message("");
    setLoading(true);
    var urls = [it.reference].concat(it.stimuli.map(function (s) { return s.file; }));
    save();
    player.load(urls).then(function () {
      if (cur !== i) return;
      setLoading(false);
      /* focus went nowhere while the controls were disabled: put it on the reference */
      if (!document.activeElement || document.activeElement === document.body) $("play-ref").focus();
      loopChanged.call(null);
      updateButtons();
      /* fetch the next item while this one is rated */
      if (i + 1 < items.length) {
        var n = items[i + 1];
        [n.reference].concat(n.stimuli.map(function (s) { return s.file; })).forEach(function (u) {
          player.fetch(u).catch(function () { /* reported when the item is shown */ });
        });
      }
    }).catch(function (e) {
      problem("Could not load the audio of this item (" + String(e && e.message || e) +
              "). Is the server still running?");
    });
    updateButtons();
  }

  function setLoading(on) {
    var ctl = document.querySelectorAll("#trial button, #trial input");
    for (var k = 0; k < ctl.length; k++) {
      if (ctl[k].id !== "prev" && ctl[k].id !== "next") ctl[k].disabled = on;
    }
    $("trial").setAttribute("aria-busy", String(on));
    $("status").textContent = on ? "Loading the audio…" : "Stopped";
  }

  function next() {
    var missing = [], unheard = [];
    scores[cur].forEach(function (s, k) {
      if (s === null) missing.push(label(k));
      if (!heard[cur][k]) unheard.push(label(k));
    });
    if (unheard.length) {
      message("Please listen to " + unheard.join(", ") + " before going on.");
      return;
    }
    if (missing.length) {
      message("Please rate " + missing.join(", ") + " (move its slider) before going on.");
      return;
    }
    player.stop();
    if (cur + 1 < items.length) {
      buildItem(cur + 1);
      $("play-ref").focus();
    } else {
      finish();
    }
  }

  /* Progress is kept in the browser (localStorage) under the test and the listener's name, so a
   * reload or a closed tab does not lose the ratings; finishing removes it. */
  function storeKey() { return "nac-listen:" + fnv1a(JSON.stringify(cfg.items)) + ":" + listener; }

  function save() {
    try {
      window.localStorage.setItem(storeKey(), JSON.stringify({ cur: cur, scores: scores, heard: heard }));
    } catch (e) { /* private mode or full: the test still works, without resuming */ }
  }

  function restore() {
    try {
      var s = JSON.parse(window.localStorage.getItem(storeKey()) || "null");
      if (!s || !s.scores || s.scores.length !== items.length || !(s.cur >= 0 && s.cur < items.length)) return false;
      for (var i = 0; i < items.length; i++) {
        if (!s.scores[i] || s.scores[i].length !== items[i].stimuli.length) return false;
      }
      scores = s.scores;
      heard = s.heard;
      cur = s.cur;
      return true;
    } catch (e) {
      return false;
    }
  }

  function csvField(s) {
    s = String(s);
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function finish() {
    var lines = ["listener,item,condition,score"];
    items.forEach(function (it, i) {
      it.stimuli.forEach(function (s, k) {
        lines.push([listener, it.id, s.condition, scores[i][k]].map(csvField).join(","));
      });
    });
    var csv = lines.join("\n") + "\n";
    var safe = listener.replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 40) || "listener";
    var name = "mushra_" + safe + ".csv";
    var url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
    var a = $("csv-link");
    a.href = url;
    a.download = name;
    $("csv-name").textContent = name;
    $("progress").value = items.length;
    $("progress-text").textContent = "Done";
    show("done");
    window.nacListenResults = csv;
    try { window.localStorage.removeItem(storeKey()); } catch (e) { /* nothing kept */ }
    a.click();
    a.focus();
  }

  function start(ev) {
    ev.preventDefault();
    var name = $("listener").value.replace(/[\u0000-\u001f\u007f]/g, "").trim();
    if (!name) { $("listener").focus(); return; }
    listener = name;
    var rand = mulberry32(fnv1a(String(cfg.seed) + "|" + listener));
    items = shuffled(cfg.items, rand).map(function (it) {
      return { id: it.id, duration: it.duration, reference: it.reference, stimuli: shuffled(it.stimuli, rand) };
    });
    scores = items.map(function (it) { return it.stimuli.map(function () { return null; }); });
    heard = items.map(function (it) { return it.stimuli.map(function () { return false; }); });
    try {
      player = new Player();
    } catch (e) {
      problem("This browser cannot play the test's audio (no Web Audio).");
      return;
    }
    player.onstop = updateButtons;
    $("progress-box").hidden = false;
    show("trial");
    var resumed = restore();
    buildItem(resumed ? cur : 0);
    if (resumed) message("Welcome back: your earlier ratings are kept; this is where you stopped.");
    $("play-ref").focus();
    window.requestAnimationFrame(tick);
  }

  function onKey(ev) {
    if ($("trial").hidden || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var t = ev.target, tag = t && t.tagName;
    if (tag === "INPUT" && t.type === "text") return;
    var key = ev.key;
    if (key === " " || key === "Spacebar") {
      if (tag === "BUTTON" || (tag === "INPUT" && t.type === "checkbox")) return; /* their own action */
      ev.preventDefault();
      togglePlay();
    } else if (key === "r" || key === "R") {
      playSel(0);
    } else if (key === "l" || key === "L") {
      $("loop").checked = !$("loop").checked;
      loopChanged.call(null);
    } else if (/^[1-9]$/.test(key)) {
      var k = parseInt(key, 10);
      if (k <= items[cur].stimuli.length) {
        playSel(k);
        $("score-" + (k - 1)).focus();
      }
    }
  }

  /* ---------------------------------------------------------------- start */

  function init() {
    if (!cfg || !cfg.items || !cfg.items.length) {
      problem("The test's item list (items.js) is missing or empty: make the test again with " +
              "<code>nac listen make</code>.");
      return;
    }
    if (location.protocol === "file:") {
      problem("<strong>This page was opened as a file, so the browser cannot load its audio.</strong> " +
              "Serve the folder over HTTP and open the address it prints: <code>nac listen serve " +
              "FOLDER</code> (or <code>python3 -m http.server</code> inside the folder).");
      return;
    }
    if (!(window.AudioContext || window.webkitAudioContext) || !window.fetch) {
      problem("This browser cannot play the test's audio (it lacks Web Audio or fetch). Please use a " +
              "current Chromium, Chrome, Firefox or Safari.");
      return;
    }
    $("start-form").addEventListener("submit", start);
    $("play-ref").addEventListener("click", function () { playSel(0); });
    $("play-stop").addEventListener("click", togglePlay);
    $("loop").addEventListener("change", function () { loopChanged.call(null); });
    $("loop-start").addEventListener("input", loopChanged);
    $("loop-end").addEventListener("input", loopChanged);
    $("next").addEventListener("click", next);
    $("prev").addEventListener("click", function () {
      if (cur > 0) { player.stop(); buildItem(cur - 1); }
    });
    document.addEventListener("keydown", onKey);
    show("welcome");
    $("listener").focus();
  }

  /* for tests: the current item's versions as the listener sees them */
  window.nacListen = {
    items: function () { return items; },
    current: function () { return cur; },
    player: function () { return player; }
  };

  init();
})();
