/* The upload form with a progress bar. Without this script the form posts as it is. */
(function () {
  if (!window.XMLHttpRequest || !window.FormData || !window.DOMParser) return;
  function bind() {
    var form = document.getElementById("upload-form");
    if (!form) return;
    var box = document.getElementById("upload-progress");
    var bar = document.getElementById("upload-bar");
    var status = document.getElementById("upload-status");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      box.hidden = false;
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var percent = Math.floor((e.loaded / e.total) * 100);
        bar.value = percent;
        status.textContent = percent + " %";
      });
      xhr.addEventListener("load", function () {
        var url = xhr.responseURL || "";
        if (xhr.status < 300 && url.indexOf("/resources/new") === -1) {
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
    });
  }
  bind();
})();
