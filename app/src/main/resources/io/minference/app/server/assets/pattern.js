'use strict';
// One head's sparse pattern: each cell is a group of query blocks (rows) and keys (columns); blue is the share
// kept through ranges (kept blocks and slash diagonals), orange the share kept through single columns, grey the
// causal region that was skipped, white the masked future.
const PatternPicture = (() => {
  function draw(canvas, picture) {
    const ctx = canvas.getContext('2d');
    const size = Math.min(canvas.width, canvas.height);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const n = picture.cells;
    const cell = size / n;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const i = r * n + c;
        const ranges = picture.range_share[i], columns = picture.column_share[i];
        if (ranges < 0) continue;
        ctx.fillStyle = '#eef1f4';
        ctx.fillRect(c * cell, r * cell, cell, cell);
        if (ranges > 0) {
          ctx.fillStyle = 'rgba(31, 111, 178, ' + (0.25 + 0.75 * Math.min(1, ranges)) + ')';
          ctx.fillRect(c * cell, r * cell, cell, cell);
        }
        if (columns > 0) {
          ctx.fillStyle = 'rgba(224, 142, 11, ' + (0.35 + 0.65 * Math.min(1, columns * 8)) + ')';
          ctx.fillRect(c * cell + cell * 0.3, r * cell, Math.max(1, cell * 0.4), cell);
        }
      }
    }
    ctx.strokeStyle = '#9aa7b5';
    ctx.strokeRect(0.5, 0.5, size - 1, size - 1);
  }

  function clear(canvas, message) {
    const ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#f3f5f8';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#6b7785';
    ctx.font = '14px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.fillText(message, canvas.width / 2, canvas.height / 2);
  }

  return { draw, clear };
})();
