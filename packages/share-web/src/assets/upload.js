// The upload page: each dropped file goes up with tus-js-client in pieces of data-chunk bytes.
// tus-js-client remembers each upload's URL in localStorage, so after a closed tab or a lost
// network, dropping the same file again continues from what the server holds.
"use strict";
(function () {
  const zone = document.getElementById("drop");
  const input = document.getElementById("files");
  const list = document.getElementById("uploads");
  const endpoint = zone.dataset.endpoint;
  const chunkSize = Number(zone.dataset.chunk);

  function row(file) {
    const li = document.createElement("li");
    li.dataset.name = file.name;
    li.dataset.state = "starting";
    const label = document.createElement("div");
    label.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = file.size || 1;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    const status = document.createElement("div");
    status.className = "status";
    li.append(label, bar, status);
    list.append(li);
    return { li, bar, status };
  }

  function send(file) {
    const view = row(file);
    const upload = new tus.Upload(file, {
      endpoint,
      chunkSize,
      retryDelays: [0, 1000, 3000, 5000, 10000],
      removeFingerprintOnSuccess: true,
      metadata: { filename: file.name, filetype: file.type || "application/octet-stream" },
      onProgress(sent, total) {
        view.bar.value = sent;
        view.status.textContent = Math.floor((sent / (total || 1)) * 100) + "% sent";
      },
      onChunkComplete(_size, accepted) {
        view.li.dataset.accepted = String(accepted);
      },
      onAfterResponse(_request, response) {
        const stored = response.getHeader("Ferry-Stored-Name");
        if (stored) {
          view.li.dataset.storedName = stored;
          view.li.dataset.sha256 = response.getHeader("Ferry-SHA256") || "";
        }
      },
      onSuccess() {
        view.li.dataset.state = "done";
        view.bar.value = view.bar.max;
        const name = view.li.dataset.storedName || file.name;
        view.status.textContent = "Stored as " + name + " · SHA-256 " + (view.li.dataset.sha256 || "");
      },
      onError(error) {
        view.li.dataset.state = "failed";
        const response = error.originalResponse;
        view.status.textContent = "Failed: " + (response ? response.getBody() || response.getStatus() : error.message);
        view.status.className = "status error";
      },
    });
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length > 0) {
        upload.resumeFromPreviousUpload(previous[0]);
        view.li.dataset.resumed = "true";
      }
      view.li.dataset.state = "sending";
      upload.start();
    });
  }

  input.addEventListener("change", function () {
    for (const file of input.files) send(file);
    input.value = "";
  });
  zone.addEventListener("dragover", function (event) {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", function () {
    zone.classList.remove("over");
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    zone.classList.remove("over");
    for (const file of event.dataTransfer.files) send(file);
  });
})();
