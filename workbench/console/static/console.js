/* RM Workbench staff console: small enhancements. Every page works without this file. */
(function () {
  "use strict";

  /* A form's own properties are shadowed by its controls' names: in a form with
     <button name="action">, `form.action` is that button (or all of them), not the address, and
     a control named "elements", "method" or "getAttribute" would hide those too. So a form is
     read only through the prototypes' own accessors and methods, never `form.x`. */
  var ELEMENT = Element.prototype;
  var formControls = Object.getOwnPropertyDescriptor(HTMLFormElement.prototype, "elements").get;
  var parentOf = Object.getOwnPropertyDescriptor(Node.prototype, "parentNode").get;
  function attr(form, name) { return ELEMENT.getAttribute.call(form, name); }
  function hasAttr(form, name) { return ELEMENT.hasAttribute.call(form, name); }
  function setAttr(form, name, value) { ELEMENT.setAttribute.call(form, name, value); }
  function removeAttr(form, name) { ELEMENT.removeAttribute.call(form, name); }
  function find(form, selector) { return ELEMENT.querySelector.call(form, selector); }
  function findAll(form, selector) { return ELEMENT.querySelectorAll.call(form, selector); }
  function controls(form) { return Array.prototype.slice.call(formControls.call(form)); }
  /* Where the form is sent: its action attribute resolved against the page (none or empty:
     the page itself), without a fragment; a button's formaction does not change it. */
  function target(form) {
    var url = new URL(attr(form, "action") || "", location.href);
    url.hash = "";
    return url.href;
  }
  /* How it is sent: the clicking button's formmethod, else the form's method (GET unless said). */
  function method(form, submitter) {
    var said = submitter && submitter.hasAttribute("formmethod") ?
      submitter.getAttribute("formmethod") : attr(form, "method");
    return (said || "get").toLowerCase();
  }

  /* <form data-confirm="确定发布吗？">: ask first. <form data-once>: a second click while the
     first submission is on its way sends nothing. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = attr(form, "data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (hasAttr(form, "data-once")) {
      if (attr(form, "data-sent")) {
        event.preventDefault();
        return;
      }
      setAttr(form, "data-sent", "1");
      findAll(form, "button[type=submit]").forEach(function (button) {
        button.setAttribute("aria-busy", "true");
      });
    }
  });

  /* Back/forward restores a page as it was left: let its forms be sent again. */
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      removeAttr(form, "data-sent");
      findAll(form, "[aria-busy]").forEach(function (button) {
        button.removeAttribute("aria-busy");
      });
    });
  });

  /* What was typed into a form survives a submission the server did not take: the page had
     expired (CSRF refused), the session ended (idle, signed out elsewhere: the sign-in page),
     a conflict, an outage (any error page) or an invisible NUL character pasted in (its page
     names the field). On submit, the fields the person changed (text, numbers, dates,
     choices; never passwords, files or hidden fields; not in forms marked data-no-draft) are
     kept in this tab's sessionStorage as pending, by the address the form is sent to, NULs
     left out. The next page decides: an error or sign-in page (marked data-submit-refused)
     keeps them, any other page (the submission was taken, or refused with the typed values
     shown again) drops them, and with them any older copy of that form. A form sent to the
     same address then offers them back (恢复 / 丢弃); another page links to it. Kept until
     that form is sent and taken, or dropped; 12 hours at most, in this tab only.
     Texts are kept for the person who typed them (the page's drafts-owner, an opaque tag of
     the signed-in user): a page of someone else signed in at this tab drops them, a page
     signed out offers nothing, and signing out here forgets them all. */
  var DRAFTS = "wb-console-drafts", PENDING = "wb-console-draft-pending";
  var KEEP_MS = 12 * 3600 * 1000;
  var SKIPPED = /^(password|hidden|file|submit|button|reset|image)$/;
  var NULS = /\u0000/g;

  function store() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }
  function readJson(key) {
    var s = store();
    if (!s) return null;
    try { return JSON.parse(s.getItem(key) || "null"); } catch (e) { return null; }
  }
  function writeJson(key, value) {
    var s = store();
    if (!s) return;
    try {
      if (value === null) s.removeItem(key); else s.setItem(key, JSON.stringify(value));
    } catch (e) { /* full or refused: nothing kept */ }
  }
  function draftable(field) {
    if (!field.name || field.disabled || /password|csrf/i.test(field.name)) return false;
    if (field.tagName === "TEXTAREA") return true;
    if (field.tagName === "SELECT") return !field.multiple;
    return field.tagName === "INPUT" && !SKIPPED.test(field.type) &&
      field.type !== "checkbox" && field.type !== "radio";
  }
  function changed(field) {
    if (field.tagName === "SELECT") {
      return Array.prototype.some.call(field.options, function (o) {
        return o.selected !== o.defaultSelected;
      });
    }
    return field.value !== field.defaultValue && field.value.trim() !== "";
  }
  /* What a person calls the field: its label, else its aria-label. */
  function labelOf(field) {
    var label = field.labels && field.labels.length ? field.labels[0].textContent : "";
    return (label || field.getAttribute("aria-label") || "").replace(/\s+/g, " ").trim();
  }
  /* A copy is one of this script's (older ones, kept by the page's address as an object when
     a control shadowed it, are not) and not past its time. */
  function usable(draft) {
    return draft && typeof draft.action === "string" && draft.fields &&
      Date.now() - draft.at < KEEP_MS;
  }
  function drafts() {
    var list = readJson(DRAFTS);
    return Array.isArray(list) ? list.filter(usable) : [];
  }
  /* Who is signed in on this page ("" on a signed-out page). */
  function owner() {
    var meta = document.querySelector('meta[name="drafts-owner"]');
    return (meta && meta.getAttribute("content")) || "";
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !(form instanceof HTMLFormElement)) return;
    if (method(form, event.submitter) !== "post") return;
    if (hasAttr(form, "data-forget-drafts")) {  /* signing out: nothing stays for the next */
      writeJson(DRAFTS, null);
      writeJson(PENDING, null);
      return;
    }
    if (hasAttr(form, "data-no-draft")) return;
    var fields = {}, labels = {};
    controls(form).forEach(function (field) {
      if (draftable(field) && changed(field) && !(field.name in fields)) {
        fields[field.name] = field.value.replace(NULS, "");
        labels[field.name] = labelOf(field);
      }
    });
    writeJson(PENDING, {action: target(form), page: location.pathname + location.search,
                        title: document.title.split(" · ")[0], fields: fields,
                        labels: labels, at: Date.now(), owner: owner()});
  });

  function offer(form, draft) {
    var note = document.createElement("div");
    note.className = "alert alert-warning draft-offer";
    note.setAttribute("role", "status");
    var text = document.createElement("span");
    text.textContent = draft.why === "nul" ?
      "您上次在这里填写的内容没有提交成功：其中含有无法保存的不可见字符（NUL）。恢复后这些字符已去掉，请检查后重新提交。" :
      "您上次在这里填写的内容没有提交成功（页面已过期、登录已结束或服务暂时不可用）。";
    var restore = document.createElement("button");
    restore.type = "button";
    restore.className = "button button-primary";
    restore.textContent = "恢复填写的内容";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "button button-quiet";
    discard.textContent = "丢弃";
    note.append(text, restore, discard);
    parentOf.call(form).insertBefore(note, form);
    function forget() {
      writeJson(DRAFTS, drafts().filter(function (d) { return d.action !== draft.action; }));
      note.remove();
    }
    restore.addEventListener("click", function () {
      var fields = controls(form);
      Object.keys(draft.fields).forEach(function (name) {
        var field = fields.find(function (f) { return f.name === name && draftable(f); });
        if (!field) return;
        field.value = draft.fields[name];
        field.dispatchEvent(new Event("input", {bubbles: true}));
        field.dispatchEvent(new Event("change", {bubbles: true}));
      });
      note.remove();  /* kept until this form is sent and taken, or dropped */
      var first = find(form, "textarea, input:not([type=hidden])");
      if (first) first.focus();
    });
    discard.addEventListener("click", forget);
  }

  function elsewhere(list) {
    var main = document.querySelector("main") || document.body;
    var note = document.createElement("div");
    note.className = "alert alert-warning draft-offer";
    note.setAttribute("role", "status");
    var text = document.createElement("span");
    text.textContent = "有未提交成功的内容：";
    note.append(text);
    list.forEach(function (draft) {
      var link = document.createElement("a");
      link.href = draft.page;
      link.textContent = "《" + (draft.title || draft.page) + "》";
      note.append(link);
    });
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "button button-quiet";
    discard.textContent = "丢弃";
    discard.addEventListener("click", function () {
      writeJson(DRAFTS, null);
      note.remove();
    });
    note.append(discard);
    main.insertBefore(note, main.firstChild);
  }

  /* A page refusing a NUL names the field (data-nul-field) by its label, as the form said it. */
  function nameNulField(pending) {
    var where = document.querySelector("[data-nul-field]");
    var name = where && where.getAttribute("data-nul-field");
    var label = name && pending && pending.labels && pending.labels[name];
    if (!label) return;
    where.textContent = "含有这个字符的是“" + label + "”一栏。";
    where.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var pending = readJson(PENDING), kept = drafts(), me = owner();
    var refused = document.querySelector("[data-submit-refused]");
    writeJson(PENDING, null);
    if (!usable(pending)) pending = null;
    if (me) {  /* someone signed in: only what they typed stays */
      kept = kept.filter(function (d) { return d.owner === me; });
      if (pending && pending.owner !== me) pending = null;
    }
    if (pending) {
      /* The same form's older copy goes: this one is newer, or the form was taken. */
      kept = kept.filter(function (d) { return d.action !== pending.action; });
      if (refused && Object.keys(pending.fields).length) {
        pending.why = refused.getAttribute("data-submit-refused") || undefined;
        kept.push(pending);
      }
    }
    writeJson(DRAFTS, kept.length ? kept : null);
    nameNulField(pending);
    if (!kept.length || refused || !me) return;
    var offered = {};
    Array.prototype.forEach.call(document.forms, function (form) {
      var sentTo = target(form);
      kept.forEach(function (draft) {
        if (sentTo === draft.action && !offered[draft.action]) {
          offered[draft.action] = true;
          offer(form, draft);
        }
      });
    });
    var rest = kept.filter(function (d) { return !offered[d.action]; });
    if (rest.length) elsewhere(rest);
  });

  /* For page scripts: fetch() with the page's CSRF token, e.g.
     WorkbenchConsole.send("/console/brochures/1/publish", {method: "POST"}). */
  window.WorkbenchConsole = {
    send: function (url, options) {
      var meta = document.querySelector('meta[name="csrf-token"]');
      var init = Object.assign({credentials: "same-origin"}, options || {});
      init.headers = Object.assign({}, init.headers || {}, {
        "X-CSRF-Token": meta ? meta.getAttribute("content") : ""
      });
      return window.fetch(url, init);
    }
  };
})();

/* Alert-rule forms (form[data-rule-form]): a choice question's value is picked from its options
   (the label shown, the option's value sent); any other question's value is typed (a score, a
   term). The question's <option data-choices='[[value, label], …]'> says which; without this
   script the page draws the chosen question's picker, and a typed label is taken too. */
(function () {
  "use strict";

  function picker(choices, was) {
    var select = document.createElement("select");
    var blank = document.createElement("option");
    blank.value = "";
    blank.textContent = "请选择选项";
    select.appendChild(blank);
    choices.forEach(function (choice) {
      var option = document.createElement("option");
      option.value = choice[0];
      option.textContent = choice[1];
      option.selected = was === choice[0];
      select.appendChild(option);
    });
    return select;
  }

  function box(was) {
    var input = document.createElement("input");
    input.maxLength = 40;
    input.placeholder = "如 6 或关键词";
    input.value = was;
    return input;
  }

  document.addEventListener("change", function (event) {
    var question = event.target;
    if (!(question instanceof HTMLSelectElement)) return;
    if (question.name !== "question" && question.name !== "question_key") return;
    var form = question.closest("form[data-rule-form]");
    /* The form's querySelector, not one a control named so would shadow. */
    var inForm = function (selector) { return Element.prototype.querySelector.call(form, selector); };
    var field = form && inForm("[data-rule-value]");
    var old = field && field.querySelector("#value");
    if (!old) return;
    var chosen = question.options[question.selectedIndex];
    var choices = null;
    try {
      choices = JSON.parse((chosen && chosen.getAttribute("data-choices")) || "null");
    } catch (e) { choices = null; }
    var control = choices ? picker(choices, old.value)
      : box(old.tagName === "INPUT" ? old.value : "");
    control.id = "value";
    control.name = "value";
    control.required = true;
    ["aria-describedby", "aria-invalid"].forEach(function (name) {
      if (old.hasAttribute(name)) control.setAttribute(name, old.getAttribute(name));
    });
    old.replaceWith(control);
    /* The condition the question takes: a choice 等于, a text 包含, a score not 包含. */
    var op = inForm("select[name=op]");
    var kind = chosen && chosen.getAttribute("data-kind");
    if (op && kind === "choice") op.value = "eq";
    else if (op && kind === "text") op.value = "contains";
    else if (op && kind === "score" && op.value === "contains") op.value = "lte";
    var hint = field.querySelector("#value-hint");
    var words = hint && hint.getAttribute(choices ? "data-hint-choice" : "data-hint-typed");
    if (words) hint.textContent = words;
  });
})();
