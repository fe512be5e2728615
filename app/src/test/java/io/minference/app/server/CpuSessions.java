package io.minference.app.server;

import io.minference.llama.LlamaModel;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;

/** The sessions the server tests run their engines on: a model on the CPU, dense by default, closed with it. */
final class CpuSessions {
    private CpuSessions() {
    }

    static LlamaSession cpuSession(LlamaModel model) {
        return cpuSession(model, 128);
    }

    static LlamaSession cpuSession(LlamaModel model, int blockSize) {
        return LlamaSession.openOwning(model, "cpu", AttentionPlan.dense(), blockSize);
    }
}
