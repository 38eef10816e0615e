// The portal's own script: copy buttons. Everything else works without it.
document.documentElement.classList.add("js");

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  // Plain-http deployments: the older way, through a selected text area.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "visually-hidden";
  document.body.appendChild(area);
  area.select();
  const done = document.execCommand("copy");
  area.remove();
  return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  copyText(source.textContent).then(
    () => { button.textContent = "Copied"; },
    () => { button.textContent = "Select and copy by hand"; },
  );
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
});

// A page that answers a form with a problem brings the problem into view and gives it the focus,
// so that a keyboard or screen-reader user starts there (the element says so with data-focus).
document.addEventListener("DOMContentLoaded", () => {
  const problem = document.querySelector("[data-focus]");
  if (!problem) return;
  problem.scrollIntoView({block: "start"});
  problem.focus({preventScroll: true});
});

// Desktop notices. The permission is asked for only on a click of the switch on My jobs; once given,
// each banner that arrives (the portal's own record of the jobs, asked for every 15 s or when told) is shown once.
const shownNotices = new Set(JSON.parse(sessionStorage.getItem("portal-notices") || "[]"));

function showDesktopNotices(root) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  root.querySelectorAll("[data-notice]").forEach((banner) => {
    const id = banner.dataset.notice;
    if (shownNotices.has(id)) return;
    shownNotices.add(id);
    new Notification(banner.dataset.title, {tag: `portal-notice-${id}`});
  });
  sessionStorage.setItem("portal-notices", JSON.stringify([...shownNotices]));
}

document.addEventListener("DOMContentLoaded", () => showDesktopNotices(document));
document.addEventListener("htmx:afterSwap", () => showDesktopNotices(document));

document.addEventListener("click", (event) => {
  const button = event.target.closest("#desktop-notices[data-desktop=off]");
  if (!button || !("Notification" in window) || Notification.permission === "granted") return;
  event.preventDefault();
  Notification.requestPermission().then(() => button.form.submit());
});

// Told of changes. Where the live server runs (the body says where: data-live), an open page holds one
// stream of events (jobs/watching/stream.py): `job` when its job's phase is no longer the one shown, `banners`
// when the browser has a new banner. Only then does the page ask for the new part. Until the stream is open,
// and whenever it breaks (it connects again by itself), htmx asks every few seconds as the markup says.
const live = {source: null, url: "", open: false};

function followLive() {
  const base = document.body.dataset.live;
  if (!base || !("EventSource" in window)) return;
  const job = document.querySelector("#job-live[data-live-job]");
  const query = new URLSearchParams({since: document.body.dataset.liveSince});
  if (job) {
    query.set("job", job.dataset.liveJob);
    query.set("phase", job.dataset.livePhase);
  }
  const url = `${base}?${query}`;
  if (live.source && live.url === url) return;
  if (live.source) live.source.close();
  const source = new EventSource(url);
  Object.assign(live, {source, url, open: false});
  source.onopen = () => { live.open = true; };
  source.onerror = () => { live.open = false; };
  source.addEventListener("job", () => {
    const part = document.querySelector("#job-live[data-live-job]");
    if (part) htmx.trigger(part, "portal:changed");
  });
  source.addEventListener("banners", (event) => {
    document.body.dataset.liveSince = event.lastEventId;  // the next stream of this page starts from there
    const banners = document.getElementById("banners");
    if (banners) htmx.trigger(banners, "portal:banners");
  });
}

document.addEventListener("DOMContentLoaded", followLive);
document.addEventListener("htmx:load", followLive);  // a new live part shows another phase, or none
window.addEventListener("pagehide", () => { if (live.source) live.source.close(); live.source = null; live.url = ""; });
window.addEventListener("pageshow", followLive);

// While the stream is open the page's periodic questions are left unasked: it is told when to ask.
document.addEventListener("htmx:beforeRequest", (event) => {
  if (!live.open) return;
  const part = event.detail.elt;
  if (part.id !== "banners" && !(part.id === "job-live" && part.dataset.liveJob)) return;
  const cause = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
  if (!cause || !cause.type.startsWith("portal:")) event.preventDefault();
});

// A private link carries its code after #, which the browser never sends: the attach page puts it
// into its form (sent in the body of a POST, so no log holds it); the user still presses the button.
document.addEventListener("DOMContentLoaded", () => {
  const field = document.querySelector("#attach-form input[name=secret]");
  if (field && !field.value && location.hash.length > 1) {
    field.value = location.hash.slice(1);
    history.replaceState(null, "", location.pathname);
  }
});

// Fixing a query: the cursor goes to the spot the service's error points at (line and column, from 1).
document.addEventListener("DOMContentLoaded", () => {
  const spot = document.getElementById("query-spot");
  const editor = document.querySelector("textarea[name=query]");
  if (!spot || !editor) return;
  const lines = editor.value.split("\n");
  const line = Math.min(Number(spot.dataset.line), lines.length);
  let offset = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0);
  offset += Math.min(Number(spot.dataset.column) - 1, lines[line - 1].length);
  editor.focus({preventScroll: true});
  editor.setSelectionRange(offset, offset);
  editor.scrollIntoView({block: "center"});
});

// The table browser beside the editor: a click on a table or column name puts it into the query at the cursor.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-insert]");
  const editor = document.querySelector("textarea[name=query]");
  if (!button || !editor) return;
  const start = editor.selectionStart ?? editor.value.length;
  const end = editor.selectionEnd ?? start;
  editor.setRangeText(button.dataset.insert, start, end, "end");
  editor.focus();
});

// The examples beside the editor: a click on one puts its query into the editor in place of what is there (as an
// edit, so Ctrl+Z brings the old text back); without JavaScript the link opens the start page with it (?example=).
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-query]");
  const editor = document.querySelector("textarea[name=query]");
  if (!link || !editor || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  editor.focus();
  editor.select();
  if (!document.execCommand("insertText", false, link.dataset.query)) editor.value = link.dataset.query;
  editor.setSelectionRange(0, 0);
  editor.scrollTop = 0;
  const said = document.getElementById("example-loaded");
  if (said) said.textContent = `The editor holds the example “${link.dataset.name}”.`;
});
