/* The survey page's skip logic, as the server applies it (workbench.surveys.logic.shown):
   questions in order; one with a show_if is shown only when the question it names is shown and
   answered with one of its values (a choice's values are strings, a score's integers). A hidden
   question is disabled (not sent) and its choices cleared; a text typed in it is kept, there
   again if the question comes back (a mis-tapped score tapped back). The shown ones are
   numbered. Plain ES5 for old in-app browsers.
   Coming back to the page (the back button after leaving it or after a gateway error) the
   browser restores the answers after this script first runs (Chromium: just before `pageshow`)
   and never restores a disabled control: so as the page loads a moot question is only hidden,
   not disabled, the logic runs again once the answers are back, and the questions still hidden
   are disabled as the customer answers or submits (the server drops hidden answers anyway). */
(function () {
  var form = document.getElementById('survey');
  if (!form) { return; }
  document.documentElement.className += ' js';
  var blocks = form.querySelectorAll('fieldset[data-key]');

  function answer(block) {
    var type = block.getAttribute('data-type');
    var inputs = block.querySelectorAll('input'), chosen = [], i;
    for (i = 0; i < inputs.length; i++) {
      if (inputs[i].checked) {
        chosen.push(type === 'nps' || type === 'rating' ? parseInt(inputs[i].value, 10)
                                                        : inputs[i].value);
      }
    }
    if (type === 'multi') { return chosen; }
    return chosen.length ? chosen[0] : null;
  }

  function clear(block) {  /* the choices only: a textarea's text stays (disabled, not sent) */
    var inputs = block.querySelectorAll('input'), i;
    for (i = 0; i < inputs.length; i++) {
      if (inputs[i].type === 'radio' || inputs[i].type === 'checkbox') {
        inputs[i].checked = false;
      }
    }
  }

  function matches(value, wanted) {
    var values = value instanceof Array ? value : [value], i, j;
    for (i = 0; i < values.length; i++) {
      for (j = 0; j < wanted.length; j++) {
        if (values[i] !== null && typeof values[i] === typeof wanted[j] &&
            values[i] === wanted[j]) { return true; }
      }
    }
    return false;
  }

  /* settle: disable the hidden questions too (not while the browser may still restore them) */
  function apply(settle) {
    var visible = {}, answers = {}, shown = 0, i, block, key, showKey, show, wanted, no;
    for (i = 0; i < blocks.length; i++) {
      block = blocks[i];
      key = block.getAttribute('data-key');
      showKey = block.getAttribute('data-show-key');
      show = true;
      if (showKey) {
        try { wanted = JSON.parse(block.getAttribute('data-show-in')); } catch (e) { wanted = []; }
        show = visible[showKey] === true && matches(answers[showKey], wanted);
      }
      if (show) {
        if (block.hidden) { block.hidden = false; block.disabled = false; }
        visible[key] = true;
        answers[key] = answer(block);
        shown += 1;
        no = block.querySelector('.no');
        if (no) { no.textContent = shown + '.'; }  /* numbers of the questions shown */
      } else {
        if (!block.hidden) { clear(block); block.hidden = true; }
        if (settle === true) { block.disabled = true; }
      }
    }
  }

  function settle() { apply(true); }
  function restored() { apply(false); }
  form.addEventListener('change', settle);
  form.addEventListener('input', settle);
  restored();
  document.addEventListener('DOMContentLoaded', restored);
  window.addEventListener('pageshow', function () { restored(); setTimeout(restored, 0); });

  /* One submission per tap: a second tap while the first is on its way sends nothing. The
     button comes back when the page is shown again (the back button, a page kept in memory). */
  var send = document.getElementById('send'), sending = false;
  form.addEventListener('submit', function (e) {
    if (sending) { e.preventDefault(); return; }
    sending = true;
    settle();  /* what is hidden now is not sent */
    if (send) {
      setTimeout(function () { send.disabled = true; send.textContent = '正在提交…'; }, 0);
    }
  });
  window.addEventListener('pageshow', function () {
    sending = false;
    if (send) { send.disabled = false; send.textContent = '提交'; }
  });
})();
