// Lobby portal: small progressive enhancements only; every page works without this file.
// Copy buttons: <button type="button" data-copy="element-id">Copy</button> copies the text of
// the element with that id.
document.addEventListener('click', function (ev) {
  var b = ev.target.closest && ev.target.closest('button[data-copy]');
  if (!b) return;
  var el = document.getElementById(b.getAttribute('data-copy'));
  if (!el || !navigator.clipboard) return;
  var text = ('value' in el && el.value !== undefined) ? el.value : el.textContent;
  navigator.clipboard.writeText(text.trim()).then(function () {
    var old = b.textContent;
    b.textContent = 'Copied';
    setTimeout(function () { b.textContent = old; }, 1500);
  });
});
