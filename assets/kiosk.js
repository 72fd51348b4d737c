// Kiosk mode in the browser (components/kiosk.py renders the pieces; states/kiosk.py decides).
//
// 1. The cycle: while the page has the hidden link #kiosk-next (kiosk mode with a next
//    page), click it once the page has been shown for data-cycle seconds. The click is
//    react-router's client-side navigation: the websocket and the page states stay, and
//    nothing here needs the server, so the cycle goes on while the database is down.
// 2. The clock in the kiosk header (.kiosk-clock, in data-tz).
// 3. The alarm sound (?kiosk=1&sound=1): two short tones when the alarm banner's count of
//    unacknowledged high-priority alarms goes up (not for those already there when the
//    page opened). Browsers play sound only after a user gesture, unless Chromium was
//    started with --autoplay-policy=no-user-gesture-required (README, kiosk at boot);
//    window.__ksysAlarmSounds counts the sounds asked for either way.
// (The pages' URL rewrite keeps ?kiosk=, ?cycle= and ?sound=: states/base.py SCREEN_PARAMS.)
(function () {
  if (window.__ksysKiosk) return;
  window.__ksysKiosk = true;
  var shownKey = "";
  var shownAt = Date.now();
  function tick() {
    var link = document.getElementById("kiosk-next");
    // a new page, or a new next stop, restarts the count
    var key = window.location.pathname + "|" + (link ? link.getAttribute("href") + "|" + link.dataset.cycle : "");
    if (key !== shownKey) {
      shownKey = key;
      shownAt = Date.now();
    }
    var cycle = link ? Number(link.dataset.cycle) : 0;
    if (link && cycle > 0 && Date.now() - shownAt >= cycle * 1000) {
      shownAt = Date.now();
      link.click();
    }
    // The clock is hidden outside kiosk mode: no formatting then. A formatter is built
    // once per zone; a toLocaleTimeString with a timeZone builds one on every call,
    // which cost 20-80 ms a tick with the CPU throttled 4x (bench finding 12).
    var clocks = document.querySelector(".app.kiosk") ? document.querySelectorAll(".kiosk-clock") : [];
    for (var i = 0; i < clocks.length; i++) {
      var text = clockFormat(clocks[i].getAttribute("data-tz") || "").format(new Date());
      if (clocks[i].textContent !== text) clocks[i].textContent = text;
    }
  }
  var lastHigh = null;
  window.__ksysAlarmSounds = 0;
  function soundOn() {
    return document.querySelector(".app.kiosk") !== null && new URLSearchParams(window.location.search).get("sound") === "1";
  }
  function checkAlarms() {
    var banner = document.querySelector("[data-testid=alarm-banner]");
    var high = banner ? Number(banner.getAttribute("data-high")) : NaN;
    if (!isFinite(high)) return;
    if (lastHigh !== null && high > lastHigh && soundOn()) {
      window.__ksysAlarmSounds += 1;
      beep();
    }
    lastHigh = high;
  }
  var audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
      [[880, 0], [660, 0.25]].forEach(function (tone) {
        var osc = audio.createOscillator(), gain = audio.createGain(), t0 = audio.currentTime + tone[1];
        osc.frequency.value = tone[0];
        gain.gain.setValueAtTime(0.25, t0);
        gain.gain.exponentialRampToValueAtTime(0.001, t0 + 0.22);
        osc.connect(gain).connect(audio.destination);
        osc.start(t0);
        osc.stop(t0 + 0.23);
      });
    } catch (e) { /* no audio device: the banner still says it */ }
  }
  var formats = {};
  // what toLocaleTimeString("en-GB", {timeZone: tz, hour12: false}) formats with
  var CLOCK = { hour: "numeric", minute: "numeric", second: "numeric", hour12: false };
  function clockFormat(tz) {
    if (!formats[tz]) {
      try {
        formats[tz] = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: tz || undefined }, CLOCK));
      } catch (e) {  // an unknown zone name: the browser's own
        formats[tz] = new Intl.DateTimeFormat("en-GB", CLOCK);
      }
    }
    return formats[tz];
  }
  setInterval(function () { tick(); checkAlarms(); }, 1000);
})();
