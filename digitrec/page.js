// What the page does that Gradio has no setting for. app.py runs digitrec.setup() on load
// and digitrec.dropIfCleared() before every Sketchpad change event.
window.digitrec = {
  drawnAt: 0, // when the visitor last drew or picked an example (performance.now())
  clearedAt: 0, // when the visitor last pressed "Clear canvas"

  // Gradio 6.31's Sketchpad (its ImageEditor: no tool selected until one is picked) starts, and comes
  // back after "Clear canvas" or a tab switch, with no tool: click its Brush so visitors can simply draw.
  pickBrush(tries) {
    let found = false;
    document.querySelectorAll('#sketch, #number-sketch').forEach((pad) => {
      const brush = pad.querySelector('button[aria-label="Brush"]');
      if (!brush) return;
      found = true;
      if (pad.innerText.includes('select the draw tool')) brush.click();
    });
    if (!found && tries > 0) setTimeout(() => window.digitrec.pickBrush(tries - 1), 200);
  },

  // Gradio 6.31's Sketchpad sends a stroke's picture (accept_blobs) before the change event that
  // names it, so on a busy server a clear can overtake the last stroke, whose late change event then
  // carries a drawing that is no longer on the canvas. When the visitor's last action was a clear,
  // send nothing.
  dropIfCleared(value) {
    return window.digitrec.clearedAt > window.digitrec.drawnAt ? null : value;
  },

  setup() {
    const d = window.digitrec;
    document.addEventListener('pointerdown', (event) => {
      if (event.target.closest('#sketch canvas, #examples')) d.drawnAt = performance.now();
    }, true);
    document.addEventListener('click', (event) => {
      if (event.target.closest('#examples')) d.drawnAt = performance.now();
      if (event.target.closest('#sketch button[aria-label="Clear canvas"]')) d.clearedAt = performance.now();
      if (event.target.closest('button[aria-label="Clear canvas"], button[role="tab"]')) {
        setTimeout(() => d.pickBrush(10), 150);
      }
    }, true);
    d.pickBrush(50);
  },
};
