// The llama.cpp side of the peer benchmark, through node-llama-cpp (CPU only): load time, prefill tokens/s for
// prompts of given lengths (seeded random token ids, as `minference bench` uses), greedy decode tokens/s after the
// longest, and the process's peak RSS. Prints one JSON line.
//
//   npm i -E node-llama-cpp@3.21.1
//   node llamacpp_bench.mjs --model FILE --lengths 512,2048 --decode-tokens 32 --threads 2
import { getLlama } from "node-llama-cpp";

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) =>
    arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs, []));
const model = args.model;
if (!model) {
    console.error("usage: node llamacpp_bench.mjs --model FILE [--lengths 512,2048] [--decode-tokens 32] [--threads 2]");
    process.exit(2);
}
const lengths = (args.lengths ?? "512,2048").split(",").map(Number);
const decodeTokens = Number(args["decode-tokens"] ?? 32);
const threads = Number(args.threads ?? 2);

/** SplitMix64-free, seedable token ids: a linear congruential stream over the ordinary vocabulary. */
function randomTokens(count, vocabulary, seed) {
    const tokens = [];
    let state = BigInt(seed);
    for (let i = 0; i < count; i++) {
        state = (state * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
        tokens.push(Number((state >> 33n) % BigInt(vocabulary)));
    }
    return tokens;
}

const started = performance.now();
const llama = await getLlama({ gpu: false });
const loaded = await llama.loadModel({ modelPath: model, gpuLayers: 0, useMmap: true });
const loadSeconds = (performance.now() - started) / 1000;
const vocabulary = Math.min(128000, loaded.tokens.bos ?? 128000);
const result = { system: "llama.cpp (node-llama-cpp 3.21.1)", model, threads, load_s: loadSeconds, prefill: {} };

const longest = Math.max(...lengths);
const context = await loaded.createContext({ contextSize: longest + decodeTokens + 8, threads, batchSize: 512 });
for (const length of lengths) {
    const sequence = context.getSequence();
    const prompt = randomTokens(length, vocabulary, length);
    const t0 = performance.now();
    await sequence.evaluateWithoutGeneratingNewTokens(prompt);
    const seconds = (performance.now() - t0) / 1000;
    result.prefill[length] = length / seconds;
    if (length === longest) {
        // greedy decode after the longest prompt: each step evaluates one token
        let generated = 0;
        const t1 = performance.now();
        for await (const token of sequence.evaluate([prompt.at(-1)], { temperature: 0 })) {
            if (++generated >= decodeTokens) break;
        }
        result.decode_tok_s = generated / ((performance.now() - t1) / 1000);
    }
    sequence.dispose();
}
result.peak_rss_gib = process.resourceUsage().maxRSS * 1024 / 2 ** 30;
console.log(JSON.stringify(result));
await context.dispose();
await loaded.dispose();
