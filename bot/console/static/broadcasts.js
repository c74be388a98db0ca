// The broadcasts page: a live preview of the message being composed, and progress bars that refresh
// themselves from /console/broadcasts/<id>/progress until nothing is left to send. Text is set with
// textContent only, so whatever staff type is never parsed as HTML.
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  function setupCompose() {
    var form = byId("compose");
    if (!form) { return; }
    function kind() {
      var checked = form.querySelector("input[name=kind]:checked");
      return checked ? checked.value : "text";
    }
    function value(name) { return form.elements[name].value.trim(); }
    function update() {
      var k = kind();
      form.querySelectorAll("[data-kind]").forEach(function (el) {
        el.classList.toggle("hidden", el.getAttribute("data-kind") !== k);
      });
      document.querySelectorAll("[data-preview]").forEach(function (el) {
        el.classList.toggle("hidden", el.getAttribute("data-preview") !== k);
      });
      byId("preview-content").textContent = value("content") || "（在左侧输入文字内容）";
      byId("preview-title").textContent = value("title") || "（标题）";
      byId("preview-description").textContent = value("description");
      byId("preview-url").textContent = value("url");
      var cover = form.elements.cover.selectedOptions[0];  // its label, not the file's name
      byId("preview-image").textContent = cover ? "封面图：" + cover.textContent : "";
      byId("tag-field").classList.toggle("hidden", byId("audience").value !== "tag");
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  function describe(p) {
    var text = p.percent + "% · 已发送 " + p.sent + " · 失败 " + p.failed + " · 待发送 " + p.pending;
    Object.keys(p.other).forEach(function (k) { text += " · " + k + " " + p.other[k]; });
    return text;
  }

  function wechat(p) {
    return p.wechat.map(function (w) {
      return "微信统计：目标 " + w.total + "，过滤后 " + w.filter + "，成功 " + w.sent + "，失败 " + w.error +
        "（" + (w.status_name || w.status) + "）";
    }).join("；");
  }

  function poll(cell) {
    var url = cell.getAttribute("data-progress-url");
    var row = cell.closest("tr");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (p) {
        if (!p) { return; }  // logged out or gone: stop quietly, the page still shows the last figures
        var bar = cell.querySelector("progress");
        bar.value = p.percent;
        bar.setAttribute("data-percent", p.percent);
        cell.querySelector("[data-field=counts]").textContent = describe(p);
        cell.querySelector("[data-field=wechat]").textContent = wechat(p);
        var reasons = cell.querySelector("[data-field=reasons]");
        if (reasons) { reasons.textContent = (p.reasons || []).join("；"); }
        row.querySelector("[data-field=status_name]").textContent = p.status_name;
        // Done means every delivery is final; WeChat's own counts may still arrive, so keep asking a while.
        if (!p.done || (p.wechat.length === 0 && !cell.hasAttribute("data-waited"))) {
          if (p.done) { cell.setAttribute("data-waited", "1"); }
          window.setTimeout(function () { poll(cell); }, 2000);
        } else {
          cell.setAttribute("data-done", "1");
        }
        if (p.done) {  // nothing left to cancel
          row.querySelectorAll("form[action$='/cancel']").forEach(function (f) { f.remove(); });
        }
      })
      .catch(function () { window.setTimeout(function () { poll(cell); }, 5000); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupCompose();
    document.querySelectorAll("[data-progress-url]").forEach(function (cell) {
      window.setTimeout(function () { poll(cell); }, 1000);
    });
  });
}());
