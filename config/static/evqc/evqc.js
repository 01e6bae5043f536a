// evqc portal: small enhancements over pages that work without them.
// - Quantity inputs say at once whether what is typed is the kind of quantity expected,
//   read by the server with the same rules the form applies (evqc/units.py).
// - Result rows tell their value input which kind of quantity the chosen attribute takes.
// - Method choosers reload the form for the chosen method.
// - Upload forms accept a dropped file and show how much of it has been sent.
// - Import pages follow the import until it is stored.
(function () {
  "use strict";

  const checkUrl = document.body.dataset.quantityCheckUrl;

  // Quantity inputs -----------------------------------------------------------------

  function messageFor(input) {
    const id = input.id + "-check";
    let message = document.getElementById(id);
    if (!message) {
      message = document.createElement("span");
      message.id = id;
      message.className = "quantity-check";
      message.setAttribute("aria-live", "polite");
      input.insertAdjacentElement("afterend", message);
      const described = input.getAttribute("aria-describedby");
      input.setAttribute("aria-describedby", described ? described + " " + id : id);
    }
    return message;
  }

  function show(input, ok, text) {
    const message = messageFor(input);
    message.textContent = text;
    message.classList.toggle("ok", ok);
    message.classList.toggle("problem", !ok);
    if (ok) {
      input.removeAttribute("aria-invalid");
    } else {
      input.setAttribute("aria-invalid", "true");
    }
  }

  async function check(input) {
    const kind = input.dataset.quantityKind;
    const text = input.value.trim();
    if (!kind || !text || !checkUrl) {
      show(input, true, "");
      return;
    }
    const query = new URLSearchParams({ kind: kind, value: text });
    const asked = input.value;
    try {
      const response = await fetch(checkUrl + "?" + query, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const answer = await response.json();
      if (input.value === asked) {
        show(input, answer.ok, answer.message);
      }
    } catch (error) {
      show(input, true, ""); // the form's own check still applies when it is sent
    }
  }

  function watchQuantity(input) {
    let timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { check(input); }, 200);
    });
    if (input.value.trim()) {
      check(input);
    }
  }

  document.querySelectorAll("input[data-quantity-kind]").forEach(watchQuantity);

  // Result rows: the attribute decides the kind of the value ---------------------------

  function followAttribute(select) {
    const input = document.getElementById(select.dataset.kindFor);
    if (!input) {
      return;
    }
    const placeholder = input.getAttribute("placeholder");
    function apply() {
      const option = select.options[select.selectedIndex];
      const kind = option ? option.dataset.kind : "";
      const outcomes = option ? option.dataset.outcomes : "";
      if (kind && !outcomes) {
        input.dataset.quantityKind = kind;
        input.setAttribute("placeholder", placeholder);
      } else {
        delete input.dataset.quantityKind;
        if (outcomes) {
          input.setAttribute("placeholder", "one of: " + outcomes);
        }
      }
      check(input);
    }
    if (!input.dataset.quantityKind) {
      input.dataset.quantityKind = "";
      watchQuantity(input);
    }
    select.addEventListener("change", apply);
    apply();
  }

  document.querySelectorAll("select[data-kind-for]").forEach(followAttribute);

  // Method choosers --------------------------------------------------------------------

  document.querySelectorAll("form[data-auto-submit] select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Uploads ----------------------------------------------------------------------------

  function dropZone(zone) {
    const input = zone.querySelector("input[type=file]");
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }

  function upload(form) {
    const box = form.querySelector("[data-upload-progress]");
    const bar = box.querySelector("progress");
    const status = box.querySelector("[data-upload-status]");
    const limit = Number(form.dataset.maxBytes || 0);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const file = form.querySelector("input[type=file]").files[0];
      if (file && limit && file.size > limit) {
        box.hidden = false;
        status.textContent = "The file is " + (file.size / 1048576).toFixed(1) +
          " MB; evqc accepts at most " + (limit / 1048576).toFixed(0) + " MB.";
        return;
      }
      const request = new XMLHttpRequest();
      request.open("POST", form.action || window.location.href);
      request.upload.addEventListener("progress", function (progress) {
        if (progress.lengthComputable) {
          const percent = Math.round((100 * progress.loaded) / progress.total);
          bar.value = percent;
          status.textContent = percent + " % sent";
        }
      });
      request.upload.addEventListener("load", function () {
        status.textContent = "Sent; evqc is reading the file.";
      });
      request.addEventListener("load", function () {
        const sentTo = new URL(form.action || window.location.href, window.location.href);
        const landed = new URL(request.responseURL || sentTo.href);
        if (request.status >= 400) {
          let message = "evqc refused the upload (HTTP " + request.status + ").";
          try {
            message = JSON.parse(request.responseText).message || message;
          } catch (error) {
            // not JSON: keep the plain message
          }
          status.textContent = message;
          return;
        }
        if (landed.pathname !== sentTo.pathname) {
          window.location.assign(landed.href); // the preview
          return;
        }
        // The form again, with what was wrong with the upload.
        const page = new DOMParser().parseFromString(request.responseText, "text/html");
        const main = page.querySelector("main");
        if (main) {
          document.querySelector("main").replaceWith(main);
          enhance(main);
        }
      });
      request.addEventListener("error", function () {
        box.hidden = false;
        status.textContent = "The file could not be sent: check the connection and try again.";
      });
      box.hidden = false;
      bar.value = 0;
      status.textContent = "Sending…";
      request.send(new FormData(form));
    });
  }

  // Import pages -----------------------------------------------------------------------

  function follow(section) {
    const url = section.dataset.importProgress;
    const badge = section.querySelector("[data-import-status]");
    const bar = section.querySelector("progress");
    async function poll() {
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        const job = await response.json();
        badge.textContent = job.status_display;
        if (bar) {
          bar.value = job.progress;
        }
        if (job.status === "succeeded" || job.status === "failed") {
          window.location.reload();
          return;
        }
      } catch (error) {
        // a dropped connection: try again at the next tick
      }
      setTimeout(poll, 1000);
    }
    setTimeout(poll, 500);
  }

  function enhance(root) {
    root.querySelectorAll("[data-drop-zone]").forEach(dropZone);
    root.querySelectorAll("form[data-upload]").forEach(upload);
    root.querySelectorAll("input[data-quantity-kind]").forEach(watchQuantity);
  }

  document.querySelectorAll("[data-drop-zone]").forEach(dropZone);
  document.querySelectorAll("form[data-upload]").forEach(upload);
  document.querySelectorAll("[data-import-progress]").forEach(function (section) {
    if (section.dataset.status === "queued" || section.dataset.status === "running") {
      follow(section);
    }
  });
})();
