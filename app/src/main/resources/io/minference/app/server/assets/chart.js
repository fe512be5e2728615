'use strict';
// Prefill latency against prompt length, one series per attention mode, drawn by hand on a canvas.
const LatencyChart = (() => {
  const series = { dense: [], minference: [] };
  const colors = { dense: '#c0392b', minference: '#1f6fb2' };
  const labels = { dense: 'dense', minference: 'MInference' };

  function niceStep(span, ticks) {
    const raw = span / ticks;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const scaled = raw / power;
    return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
  }

  function draw(canvas) {
    const ctx = canvas.getContext('2d');
    const w = canvas.width, h = canvas.height;
    const left = 60, right = 16, top = 28, bottom = 44;
    ctx.clearRect(0, 0, w, h);
    const all = series.dense.concat(series.minference);
    const maxX = Math.max(1024, ...all.map(p => p.tokens)) * 1.05;
    const maxY = Math.max(0.01, ...all.map(p => p.seconds)) * 1.15;
    const x = t => left + (w - left - right) * t / maxX;
    const y = s => h - bottom - (h - top - bottom) * s / maxY;

    ctx.strokeStyle = '#d5dbe2'; ctx.fillStyle = '#6b7785'; ctx.lineWidth = 1;
    ctx.font = '12px system-ui, sans-serif';
    const yStep = niceStep(maxY, 5);
    ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
    for (let v = 0; v <= maxY; v += yStep) {
      ctx.beginPath(); ctx.moveTo(left, y(v)); ctx.lineTo(w - right, y(v)); ctx.stroke();
      ctx.fillText(v === 0 ? '0' : v < 1 ? v.toFixed(v < 0.1 ? 3 : 2) : v.toFixed(1), left - 6, y(v));
    }
    const xStep = niceStep(maxX, 6);
    ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    for (let v = 0; v <= maxX; v += xStep) {
      ctx.beginPath(); ctx.moveTo(x(v), top); ctx.lineTo(x(v), h - bottom); ctx.stroke();
      ctx.fillText(v.toLocaleString('en'), x(v), h - bottom + 6);
    }
    ctx.fillText('prompt length (tokens)', left + (w - left - right) / 2, h - 18);
    ctx.save(); ctx.translate(14, top + (h - top - bottom) / 2); ctx.rotate(-Math.PI / 2);
    ctx.fillText('prefill (s)', 0, -6); ctx.restore();

    let legendX = left;
    for (const mode of Object.keys(series)) {
      const points = series[mode].slice().sort((a, b) => a.tokens - b.tokens);
      ctx.strokeStyle = colors[mode]; ctx.fillStyle = colors[mode]; ctx.lineWidth = 2;
      ctx.beginPath();
      points.forEach((p, i) => i ? ctx.lineTo(x(p.tokens), y(p.seconds)) : ctx.moveTo(x(p.tokens), y(p.seconds)));
      ctx.stroke();
      for (const p of points) { ctx.beginPath(); ctx.arc(x(p.tokens), y(p.seconds), 4, 0, 2 * Math.PI); ctx.fill(); }
      ctx.fillRect(legendX, 8, 14, 10);
      ctx.fillStyle = '#1d2733'; ctx.textAlign = 'left'; ctx.textBaseline = 'top';
      ctx.fillText(labels[mode] + ' (' + points.length + ')', legendX + 18, 6);
      legendX += 130;
    }
  }

  return {
    add(mode, tokens, seconds, canvas) {
      if (!series[mode]) return;
      series[mode].push({ tokens, seconds });
      draw(canvas);
    },
    draw,
    points: mode => series[mode].slice(),
  };
})();
