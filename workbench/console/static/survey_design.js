/* The survey editor: add, remove and reorder questions and options, show the options and the
   skip logic's answers that fit each question, and redraw the customer's page as it is edited.
   The page works without this file (numbers to reorder, boxes to remove, spare option rows). */
(function () {
  "use strict";

  var TYPES_WITH_OPTIONS = {single: true, multi: true};

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    var form = document.getElementById("survey-editor");
    var list = document.getElementById("q-list");
    if (!form || !list) return;
    document.documentElement.classList.add("js");
    var questionTemplate = document.getElementById("question-template");
    var optionTemplate = document.getElementById("option-template");

    function cards() {
      return Array.prototype.slice.call(list.querySelectorAll(":scope > .q-card"));
    }

    function field(card, name) {
      return card.querySelector('[name="q' + card.dataset.row + "." + name + '"]');
    }

    function fromTemplate(template, replacements) {
      var html = template.innerHTML;
      Object.keys(replacements).forEach(function (key) {
        html = html.split(key).join(replacements[key]);
      });
      var holder = document.createElement("div");
      holder.innerHTML = html; // our own markup; the user's text is only ever set as values
      return holder.firstElementChild;
    }

    function nextNumber(attribute, within) {
      var max = 0;
      within.querySelectorAll("[" + attribute + "]").forEach(function (el) {
        var n = parseInt(el.getAttribute(attribute), 10);
        if (n > max) max = n;
      });
      return max + 1;
    }

    function freeKey(prefix, taken) {
      var n = 1;
      while (taken.indexOf(prefix + n) !== -1) n += 1;
      return prefix + n;
    }

    function keys() {
      return cards().map(function (card) {
        return field(card, "key").value.trim();
      });
    }

    function question(card) {
      var type = field(card, "type").value;
      var options = [];
      card.querySelectorAll(".opt-row").forEach(function (row) {
        var label = row.querySelector(".opt-label").value.trim();
        var value = row.querySelector(".opt-value").value.trim();
        if (label || value) options.push({label: label, value: value});
      });
      return {
        card: card,
        key: field(card, "key").value.trim(),
        type: type,
        text: field(card, "text").value.trim(),
        required: field(card, "required").checked,
        options: options,
        showKey: field(card, "show_key").value,
        showIn: field(card, "show_in").value.trim()
      };
    }

    /* Numbers, the type's options, the skip logic's choices of every question. */
    function refresh() {
      var all = cards().map(question);
      all.forEach(function (q, index) {
        var card = q.card;
        card.dataset.type = q.type;
        field(card, "order").value = String(index + 1);
        var options = card.querySelector(".q-options");
        options.hidden = !TYPES_WITH_OPTIONS[q.type];
        var summary = card.querySelector(".q-advanced summary .code");
        if (summary) summary.textContent = q.key;
        var select = field(card, "show_key");
        conditionChoices(select, card, index, all);
        card.querySelector(".q-logic-in").hidden = !select.value;
        hint(card, all, select.value);
      });
      document.getElementById("question-count").textContent = "共 " + all.length + " 题";
      preview(all);
    }

    /* The question a condition looks at, as its card's row (options carry data-row) and the
       key it was chosen by: a condition follows its question when that question's key is
       renamed or the questions are reordered, and is never dropped for a key it cannot find. */
    function conditionTarget(select) {
      var option = select.selectedIndex > 0 ? select.options[select.selectedIndex] : null;
      if (!option) return null;
      return {row: option.getAttribute("data-row") || "", key: option.value};
    }

    function isTarget(target, other) {
      if (!target) return false;
      return target.row ? other.card.dataset.row === target.row : other.key === target.key;
    }

    function conditionChoices(select, card, index, all) {
      var target = conditionTarget(select);
      var found = false;
      while (select.options.length > 1) select.remove(1);
      all.forEach(function (other, otherIndex) {
        var chosen = isTarget(target, other);
        if (other.card === card || (!other.key && !chosen)) return;
        var label = "仅当第 " + (otherIndex + 1) + " 题 · " + (other.text || other.key);
        if (label.length > 26) label = label.slice(0, 25) + "…";
        if (otherIndex > index) label += "（在本题之后，不可用）"; // only earlier ones decide
        // A target whose key was emptied keeps the key it had: the server says it is missing.
        var option = new Option(label, other.key || target.key, false, chosen);
        option.setAttribute("data-row", other.card.dataset.row);
        select.add(option);
        if (chosen) found = true;
      });
      if (target && !found) { // its question was removed: shown, and refused when saved
        select.add(new Option("仅当“" + target.key + "”（已不存在）", target.key, false, true));
      }
    }

    function hint(card, all, key) {
      var box = card.querySelector(".q-logic-hint");
      var target = null;
      all.forEach(function (q) {
        if (q.key === key) target = q;
      });
      if (!target) {
        box.hidden = true;
        return;
      }
      var text;
      if (TYPES_WITH_OPTIONS[target.type]) {
        text = "可填：" + target.options.map(function (o) { return o.label || o.value; }).join("、");
      } else if (target.type === "nps") {
        text = "填 0-10 的分数，可写范围，如 0-6（贬损者）或 9-10（推荐者）";
      } else if (target.type === "rating") {
        text = "填 1-5 的星级，可写范围，如 1-3";
      } else {
        text = "文本题不能作为显示条件，请选择一道选择题、NPS 或评分题。";
      }
      box.textContent = text + "；多个答案用逗号或顿号分隔。";
      box.hidden = false;
    }

    function el(tag, className, text) {
      var node = document.createElement(tag);
      if (className) node.className = className;
      if (text !== undefined) node.textContent = text;
      return node;
    }

    /* The customer's page, as the server draws it in design_macros.html. */
    function preview(all) {
      var title = document.getElementById("pv-title");
      var titleInput = document.getElementById("title");
      if (title && titleInput) title.textContent = titleInput.value.trim() || "（未填写标题）";
      var box = document.getElementById("pv-questions");
      if (!box) return;
      box.textContent = "";
      all.forEach(function (q, index) {
        var item = el("li", "pv-q" + (q.showKey ? " pv-q-conditional" : ""));
        var text = el("p", "pv-text");
        text.appendChild(el("span", "pv-no", index + 1 + "."));
        text.appendChild(document.createTextNode(" " + (q.text || "（未填写题目）")));
        if (q.required) text.appendChild(el("span", "pv-req", "*"));
        item.appendChild(text);
        if (q.showKey) {
          var at = "“" + q.showKey + "”";
          all.forEach(function (other, n) {
            if (other.key === q.showKey) at = "第 " + (n + 1) + " 题";
          });
          item.appendChild(el("p", "pv-cond", "仅当" + at + "回答 " + (q.showIn || "…") + " 时显示"));
        }
        if (TYPES_WITH_OPTIONS[q.type]) {
          var options = el("ul", "pv-options");
          q.options.forEach(function (o) {
            if (!o.label) return;
            var li = el("li");
            li.appendChild(el("span", "pv-mark pv-mark-" + q.type));
            li.appendChild(document.createTextNode(o.label));
            options.appendChild(li);
          });
          item.appendChild(options);
        } else if (q.type === "nps") {
          var scale = el("div", "pv-scale");
          for (var n = 0; n <= 10; n += 1) scale.appendChild(el("span", "", String(n)));
          item.appendChild(scale);
          var ends = el("div", "pv-ends");
          ends.appendChild(el("span", "", "最不可能"));
          ends.appendChild(el("span", "", "最可能"));
          item.appendChild(ends);
        } else if (q.type === "rating") {
          var stars = el("div", "pv-stars");
          for (var s = 0; s < 5; s += 1) stars.appendChild(el("span", "", "★"));
          item.appendChild(stars);
        } else {
          item.appendChild(el("div", "pv-textarea", "请输入…"));
        }
        box.appendChild(item);
      });
    }

    function addOption(card) {
      var rows = card.querySelector(".opt-rows");
      var row = fromTemplate(optionTemplate, {
        __ROW__: card.dataset.row,
        __OPT__: String(nextNumber("data-option", rows))
      });
      rows.appendChild(row);
      return row;
    }

    function addQuestion() {
      var row = String(nextNumber("data-row", list));
      var card = fromTemplate(questionTemplate, {__ROW__: row});
      list.appendChild(card);
      field(card, "key").value = freeKey("q", keys());
      refresh();
      field(card, "text").focus();
    }

    function flash(card) {
      card.classList.add("is-moved");
      window.setTimeout(function () {
        card.classList.remove("is-moved");
      }, 600);
    }

    document.getElementById("add-question").addEventListener("click", addQuestion);

    list.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button || !list.contains(button)) return;
      var card = button.closest(".q-card");
      if (button.hasAttribute("data-move")) {
        var step = parseInt(button.getAttribute("data-move"), 10);
        var sibling = step < 0 ? card.previousElementSibling : card.nextElementSibling;
        if (!sibling) return;
        if (step < 0) list.insertBefore(card, sibling);
        else list.insertBefore(sibling, card);
        button.focus();
        flash(card);
        refresh();
      } else if (button.hasAttribute("data-remove")) {
        var text = field(card, "text").value.trim();
        if (text && !window.confirm("删除这道题吗？“" + text + "”")) return;
        card.remove();
        refresh();
      } else if (button.hasAttribute("data-add-option")) {
        addOption(card).querySelector(".opt-label").focus();
        refresh();
      } else if (button.hasAttribute("data-remove-option")) {
        button.closest(".opt-row").remove();
        refresh();
      }
    });

    list.addEventListener("change", function (event) {
      var target = event.target;
      if (target.classList.contains("q-show-key") && !target.value) {
        // "Always shown" chosen: its answers go too, so none is posted without a question.
        field(target.closest(".q-card"), "show_in").value = "";
      }
      if (target.classList.contains("q-type")) {
        var card = target.closest(".q-card");
        if (TYPES_WITH_OPTIONS[target.value]) {
          var filled = card.querySelectorAll(".opt-row").length;
          for (var n = filled; n < 2; n += 1) addOption(card);
        }
      }
      refresh();
    });

    var pending = null;
    form.addEventListener("input", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(refresh, 150);
    });

    /* Options of a question that has none (its type does not take them) are not sent. */
    form.addEventListener("submit", function () {
      cards().forEach(function (card) {
        if (!TYPES_WITH_OPTIONS[field(card, "type").value]) {
          card.querySelectorAll(".opt-row").forEach(function (row) {
            row.remove();
          });
        }
      });
    });

    refresh();
    fieldsToFix();
  });

  /* A refused page: the link in its banner goes to the first field to fix (opening the
     question's 编号 section if it is there), centred above the sticky save bar; the page
     goes there itself when the server marked the link data-focus-now. */
  function fieldsToFix() {
    function goTo(link) {
      var target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
      if (!target) return false;
      var details = target.closest("details");
      if (details) details.open = true;
      target.scrollIntoView({block: "center"});
      target.focus({preventScroll: true});
      return true;
    }
    document.querySelectorAll("a[data-fix-link]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (goTo(link)) event.preventDefault();
      });
    });
    var now = document.querySelector("a[data-fix-link][data-focus-now]");
    if (now) goTo(now);
  }
})();
