// Settings page: refresh the email preview as the owner types (progressive enhancement; without it the
// preview shows the saved settings and refreshes on save). The preview is rendered by the server from the
// form's current values, never here.
(function () {
  'use strict';
  var form = document.getElementById('settings-form');
  var frame = document.getElementById('email-preview');
  var picker = document.getElementById('brand_color_picker');
  var colour = document.getElementById('brand_color');
  if (!form || !frame) return;
  var timer = null;
  function refresh() {
    var params = new URLSearchParams();
    var fields = form.querySelectorAll('input[name], textarea[name]');
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].name !== 'csrf') params.set(fields[i].name, fields[i].value);
    }
    frame.src = '/console/settings/preview?' + params.toString();
  }
  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }
  form.addEventListener('input', later);
  if (picker && colour) {
    picker.addEventListener('input', function () {
      colour.value = picker.value;
      later();
    });
    colour.addEventListener('input', function () {
      if (/^#[0-9a-fA-F]{6}$/.test(colour.value)) picker.value = colour.value;
    });
  }
})();
