/* Team dashboard: draws the charts from the page's JSON (<script type="application/json"
   id="dashboard-data">) with the vendored Chart.js, and sorts tables by a click on a header.
   Without this script (or without Chart.js) every number is still in the page's tables. */
(function () {
  "use strict";

  var css = getComputedStyle(document.documentElement);
  function color(name, fallback) {
    var value = css.getPropertyValue(name).trim();
    return value || fallback;
  }
  var COLORS = {
    ok: color("--ok", "#18794e"),
    err: color("--err", "#b42318"),
    brand: color("--brand", "#b4202e"),
    info: color("--info", "#24579e"),
    ink3: color("--ink-3", "#737b8f"),
    line: color("--line", "#e2e5ec"),
    open: "#c9ced8",
    assigned: "#d7dce5",
  };

  // ---- sortable tables ---------------------------------------------------------------------

  function sortValue(row, index, kind) {
    var cell = row.cells[index];
    var raw = cell ? (cell.getAttribute("data-value") || cell.textContent || "") : "";
    if (kind === "num") {
      var n = parseFloat(raw);
      return isNaN(n) ? -Infinity : n;
    }
    return raw.trim();
  }

  function sortTable(table, th, index, kind) {
    var body = table.tBodies[0];
    if (!body) return;
    var current = th.getAttribute("aria-sort");
    var ascending = current ? current !== "ascending" : kind !== "num";
    var collator = new Intl.Collator("zh-CN", { numeric: true, sensitivity: "base" });
    var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
      return { row: row, i: i, key: sortValue(row, index, kind) };
    });
    rows.sort(function (a, b) {
      var d = kind === "num" ? a.key - b.key : collator.compare(a.key, b.key);
      if (!ascending) d = -d;
      return d || a.i - b.i;
    });
    rows.forEach(function (item) {
      body.appendChild(item.row);
    });
    table.querySelectorAll("th[data-sort]").forEach(function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function enhanceTables() {
    document.querySelectorAll("table[data-sortable]").forEach(function (table) {
      table.querySelectorAll("th[data-sort]").forEach(function (th) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "dash-sort";
        while (th.firstChild) button.appendChild(th.firstChild);
        th.appendChild(button);
        button.addEventListener("click", function () {
          sortTable(table, th, th.cellIndex, th.getAttribute("data-sort"));
        });
      });
    });
  }

  // ---- charts ------------------------------------------------------------------------------

  function readData() {
    var node = document.getElementById("dashboard-data");
    if (!node) return null;
    try {
      return JSON.parse(node.textContent);
    } catch (e) {
      return null;
    }
  }

  function noCharts() {
    document.querySelectorAll(".dash-chart").forEach(function (figure) {
      figure.hidden = true;
    });
    document.querySelectorAll(".dash-details").forEach(function (details) {
      details.open = true;
    });
    var note = document.createElement("p");
    note.className = "alert alert-info dash-no-charts";
    note.setAttribute("role", "note");
    note.textContent = "图表未能加载，下方表格列出全部数字。";
    var kpis = document.querySelector(".dash-kpis");
    if (kpis && kpis.parentNode) kpis.parentNode.insertBefore(note, kpis.nextSibling);
  }

  var percentTick = function (value) {
    return value + "%";
  };

  function baseOptions() {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches
        ? false
        : { duration: 400 },
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } },
        tooltip: { padding: 10 },
      },
    };
  }

  // ---- long names on an axis ---------------------------------------------------------------

  // An RM's name on the bar chart's axis takes at most this many columns (a Chinese character
  // is two) and ends in "…" beyond (as in the monthly PDF): a long name once took 40 % of the
  // chart's width from the bars. The tooltip still names the RM in full.
  var AXIS_COLUMNS = 16;
  var AXIS_COLUMNS_NARROW = 10; // a phone's chart
  var WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/;

  function columnsOf(ch) {
    return WIDE.test(ch) || ch.length > 1 ? 2 : 1; // ch.length > 1: beyond the BMP (CJK ext.)
  }

  function fitting(chars, limit) {
    // How many of `chars` fit in `limit` columns (at least one).
    var used = 0;
    for (var i = 0; i < chars.length; i++) {
      used += columnsOf(chars[i]);
      if (used > limit) return Math.max(i, 1);
    }
    return chars.length;
  }

  function shortLabel(text, limit) {
    var chars = Array.from(String(text));
    if (fitting(chars, limit) === chars.length) return String(text);
    return chars.slice(0, fitting(chars, limit - 1)).join("").replace(/\s+$/, "") + "…";
  }

  function wrappedLabel(text, limit) {
    // The whole name in lines of `limit` columns: a tooltip is not wider than a phone.
    var chars = Array.from(String(text));
    var lines = [];
    while (chars.length) {
      var n = fitting(chars, limit);
      lines.push(chars.slice(0, n).join(""));
      chars = chars.slice(n);
    }
    return lines;
  }

  function narrow(chart) {
    return chart.width < 480;
  }

  function shortAxisLabel(value) {
    // `this` is the category scale: its label for the tick, cut to the chart's room.
    return shortLabel(this.getLabelForValue(value), narrow(this.chart) ? AXIS_COLUMNS_NARROW : AXIS_COLUMNS);
  }

  function drawRms(Chart, canvas, data) {
    var box = canvas.parentNode;
    var rows = data.labels.length;
    box.style.height = Math.max(180, rows * 30 + 70) + "px";
    var options = baseOptions();
    options.indexAxis = "y";
    options.scales = {
      x: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, grid: { color: COLORS.line } },
      y: { stacked: true, grid: { display: false }, ticks: { callback: shortAxisLabel } },
    };
    options.plugins.tooltip.callbacks = {
      title: function (items) {
        if (!items.length) return "";
        return wrappedLabel(data.labels[items[0].dataIndex], narrow(items[0].chart) ? 24 : 64);
      },
      footer: function (items) {
        var i = items.length ? items[0].dataIndex : 0;
        return "完成率 " + data.rate[i] + "%";
      },
    };
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "已完成", data: data.done, backgroundColor: COLORS.ok, borderRadius: 3 },
          { label: "未完成", data: data.open, backgroundColor: COLORS.open, borderRadius: 3 },
          { label: "逾期", data: data.overdue, backgroundColor: COLORS.err, borderRadius: 3 },
        ],
      },
      options: options,
    });
  }

  function drawWeeks(Chart, canvas, data) {
    var options = baseOptions();
    options.scales = {
      y: { beginAtZero: true, ticks: { precision: 0 }, grid: { color: COLORS.line },
           title: { display: true, text: "任务数" } },
      y1: { position: "right", min: 0, max: 100, grid: { display: false },
            ticks: { callback: percentTick }, title: { display: true, text: "完成率" } },
      x: { grid: { display: false } },
    };
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { type: "line", label: "完成率", data: data.rate, yAxisID: "y1", borderColor: COLORS.brand,
            backgroundColor: COLORS.brand, tension: 0.3, cubicInterpolationMode: "monotone", spanGaps: true, pointRadius: 3, clip: false,
            order: 0 },
          { label: "分配", data: data.assigned, backgroundColor: COLORS.assigned, borderRadius: 3,
            order: 1 },
          { label: "完成", data: data.done, backgroundColor: COLORS.ok, borderRadius: 3, order: 1 },
        ],
      },
      options: options,
    });
  }

  function drawSatisfaction(Chart, canvas, data) {
    var options = baseOptions();
    options.scales = {
      y: { min: -100, max: 100, grid: { color: COLORS.line }, title: { display: true, text: "NPS" } },
      y1: { position: "right", min: 0, max: 100, grid: { display: false },
            ticks: { callback: percentTick }, title: { display: true, text: "CSAT" } },
      x: { grid: { display: false } },
    };
    options.plugins.tooltip.callbacks = {
      footer: function (items) {
        var i = items.length ? items[0].dataIndex : 0;
        return "回复 " + data.responses[i] + " 份";
      },
    };
    return new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          { label: "NPS", data: data.nps, yAxisID: "y", borderColor: COLORS.info,
            backgroundColor: COLORS.info, tension: 0.3, cubicInterpolationMode: "monotone", spanGaps: true, pointRadius: 3, clip: false },
          { label: "CSAT", data: data.csat, yAxisID: "y1", borderColor: COLORS.ok,
            backgroundColor: COLORS.ok, tension: 0.3, cubicInterpolationMode: "monotone", spanGaps: true, pointRadius: 3, clip: false,
            pointStyle: "rectRot" },
        ],
      },
      options: options,
    });
  }

  function drawCharts() {
    var canvases = document.querySelectorAll(".dash-chart canvas");
    if (!canvases.length) return;
    var Chart = window.Chart;
    var data = readData();
    if (typeof Chart !== "function" || !data) {
      noCharts();
      return;
    }
    Chart.defaults.font.family = css.getPropertyValue("--font").trim() || Chart.defaults.font.family;
    Chart.defaults.color = COLORS.ink3;
    var drawn = {};
    var plan = [
      ["chart-rms", drawRms, data.rms],
      ["chart-weeks", drawWeeks, data.weeks],
      ["chart-satisfaction", drawSatisfaction, data.satisfaction],
    ];
    plan.forEach(function (step) {
      var canvas = document.getElementById(step[0]);
      if (canvas && step[2]) drawn[step[0]] = step[1](Chart, canvas, step[2]);
    });
    window.WorkbenchDashboard = { charts: drawn };
  }

  function start() {
    enhanceTables();
    drawCharts();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
