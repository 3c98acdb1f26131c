/* Brochure pages of the staff console. Every page works without this file; with it:
   - the upload and edit form takes page images by drag and drop (or the picker), shows them
     as previews (object URLs, never sent anywhere) that can be reordered and removed, and sends
     the API's multipart shape (`meta` JSON + `pages` files) with a progress bar; refusals come
     back per field and per file;
   - the page viewer swaps the large page in place when a thumbnail is chosen. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  var ACCEPTED = ["image/jpeg", "image/png", "image/webp"];
  var TAG_SEPARATORS = /[,，、;；\s]+/;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function megabytes(bytes) {
    if (bytes < 1000000) return Math.max(1, Math.round(bytes / 1000)) + " KB";
    return (bytes / 1000000).toFixed(bytes < 10000000 ? 1 : 0) + " MB";
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* ---- upload and edit ---------------------------------------------------------------- */

  function enhanceUpload(form) {
    var kind = form.getAttribute("data-kind");
    var maxPages = Number(form.getAttribute("data-max-pages"));
    var maxBytes = Number(form.getAttribute("data-max-bytes"));
    var maxMb = form.getAttribute("data-max-mb");
    var uploadLimit = Number(form.getAttribute("data-upload-limit"));
    var grid = document.getElementById("page-grid");
    var input = document.getElementById("page-files");
    var zone = document.getElementById("dropzone");
    var alertBox = document.getElementById("form-alert");
    var alertText = document.getElementById("form-alert-text");
    var counter = document.getElementById("page-count");
    var progress = document.getElementById("upload-progress");
    var bar = document.getElementById("progress-bar");
    var progressText = document.getElementById("progress-text");
    var submitButton = document.getElementById("submit-button");
    var tools = document.getElementById("page-card-tools");
    var noPreview = document.getElementById("page-card-wait");
    var oldErrors = document.getElementById("file-errors");
    var items = [];
    var nextId = 1;
    var sending = false;
    var dragged = null;

    form.removeAttribute("data-once"); // this script guards against a second submission

    // The pages the brochure has (an edit): kept unless they came back unticked.
    grid.querySelectorAll(".page-card").forEach(function (card) {
      var keep = card.querySelector('input[name="keep"]');
      if (keep && !keep.checked) return;
      items.push({
        id: nextId++,
        image: card.getAttribute("data-image"),
        thumb: card.getAttribute("data-thumb") || null,
        name: "原第 " + card.getAttribute("data-number") + " 页",
        error: null
      });
    });

    function check(file) {
      if (file.type && ACCEPTED.indexOf(file.type) < 0) {
        return "不是可用的图片：请使用 JPEG、PNG 或 WebP 格式。";
      }
      if (file.size > maxBytes) return "文件超过 " + maxMb + " MB。";
      return null;
    }

    function add(files) {
      Array.prototype.forEach.call(files, function (file) {
        var error = check(file);
        items.push({
          id: nextId++,
          file: file,
          name: file.name,
          url: error ? null : URL.createObjectURL(file),
          error: error
        });
      });
      if (oldErrors) {
        oldErrors.remove();
        oldErrors = null;
      }
      fieldError("pages", null);
      render();
      var refused = items.filter(function (item) { return item.error; }).length;
      if (refused) {
        showAlert("有 " + refused + " 张图片不能使用，请移除标红的图片。");
      } else {
        hideAlert();
      }
    }

    function render(focus) {
      grid.textContent = "";
      items.forEach(function (item, index) {
        var number = index + 1;
        var card = el("li", "page-card" + (item.error ? " is-refused" : ""));
        card.setAttribute("draggable", "true");
        card.setAttribute("data-id", String(item.id));
        var box = el("div", "page-card-img");
        var source = item.url || item.thumb;
        if (source && !item.unpreviewable) {
          var img = el("img");
          // A file the browser cannot draw (an SVG or a PDF renamed .png, an empty file) says
          // 无法预览 as a refused type does, rather than a broken image and its alt text; the
          // server still judges the file when it is sent.
          img.addEventListener("error", function () {
            item.unpreviewable = true;
            if (img.parentNode) img.replaceWith(noPreview.content.cloneNode(true));
          });
          img.src = source;
          img.alt = "第 " + number + " 页预览";
          img.draggable = false;
          box.appendChild(img);
        } else {
          box.appendChild(noPreview.content.cloneNode(true));
        }
        card.appendChild(box);
        card.appendChild(el("span", "page-card-no", String(number)));
        if (item.file) card.appendChild(el("span", "page-card-new", "新"));
        if (item.name) {
          var name = el("span", "page-card-name", item.name);
          name.title = item.name;
          card.appendChild(name);
        }
        if (item.error) card.appendChild(el("p", "page-card-error", item.error));
        var foot = el("div", "page-card-foot");
        foot.appendChild(tools.content.cloneNode(true));
        var back = foot.querySelector('[data-move="-1"]');
        var ahead = foot.querySelector('[data-move="1"]');
        var remove = foot.querySelector("[data-remove]");
        back.setAttribute("aria-label", "第 " + number + " 页前移");
        ahead.setAttribute("aria-label", "第 " + number + " 页后移");
        remove.setAttribute("aria-label", "移除第 " + number + " 页");
        back.disabled = index === 0;
        ahead.disabled = index === items.length - 1;
        card.appendChild(foot);
        grid.appendChild(card);
      });
      counter.textContent = items.length ? "共 " + items.length + " 页" : "";
      if (focus) {
        var target = grid.querySelector('[data-id="' + focus.id + '"] ' + focus.selector);
        if (target && !target.disabled) target.focus();
        else if (grid.querySelector("button:not(:disabled)")) grid.querySelector("button:not(:disabled)").focus();
      }
    }

    function move(from, to) {
      if (to < 0 || to >= items.length || from === to) return;
      var item = items.splice(from, 1)[0];
      items.splice(to, 0, item);
    }

    function indexOf(id) {
      for (var i = 0; i < items.length; i++) if (String(items[i].id) === String(id)) return i;
      return -1;
    }

    grid.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button || !grid.contains(button)) return;
      var card = button.closest(".page-card");
      var index = indexOf(card.getAttribute("data-id"));
      if (index < 0) return;
      var item = items[index];
      if (button.hasAttribute("data-remove")) {
        if (item.url) URL.revokeObjectURL(item.url);
        items.splice(index, 1);
        render();
        var next = grid.querySelectorAll(".page-card")[Math.min(index, items.length - 1)];
        if (next) next.querySelector("[data-remove]").focus();
        else input.focus();
        if (!items.some(function (i) { return i.error; })) hideAlert();
      } else {
        var step = Number(button.getAttribute("data-move"));
        move(index, index + step);
        render({ id: item.id, selector: '[data-move="' + step + '"]' });
      }
    });

    // Reordering by dragging a card onto another (mouse); the buttons do it by touch and key.
    grid.addEventListener("dragstart", function (event) {
      var card = event.target.closest && event.target.closest(".page-card");
      if (!card) return;
      dragged = card.getAttribute("data-id");
      card.classList.add("is-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", "page:" + dragged);
    });
    grid.addEventListener("dragend", function () {
      dragged = null;
      grid.querySelectorAll(".is-dragging, .is-target").forEach(function (card) {
        card.classList.remove("is-dragging", "is-target");
      });
    });
    grid.addEventListener("dragover", function (event) {
      if (dragged === null) return;
      var card = event.target.closest(".page-card");
      if (!card) return;
      event.preventDefault();
      grid.querySelectorAll(".is-target").forEach(function (c) { c.classList.remove("is-target"); });
      if (card.getAttribute("data-id") !== dragged) card.classList.add("is-target");
    });
    grid.addEventListener("drop", function (event) {
      if (dragged === null) return;
      var card = event.target.closest(".page-card");
      event.preventDefault();
      if (!card) return;
      move(indexOf(dragged), indexOf(card.getAttribute("data-id")));
      dragged = null;
      render();
    });

    // Files dropped on the zone (or anywhere on the page: never opened by the browser).
    function hasFiles(event) {
      var types = event.dataTransfer && event.dataTransfer.types;
      return !!types && Array.prototype.indexOf.call(types, "Files") >= 0;
    }
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        if (!hasFiles(event)) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "copy";
        zone.classList.add("is-over");
      });
    });
    zone.addEventListener("dragleave", function (event) {
      if (!zone.contains(event.relatedTarget)) zone.classList.remove("is-over");
    });
    zone.addEventListener("drop", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      zone.classList.remove("is-over");
      add(event.dataTransfer.files);
    });
    window.addEventListener("dragover", function (event) {
      if (hasFiles(event)) event.preventDefault();
    });
    window.addEventListener("drop", function (event) {
      if (hasFiles(event)) event.preventDefault();
    });

    input.addEventListener("change", function () {
      add(input.files);
      input.value = "";
    });

    function showAlert(text) {
      alertText.textContent = text;
      alertBox.hidden = false;
    }

    function hideAlert() {
      alertBox.hidden = true;
    }

    function fieldError(name, text) {
      var message = document.getElementById(name + "-error");
      var wrapper = form.querySelector('[data-field="' + name + '"]');
      var control = form.elements[name];
      if (message) {
        message.textContent = text || "";
        message.hidden = !text;
      }
      if (wrapper) wrapper.classList.toggle("field-invalid", !!text);
      if (control && control.setAttribute) {
        if (text) control.setAttribute("aria-invalid", "true");
        else control.removeAttribute("aria-invalid");
      }
    }

    function clearErrors() {
      ["title", "product_code", "talk_track", "tags", "pages"].forEach(function (name) {
        fieldError(name, null);
      });
      hideAlert();
    }

    function finish() {
      sending = false;
      submitButton.removeAttribute("aria-busy");
      submitButton.disabled = false;
    }

    function refused(status, body) {
      finish();
      progress.hidden = true;
      if (!body) {
        showAlert(
          status === 0
            ? "网络中断，上传没有完成。请检查网络后重试。"
            : status === -1
            ? "登录已过期，这次上传没有保存。请刷新页面重新登录后再上传（需要重新选择图片）。"
            : status === 413
            ? "图片合计太大，请压缩图片或分次上传。"
            : "提交没有成功（错误 " + status + "）。页面可能已过期，请刷新页面后重试。"
        );
        alertBox.scrollIntoView({ block: "center" });
        return;
      }
      var fields = body.fields || {};
      Object.keys(fields).forEach(function (name) { fieldError(name, fields[name]); });
      var sent = items.filter(function (item) { return item.file; });
      (body.files || []).forEach(function (file) {
        var item = sent[file.index];
        if (item) item.error = file.message;
      });
      render();
      showAlert(body.message || "提交没有成功，请检查后重试。");
      var first = form.querySelector("[aria-invalid=true]") || grid.querySelector(".is-refused button");
      alertBox.scrollIntoView({ block: "center" });
      if (first) first.focus({ preventScroll: true });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (sending) return;
      clearErrors();
      var title = form.elements.title.value.trim();
      var product = form.elements.product_code.value;
      var problems = 0;
      if (!title) {
        fieldError("title", "请填写标题。");
        problems++;
      }
      if (!product) {
        fieldError("product_code", "请选择产品。");
        problems++;
      }
      if (!items.length) {
        fieldError("pages", "请至少添加一页页面图片。");
        problems++;
      } else if (items.length > maxPages) {
        fieldError("pages", "一本宣传册最多 " + maxPages + " 页，请移除多余的页面。");
        problems++;
      }
      var bad = items.filter(function (item) { return item.error; }).length;
      if (bad) {
        showAlert("有 " + bad + " 张图片不能使用，请移除标红的图片后再提交。");
        problems++;
      } else if (problems) {
        showAlert("请检查标红的内容。");
      }
      var files = items.filter(function (item) { return item.file; });
      var total = files.reduce(function (sum, item) { return sum + item.file.size; }, 0);
      if (!problems && total > uploadLimit) {
        showAlert("一次上传的图片合计不能超过 " + megabytes(uploadLimit) + "，请压缩图片后重试。");
        problems++;
      }
      if (problems) {
        var first = form.querySelector("[aria-invalid=true]");
        if (first) first.focus();
        else alertBox.scrollIntoView({ block: "center" });
        return;
      }

      var meta = {
        title: title,
        product_code: product,
        talk_track: form.elements.talk_track.value,
        tags: form.elements.tags.value.split(TAG_SEPARATORS).filter(Boolean)
      };
      if (kind === "edit") {
        var n = 0;
        meta.pages = items.map(function (item) { return item.file ? "upload:" + n++ : item.image; });
      }
      var data = new FormData();
      data.append("meta", JSON.stringify(meta));
      // A new brochure's one-time token: the form sent again (a retry) uploads nothing twice.
      if (form.elements.once) data.append("once", form.elements.once.value);
      files.forEach(function (item) { data.append("pages", item.file, item.name); });

      sending = true;
      submitButton.setAttribute("aria-busy", "true");
      submitButton.disabled = true;
      progress.hidden = false;
      bar.value = 0;
      progressText.textContent = files.length ? "正在上传 0%" : "正在保存…";

      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("Accept", "application/json");
      request.setRequestHeader("X-CSRF-Token", csrfToken());
      request.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable || !files.length) return;
        var percent = Math.min(100, Math.round((e.loaded / e.total) * 100));
        bar.value = percent;
        progressText.textContent =
          "正在上传 " + percent + "%（" + megabytes(e.loaded) + " / " + megabytes(e.total) + "）";
      });
      request.upload.addEventListener("load", function () {
        bar.value = 100;
        progressText.textContent = files.length ? "上传完成，正在检查图片…" : "正在保存…";
      });
      request.addEventListener("load", function () {
        var body = null;
        var type = request.getResponseHeader("content-type") || "";
        if (type.indexOf("application/json") === 0) {
          try {
            body = JSON.parse(request.responseText);
          } catch (ignored) {
            body = null;
          }
        }
        if (request.status >= 200 && request.status < 300 && body && body.location) {
          progressText.textContent = "完成，正在打开…";
          items.forEach(function (item) { if (item.url) URL.revokeObjectURL(item.url); });
          window.location.assign(body.location);
          return;
        }
        // Signed out meanwhile (idle too long): the console answered with its sign-in page.
        var signedOut = (request.responseURL || "").indexOf("/console/sign-in") >= 0;
        refused(signedOut ? -1 : request.status, body);
      });
      request.addEventListener("error", function () { refused(0, null); });
      request.send(data);
    });

    render();
  }

  /* ---- the page viewer ---------------------------------------------------------------- */

  function enhanceViewer(viewer) {
    var caption = document.getElementById("viewer-caption");
    var strip = viewer.querySelectorAll(".strip-item");
    var total = strip.length;

    function show(link, moveFocus) {
      var large = link.getAttribute("data-large");
      if (!large) return false;
      var current = document.getElementById("viewer-image");
      var img = current;
      if (current.tagName !== "IMG") {
        img = el("img", "viewer-img");
        img.id = "viewer-image";
        current.replaceWith(img);
      }
      var number = link.getAttribute("data-number");
      img.src = large;
      img.width = Number(link.getAttribute("data-width"));
      img.height = Number(link.getAttribute("data-height"));
      img.alt = "第 " + number + " 页";
      caption.textContent = "第 " + number + " 页，共 " + total + " 页";
      if (link.getAttribute("data-added")) caption.appendChild(el("span", "flag-added", "新增"));
      strip.forEach(function (other) { other.removeAttribute("aria-current"); });
      link.setAttribute("aria-current", "true");
      if (window.history.replaceState) window.history.replaceState(null, "", link.getAttribute("href"));
      if (moveFocus) link.focus();
      return true;
    }

    strip.forEach(function (link, index) {
      link.addEventListener("click", function (event) {
        if (show(link, false)) event.preventDefault();
      });
      link.addEventListener("keydown", function (event) {
        var to = event.key === "ArrowRight" ? index + 1 : event.key === "ArrowLeft" ? index - 1 : -1;
        if (to < 0 || to >= total) return;
        event.preventDefault();
        show(strip[to], true);
      });
    });
  }

  /* ---- the publish window: each time said in words ------------------------------------ */

  function enhanceWindow(form) {
    var zone = form.getAttribute("data-zone-label");
    var days = "日一二三四五六";
    ["live_from", "live_until"].forEach(function (name) {
      var input = form.elements[name];
      var preview = document.getElementById(name + "-preview");
      if (!input || !preview) return;
      function say() {
        var match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(input.value);
        if (!match) {
          preview.textContent = "";
          return;
        }
        var day = new Date(Date.UTC(+match[1], +match[2] - 1, +match[3])).getUTCDay();
        preview.textContent =
          +match[1] + "年" + +match[2] + "月" + +match[3] + "日（星期" + days[day] + "）" +
          match[4] + ":" + match[5] + "（" + zone + "）自动" + preview.getAttribute("data-verb");
      }
      input.addEventListener("input", say);
      input.addEventListener("change", say);
      say();
    });
  }

  var publishForm = document.getElementById("publish");
  if (publishForm) enhanceWindow(publishForm);
  var form = document.getElementById("brochure-form");
  if (form) enhanceUpload(form);
  var viewer = document.getElementById("viewer");
  if (viewer) enhanceViewer(viewer);
})();
