// A "Copy" button for read-only boxes (the new API key). Without JavaScript the button stays hidden and
// the box's text can be selected and copied by hand.
(function () {
  'use strict';
  var buttons = document.querySelectorAll('button[data-copy]');
  for (var i = 0; i < buttons.length; i++) {
    (function (button) {
      var box = document.getElementById(button.getAttribute('data-copy'));
      if (!box || !navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener('click', function () {
        box.select();
        navigator.clipboard.writeText(box.value).then(function () {
          button.textContent = 'Copied';
        });
      });
    })(buttons[i]);
  }
})();
