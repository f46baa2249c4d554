// A confirmation in a modal dialog (keyboard: Tab between the buttons,
// Enter confirms, Escape keeps).
export function confirmAction(text, yesLabel) {
  const dlg = document.getElementById('confirm-dialog');
  const form = document.getElementById('confirm-form');
  const no = document.getElementById('confirm-no');
  const yes = document.getElementById('confirm-yes');
  document.getElementById('confirm-text').textContent = text;
  yes.textContent = yesLabel || 'Confirm';
  return new Promise((resolve) => {
    const done = (v) => {
      form.removeEventListener('submit', onYes);
      no.removeEventListener('click', onNo);
      dlg.removeEventListener('close', onClose);
      if (dlg.open) dlg.close();
      resolve(v);
    };
    const onYes = (e) => { e.preventDefault(); done(true); };
    const onNo = () => done(false);
    const onClose = () => done(false);
    form.addEventListener('submit', onYes);
    no.addEventListener('click', onNo);
    dlg.addEventListener('close', onClose);
    dlg.showModal();
    no.focus();
  });
}
