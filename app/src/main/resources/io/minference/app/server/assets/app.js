'use strict';
// The demo page: runs one prompt with dense attention and with MInference, through the server's own
// OpenAI-compatible streaming endpoint, and shows latencies, the streamed answers, the chart and the pattern.
// Honest timing: each mode is warmed up once (a short untimed run) before its first timed run, and the order of the
// two modes alternates from one run to the next; each speedup is shown beside the fraction of the causal area that
// the sparse prefill computed. Decode is dense in both modes, so its speed is shown once, not compared.
const $ = id => document.getElementById(id);
const MODES = ['dense', 'minference'];
const warmedUp = new Set();
let runCount = 0;

// Preset prompts: a haystack of this many tokens, and enough answer tokens for a 5-digit key.
const SCENARIOS = {
  'cpu-2k': { tokens: 2048, maxTokens: 12, label: '2K tokens (quick on a CPU)' },
  'cpu-8k': { tokens: 8192, maxTokens: 12, label: '8K tokens (about a minute on a 2-core CPU)' },
  'passkey-16k': { tokens: 16384, maxTokens: 12, label: '16K tokens: the pass-key model on a GPU' },
  'long-128k': { tokens: 131072, maxTokens: 4, label: '128K tokens: synthetic:llama3-8b on a GPU' },
};

async function fetchJson(url, options) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new Error(body && body.error ? body.error.message : response.status + ' ' + response.statusText);
  }
  return body;
}

function postJson(url, body) {
  return { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

async function loadInfo() {
  try {
    const info = await fetchJson('/demo/info');
    $('model-info').textContent = `model ${info.model} · context ${info.context_length} tokens · `
        + `${info.layers} layers × ${info.heads} heads · attention in this build: ${info.available_modes.join(', ')}`;
    $('layer').max = info.layers - 1;
    $('head').max = info.heads - 1;
    $('hay-tokens').max = info.context_length - 1;
    for (const name of info.files) {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = name;
      $('hay-filler').appendChild(option);
    }
  } catch (e) {
    $('model-info').textContent = 'cannot reach the server: ' + e.message;
  }
}

function readUpload() {
  const file = $('upload').files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => { $('context').value = reader.result; showPromptSize(); };
  reader.onerror = () => { $('hay-status').textContent = 'cannot read ' + file.name; };
  reader.readAsText(file);
}

async function makeHaystack() {
  const button = $('hay-make');
  button.disabled = true;
  $('hay-status').textContent = 'making…';
  try {
    const request = { tokens: Number($('hay-tokens').value), depth: Number($('hay-depth').value) };
    if ($('hay-filler').value) request.file = $('hay-filler').value;
    // an empty field lets the server draw a key; a typed one is sent as is, and the server says what is wrong with it
    const key = $('hay-key').value.trim();
    if (key) request.pass_key = key;
    const sample = await fetchJson('/demo/haystack', postJson('/demo/haystack', request));
    $('context').value = sample.context;
    $('question').value = sample.question.trim();
    $('hay-status').textContent = `${sample.prompt_tokens} tokens, pass key ${sample.pass_key} at ${sample.depth}%`;
    showPromptSize();
  } catch (e) {
    $('hay-status').textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

function composePrompt() {
  const context = $('context').value, question = $('question').value.trim();
  if (!question) return context;
  if (!context) return question;
  return context + (/\s$/.test(context) ? '' : ' ') + question;
}

function showPromptSize() {
  $('prompt-size').textContent = composePrompt().length.toLocaleString('en') + ' characters';
}

function panel(mode) {
  const root = $('run-' + mode);
  const part = name => root.querySelector('.' + name);
  return {
    reset() {
      root.dataset.state = 'running';
      part('bar').style.width = '0';
      for (const name of ['prefill', 'tokens', 'decode', 'path', 'density', 'energy']) part(name).textContent = '–';
      part('answer').textContent = '';
      this.status('waiting for its turn…');
    },
    status(text, error) {
      part('status').textContent = text;
      part('status').classList.toggle('error', !!error);
    },
    progress(done, total) {
      part('bar').style.width = (total ? 100 * done / total : 100) + '%';
      this.status(`prefill ${done.toLocaleString('en')} / ${total.toLocaleString('en')} tokens`);
    },
    append(text) { part('answer').textContent += text; },
    finish(figures, finishReason) {
      root.dataset.state = 'done';
      part('bar').style.width = '100%';
      part('prefill').textContent = figures.prefill_seconds.toFixed(3) + ' s';
      part('tokens').textContent = figures.prompt_tokens.toLocaleString('en') + ' tokens';
      // Decode is dense in both modes: its speed is shown in the dense panel only.
      part('decode').textContent = mode === 'dense'
          ? figures.decode_tokens_per_second.toFixed(1) + ' tokens/s' : 'dense, as in the dense run';
      // The sparse path names the patterns it followed (a pattern file or the default budget).
      part('path').textContent = figures.attention + (figures.patterns ? ` (${figures.patterns})` : '');
      part('density').textContent = densityText(figures.index_density);
      part('energy').textContent = energyText(figures);
      this.status('finished (' + finishReason + ')');
    },
    fail(message) {
      root.dataset.state = 'error';
      this.status(message, true);
    },
  };
}

// Reads server-sent events from a POST response: OpenAI chunks as plain events, progress as "event: progress".
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = null, data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) yield { name, data };
    }
  }
}

// The GPU's joules (NVML) of the prefill and per generated token, with mean power; the server's one line where
// they were not measured, never zeros.
function energyText(figures) {
  if (figures.prefill_joules == null) return figures.energy_unavailable || 'not measured';
  let text = `prefill ${figures.prefill_joules.toFixed(1)} J (${figures.prefill_mean_watts.toFixed(0)} W mean)`;
  if (figures.decode_joules_per_token != null) {
    text += `, decode ${figures.decode_joules_per_token.toFixed(2)} J/token`
        + ` (${figures.decode_mean_watts.toFixed(0)} W mean)`;
  }
  return text;
}

function densityText(density) {
  return density === null || density === undefined ? 'not measured'
      : (100 * density).toFixed(1) + '% of the causal area';
}

// One short untimed run per mode (sparse forced), so that neither timed run pays for compilation and loading.
async function warmUp(mode) {
  if (warmedUp.has(mode)) return;
  const view = panel(mode);
  view.status('warming up (untimed)…');
  await fetch('/v1/completions', postJson('/v1/completions', {
    prompt: 'warm up '.repeat(32), max_tokens: 1, temperature: 0,
    minference: { attention: mode, sparse_threshold: 0 },
  })).then(r => r.text()).catch(() => null);
  warmedUp.add(mode);
}

async function runOne(mode, prompt) {
  const view = panel(mode);
  view.reset();
  await warmUp(mode);
  view.status('waiting for its turn…');
  const request = {
    prompt, stream: true, temperature: 0, max_tokens: Number($('max-tokens').value),
    minference: { attention: mode, sparse_threshold: Number($('threshold').value), progress: true },
  };
  let response;
  try {
    response = await fetch('/v1/completions', postJson('/v1/completions', request));
  } catch (e) {
    view.fail('cannot reach the server: ' + e.message);
    return null;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    view.fail(body && body.error ? body.error.message : 'HTTP ' + response.status);
    return null;
  }
  let figures = null;
  for await (const event of events(response)) {
    if (event.data === '[DONE]') break;
    const chunk = JSON.parse(event.data);
    if (event.name === 'progress') {
      view.progress(chunk.done, chunk.total);
    } else if (chunk.error) {
      view.fail(chunk.error.message);
      return null;
    } else if (chunk.choices && chunk.choices.length) {
      const choice = chunk.choices[0];
      if (choice.text) {
        if (!figures) view.status('decoding…');
        view.append(choice.text);
      }
      if (choice.finish_reason) {
        figures = chunk.minference;
        view.finish(figures, choice.finish_reason);
      }
    }
  }
  if (!figures) view.fail('the stream ended without a result');
  return figures;
}

async function showPattern(prompt) {
  const canvas = $('pattern');
  const caption = $('pattern-caption');
  const started = Date.now();
  const what = `layer ${$('layer').value}, head ${$('head').value}`;
  const tick = () => {
    caption.textContent = `computing the pattern of ${what} (a dense prefill up to that layer)… `
        + Math.round((Date.now() - started) / 1000) + ' s';
  };
  tick();
  document.body.dataset.pattern = 'computing';
  const ticker = setInterval(tick, 500);
  try {
    const picture = await fetchJson('/demo/pattern', postJson('/demo/pattern', {
      prompt, attention: 'minference', layer: Number($('layer').value), head: Number($('head').value),
    }));
    if (!picture.available) {
      PatternPicture.clear(canvas, 'pattern not available');
      caption.textContent = picture.reason;
      return;
    }
    PatternPicture.draw(canvas, picture);
    caption.textContent = `layer ${picture.layer}, head ${picture.head} (${picture.pattern}), `
        + `${picture.length.toLocaleString('en')} tokens: ${picture.ranges} ranges, ${picture.columns} columns; `
        + `${(100 * picture.kept_share).toFixed(1)}% of the causal keys kept. Blue: kept blocks and diagonals; `
        + 'orange: kept columns; grey: skipped.';
  } catch (e) {
    PatternPicture.clear(canvas, 'pattern not available');
    caption.textContent = e.message;
  } finally {
    clearInterval(ticker);
    document.body.dataset.pattern = 'done';
  }
}

function showSpeedup(dense, sparse, order) {
  const line = $('speedup');
  if (!dense || !sparse) {
    line.textContent = 'Speedup: needs both runs to finish' + (dense ? ' (MInference did not run: see its panel).' : '.');
    return;
  }
  const factor = document.createElement('b');
  factor.textContent = (dense.prefill_seconds / sparse.prefill_seconds).toFixed(2) + '×';
  const kept = document.createElement('b');
  kept.className = 'density';
  kept.textContent = densityText(sparse.index_density);
  line.replaceChildren('Prefill speedup of MInference over dense: ', factor,
      ` at ${dense.prompt_tokens.toLocaleString('en')} tokens (${sparse.attention} path`
      + (sparse.patterns ? `, patterns: ${sparse.patterns}` : '') + '), computing ', kept,
      ` (dense: all of it). Both modes were warmed up; this run went ${order.join(' first, then ')}, and the order`
      + ' alternates from run to run. Decode is dense in both modes.');
}

async function runBoth() {
  const button = $('run');
  button.disabled = true;
  const prompt = composePrompt();
  const results = {};
  const order = runCount++ % 2 === 0 ? MODES : [...MODES].reverse();
  try {
    for (const mode of order) {
      results[mode] = await runOne(mode, prompt);
      if (results[mode]) {
        LatencyChart.add(mode, results[mode].prompt_tokens, results[mode].prefill_seconds, $('chart'));
      }
    }
    showSpeedup(results.dense, results.minference, order);
    // The pattern needs a prompt that the sparse run accepted; after a failed run it would fail the same way.
    if (results.minference) {
      await showPattern(prompt);
    } else {
      PatternPicture.clear($('pattern'), 'no pattern: the MInference run failed');
      $('pattern-caption').textContent = 'The pattern is computed after a successful MInference run.';
    }
  } finally {
    button.disabled = false;
    document.body.dataset.runs = String(Number(document.body.dataset.runs || 0) + 1);
  }
}

function chooseScenario() {
  const scenario = SCENARIOS[$('scenario').value];
  if (!scenario) return;
  $('hay-tokens').value = scenario.tokens;
  $('max-tokens').value = scenario.maxTokens;
  makeHaystack();
}

for (const [key, scenario] of Object.entries(SCENARIOS)) {
  const option = document.createElement('option');
  option.value = key;
  option.textContent = scenario.label;
  $('scenario').appendChild(option);
}
$('scenario').addEventListener('change', chooseScenario);
$('upload').addEventListener('change', readUpload);
$('hay-make').addEventListener('click', makeHaystack);
$('run').addEventListener('click', runBoth);
$('context').addEventListener('input', showPromptSize);
$('question').addEventListener('input', showPromptSize);
LatencyChart.draw($('chart'));
PatternPicture.clear($('pattern'), 'no pattern yet');
loadInfo();
