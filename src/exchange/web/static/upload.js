/* The upload form and the new-version form, sent in pieces that survive a dropped
   connection (tus, with tus-js-client), with a progress bar. A new version names its
   resource (`data-resource-id`), sent as the upload's `resource_id`. Where tus-js-client
   cannot run, the form is sent whole with a progress bar; without JavaScript it posts as
   it is. */
(function () {
  if (!window.XMLHttpRequest || !window.FormData || !window.DOMParser) return;
  // Pieces small enough that a link of 256 kbit/s sends one in about 16 s: a drop loses
  // at most that, and the upload goes on from the last piece the server kept.
  var CHUNK_BYTES = 512 * 1024;
  // A rural link may be gone for minutes: keep trying, waiting longer each time.
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000, 60000, 60000];
  var LIST_FIELDS = { grades: ",", shared_with: ",", author_ids: ",", co_authors: "\n" };

  function bind() {
    var form = document.getElementById("upload-form");
    if (!form) return;
    var box = document.getElementById("upload-progress");
    var bar = document.getElementById("upload-bar");
    var status = document.getElementById("upload-status");
    function show(percent) {
      bar.value = percent;
      status.textContent = percent + " %";
    }
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      var file = input && input.files && input.files[0];
      if (window.tus && window.tus.isSupported && file && file.size > 0) {
        event.preventDefault();
        sendInPieces(form, file, box, show);
        return;
      }
      event.preventDefault();
      sendWhole(form, box, show);
    });
  }

  function metadataOf(form, file) {
    var metadata = { filename: file.name };
    var resourceId = form.getAttribute("data-resource-id");
    if (resourceId) metadata.resource_id = resourceId;
    new FormData(form).forEach(function (value, name) {
      if (typeof value !== "string" || value === "" || name === "_csrf_token") return;
      if (metadata[name] !== undefined && LIST_FIELDS[name]) {
        metadata[name] += LIST_FIELDS[name] + value;
      } else {
        metadata[name] = value;
      }
    });
    return metadata;
  }

  function sendInPieces(form, file, box, show) {
    var token = form.querySelector("input[name=_csrf_token]");
    var resourceId = null;
    box.hidden = false;
    var upload = new window.tus.Upload(file, {
      endpoint: form.getAttribute("data-resumable"),
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS,
      metadata: metadataOf(form, file),
      headers: { "X-CSRFToken": token ? token.value : "" },
      removeFingerprintOnSuccess: true,
      // What the browser remembers to resume: the file and what it becomes, so that a
      // file begun as a new resource never goes on as another resource's version.
      fingerprint: function (file, options) {
        return Promise.resolve(["exchange", file.name, file.type, file.size,
          file.lastModified, options.endpoint,
          form.getAttribute("data-resource-id") || "new"].join("-"));
      },
      onProgress: function (sent, total) {
        show(Math.floor((sent / total) * 100));
      },
      onAfterResponse: function (request, response) {
        var made = response.getHeader("Exchange-Resource-Id");
        if (made) resourceId = made;
      },
      onSuccess: function () {
        if (!resourceId) return;
        var done = form.getAttribute("data-resource-id") ? "?new_version=1#versions" : "?shared=1";
        window.location.assign("/resources/" + resourceId + done);
      },
      onError: function (error) {
        box.hidden = true;
        var response = error && error.originalResponse;
        var problem = null;
        try {
          problem = response ? JSON.parse(response.getBody()) : null;
        } catch (e) {
          problem = null;
        }
        if (problem && problem.detail) {
          showProblem(form, problem);
        } else {
          form.submit();
        }
      },
    });
    // A file this browser began to send before (the page was closed, the link dropped
    // for good) goes on from where the server stands.
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  }

  function showProblem(form, problem) {
    var old = document.getElementById("error-summary");
    if (old) old.parentNode.removeChild(old);
    var summary = document.createElement("div");
    summary.className = "error-summary";
    summary.id = "error-summary";
    summary.setAttribute("role", "alert");
    summary.setAttribute("tabindex", "-1");
    var heading = document.createElement("h2");
    heading.textContent = form.getAttribute("data-problem-title") || problem.title;
    summary.appendChild(heading);
    var list = document.createElement("ul");
    var items = (problem.errors || []).filter(function (e) { return e && e.field; });
    if (!items.length) items = [{ field: "file", message: problem.detail }];
    items.forEach(function (item) {
      var entry = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#" + item.field;
      link.textContent = item.message || problem.detail;
      entry.appendChild(link);
      list.appendChild(entry);
    });
    summary.appendChild(list);
    var main = document.querySelector("main");
    main.insertBefore(summary, main.firstChild);
    summary.focus();
  }

  function sendWhole(form, box, show) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    box.hidden = false;
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      show(Math.floor((e.loaded / e.total) * 100));
    });
    xhr.addEventListener("load", function () {
      var url = xhr.responseURL || "";
      if (xhr.status < 300 && url.indexOf(form.getAttribute("action")) === -1) {
        window.location.assign(url);
        return;
      }
      var answer = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var main = answer.querySelector("main");
      if (!main) { form.submit(); return; }
      document.querySelector("main").innerHTML = main.innerHTML;
      document.title = answer.title;
      var summary = document.getElementById("error-summary");
      if (summary) summary.focus();
      bind();
    });
    xhr.addEventListener("error", function () { box.hidden = true; form.submit(); });
    xhr.send(new FormData(form));
  }

  bind();
})();
