// "Send with SAMP": a result's URL to the applications of the user's SAMP hub (table.load.votable),
// through the SAMP Web Profile at http://localhost:21012 (SAMP 1.3 §5). sampjs is loaded at the
// first click only: a page without a hub pays nothing for it.
(() => {
  let loading = null;
  let connector = null;

  function loadSamp(source) {
    if (!loading) {
      loading = new Promise((resolve, reject) => {
        // sampjs 1.0.3, as npm publishes it, ends with `module.exports = { samp }` (CommonJS), which
        // would throw in a page: an object of that name takes the export while the file runs.
        window.module = { exports: {} };
        const script = document.createElement("script");
        script.src = source;
        script.onload = () => { delete window.module; resolve(window.samp); };
        script.onerror = () => { delete window.module; loading = null; reject(new Error("not loaded")); };
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  function say(button, text) {
    const status = document.getElementById(button.getAttribute("aria-describedby"));
    if (status) status.textContent = text;
  }

  function send(samp, button) {
    const { sampUrl: url, sampName: name } = button.dataset;
    connector = connector || new samp.Connector("TAP job portal", { "samp.name": "TAP job portal" });
    const refused = () => say(button, "The SAMP hub did not let the portal in (refused, or not accepted): nothing was sent.");
    connector.runWithConnection((connection) => {
      const message = new samp.Message("table.load.votable", { url, name, "table-id": url });
      connection.notifyAll([message], (recipients) => {
        const count = recipients.length;
        say(button, count
          ? `Sent ${name} to ${count} application${count === 1 ? "" : "s"} of the SAMP hub.`
          : "The SAMP hub is running, but no application on it takes tables: start TOPCAT or Aladin, then send again.");
      }, refused);
    }, refused);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-samp-url]");
    if (!button) return;
    say(button, "Looking for a SAMP hub…");
    loadSamp(button.dataset.sampScript).then((samp) => {
      samp.ping((running) => {
        if (!running) {
          say(button, "No SAMP hub is running on this computer: start TOPCAT or Aladin (or another SAMP hub "
            + "with the Web Profile), then send again.");
          return;
        }
        say(button, "Sending… the SAMP hub may ask you to accept the TAP job portal.");
        send(samp, button);
      });
    }, () => say(button, "The SAMP library could not be loaded: reload the page and send again."));
  });
})();
